"""USD-M order protocol, sans I/O: literal futures WebSocket API answers and user-data events
(Binance derivatives docs, USDⓈ-M Futures: "New Order (TRADE)", "Cancel Order (TRADE)",
"Query Order (USER_DATA)", "Event: Order Update", "Event: Balance and Position Update",
"Error Code") in, reports and frames out."""

import hashlib
import hmac

import orjson
import pytest

from hftshm import venues
from hftshm.layouts import exec_report as F
from hftshm.layouts import order as O
from hftshm.risk import reasons as R
from hftshm.venues.binance_spot.signing import Signer, payload
from hftshm.venues.binance_usdm.protocol import UsdmProtocol, user_stream_url
from hftshm.venues.orders import LiveOrder

T0 = 1_700_000_000_000_000_000
MS = 1_000_000
CID = "htag-10000000005"

# USD-M "General Info", "SIGNED Endpoint Examples for POST /fapi/v1/order - HMAC Keys"
DOC_KEY = "dbefbc809e3e83c283a984c3a1459732ea7db1360ca80c5c2c8867408d28cc83"
DOC_SECRET = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"
DOC_PAYLOAD = ("symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000"
               "&timestamp=1591702613943")
DOC_SIGNATURE = "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"


def test_signing_known_answer_from_the_usdm_docs():
    s = Signer(DOC_KEY, DOC_SECRET)
    assert s._mac.hexdigest(DOC_PAYLOAD.encode()) == DOC_SIGNATURE
    # the WebSocket API signs the parameters sorted by name: the same key over that payload
    params = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "1", "price": "9000",
              "timeInForce": "GTC", "recvWindow": "5000", "timestamp": "1591702613943"}
    assert payload(params) == ("price=9000&quantity=1&recvWindow=5000&side=BUY&symbol=BTCUSDT&timeInForce=GTC"
                               "&timestamp=1591702613943&type=LIMIT")
    want = hmac.new(DOC_SECRET.encode(), payload(params).encode(), hashlib.sha256).hexdigest()
    assert s.signature(params) == want


def make(type_=O.LIMIT, tif=O.GTC, flags=0, side=O.BUY, qty=2_000_000, timeout_ms=2000):
    p = UsdmProtocol(Signer("k", "s"), ["BTCUSDT", "ETHUSDT"], [("BTC", "USDT"), ("ETH", "USDT")], "htag",
                     recv_window_ms=1000, timeout_ms=timeout_ms)
    o = LiveOrder()
    o.order_id, o.symbol_id, o.strategy_id, o.side, o.type, o.tif = (1 << 40) | 5, 0, 1, side, type_, tif
    o.qty_e8, o.price_e8, o.sent_ns, o.flags = qty, 6_000_000_000_000, T0, flags
    frame = orjson.loads(p.place(o, T0))
    return p, o, frame


def answer(rid, result=None, error=None, status=200):
    msg = {"id": rid, "status": status}
    if error:
        msg["error"] = error
    else:
        msg["result"] = result
    return orjson.dumps(msg)


def result(status="NEW", executed="0.000", avg="0.00", order_id=325078477, reduce_only=False):
    """An order.place / order.status / order.cancel result, field for field as the docs show it."""
    return {"orderId": order_id, "symbol": "BTCUSDT", "status": status, "clientOrderId": CID, "price": "60000.00",
            "avgPrice": avg, "origQty": "0.020", "executedQty": executed, "cumQty": executed, "cumQuote": "0.00000",
            "timeInForce": "GTC", "type": "LIMIT", "reduceOnly": reduce_only, "closePosition": False, "side": "BUY",
            "positionSide": "BOTH", "stopPrice": "0.00", "workingType": "CONTRACT_PRICE", "priceProtect": False,
            "origType": "LIMIT", "priceMatch": "NONE", "selfTradePreventionMode": "NONE", "goodTillDate": 0,
            "updateTime": 1700000000100}


