"""The order router, sans I/O: order records and literal venue answers in; frames, the risk
state, the trading area's slots and the published reports out. No sockets, no processes.

Forbidden outcomes: an order sent twice (a redelivered record, a timeout), a fill counted twice
in the position, open quantity left behind after an order ended, a slot never freed, an order
sent while the venue's rate limit holds us back."""

import numpy as np
import orjson
import pytest

from hftshm.layouts import exec_report as F
from hftshm.layouts import order as O
from hftshm.risk import reasons as R
from hftshm.risk.limits import Limits
from hftshm.risk.live_gate import LiveGate
from hftshm.risk.state import RiskState
from hftshm.runtime import control_layout as C
from hftshm.trading.area import TradingArea
from hftshm.trading.rate_backoff import RateBackoff
from hftshm.venues.binance_spot.protocol import Protocol
from hftshm.trading.router import OrderRouter
from hftshm.venues.binance_spot.signing import Signer

T0 = 1_700_000_000_000_000_000
MS = 1_000_000
E8 = 100_000_000
WORD = C.word(C.TRADING_STATE)


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now


class Rec:
    def __init__(self):
        self.values = []

    def record(self, ns):
        self.values.append(ns)


class Bench:
    """A router over a private risk block, trading area and control words, with fakes for I/O."""

    def __init__(self, backoff=None, timeout_ms=2000):
        self.buf = np.zeros(C.RISK_LENGTH, np.uint8)
        self.area = TradingArea.format(self.buf, 1)
        self.risk = RiskState(1, self.buf)
        self.risk.symbols[0]["mid_e8"] = 60_000 * E8  # as the risk worker stores it
        self.words = np.zeros(C.SEGMENT_SIZE // 8, np.int64)
        self.words[WORD] = R.TS_ACTIVE
        limits = Limits(n_symbols=1, max_order_qty=1, max_order_notional=100_000, max_position=2,
                        max_gross_exposure=1_000_000, price_band_bps=100, max_orders_per_s=50,
                        max_orders_per_s_total=50)
        self.gate = LiveGate(self.risk, limits, self.words, WORD)
        self.proto = Protocol(Signer("k", "s"), ["BTCUSDT"], [("BTC", "USDT")], "htag", recv_window_ms=1000,
                              timeout_ms=timeout_ms)
        self.clock = Clock()
        self.published = []
        self.counts = {}
        self.halts = []
        self.router = OrderRouter(self.risk, self.area, self.gate, self.proto, self.published.append, self.count,
                                  {k: Rec() for k in ("risk_check", "intent_to_verdict", "sent_to_ack")},
                                  self.halt, 1000 * MS, backoff, clock=self.clock)

    def count(self, name, n=1):
        self.counts[name] = self.counts.get(name, 0) + n

    def halt(self, cause):
        self.halts.append(cause)
        self.words[WORD] = R.TS_HALTED
        return True

    def order(self, counter, side=O.BUY, qty="0.02", price=60_000, tif=O.GTC, action=O.NEW, cancel_id=0):
        rec = np.zeros(1, O.DTYPE)
        rec["order_id"] = O.make_order_id(1, counter)
        rec["cancel_id"] = cancel_id
        rec["strategy_id"] = 1
        rec["side"], rec["type"], rec["tif"], rec["action"] = side, O.LIMIT, tif, action
        rec["qty_e8"] = round(float(qty) * E8)
        rec["price_e8"] = price * E8
        rec["intent_ns"] = self.clock.now
        rec["trigger_recv_ns"] = self.clock.now
        return rec

    def send(self, rec):
        """handle + release, as the worker does: the frame that would go out, decoded."""
        frame = self.router.handle(rec)
        if frame is not None and self.router.pending is not None:
            frame = self.router.release(frame)
        return None if frame is None else orjson.loads(frame)

    def venue(self, msg):
        return [orjson.loads(f) for f in self.router.on_frame(orjson.dumps(msg), self.clock.now)]

    @property
    def sym(self):
        return self.risk.symbols[0]

    def kinds(self):
        return [(int(r[0]["exec_type"]), int(r[0]["state"])) for r in self.published]


def ok(rid, result, limits=None):
    msg = {"id": rid, "status": 200, "result": result}
    if limits is not None:
        msg["rateLimits"] = limits
    return msg


def err(rid, code, msg, status=400, data=None):
    e = {"code": code, "msg": msg}
    if data is not None:
        e["data"] = data
    return {"id": rid, "status": status, "error": e}


def report(x, X, cid, l="0", z="0", L="0", n="0", N="USDT", t=0):
    return {"subscriptionId": 0, "event": {"e": "executionReport", "E": 1700000000123, "s": "BTCUSDT", "c": cid,
                                           "S": "BUY", "o": "LIMIT", "f": "GTC", "q": "0.02000000",
                                           "p": "60000.00000000", "C": "", "x": x, "X": X, "i": 7, "l": l, "z": z,
                                           "L": L, "n": n, "N": N, "T": 1700000000123, "t": t}}


def live_slots(b):
    return [int(b.area.slots[i]["order_id"]) for i in b.area.live()]


def test_accepted_then_filled_in_two_trades():
    b = Bench()
    f = b.send(b.order(1))
    assert f["method"] == "order.place" and f["params"]["newClientOrderId"] == "htag-10000000001"
    assert b.sym["open_buy_e8"] == 2_000_000 and live_slots(b) == [O.make_order_id(1, 1)]
    b.venue(ok(f["id"], {"orderId": 7, "transactTime": 1, "executedQty": "0.00000000", "status": "NEW"}))
    assert b.kinds() == [(F.EX_NEW, F.ST_ACKED)] and b.counts["acked"] == 1
    b.venue(report("TRADE", "PARTIALLY_FILLED", "htag-10000000001", "0.005", "0.005", "60000", "0.03", t=11))
    assert b.sym["position_e8"] == 500_000 and b.sym["open_buy_e8"] == 1_500_000
    b.venue(report("TRADE", "PARTIALLY_FILLED", "htag-10000000001", "0.005", "0.005", "60000", "0.03", t=11))
    assert b.sym["position_e8"] == 500_000, "the same event twice counted twice"
    b.venue(report("TRADE", "FILLED", "htag-10000000001", "0.015", "0.02", "59990", "0.09", t=12))
    assert b.sym["position_e8"] == 2_000_000 and b.sym["open_buy_e8"] == 0
    assert b.sym["fees"] == pytest.approx(0.12) and b.sym["fills"] == 2
    assert b.kinds()[1:] == [(F.EX_TRADE, F.ST_PARTIAL), (F.EX_TRADE, F.ST_FILLED)]
    assert [int(r[0]["trade_id"]) for r in b.published[1:]] == [11, 12]
    assert live_slots(b) == [] and b.router.open == 0 and b.counts["filled"] == 1
    assert b.area.ended[F.ST_FILLED] == 1


def test_partially_filled_then_expired_frees_the_rest():
    b = Bench()
    f = b.send(b.order(1, tif=O.IOC))
    b.venue(ok(f["id"], {"orderId": 7, "transactTime": 1, "executedQty": "0.01000000", "status": "EXPIRED"}))
    assert b.router.open == 1, "executed 0.01 but no trade seen yet: not final"
    b.venue(report("TRADE", "PARTIALLY_FILLED", "htag-10000000001", "0.01", "0.01", "60000", t=5))
    b.venue(report("EXPIRED", "EXPIRED", "htag-10000000001", z="0.01"))
    assert b.kinds() == [(F.EX_NEW, F.ST_ACKED), (F.EX_TRADE, F.ST_PARTIAL), (F.EX_EXPIRED, F.ST_EXPIRED)]
    assert b.sym["position_e8"] == 1_000_000 and b.sym["open_buy_e8"] == 0
    assert live_slots(b) == [] and b.counts["expired"] == 1


@pytest.mark.parametrize("code, msg, status, reason", [
    (-1013, "Filter failure: LOT_SIZE", 400, R.VENUE_FILTER),
    (-1111, "Precision is over the maximum defined for this asset.", 400, R.VENUE_FILTER),
    (-2010, "Account has insufficient balance for requested action.", 400, R.VENUE_BALANCE),
    (-2010, "Order would immediately match and take.", 400, R.VENUE_WOULD_TAKE),
    (-2010, "Market is closed.", 400, R.VENUE_CLOSED),
    (-1022, "Signature for this request is not valid.", 400, R.VENUE_AUTH),
    (-2015, "Invalid API-key, IP, or permissions for action.", 401, R.VENUE_AUTH),
    (-1021, "Timestamp for this request is outside of the recvWindow.", 400, R.VENUE_AUTH),
    (-1015, "Too many new orders; current limit is 50 orders per 10 SECOND.", 429, R.VENUE_RATE_LIMIT),
    (-1003, "Too much request weight used.", 429, R.VENUE_RATE_LIMIT),
    (-1100, "Illegal characters found in a parameter.", 400, R.VENUE_FILTER),
])
def test_rejected_with_each_handled_code(code, msg, status, reason):
    b = Bench()
    f = b.send(b.order(1))
    assert b.venue(err(f["id"], code, msg, status)) == []
    assert b.kinds() == [(F.EX_REJECTED, F.ST_REJECTED)]
    r = b.published[0][0]
    assert r["reason"] == reason and r["venue_code"] == code
    assert b.sym["open_buy_e8"] == 0 and live_slots(b) == [] and b.counts["venue_rejects"] == 1
    assert b.area.rejects[reason] == 1


@pytest.mark.parametrize("code, msg, status", [(-1007, "Timeout waiting for response from backend server.", 408),
                                               (-1000, "An unknown error occurred.", 400),
                                               (-2010, "Duplicate order sent.", 400),
                                               (0, "", 503)])
def test_unknown_outcome_is_asked_about_never_resent(code, msg, status):
    b = Bench()
    f = b.send(b.order(1))
    frames = b.venue(err(f["id"], code, msg, status))
    assert [x["method"] for x in frames] == ["order.status"] and b.published == []
    assert live_slots(b) == [O.make_order_id(1, 1)]
    b.venue(ok(frames[0]["id"], {"orderId": 7, "executedQty": "0", "status": "NEW"}))
    assert b.kinds() == [(F.EX_NEW, F.ST_ACKED)] and b.router.open == 1


def test_timeout_resolved_by_status_and_trades_never_by_resend():
    b = Bench(timeout_ms=100)
    f = b.send(b.order(1))
    b.clock.now += 50 * MS
    assert b.router.expired(b.clock.now) == []
    b.clock.now += 60 * MS
    frames = [orjson.loads(x) for x in b.router.expired(b.clock.now)]
    assert [x["method"] for x in frames] == ["order.status"] and b.counts["timeouts"] == 1
    assert b.venue(ok(f["id"], {"orderId": 7, "executedQty": "0", "status": "NEW"})) == []  # the late answer
    more = b.venue(ok(frames[0]["id"], {"orderId": 7, "executedQty": "0.02000000", "status": "FILLED"}))
    assert [x["method"] for x in more] == ["myTrades"]
    b.venue(ok(more[0]["id"], [{"id": 31, "orderId": 7, "price": "60000", "qty": "0.02", "commission": "0.12",
                                "commissionAsset": "USDT", "time": 1}]))
    assert b.kinds() == [(F.EX_NEW, F.ST_ACKED), (F.EX_TRADE, F.ST_FILLED)]
    assert b.sym["position_e8"] == 2_000_000 and b.sym["open_buy_e8"] == 0 and live_slots(b) == []
    # the trade's own event arriving afterwards counts nothing
    b.venue(report("TRADE", "FILLED", "htag-10000000001", "0.02", "0.02", "60000", t=31))
    assert b.sym["position_e8"] == 2_000_000 and len(b.published) == 2


def test_timeout_then_absent_is_not_sent():
    b = Bench(timeout_ms=100)
    b.send(b.order(1))
    b.clock.now += 2500 * MS  # past recvWindow (1000 ms) and the clock allowance
    s = orjson.loads(b.router.expired(b.clock.now)[0])
    b.venue(err(s["id"], -2013, "Order does not exist."))
    assert b.kinds() == [(F.EX_RESOLVED, F.ST_REJECTED)] and b.published[0][0]["reason"] == R.NOT_SENT
    assert b.sym["open_buy_e8"] == 0 and live_slots(b) == [] and b.counts["resolved"] == 1


def test_a_redelivered_order_is_never_sent_again():
    b = Bench()
    rec = b.order(1)
    assert b.send(rec) is not None
    assert b.send(rec) is None and b.counts["duplicates"] == 1
    assert b.area.hwm[1] == 1


def test_halt_between_gate_and_release_undoes_the_order():
    b = Bench()
    frame = b.router.handle(b.order(1))
    b.words[WORD] = R.TS_HALTED
    assert b.router.release(frame) is None
    assert b.kinds() == [(F.EX_REJECTED, F.ST_REJECTED)] and b.published[0][0]["reason"] == R.HALTED
    assert b.sym["open_buy_e8"] == 0 and live_slots(b) == [] and b.router.open == 0


def test_cancel_open_orders_then_canceled():
    b = Bench()
    f = b.send(b.order(1))
    b.venue(ok(f["id"], {"orderId": 7, "executedQty": "0", "status": "NEW"}))
    frames = [orjson.loads(x) for x in b.router.cancel_open_orders(b.clock.now, at_stop=True)]
    assert [x["method"] for x in frames] == ["order.cancel"]
    assert b.router.cancel_open_orders(b.clock.now, at_stop=True) == []  # one cancel per order
    b.venue(ok(frames[0]["id"], {"orderId": 7, "executedQty": "0", "status": "CANCELED"}))
    assert b.kinds()[-1] == (F.EX_CANCELED, F.ST_CANCELED)
    assert b.counts["stop_canceled"] == 1 and b.router.open == 0 and b.sym["open_buy_e8"] == 0


def test_rate_limit_answer_backs_off_then_resumes():
    b = Bench(RateBackoff(base_ms=500, max_ms=10_000, halt_after=3))
    f = b.send(b.order(1))
    retry_ms = b.clock.now // MS + 2000
    b.venue(err(f["id"], -1015, "Too many new orders; current limit is 50 orders per 10 SECOND.", 429,
                {"serverTime": b.clock.now // MS, "retryAfter": retry_ms}))
    assert b.counts["rate_limited"] == 1 and b.counts["backoffs"] == 1
    b.clock.now += 1000 * MS  # past base_ms but before retryAfter: still backing off
    assert b.send(b.order(2)) is None
    assert b.published[-1][0]["reason"] == R.BACKOFF and b.counts["backoff_rejects"] == 1
    assert b.sym["open_buy_e8"] == 0, "a refused order must not count as open"
    b.clock.now = retry_ms * MS
    assert b.send(b.order(3))["method"] == "order.place"
    assert b.halts == []


def test_repeated_rate_limits_escalate_to_a_halt():
    b = Bench(RateBackoff(base_ms=100, max_ms=10_000, halt_after=3))
    for k in range(3):
        f = b.send(b.order(k + 1))
        assert f is not None, f"order {k + 1} held back"
        b.venue(err(f["id"], -1003, "Too much request weight used.", 429))
        b.clock.now += 20_000 * MS  # the pause (at most 400 ms) has passed; the minute has not
    assert b.halts == [R.VENUE_RATE_HALT] and b.counts["rate_halts"] == 1
    assert b.counts["rate_limited"] == 3


def test_rate_limits_far_apart_do_not_halt():
    b = Bench(RateBackoff(base_ms=100, max_ms=10_000, halt_after=3))
    for k in range(4):
        f = b.send(b.order(k + 1))
        b.venue(err(f["id"], -1015, "Too many new orders.", 429))
        b.clock.now += 31_000 * MS
    assert b.halts == []


def test_ip_ban_halts_at_once():
    b = Bench()
    f = b.send(b.order(1))
    b.venue(err(f["id"], -1003, "Way too much request weight used; IP banned until 1700000100000.", 418,
                {"serverTime": T0 // MS, "retryAfter": T0 // MS + 100_000}))
    assert b.halts == [R.VENUE_RATE_HALT]


def test_a_full_orders_window_pauses_before_the_venue_refuses():
    b = Bench()
    f = b.send(b.order(1))
    now_ms = b.clock.now // MS
    window_end = now_ms - now_ms % 10_000 + 10_000
    limits = [{"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50, "count": 50},
              {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000,
               "count": 120}]
    b.venue(ok(f["id"], {"orderId": 7, "executedQty": "0", "status": "NEW"}, limits))
    assert b.counts.get("rate_limited", 0) == 0 and b.counts["backoffs"] == 1
    assert b.send(b.order(2)) is None and b.published[-1][0]["reason"] == R.BACKOFF
    b.clock.now = window_end * MS
    assert b.send(b.order(3)) is not None
    # a window with room left pauses nothing
    limits[0]["count"] = 10
    b.venue(ok("nope", {}, limits))
    assert b.send(b.order(4)) is not None


def test_adopt_resolves_orders_of_an_earlier_process():
    b = Bench()
    f = b.send(b.order(1))
    b.venue(ok(f["id"], {"orderId": 7, "executedQty": "0", "status": "NEW"}))
    # a new process over the same shared state: the slot is adopted and asked about
    proto = Protocol(Signer("k", "s"), ["BTCUSDT"], [("BTC", "USDT")], "htag", recv_window_ms=1000)
    r2 = OrderRouter(b.risk, b.area, b.gate, proto, b.published.append, b.count,
                     {k: Rec() for k in ("risk_check", "intent_to_verdict", "sent_to_ack")}, b.halt, 1000 * MS,
                     clock=b.clock)
    assert r2.adopt() == 1 and r2.free.count(0) == 0
    frames = [orjson.loads(x) for x in proto.resync(b.clock.now)]
    assert [x["method"] for x in frames] == ["order.status"]
    assert frames[0]["params"]["origClientOrderId"] == "htag-10000000001"
    r2.on_frame(orjson.dumps(ok(frames[0]["id"], {"orderId": 7, "executedQty": "0", "status": "CANCELED"})),
                b.clock.now)
    assert b.kinds()[-1] == (F.EX_CANCELED, F.ST_CANCELED) and live_slots(b) == [] and b.sym["open_buy_e8"] == 0


def test_a_fill_applied_but_not_published_before_a_kill_counts_once():
    """A slot ahead of the fills ring (a fill applied to the risk state and the slot, its report
    not on the ring): the restarted router fetches it again, publishes it, and does not apply it
    twice. The undo record rules this state out after a crash (test_undo.py: an unpublished
    report is undone); adopt still handles it, as a second line."""
    b = Bench()
    f = b.send(b.order(1))
    b.venue(ok(f["id"], {"orderId": 7, "executedQty": "0", "status": "NEW"}))
    b.venue(report("TRADE", "PARTIALLY_FILLED", "htag-10000000001", "0.01", "0.01", "60000", t=41))
    assert b.sym["position_e8"] == 1_000_000
    lost = b.published.pop()  # never reached the ring
    assert int(lost[0]["trade_id"]) == 41
    proto = Protocol(Signer("k", "s"), ["BTCUSDT"], [("BTC", "USDT")], "htag", recv_window_ms=1000)
    r2 = OrderRouter(b.risk, b.area, b.gate, proto, b.published.append, b.count,
                     {k: Rec() for k in ("risk_check", "intent_to_verdict", "sent_to_ack")}, b.halt, 1000 * MS,
                     clock=b.clock)
    assert r2.adopt({}) == 1  # nothing of it on the fills ring
    s = orjson.loads(proto.resync(b.clock.now)[0])
    t = [orjson.loads(x) for x in r2.on_frame(orjson.dumps(ok(s["id"], {"orderId": 7, "executedQty": "0.01000000",
                                                                          "status": "PARTIALLY_FILLED"})), b.clock.now)]
    assert [x["method"] for x in t] == ["myTrades"]
    r2.on_frame(orjson.dumps(ok(t[0]["id"], [{"id": 41, "orderId": 7, "price": "60000", "qty": "0.01",
                                              "commission": "0", "commissionAsset": "USDT", "time": 1}])), b.clock.now)
    trades = [r for r in b.published if int(r[0]["exec_type"]) == F.EX_TRADE]
    assert [int(r[0]["trade_id"]) for r in trades] == [41], "the fill is published once"
    assert b.sym["position_e8"] == 1_000_000 and b.sym["fills"] == 1, "applied to the risk state twice"
    assert b.sym["open_buy_e8"] == 1_000_000
    # and one the ring did get is neither published nor applied again
    r3 = OrderRouter(b.risk, b.area, b.gate, Protocol(Signer("k", "s"), ["BTCUSDT"], [("BTC", "USDT")], "htag"),
                     b.published.append, b.count, {k: Rec() for k in ("risk_check", "intent_to_verdict", "sent_to_ack")},
                     b.halt, 1000 * MS, clock=b.clock)
    assert r3.adopt({O.make_order_id(1, 1): 1_000_000}) == 1
    s = orjson.loads(r3.proto.resync(b.clock.now)[0])
    assert r3.on_frame(orjson.dumps(ok(s["id"], {"orderId": 7, "executedQty": "0.01000000",
                                                  "status": "PARTIALLY_FILLED"})), b.clock.now) == []
    assert len([r for r in b.published if int(r[0]["exec_type"]) == F.EX_TRADE]) == 1


def test_a_burst_of_refusals_for_orders_already_on_the_wire_counts_once():
    """Orders are pipelined: four sent before the first refusal comes back are refused
    together. That is one push (one pause), not four: no halt."""
    b = Bench(RateBackoff(base_ms=1000, max_ms=10_000, halt_after=3))
    frames = [b.send(b.order(k + 1)) for k in range(4)]
    for f in frames:
        b.venue(err(f["id"], -1015, "Too many new orders.", 429))
    assert b.counts["rate_limited"] == 4 and b.counts["backoffs"] == 1 and b.halts == []
    assert b.router.backoff.until_ns == T0 + 1000 * MS


def test_reconciliation_cancels_our_orphans_and_leaves_others():
    """At start the venue's open orders are matched with ours: one of this run we track is left
    to its normal resolution, one of ours from an earlier run (another run tag) is cancelled,
    one someone else placed on the account is left alone."""
    b = Bench()
    f = b.send(b.order(1))
    b.venue(ok(f["id"], {"orderId": 7, "executedQty": "0", "status": "NEW"}))
    frames = [orjson.loads(x) for x in b.router.reconcile_start(b.clock.now, 1000 * MS)]
    assert [x["method"] for x in frames] == ["openOrders.status"] and b.router.reconciling
    open_orders = [{"symbol": "BTCUSDT", "orderId": 7, "clientOrderId": "htag-10000000001", "status": "NEW"},
                   {"symbol": "BTCUSDT", "orderId": 3, "clientOrderId": "hold9-10000000042", "status": "NEW"},
                   {"symbol": "BTCUSDT", "orderId": 4, "clientOrderId": "web_manual_1", "status": "NEW"}]
    cancels = b.venue(ok(frames[0]["id"], open_orders))
    assert [(x["method"], x["params"]["orderId"]) for x in cancels] == [("order.cancel", "3")]
    b.router.reconcile_check(b.clock.now)
    assert b.router.reconciling, "done before the cancel was answered"
    b.venue(ok(cancels[0]["id"], {"orderId": 3, "status": "CANCELED", "executedQty": "0"}))
    b.router.reconcile_check(b.clock.now)
    assert not b.router.reconciling and b.halts == [] and b.counts["reconciled"] == 1
    assert b.router.open == 1  # ours, untouched


@pytest.mark.parametrize("answer", ["error", "silence"])
def test_reconciliation_that_fails_halts(answer):
    b = Bench()
    frame = orjson.loads(b.router.reconcile_start(b.clock.now, 1000 * MS)[0])
    if answer == "error":
        b.venue(err(frame["id"], -1003, "Too much request weight used.", 429))
    else:
        b.clock.now += 999 * MS
        b.router.reconcile_check(b.clock.now)
        assert b.router.reconciling and b.halts == []
        b.clock.now += 2 * MS
    b.router.reconcile_check(b.clock.now)
    assert b.halts == [R.RECONCILE_FAILED] and not b.router.reconciling


def _unfinished(counter=5, state=F.ST_ACKED, trades=None, venue_order_id=9, run_tag=1000):
    from hftshm.state.store import Unfinished

    return Unfinished(order_id=O.make_order_id(1, counter), run_tag=run_tag, strategy_id=1, symbol="BTCUSDT",
                      side=O.BUY, type=O.LIMIT, qty_e8=2_000_000, price_e8=60_000 * E8, intent_ns=T0 - 3600 * 10**9,
                      state=state, venue_order_id=venue_order_id, trades=dict(trades or {}))


def _trade(tid, qty="0.01"):
    return {"symbol": "BTCUSDT", "id": tid, "orderId": 9, "orderListId": -1, "price": "60000.00000000",
            "qty": qty, "quoteQty": "600", "commission": "0.6", "commissionAsset": "USDT", "time": 1700000000000,
            "isBuyer": True, "isMaker": True, "isBestMatch": True}


def test_an_order_filled_while_the_instance_was_down_is_fetched_and_counted_once():
    """An earlier run's GTC order the state knew with one fill (trade 40) filled completely while
    nothing ran: after the restart its status is asked by its own run's client id, its trades
    fetched, and only trade 41 is reported and applied; reconciliation waits for it."""
    b = Bench()
    old = _unfinished(trades={40: 1_000_000})
    assert b.router.recover([old]) == 1 and b.counts["recovered"] == 1
    frames = [orjson.loads(x) for x in b.proto.resync(b.clock.now)]
    assert [(x["method"], x["params"]["origClientOrderId"]) for x in frames] == [("order.status", "hrs-10000000005")]
    rec = [orjson.loads(x) for x in b.router.reconcile_start(b.clock.now, 1000 * MS)]
    assert b.venue(ok(rec[0]["id"], [])) == []  # not open any more
    trades = b.venue(ok(frames[0]["id"], {"orderId": 9, "executedQty": "0.02000000", "status": "FILLED"}))
    assert [(x["method"], x["params"]["orderId"]) for x in trades] == [("myTrades", "9")]
    assert b.published == [], "no ack for an order sent long ago"
    b.router.reconcile_check(b.clock.now)
    assert b.router.reconciling, "done before the missed fills were fetched"
    b.venue(ok(trades[0]["id"], [_trade(40), _trade(41)]))
    got = [r[0] for r in b.published if int(r[0]["exec_type"]) == F.EX_TRADE]
    assert [int(r["trade_id"]) for r in got] == [41] and int(got[0]["state"]) == F.ST_FILLED
    assert int(got[0]["strategy_id"]) == 1 and int(got[0]["last_qty_e8"]) == 1_000_000
    assert b.sym["position_e8"] == 1_000_000 and b.sym["fills"] == 1
    assert b.sym["open_buy_e8"] == 0, "an order of an earlier run was never open in this risk state"
    assert b.counts["recovered_fills"] == 1 and b.router.open == 0
    b.router.reconcile_check(b.clock.now)
    assert not b.router.reconciling and b.halts == []
    b.venue(ok(trades[0]["id"], [_trade(40), _trade(41)]))  # a late repeat changes nothing
    assert len([r for r in b.published if int(r[0]["exec_type"]) == F.EX_TRADE]) == 1


def test_an_earlier_runs_order_still_resting_is_cancelled_and_its_fills_reported():
    b = Bench()
    assert b.router.recover([_unfinished(state=F.ST_NEW, venue_order_id=0)]) == 1
    status = orjson.loads(b.proto.resync(b.clock.now)[0])
    rec = orjson.loads(b.router.reconcile_start(b.clock.now, 1000 * MS)[0])
    b.venue(ok(status["id"], {"orderId": 9, "executedQty": "0", "status": "NEW"}))
    assert b.published == []
    cancels = b.venue(ok(rec["id"], [{"symbol": "BTCUSDT", "orderId": 9, "clientOrderId": "hrs-10000000005",
                                      "status": "PARTIALLY_FILLED"}]))
    assert [(x["method"], x["params"]["origClientOrderId"]) for x in cancels] == [("order.cancel", "hrs-10000000005")]
    trades = b.venue(ok(cancels[0]["id"], {"orderId": 9, "executedQty": "0.01000000", "status": "CANCELED"}))
    assert [x["method"] for x in trades] == ["myTrades"]
    b.venue(ok(trades[0]["id"], [_trade(77)]))
    assert b.kinds() == [(F.EX_TRADE, F.ST_PARTIAL), (F.EX_CANCELED, F.ST_CANCELED)]
    assert b.sym["position_e8"] == 1_000_000
    b.router.reconcile_check(b.clock.now)
    assert not b.router.reconciling and b.halts == [] and b.counts["reconciled"] == 1


def test_missed_fills_that_cannot_be_fetched_keep_trading_halted():
    """Fail closed: myTrades refused until the reconciliation deadline: RECONCILE_FAILED."""
    b = Bench()
    b.router.recover([_unfinished()])
    status = orjson.loads(b.proto.resync(b.clock.now)[0])
    rec = orjson.loads(b.router.reconcile_start(b.clock.now, 1000 * MS)[0])
    b.venue(ok(rec["id"], []))
    trades = b.venue(ok(status["id"], {"orderId": 9, "executedQty": "0.01000000", "status": "FILLED"}))
    b.venue(err(trades[0]["id"], -1003, "Too much request weight used.", 429))
    b.clock.now += 1001 * MS
    b.router.reconcile_check(b.clock.now)
    assert b.halts == [R.RECONCILE_FAILED] and b.sym["position_e8"] == 0


def test_recovery_skips_what_this_runs_fills_ring_already_holds():
    """An execution restarted while it recovered: the trades its predecessor published are
    counted (not fetched again), an order whose end it published is not asked about."""
    b = Bench()
    a, done = _unfinished(counter=5), _unfinished(counter=6)
    assert b.router.recover([a, done], ring_trades={a.order_id: {40: 1_000_000}}, ended={done.order_id}) == 1
    status = orjson.loads(b.proto.resync(b.clock.now)[0])
    trades = b.venue(ok(status["id"], {"orderId": 9, "executedQty": "0.02000000", "status": "FILLED"}))
    b.venue(ok(trades[0]["id"], [_trade(40), _trade(41)]))
    assert [int(r[0]["trade_id"]) for r in b.published] == [41] and b.sym["position_e8"] == 1_000_000


def test_an_order_the_state_never_stored_is_found_in_the_order_history():
    """The instance died between execution sending an order and the state storing it; it filled.
    The order-history sweep (allOrders after the highest stored venue order id) finds it by its
    earlier run's client id, its trades are fetched and reported once, and only then are the
    open orders asked for. An order the state stored, someone else's, or one of this run: left."""
    b = Bench()
    oid = O.make_order_id(2, 9)
    b.proto.set_history({"BTCUSDT": 40}, {}, stored={O.make_order_id(2, 8)})
    frames = [orjson.loads(x) for x in b.router.reconcile_start(b.clock.now, 1000 * MS)]
    assert [(x["method"], x["params"]["orderId"]) for x in frames] == [("allOrders", "41")]

    def view(cid, vid, status, executed):
        return {"symbol": "BTCUSDT", "orderId": vid, "clientOrderId": cid, "price": "60000.00000000",
                "origQty": "0.02000000", "executedQty": executed, "status": status, "timeInForce": "IOC",
                "type": "LIMIT", "side": "SELL", "time": 1700000000000}

    asks = b.venue(ok(frames[0]["id"], [view("hrs-20000000008", 41, "FILLED", "0.02000000"),
                                        view(f"hrs-{oid:x}", 42, "EXPIRED", "0.01000000"),
                                        view("web_1", 43, "FILLED", "0.02000000"),
                                        view("htag-10000000001", 44, "NEW", "0")]))
    assert [(x["method"], x["params"].get("orderId")) for x in asks] == [("myTrades", "42"), ("openOrders.status", None)]
    b.router.reconcile_check(b.clock.now)
    assert b.router.reconciling
    b.venue(ok(asks[1]["id"], []))
    b.venue(ok(asks[0]["id"], [{**_trade(90), "orderId": 42, "isBuyer": False}]))
    assert b.kinds() == [(F.EX_TRADE, F.ST_PARTIAL), (F.EX_EXPIRED, F.ST_EXPIRED)]
    r = b.published[0][0]
    assert (int(r["order_id"]), int(r["strategy_id"]), int(r["side"]), int(r["trade_id"])) == (oid, 2, O.SELL, 90)
    assert b.sym["position_e8"] == -1_000_000
    b.router.reconcile_check(b.clock.now)
    assert not b.router.reconciling and b.halts == [] and b.counts["recovered"] == 1


def test_an_order_history_sweep_that_fails_halts():
    b = Bench()
    b.proto.set_history({}, {"BTCUSDT": 1_700_000_000_000}, stored=set())
    frames = [orjson.loads(x) for x in b.router.reconcile_start(b.clock.now, 1000 * MS)]
    assert frames[0]["method"] == "allOrders" and frames[0]["params"]["startTime"] == "1700000000000"
    assert b.venue(err(frames[0]["id"], -1003, "Too much request weight used.", 429)) == []
    b.router.reconcile_check(b.clock.now)
    assert b.halts == [R.RECONCILE_FAILED]
