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


def test_funding_at_each_funding_time_booked_and_sent_as_bybit_funding_executions():
    """Funding on the interval's grid: each open position pays position x mark x rate (a long pays
    a positive rate); the ledger books it, and the execution sent says the same amount in
    Bybit's funding shape (execFee positive when paid)."""
    v = BybitTrade(("btcusdt", "ethusdt"), KEY, SECRET, 20_000, 55_000, levels=20, seed=3, funding_interval_s=2.0,
                   funding_rate="0.0005")
    s = authed(v)
    t0 = 1_700_000_000_500  # 0.5 s past a funding time (an even second)
    assert v.funding(t0) == [] and v.next_funding_ms == 1_700_000_002_000  # the first call sets the grid
    ans, _ = create(v, s, "r1", side="Buy", orderType="Market", qty="0.003", orderLinkId="long")
    assert ans["retCode"] == 0 and v.ledger.position("BTCUSDT").qty_e8 == 300_000
    assert v.funding(1_700_000_001_999) == []  # not yet
    (topic, ex), = v.funding(1_700_000_002_010)  # ETHUSDT has no position: nothing for it
    m = v.markets["BTCUSDT"]
    mark = (max(m.bids) + min(m.asks)) * m.spec.tick_e8 // 2
    paid = -(-(300_000 * mark // E8) * 50_000 // E8)  # to the 1e-8 the payer's way (futures.py's rule)
    (rec,) = v.ledger.funding_record
    assert topic == "execution" and rec.amount_e8 == -paid < 0 and rec.time_ms == 1_700_000_002_000
    assert ex["execType"] == "Funding" and ex["symbol"] == "BTCUSDT" and ex["side"] == "Buy"
    assert ex["execFee"] == f"{paid / E8:.8f}".rstrip("0") and ex["execQty"] == "0.003"
    assert ex["execPrice"] == ex["markPrice"] and ex["feeRate"] == "0.0005" and ex["orderLinkId"] == ""
    assert ex["orderType"] == "UNKNOWN" and ex["execTime"] == "1700000002000"
    assert v.ledger.position("BTCUSDT").funding == -paid / E8
    # a short on a negative rate pays too; a missed funding time is paid once, at the latest
    v.funding_rate_e8 = -50_000
    create(v, s, "r2", side="Sell", orderType="Market", qty="0.005", orderLinkId="short")
    pos = v.ledger.position("BTCUSDT").qty_e8
    assert pos == -200_000
    (_, ex2), = v.funding(1_700_000_007_000)
    assert v.ledger.funding_record[-1].time_ms == 1_700_000_004_000 and v.next_funding_ms == 1_700_000_008_000
    assert ex2["side"] == "Sell" and not ex2["execFee"].startswith("-") and v.ledger.funding_record[-1].amount_e8 < 0
    # the executions over REST ("Get Trade History"), funding only, newest first
    q = "category=linear&symbol=BTCUSDT&execType=Funding&startTime=1700000000000"  # (by default: the last 7 days)
    listed = v.rest("/v5/execution/list", q, BybitSigner(KEY, SECRET).rest_headers(now_ms(), "5000", q), now_ms())
    assert [e["execId"] for e in listed["result"]["list"]] == [ex2["execId"], ex["execId"]]
    assert sum(-round(float(e["execFee"]) * E8) for e in listed["result"]["list"]) == \
        sum(r.amount_e8 for r in v.ledger.funding_record)


def test_execution_list_windows_pages_and_faults():
    """"Get Trade History" as hftshm asks it for missed funding: the startTime/endTime window
    (both ends in; at most 7 days), pages of ``limit`` newest first chained by nextPageCursor
    ("" on the last), a bad window or cursor refused (10001), and the 10016 fault."""
    v = venue()
    base = 1_700_000_000_000
    for i in range(7):  # funding executions at base + i s, and a trade among them
        v.executions.append({"category": "linear", "symbol": "BTCUSDT", "execType": "Funding", "execId": f"f{i}",
                             "execTime": str(base + i * 1000), "execFee": "0.01"})
    v.executions.append({"category": "linear", "symbol": "BTCUSDT", "execType": "Trade", "execId": "t",
                         "execTime": str(base + 2500), "execFee": "0.01"})
    signer = BybitSigner(KEY, SECRET)

    def get(q):
        return v.rest("/v5/execution/list", q, signer.rest_headers(now_ms(), "5000", q), now_ms())

    window = f"category=linear&execType=Funding&startTime={base + 1000}&endTime={base + 5000}&limit=2"
    pages, cursor = [], ""
    while True:
        body = get(window + (f"&cursor={cursor}" if cursor else ""))
        assert body["retCode"] == 0
        pages.append([e["execId"] for e in body["result"]["list"]])
        cursor = body["result"]["nextPageCursor"]
        if not cursor:
            break
    assert pages == [["f5", "f4"], ["f3", "f2"], ["f1"]]  # both ends in, newest first, no trade
    assert [e["execId"] for e in get(f"category=linear&startTime={base}&limit=100")["result"]["list"]] == \
        ["f6", "f5", "f4", "f3", "t", "f2", "f1", "f0"]  # only startTime: the 7 days from it
    assert get("category=linear&execType=Funding")["result"]["list"] == []  # by default the last 7 days
    assert get(f"category=linear&startTime={base}&endTime={base + 7 * 86_400_000 + 1}")["retCode"] == 10001
    assert get(f"category=linear&startTime={base + 1}&endTime={base}")["retCode"] == 10001
    assert get(f"category=linear&startTime={base}&cursor=x1")["retCode"] == 10001
    assert get(f"category=linear&startTime={base}&limit=101")["retCode"] == 10001
    v.fail_executions = 1
    assert get(f"category=linear&startTime={base}")["retCode"] == 10016
    assert get(f"category=linear&startTime={base}")["retCode"] == 0  # once


def test_every_public_linear_connection_shows_the_book_orders_match_against():
    """The public orderbook.50 of every linear connection is the matching's book: after an order
    takes levels (and the market moves between messages), each connection's next delta brings
    its consumer's book, rebuilt by the live normalizer, back to the simulator's own."""
    from hftshm import venues
    from hftshm.exchange.inband import InbandOptions, InbandSession
    from hftshm.layouts.md import format_e8

    v = venue()
    m = v.markets["BTCUSDT"]
    opts = InbandOptions(reset_every=0, gap_every=0, levels=20)
    conns = []
    for _ in range(2):
        session = InbandSession("bybit_linear", opts, {"BTCUSDT"}, v.markets)
        norm = venues.get("bybit_linear").normalizer({"BTCUSDT": 0})
        for reply in session.handle(orjson.dumps({"op": "subscribe", "args": ["orderbook.50.BTCUSDT",
                                                                             "publicTrade.BTCUSDT"]})):
            norm.normalize(reply, 1)
        conns.append((session, norm))

    def pump_and_check(n):
        """Each connection's messages, then its book: the book as its last delta left it (the
        other connection's messages move the shared market too; a trade message does not)."""
        spec = m.spec
        for session, norm in conns:
            for msg in session.next_messages(n):
                norm.normalize(msg, 2)
            book = norm.book("BTCUSDT")
            assert book.live
            assert book.bids.as_dict() == {p * spec.tick_e8: q * spec.step_e8 for p, q in m.bids.items()}
            assert book.asks.as_dict() == {p * spec.tick_e8: q * spec.step_e8 for p, q in m.asks.items()}

    pump_and_check(40)
    s = authed(v)
    best, second = sorted(m.asks)[:2]
    qty = (m.asks[best] + 1) * m.spec.step_e8  # the best ask whole and one lot of the next
    ans, events = create(v, s, "t1", side="Buy", orderType="Market", qty=format_e8(qty), orderLinkId="t1")
    assert ans["retCode"] == 0 and [t for t, _ in events].count("execution") == 2
    assert best not in m.asks
    v.tick(now_ms())  # the market's own move, outside any connection's messages
    pump_and_check(40)  # every change reached every connection in its next delta
    assert len(m.asks) == len(m.bids) == 20  # the taken levels came back: the book keeps its depth
    assert sum(n.counters.depth_gaps for _, n in conns) == 0


def test_a_connection_opened_on_a_side_orders_took_empty_sees_it_quoted_again():
    """Orders swept a whole side while no connection was open: a new connection's snapshots
    (book and tickers) show the side quoted again, not an error."""
    from hftshm import venues
    from hftshm.exchange.inband import InbandOptions, InbandSession

    v = venue()
    m = v.markets["BTCUSDT"]
    m.asks.clear()
    session = InbandSession("bybit_linear", InbandOptions(reset_every=0, gap_every=0), {"BTCUSDT"}, v.markets)
    norm = venues.get("bybit_linear").normalizer({"BTCUSDT": 0})
    for reply in session.handle(orjson.dumps({"op": "subscribe", "args": [
            "orderbook.50.BTCUSDT", "tickers.BTCUSDT", "publicTrade.BTCUSDT"]})):
        norm.normalize(reply, 1)
    for msg in session.next_messages(30):
        norm.normalize(msg, 2)
    book = norm.book("BTCUSDT")
    assert len(m.asks) == 20 and min(m.asks) > max(m.bids)
    assert book.live and book.asks.as_dict() == {p * m.spec.tick_e8: q * m.spec.step_e8 for p, q in m.asks.items()}
    assert norm.counters.bad_fields == norm.counters.crossed_books == 0