def otu(x, X, l="0", z="0", L="0", n="0", N="USDT", t=0, rp="0", c=CID):
    """ORDER_TRADE_UPDATE as the user-data stream sends it (raw, no wrapper)."""
    return orjson.dumps({"e": "ORDER_TRADE_UPDATE", "E": 1700000000123, "T": 1700000000122, "o": {
        "s": "BTCUSDT", "c": c, "S": "BUY", "o": "LIMIT", "f": "GTC", "q": "0.020", "p": "60000", "ap": "0",
        "sp": "0", "x": x, "X": X, "i": 325078477, "l": l, "z": z, "L": L, "N": N, "n": n, "T": 1700000000122,
        "t": t, "b": "0", "a": "0", "m": False, "R": False, "wt": "CONTRACT_PRICE", "ot": "LIMIT", "ps": "BOTH",
        "cp": False, "rp": rp, "pP": False, "si": 0, "ss": 0, "V": "NONE", "pm": "NONE", "gtd": 0}})


def kinds(reports):
    return [(int(r[0]["exec_type"]), int(r[0]["state"])) for _, r in reports]


def test_registry_gives_each_venue_its_protocol():
    assert venues.order_venue("binance_usdm").protocol is UsdmProtocol
    assert venues.order_venue("binance").kind == "binance_spot"
    assert venues.order_venue("binance_usdm").user_stream_url is not None
    with pytest.raises(KeyError, match="no order venue 'bybit'"):
        venues.order_venue("bybit")


