"""The simulator's Bybit v5 trade venue without sockets (hftshm/exchange/bybit_trade.py):
requests in, answers and private events out; the refusals a client must handle."""

import time

import orjson

from hftshm.exchange.bybit_trade import BybitTrade
from hftshm.venues.bybit.signing import BybitSigner

KEY, SECRET = "k", "s"
E8 = 100_000_000


def venue():
    return BybitTrade(("btcusdt",), KEY, SECRET, 20_000, 55_000, levels=20, seed=3)


def now_ms():
    return int(time.time() * 1000)


def authed(v):
    s = v.new_session()
    ans, _ = v.handle_trade(orjson.dumps({"op": "auth", "args": BybitSigner(KEY, SECRET).auth_args(now_ms() + 5000)}),
                            s, now_ms())
    assert orjson.loads(ans)["retCode"] == 0 and s.authed
    return s


def create(v, s, rid, **a):
    req = {"reqId": rid, "header": {"X-BAPI-TIMESTAMP": str(now_ms()), "X-BAPI-RECV-WINDOW": "5000"},
           "op": "order.create", "args": [{"category": "linear", "symbol": "BTCUSDT", **a}]}
    ans, events = v.handle_trade(orjson.dumps(req), s, now_ms())
    return (orjson.loads(ans) if ans else None), events


def test_fok_that_cannot_fill_whole_is_cancelled_without_fills():
    v = venue()
    s = authed(v)
    m = v.markets["BTCUSDT"]
    book = sum(m.asks.values()) * m.spec.step_e8
    ans, events = create(v, s, "r1", side="Buy", orderType="Limit", qty=f"{(book + m.spec.step_e8) / E8:.5f}",
                         price="999999", timeInForce="FOK", orderLinkId="a1")
    assert ans["retCode"] == 0
    assert [t for t, _ in events] == ["order"] and events[0][1]["orderStatus"] == "Cancelled"
    assert v.ledger.position("BTCUSDT").qty_e8 == 0 and not v.executions


def test_refusals_duplicate_link_id_recv_window_and_repeat_auth():
    v = venue()
    s = authed(v)
    ans, _ = create(v, s, "r1", side="Buy", orderType="Market", qty="0.001", orderLinkId="dup")
    assert ans["retCode"] == 0
    ans, _ = create(v, s, "r2", side="Buy", orderType="Market", qty="0.001", orderLinkId="dup")
    assert ans["retCode"] == 110072
    ans, _ = create(v, s, "r2", side="Buy", orderType="Market", qty="0.001", orderLinkId="other")
    assert ans["retCode"] == 20006  # the reqId was used
    old = {"reqId": "r3", "header": {"X-BAPI-TIMESTAMP": str(now_ms() - 60_000)}, "op": "order.create",
           "args": [{"category": "linear"}]}
    assert orjson.loads(v.handle_trade(orjson.dumps(old), s, now_ms())[0])["retCode"] == 10002
    spot = {**old, "reqId": "r4", "header": {"X-BAPI-TIMESTAMP": str(now_ms())}, "args": [{"category": "spot"}]}
    assert orjson.loads(v.handle_trade(orjson.dumps(spot), s, now_ms())[0])["retCode"] == 10404
    again, _ = v.handle_trade(orjson.dumps({"op": "auth", "args": BybitSigner(KEY, SECRET).auth_args(now_ms() + 5000)}),
                              s, now_ms())
    assert orjson.loads(again)["retCode"] == 20001
    expired = v.new_session()
    ans, _ = v.handle_trade(orjson.dumps({"op": "auth", "args": BybitSigner(KEY, SECRET).auth_args(now_ms() - 1)}),
                            expired, now_ms())
    assert orjson.loads(ans)["retCode"] == 10004 and not expired.authed


def test_rest_is_signed_and_filters_open_closed_and_link_id():
    v = venue()
    s = authed(v)
    m = v.markets["BTCUSDT"]
    far = (max(m.bids) - 1000) * m.spec.tick_e8
    create(v, s, "r1", side="Buy", orderType="Limit", qty="0.001", price=f"{far / E8:.2f}", orderLinkId="rest")
    create(v, s, "r2", side="Buy", orderType="Market", qty="0.001", orderLinkId="done")
    signer = BybitSigner(KEY, SECRET)

    def get(query, path="/v5/order/realtime", sign=signer):
        return v.rest(path, query, sign.rest_headers(now_ms(), "5000", query), now_ms())

    assert [o["orderLinkId"] for o in get("category=linear&symbol=BTCUSDT&openOnly=0")["result"]["list"]] == ["rest"]
    assert [o["orderLinkId"] for o in get("category=linear&symbol=BTCUSDT&openOnly=1")["result"]["list"]] == ["done"]
    assert {o["orderLinkId"] for o in get("category=linear&symbol=BTCUSDT", "/v5/order/history")["result"]["list"]} \
        == {"rest", "done"}
    (done,) = get("category=linear&orderLinkId=done&openOnly=1")["result"]["list"]
    assert done["orderStatus"] == "Filled" and done["cumExecQty"] == "0.001"
    assert get("category=linear&openOnly=0", sign=BybitSigner(KEY, "wrong"))["retCode"] == 10004
