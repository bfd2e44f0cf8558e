"""The order state machine, sans I/O: literal venue answers and events in, reports out."""

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hftshm.layouts import exec_report as F
from hftshm.layouts import order as O
from hftshm.risk import reasons as R
from hftshm.venues.binance_spot.protocol import LiveOrder, Protocol
from hftshm.venues.binance_spot.signing import Signer

T0 = 1_700_000_000_000_000_000
MS = 1_000_000
KEY_LONG = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"


def make(timeout_ms=2000):
    p = Protocol(Signer("k", "s"), ["BTCUSDT"], [("BTC", "USDT")], "htag", recv_window_ms=1000, timeout_ms=timeout_ms)
    o = LiveOrder()
    o.order_id, o.symbol_id, o.strategy_id, o.side, o.type, o.tif = (1 << 40) | 5, 0, 1, O.BUY, O.LIMIT, O.GTC
    o.qty_e8, o.price_e8, o.sent_ns = 2_000_000, 6_000_000_000_000, T0
    frame = orjson.loads(p.place(o, T0))
    return p, o, frame


def answer(rid, result=None, error=None, status=200):
    msg = {"id": rid, "status": status}
    if error:
        msg["error"] = error
    else:
        msg["result"] = result
    return orjson.dumps(msg)


def event(x, X, l="0.00000000", z="0.00000000", L="0.00000000", n="0", N=None, c="htag-10000000005", C=""):
    return orjson.dumps({"subscriptionId": 0, "event": {
        "e": "executionReport", "E": 1700000000123, "s": "BTCUSDT", "c": c, "S": "BUY", "o": "LIMIT", "f": "GTC",
        "q": "0.02000000", "p": "60000.00000000", "C": C, "x": x, "X": X, "i": 7, "l": l, "z": z, "L": L,
        "n": n, "N": N, "T": 1700000000123, "t": 99}})


def kinds(reports):
    return [(int(r[0]["exec_type"]), int(r[0]["state"])) for _, r in reports]