def test_place_frame_one_way_signed():
    p, o, frame = make()
    assert frame["method"] == "order.place"
    prm = frame["params"]
    assert prm["symbol"] == "BTCUSDT" and prm["side"] == "BUY" and prm["type"] == "LIMIT"
    assert prm["positionSide"] == "BOTH" and prm["timeInForce"] == "GTC" and "reduceOnly" not in prm
    assert prm["quantity"] == "0.02000000" and prm["price"] == "60000.00000000"
    assert prm["newClientOrderId"] == CID and prm["timestamp"] == str(T0 // MS) and prm["recvWindow"] == "1000"
    sig = prm.pop("signature")
    assert sig == Signer("k", "s").signature(prm)


def test_reduce_only_market_and_post_only_frames():
    prm = make(type_=O.MARKET, flags=O.F_REDUCE_ONLY, side=O.SELL)[2]["params"]
    assert prm["type"] == "MARKET" and prm["reduceOnly"] == "true" and "price" not in prm
    assert "timeInForce" not in prm and prm["side"] == "SELL"
    prm = make(type_=O.LIMIT_MAKER)[2]["params"]
    assert prm["type"] == "LIMIT" and prm["timeInForce"] == "GTX"


def test_accepted_then_partially_filled_then_filled():
    p, o, frame = make()
    reports, frames = p.on_frame(answer(frame["id"], result()), T0 + MS)
    assert kinds(reports) == [(F.EX_NEW, F.ST_ACKED)] and frames == []
    assert o.venue_order_id == 325078477 and reports[0][1][0]["venue_ns"] == 1700000000100 * MS
    reports, _ = p.on_frame(otu("TRADE", "PARTIALLY_FILLED", "0.005", "0.005", "60000", "0.12000000", t=11), T0 + 2 * MS)
    assert kinds(reports) == [(F.EX_TRADE, F.ST_PARTIAL)]
    r = reports[0][1][0]
    assert r["last_qty_e8"] == 500_000 and r["last_px_e8"] == 6_000_000_000_000 and r["fee_e8"] == 12_000_000
    assert r["trade_id"] == 11 and r["cum_qty_e8"] == 500_000
    # the same event twice counts once
    assert p.on_frame(otu("TRADE", "PARTIALLY_FILLED", "0.005", "0.005", "60000", "0.12"), T0)[0] == []
    reports, _ = p.on_frame(otu("TRADE", "FILLED", "0.015", "0.020", "59990", "0.36"), T0 + 3 * MS)
    assert kinds(reports) == [(F.EX_TRADE, F.ST_FILLED)]
    assert reports[0][1][0]["last_px_e8"] == 5_999_000_000_000
    assert o.done and o.filled_e8 == 2_000_000 and not p.orders


def test_event_before_answer_acks_and_fills():
    p, o, frame = make()
    reports, _ = p.on_frame(otu("TRADE", "FILLED", "0.020", "0.020", "60000"), T0 + MS)
    assert kinds(reports) == [(F.EX_NEW, F.ST_ACKED), (F.EX_TRADE, F.ST_FILLED)] and o.done
    # the late answer of the place: nothing more
    assert p.on_frame(answer(frame["id"], result("FILLED", "0.020", "60000")), T0 + 2 * MS) == ([], [])


def test_ioc_expired_with_partial_fill():
    p, o, frame = make(tif=O.IOC)
    p.on_frame(otu("NEW", "NEW"), T0 + MS)
    reports, _ = p.on_frame(otu("TRADE", "PARTIALLY_FILLED", "0.008", "0.008", "60000"), T0 + MS)
    assert kinds(reports) == [(F.EX_TRADE, F.ST_PARTIAL)]
    reports, _ = p.on_frame(otu("EXPIRED", "EXPIRED", "0", "0.008"), T0 + 2 * MS)
    assert kinds(reports) == [(F.EX_EXPIRED, F.ST_EXPIRED)] and o.done and o.filled_e8 == 800_000


def test_cancel_frame_has_no_new_client_id_and_cancels():
    p, o, frame = make()
    p.on_frame(answer(frame["id"], result()), T0 + MS)
    cframe, reports = p.cancel((1 << 40) | 6, o.order_id, T0 + 2 * MS)
    c = orjson.loads(cframe)
    assert c["method"] == "order.cancel" and reports == []
    assert c["params"]["origClientOrderId"] == CID and "newClientOrderId" not in c["params"]
    sig = c["params"].pop("signature")
    assert sig == Signer("k", "s").signature(c["params"])
    reports, _ = p.on_frame(answer(c["id"], result("CANCELED")), T0 + 3 * MS)
    assert kinds(reports) == [(F.EX_CANCELED, F.ST_CANCELED)] and o.done
    assert int(reports[0][1][0]["venue_ns"]) == 1700000000100 * MS  # the cancel result's updateTime


@pytest.mark.parametrize("code,msg,reason", [
    (-2019, "Margin is insufficient.", R.VENUE_MARGIN),
    (-2022, "ReduceOnly Order is rejected.", R.VENUE_REDUCE_ONLY),
    (-4061, "Order's position side does not match user's setting.", R.VENUE_POSITION_MODE),
    (-5022, "Due to the order could not be executed as maker, the Post Only order will be rejected.",
     R.VENUE_WOULD_TAKE),
    (-1022, "Signature for this request is not valid.", R.VENUE_AUTH),
    (-2015, "Invalid API-key, IP, or permissions for action.", R.VENUE_AUTH),
    (-1021, "Timestamp for this request is outside of the recvWindow.", R.VENUE_AUTH),
    (-1015, "Too many new orders.", R.VENUE_RATE_LIMIT),
    (-4164, "Order's notional must be no smaller than 100 (unless you choose reduce only).", R.VENUE_FILTER),
    (-1111, "Precision is over the maximum defined for this asset.", R.VENUE_FILTER),
    (-4014, "Price not increased by tick size.", R.VENUE_FILTER),
    (-1121, "Invalid symbol.", R.VENUE_FILTER),
    (-2010, "NEW_ORDER_REJECTED", R.VENUE_REJECT),
])
def test_rejected_per_handled_code(code, msg, reason):
    p, o, frame = make()
    reports, frames = p.on_frame(answer(frame["id"], error={"code": code, "msg": msg}, status=400), T0 + MS)
    assert frames == [] and kinds(reports) == [(F.EX_REJECTED, F.ST_REJECTED)]
    r = reports[0][1][0]
    assert r["reason"] == reason and r["venue_code"] == code and o.done and not p.orders


@pytest.mark.parametrize("code,status", [(-1007, 408), (-1000, 400), (-1006, 400), (-1008, 503), (0, 502)])
def test_unknown_outcome_asks_status_never_resends(code, status):
    p, o, frame = make()
    reports, frames = p.on_frame(answer(frame["id"], error={"code": code, "msg": "Timeout waiting for response "
                                                              "from backend server."}, status=status), T0 + MS)
    assert reports == [] and len(frames) == 1
    q = orjson.loads(frames[0])
    assert q["method"] == "order.status" and q["params"]["origClientOrderId"] == CID


def test_timeout_resolved_by_status_with_recovered_fill():
    p, o, frame = make()
    assert p.expired(T0 + 1000 * MS) == []
    frames = p.expired(T0 + 2000 * MS)  # no answer in timeout_ms: a question, not a resend
    assert len(frames) == 1
    q = orjson.loads(frames[0])
    assert q["method"] == "order.status" and q["params"]["origClientOrderId"] == CID
    assert q["params"]["symbol"] == "BTCUSDT" and "signature" in q["params"]
    # the venue filled it and we saw no event: the fill comes back from executedQty / avgPrice
    reports, frames = p.on_frame(answer(q["id"], result("FILLED", "0.020", "60010.5")), T0 + 2001 * MS)
    assert frames == []
    assert kinds(reports) == [(F.EX_NEW, F.ST_ACKED), (F.EX_TRADE, F.ST_FILLED)]
    r = reports[1][1][0]
    assert r["last_qty_e8"] == 2_000_000 and r["last_px_e8"] == 6_001_050_000_000 and o.done


def test_recovered_fill_prices_only_the_missing_part():
    p, o, frame = make()
    p.on_frame(otu("TRADE", "PARTIALLY_FILLED", "0.010", "0.010", "60000"), T0 + MS)
    q = orjson.loads(p.expired(T0 + 5000 * MS)[0])
    # average 60010 over 0.02 with 0.01 at 60000 known: the missing 0.01 traded at 60020
    reports, _ = p.on_frame(answer(q["id"], result("FILLED", "0.020", "60010")), T0 + 5001 * MS)
    assert kinds(reports) == [(F.EX_TRADE, F.ST_FILLED)]
    assert reports[0][1][0]["last_px_e8"] == 6_002_000_000_000 and reports[0][1][0]["last_qty_e8"] == 1_000_000


def test_timeout_status_says_absent_then_never_sent():
    p, o, frame = make(timeout_ms=500)
    q = orjson.loads(p.expired(T0 + 500 * MS)[0])
    err = {"code": -2013, "msg": "Order does not exist."}
    # within recvWindow (1000 ms) + clock skew of the signature: it may still arrive
    assert p.on_frame(answer(q["id"], error=err, status=400), T0 + 501 * MS) == ([], [])
    assert p.expired(T0 + 1500 * MS) == []
    q = orjson.loads(p.expired(T0 + 2002 * MS)[0])
    reports, _ = p.on_frame(answer(q["id"], error=err, status=400), T0 + 2003 * MS)
    assert kinds(reports) == [(F.EX_RESOLVED, F.ST_REJECTED)] and reports[0][1][0]["reason"] == R.NOT_SENT


def test_user_stream_key_keepalive_and_url():
    p, o, frame = make()
    sub = orjson.loads(p.subscribe(T0))
    assert sub["method"] == "userDataStream.start" and sub["params"] == {"apiKey": "k"}  # USER_STREAM: unsigned
    key = "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1"
    assert p.on_frame(answer(sub["id"], {"listenKey": key}), T0 + MS) == ([], [])
    assert p.listen_key == key and p.listen_key_changes == 1
    assert all(orjson.loads(f)["method"] != "userDataStream.ping" for f in p.expired(T0 + 29 * 60 * 1000 * MS))
    pings = [orjson.loads(f) for f in p.expired(T0 + 31 * 60 * 1000 * MS)]
    assert [f["method"] for f in pings if f["method"] == "userDataStream.ping"] == ["userDataStream.ping"]
    assert user_stream_url("wss://ws-fapi.binance.com/ws-fapi/v1", key) == f"wss://fstream.binance.com/ws/{key}"
    assert user_stream_url("ws://127.0.0.1:9/ws-fapi/v1", key) == f"ws://127.0.0.1:9/ws/{key}"
    p.on_frame(orjson.dumps({"e": "listenKeyExpired", "E": 1, "listenKey": key}), T0)
    assert p.listen_key == ""


def test_account_update_positions_and_funding():
    p, o, frame = make()
    order_update = {"e": "ACCOUNT_UPDATE", "E": 1564745798939, "T": 1564745798938, "a": {
        "m": "ORDER", "B": [{"a": "USDT", "wb": "122624.12345678", "cw": "100.12345678", "bc": "0"}],
        "P": [{"s": "BTCUSDT", "pa": "-0.020", "ep": "60000.00000", "bep": "60003", "cr": "200", "up": "-1.5",
               "mt": "cross", "iw": "0.00000000", "ps": "BOTH"}]}}
    assert p.on_frame(orjson.dumps(order_update), T0) == ([], [])
    assert p.take_account() == [("position", 0, -2_000_000, 6_000_000_000_000)]
    # isolated funding: B and the position it was paid on
    funding = {"e": "ACCOUNT_UPDATE", "E": 1700000000001, "T": 1700000000000, "a": {
        "m": "FUNDING_FEE", "B": [{"a": "USDT", "wb": "122623.9", "cw": "100.1", "bc": "-0.24000000"}],
        "P": [{"s": "BTCUSDT", "pa": "-0.020", "ep": "60000", "bep": "0", "cr": "0", "up": "0", "mt": "isolated",
               "iw": "10", "ps": "BOTH"}]}}
    p.on_frame(orjson.dumps(funding), T0)
    got = p.take_account()
    assert got[1] == ("funding", 0, -24_000_000, 1700000000000 * MS)
    # cross margin: only B: the symbol is not named
    cross = {"e": "ACCOUNT_UPDATE", "E": 2, "T": 2, "a": {"m": "FUNDING_FEE", "B": [{"a": "USDT", "bc": "0.1"}]}}
    p.on_frame(orjson.dumps(cross), T0)
    assert p.take_account() == [("funding", -1, 10_000_000, 2 * MS)]
    # a hedge-mode position (LONG/SHORT) or an unknown symbol is not ours: counted
    hedge = {"e": "ACCOUNT_UPDATE", "E": 3, "T": 3, "a": {"m": "ORDER", "B": [], "P": [
        {"s": "BTCUSDT", "pa": "1", "ep": "1", "ps": "LONG"}, {"s": "XRPUSDT", "pa": "1", "ep": "1", "ps": "BOTH"}]}}
    p.on_frame(orjson.dumps(hedge), T0)
    assert p.take_account() == [] and p.unknown_symbols == 2


def test_foreign_and_malformed_events_are_counted():
    p, o, frame = make()
    assert p.on_frame(otu("TRADE", "FILLED", "1", "1", "1", c="someone-else"), T0) == ([], [])
    assert p.on_frame(orjson.dumps({"e": "ORDER_TRADE_UPDATE", "E": 1, "o": "junk"}), T0) == ([], [])
    assert p.unknown_events == 2


def test_malformed_event_asks_the_status_of_open_orders():
    p, o, frame = make()
    p.on_frame(answer(frame["id"], result()), T0 + MS)
    bad = orjson.loads(otu("TRADE", "PARTIALLY_FILLED", "0.005", "0.005", "60000"))
    bad["o"]["z"] = "1e-3"  # not a plain decimal
    assert p.on_frame(orjson.dumps(bad), T0 + 2 * MS) == ([], [])
    assert p.bad_events == 1 and o.filled_e8 == 0
    frames = [orjson.loads(f) for f in p.expired(T0 + 2 * MS)]
    assert [f["method"] for f in frames] == ["order.status"]
    reports, _ = p.on_frame(answer(frames[0]["id"], result("PARTIALLY_FILLED", "0.005", "60000")), T0 + 3 * MS)
    assert kinds(reports) == [(F.EX_TRADE, F.ST_PARTIAL)] and o.filled_e8 == 500_000