def test_place_frame_is_signed_and_deterministic():
    p, o, frame = make()
    assert frame["method"] == "order.place"
    params = frame["params"]
    assert params["newClientOrderId"] == "htag-10000000005"
    assert params["quantity"] == "0.02000000" and params["price"] == "60000.00000000"
    assert params["timeInForce"] == "GTC" and params["timestamp"] == str(T0 // MS)
    assert len(params["signature"]) == 64


def test_new_partial_fill_then_filled():
    p, o, frame = make()
    placed = {"symbol": "BTCUSDT", "orderId": 7, "clientOrderId": "htag-10000000005", "transactTime": 1700000000100,
              "executedQty": "0.00000000", "status": "NEW"}
    reports, _ = p.on_frame(answer(frame["id"], placed), T0 + 100_000)
    assert kinds(reports) == [(F.EX_NEW, F.ST_ACKED)]
    reports, _ = p.on_frame(event("TRADE", "PARTIALLY_FILLED", "0.00500000", "0.00500000", "60000.00000000",
                                  "0.00000500", "BTC"), T0 + 2 * MS)
    assert kinds(reports) == [(F.EX_TRADE, F.ST_PARTIAL)]
    r = reports[0][1][0]
    assert r["last_qty_e8"] == 500_000 and r["last_px_e8"] == 6_000_000_000_000
    assert r["fee_e8"] == 500 * 60000  # 0.000005 BTC at 60000 = 0.3 USDT
    # the same event again (a resend, or seen twice) counts nothing
    assert p.on_frame(event("TRADE", "PARTIALLY_FILLED", "0.00500000", "0.00500000", "60000.00000000"), T0)[0] == []
    reports, _ = p.on_frame(event("TRADE", "FILLED", "0.01500000", "0.02000000", "59999.00000000"), T0 + 3 * MS)
    assert kinds(reports) == [(F.EX_TRADE, F.ST_FILLED)]
    assert o.done and o.filled_e8 == 2_000_000 and not p.orders


def test_filled_in_answer_waits_for_its_trade_events():
    p, o, frame = make()
    placed = {"orderId": 7, "transactTime": 1, "executedQty": "0.02000000", "status": "FILLED"}
    reports, _ = p.on_frame(answer(frame["id"], placed), T0 + MS)
    assert kinds(reports) == [(F.EX_NEW, F.ST_ACKED)] and not o.done
    reports, _ = p.on_frame(event("TRADE", "FILLED", "0.02000000", "0.02000000", "60000.00000000"), T0 + MS)
    assert kinds(reports) == [(F.EX_TRADE, F.ST_FILLED)] and o.done


def test_fill_after_cancel_sent_then_canceled():
    p, o, frame = make()
    p.on_frame(answer(frame["id"], {"orderId": 7, "executedQty": "0", "status": "NEW"}), T0 + MS)
    cframe, reports = p.cancel((1 << 40) | 6, o.order_id, T0 + 2 * MS)
    c = orjson.loads(cframe)
    assert c["method"] == "order.cancel" and c["params"]["origClientOrderId"] == "htag-10000000005"
    assert c["params"]["newClientOrderId"] == "htag_10000000006"
    reports, _ = p.on_frame(event("TRADE", "PARTIALLY_FILLED", "0.01000000", "0.01000000", "60000.00000000"), T0)
    assert kinds(reports) == [(F.EX_TRADE, F.ST_PARTIAL)]
    reports, _ = p.on_frame(answer(c["id"], {"orderId": 7, "executedQty": "0.01000000", "status": "CANCELED"}), T0)
    assert kinds(reports) == [(F.EX_CANCELED, F.ST_CANCELED)] and o.done
    # the CANCELED event that follows (c = the cancel's id, C = the order's) is for a finished order
    assert p.on_frame(event("CANCELED", "CANCELED", z="0.01000000", c="htag_10000000006", C="htag-10000000005"), T0)[0] == []


def test_canceled_carries_the_venue_time_of_the_answer_that_ended_it():
    """The cancel's answer has the venue's transactTime (a backtest of the run takes the cancels'
    latency from it); a CANCELED execution report has its event time."""
    p, o, frame = make()
    p.on_frame(answer(frame["id"], {"orderId": 7, "executedQty": "0", "status": "NEW", "transactTime": 1_700_000_000_001}),
               T0 + MS)
    c = orjson.loads(p.cancel((1 << 40) | 6, o.order_id, T0 + 2 * MS)[0])
    reports, _ = p.on_frame(answer(c["id"], {"orderId": 7, "executedQty": "0", "status": "CANCELED",
                                             "transactTime": 1_700_000_000_042}), T0 + 3 * MS)
    assert kinds(reports) == [(F.EX_CANCELED, F.ST_CANCELED)]
    assert int(reports[0][1][0]["venue_ns"]) == 1_700_000_000_042 * MS
    p2, o2, frame2 = make()
    p2.on_frame(answer(frame2["id"], {"orderId": 7, "executedQty": "0", "status": "NEW"}), T0 + MS)
    reports, _ = p2.on_frame(event("CANCELED", "CANCELED"), T0 + 2 * MS)
    assert kinds(reports) == [(F.EX_CANCELED, F.ST_CANCELED)]
    assert int(reports[0][1][0]["venue_ns"]) == 1_700_000_000_123 * MS
    # the cancel's answer says a part was filled before it: CANCELED waits for that trade's event,
    # and keeps the cancel's time, not the trade's
    p3, o3, frame3 = make()
    p3.on_frame(answer(frame3["id"], {"orderId": 7, "executedQty": "0", "status": "NEW"}), T0 + MS)
    c3 = orjson.loads(p3.cancel((1 << 40) | 6, o3.order_id, T0 + 2 * MS)[0])
    reports, _ = p3.on_frame(answer(c3["id"], {"orderId": 7, "executedQty": "0.01000000", "status": "CANCELED",
                                               "transactTime": 1_700_000_000_200}), T0 + 3 * MS)
    assert reports == []
    reports, _ = p3.on_frame(event("TRADE", "PARTIALLY_FILLED", "0.01000000", "0.01000000", "60000.00000000"),
                             T0 + 4 * MS)
    assert kinds(reports) == [(F.EX_TRADE, F.ST_PARTIAL), (F.EX_CANCELED, F.ST_CANCELED)]
    assert int(reports[0][1][0]["venue_ns"]) == 1_700_000_000_123 * MS
    assert int(reports[1][1][0]["venue_ns"]) == 1_700_000_000_200 * MS


def test_cancel_rejected_after_fill():
    p, o, frame = make()
    p.on_frame(answer(frame["id"], {"orderId": 7, "executedQty": "0", "status": "NEW"}), T0)
    cframe, _ = p.cancel((1 << 40) | 6, o.order_id, T0)
    c = orjson.loads(cframe)
    reports, _ = p.on_frame(event("TRADE", "FILLED", "0.02000000", "0.02000000", "60000.00000000"), T0)
    assert kinds(reports) == [(F.EX_TRADE, F.ST_FILLED)]
    err = {"code": -2011, "msg": "Unknown order sent."}
    reports, _ = p.on_frame(answer(c["id"], error=err, status=400), T0)
    assert kinds(reports) == [(F.EX_CANCEL_REJECTED, F.ST_FILLED)]
    assert reports[0][1][0]["reason"] == R.CANCEL_UNKNOWN and reports[0][1][0]["venue_code"] == -2011


def test_cancel_of_unknown_order_is_rejected_locally():
    p, o, frame = make()
    frame2, reports = p.cancel(99, 12345, T0)
    assert frame2 is None and kinds(reports) == [(F.EX_CANCEL_REJECTED, 0)]


@pytest.mark.parametrize("code, msg, reason", [
    (-1022, "Signature for this request is not valid.", R.VENUE_AUTH),
    (-1013, "Filter failure: NOTIONAL", R.VENUE_FILTER),
    (-2010, "Account has insufficient balance for requested action.", R.VENUE_BALANCE),
    (-1015, "Too many new orders.", R.VENUE_RATE_LIMIT),
    (-2010, "Order would immediately match and take.", R.VENUE_WOULD_TAKE),
])
def test_venue_errors_are_rejects_with_the_venue_code(code, msg, reason):
    p, o, frame = make()
    status = 429 if code == -1015 else 400
    reports, frames = p.on_frame(answer(frame["id"], error={"code": code, "msg": msg}, status=status), T0 + MS)
    assert frames == [] and kinds(reports) == [(F.EX_REJECTED, F.ST_REJECTED)]
    r = reports[0][1][0]
    assert r["reason"] == reason and r["venue_code"] == code and o.done


def test_timeout_asks_the_venue_and_never_resends():
    p, o, frame = make(timeout_ms=100)
    assert p.expired(T0 + 50 * MS) == []
    frames = [orjson.loads(f) for f in p.expired(T0 + 101 * MS)]
    assert [f["method"] for f in frames] == ["order.status"]
    assert frames[0]["params"]["origClientOrderId"] == "htag-10000000005"
    # the late answer to the place is ignored; the status answer decides
    assert p.on_frame(answer(frame["id"], {"orderId": 7, "executedQty": "0", "status": "NEW"}), T0) == ([], [])
    reports, more = p.on_frame(answer(frames[0]["id"], {"orderId": 7, "executedQty": "0.01000000",
                                                        "status": "EXPIRED"}), T0 + 200 * MS)
    assert kinds(reports) == [(F.EX_NEW, F.ST_ACKED)]
    assert [orjson.loads(f)["method"] for f in more] == ["myTrades"]  # fills we missed
    t = orjson.loads(more[0])
    trades = [{"symbol": "BTCUSDT", "id": 5, "orderId": 7, "price": "60000.00000000", "qty": "0.01000000",
               "commission": "6.00000000", "commissionAsset": "USDT", "time": 1}]
    reports, _ = p.on_frame(answer(t["id"], trades), T0 + 300 * MS)
    assert kinds(reports) == [(F.EX_TRADE, F.ST_PARTIAL), (F.EX_EXPIRED, F.ST_EXPIRED)]
    assert reports[0][1][0]["fee_e8"] == 600_000_000 and o.done


def test_absent_order_is_not_sent_only_after_recv_window():
    p, o, frame = make(timeout_ms=100)
    s = orjson.loads(p.expired(T0 + 200 * MS)[0])
    missing = {"code": -2013, "msg": "Order does not exist."}
    assert p.on_frame(answer(s["id"], error=missing, status=400), T0 + 300 * MS) == ([], [])
    assert not o.done  # it may still arrive: recvWindow (1000 ms) + skew not yet over
    s = orjson.loads(p.expired(T0 + 2100 * MS)[0])
    reports, _ = p.on_frame(answer(s["id"], error=missing, status=400), T0 + 2200 * MS)
    assert kinds(reports) == [(F.EX_RESOLVED, F.ST_REJECTED)] and reports[0][1][0]["reason"] == R.NOT_SENT


def test_duplicate_answer_resolves_instead_of_rejecting():
    p, o, frame = make()
    reports, frames = p.on_frame(answer(frame["id"], error={"code": -2010, "msg": "Duplicate order sent."},
                                        status=400), T0)
    assert reports == [] and [orjson.loads(f)["method"] for f in frames] == ["order.status"]


def test_a_rejected_cancel_of_an_unanswered_order_still_gets_it_resolved():
    """The place went unanswered, a cancel was sent and refused (-2011): the order must not be
    left without a question outstanding (it would stay open forever)."""
    p, o, frame = make(timeout_ms=100)
    cframe, _ = p.cancel((1 << 40) | 6, o.order_id, T0 + 10 * MS)
    c = orjson.loads(cframe)
    reports, _ = p.on_frame(answer(c["id"], error={"code": -2011, "msg": "Unknown order sent."}, status=400),
                            T0 + 20 * MS)
    assert kinds(reports) == [(F.EX_CANCEL_REJECTED, F.ST_NEW)] and not o.done
    frames = [orjson.loads(f) for f in p.expired(T0 + 200 * MS)]
    assert [f["method"] for f in frames] == ["order.status"]


@settings(max_examples=300, deadline=None)
@given(side=st.sampled_from([O.BUY, O.SELL]), tif=st.sampled_from([O.GTC, O.IOC, O.FOK]),
       qty=st.integers(1, 10**15), price=st.integers(1, 10**15), symbol=st.integers(0, 1),
       order_id=st.integers(1, 2**62), now=st.integers(T0, T0 + 10**18), key=st.sampled_from(["k", KEY_LONG]))
def test_the_limit_template_frame_is_the_generic_frame_byte_for_byte(side, tif, qty, price, symbol, order_id, now, key):
    fast = Protocol(Signer(key, "s"), ["BTCUSDT", "ETHUSDT"], [("BTC", "USDT"), ("ETH", "USDT")], "hk3x9")
    slow = Protocol(Signer(key, "s"), ["BTCUSDT", "ETHUSDT"], [("BTC", "USDT"), ("ETH", "USDT")], "hk3x9")
    assert fast._limit_fast
    slow._limit_fast = False  # the generic dict, sort and JSON encoder
    frames = []
    for p in (fast, slow):
        o = LiveOrder()
        o.order_id, o.symbol_id, o.strategy_id, o.side, o.type, o.tif = order_id, symbol, 1, side, O.LIMIT, tif
        o.qty_e8, o.price_e8 = qty, price
        frames.append(p.place(o, now))
        assert p.requests and o.deadline_ns == now + p.timeout_ns and p.orders[order_id] is o
    assert frames[0] == frames[1]


def test_a_key_that_json_would_escape_takes_the_generic_path():
    p = Protocol(Signer('k"ey', "s"), ["BTCUSDT"], [("BTC", "USDT")], "htag")
    assert not p._limit_fast
    o = LiveOrder()
    o.order_id, o.symbol_id, o.side, o.type, o.tif, o.qty_e8, o.price_e8 = 7, 0, O.BUY, O.LIMIT, O.GTC, 1, 1
    assert orjson.loads(p.place(o, T0))["params"]["apiKey"] == 'k"ey'
