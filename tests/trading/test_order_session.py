"""Execution's session duties, sans I/O: the order router over literal venue answers, a fake
protection duty and a fake control block; what the worker would send when a connection opens,
on each housekeeping tick, at stop and when it reconnects. No sockets, no processes.

Forbidden outcomes: an order sent before reconciliation (or before the protection verdict is
current), a reconnect that reconciles again, a halt with cancel_open that leaves an order
uncancelled or cancels twice, a stop that waits past its deadline or reports a wrong count left
open, a USD-M session that trades without its user-data stream."""

import orjson
import pytest

from hftshm.risk import reasons as R
from hftshm.trading.order_session import RECONCILE_NS, STOP_CANCEL_NS, OrderSession
from hftshm.trading.router import OrderRouter
from hftshm.venues import order_venue
from hftshm.venues.binance_spot.protocol import Protocol
from hftshm.venues.binance_spot.signing import Signer

from .test_router import MS, T0, Bench, Rec, _unfinished, ok, report


class Watch:
    """The protection duty: ``check(now)`` runs the watch, ``holding`` while a protector starts.
    Records, per check, how many requests the protocol had out at that moment."""

    def __init__(self, proto):
        self.proto = proto
        self.holding = False
        self.checks = []

    def check(self, now_ns):
        self.checks.append((now_ns, len(self.proto.requests)))
        return self.holding


class Control:
    def __init__(self):
        self.trading_changes = 0
        self.trading_state = R.TS_ACTIVE
        self.cancel_open = False


def session(b, cancel_on_stop=True, user_stream=False):
    b.gauges = {}
    return OrderSession(b.router, Watch(b.router.proto), Control(), b.count, b.gauges.__setitem__,
                        cancel_on_stop, user_stream)


def methods(frames):
    return [orjson.loads(f)["method"] for f in frames]


def acked(b, counter, venue_id=7):
    f = b.send(b.order(counter))
    b.venue(ok(f["id"], {"orderId": venue_id, "executedQty": "0", "status": "NEW"}))
    return f


def test_the_first_connection_reconciles_before_trading_and_a_reconnect_only_resyncs():
    b = Bench()
    s = session(b)
    frames = s.opening(T0)
    assert methods(frames) == ["userDataStream.subscribe.signature", "openOrders.status"]
    assert s.protection.checks == [(T0, 0)], "the protection verdict is made current before anything is sent"
    assert s.holding and b.router.reconciling
    s.tick(T0 + MS)
    assert s.holding, "reconciled before the venue answered"
    b.venue(ok(orjson.loads(frames[1])["id"], []))
    s.tick(T0 + 2 * MS)
    assert not s.holding and b.halts == [] and b.counts["reconciled"] == 0
    acked(b, 1)
    again = s.opening(T0 + 3 * MS)  # a reconnect: the order in flight is asked about, no reconciliation
    assert methods(again) == ["userDataStream.subscribe.signature", "order.status"]
    assert orjson.loads(again[1])["params"]["origClientOrderId"] == "htag-10000000001"
    assert not s.holding and not b.router.reconciling


def test_orders_wait_while_a_protecting_worker_starts():
    b = Bench()
    s = session(b)
    assert not s.holding
    s.protection.holding = True
    assert s.holding


def test_reconciliation_unanswered_halts_at_the_tick_after_its_deadline():
    b = Bench()
    s = session(b)
    s.opening(T0)
    s.tick(T0 + RECONCILE_NS)
    assert b.halts == [] and s.holding
    s.tick(T0 + RECONCILE_NS + 1)
    assert b.halts == [R.RECONCILE_FAILED] and not b.router.reconciling


def test_the_tick_asks_about_overdue_answers_and_gauges_the_open_orders():
    b = Bench(timeout_ms=100)
    s = session(b)
    b.send(b.order(1))
    assert s.tick(T0 + 50 * MS) == [] and b.gauges["open"] == 1
    assert methods(s.tick(T0 + 150 * MS)) == ["order.status"] and b.counts["timeouts"] == 1
    assert [c for c, _ in s.protection.checks] == [T0 + 50 * MS, T0 + 150 * MS]


def test_a_halt_with_cancel_open_cancels_every_open_order_once():
    b = Bench()
    s = session(b)
    acked(b, 1, 7)
    acked(b, 2, 8)
    c = s.control
    assert s.tick(T0) == [] and b.gauges["open"] == 2
    c.trading_state, c.cancel_open = R.TS_HALTED, True
    assert s.tick(T0) == [], "acted on a trading state whose change count did not move"
    c.trading_changes = 1
    cancels = s.tick(T0)
    assert methods(cancels) == ["order.cancel", "order.cancel"] and b.counts["cancels_sent"] == 2
    assert s.tick(T0) == [], "cancelled twice for one change"
    for f in map(orjson.loads, cancels):
        venue_id = {"htag-10000000001": 7, "htag-10000000002": 8}[f["params"]["origClientOrderId"]]
        b.venue(ok(f["id"], {"orderId": venue_id, "executedQty": "0", "status": "CANCELED"}))
    s.tick(T0)
    assert b.router.open == 0 and b.gauges["open"] == 0 and b.counts["canceled"] == 2
    assert "stop_canceled" not in b.counts


def test_a_halt_without_cancel_open_leaves_the_orders():
    b = Bench()
    s = session(b)
    acked(b, 1)
    s.tick(T0)
    s.control.trading_state, s.control.trading_changes = R.TS_HALTED, 1
    assert s.tick(T0) == [] and b.router.open == 1


def test_stop_cancels_open_orders_and_waits_for_the_answers():
    b = Bench()
    s = session(b)
    assert s.stop_cancels(T0, 1000) is None, "nothing open: nothing to wait for"
    acked(b, 1)
    cancels = s.stop_cancels(T0, 1000)
    assert methods(cancels) == ["order.cancel"]
    assert s.stop_waiting(1000 + STOP_CANCEL_NS - 1)
    b.venue(report("CANCELED", "CANCELED", "htag-10000000001"))
    assert not s.stop_waiting(1001) and b.counts["stop_canceled"] == 1
    assert s.stopped() == 0 and b.gauges["stop_left"] == 0


def test_stop_gives_up_waiting_at_its_deadline_and_reports_what_is_left():
    b = Bench()
    s = session(b)
    acked(b, 1)
    assert methods(s.stop_cancels(T0, 1000)) == ["order.cancel"]
    assert s.stop_waiting(1000 + STOP_CANCEL_NS - 1) and not s.stop_waiting(1000 + STOP_CANCEL_NS)
    assert s.stopped() == 1 and b.gauges["stop_left"] == 1 and "stop_canceled" not in b.counts


def test_without_cancel_on_stop_resting_orders_are_left_and_counted():
    b = Bench()
    s = session(b, cancel_on_stop=False)
    acked(b, 1)
    assert s.stop_cancels(T0, 1000) is None and "cancels_sent" not in b.counts
    assert s.stopped() == 1 and b.gauges["stop_left"] == 1


def test_reconnect_delay_doubles_to_five_seconds_and_starts_over_once_connected():
    b = Bench()
    s = session(b)
    assert [s.lost(T0 + i) for i in range(8)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0])
    assert b.counts["reconnects"] == 8 and len(s.protection.checks) == 8
    s.connected()
    assert s.lost(T0) == pytest.approx(0.1)


def usdm_bench():
    b = Bench()
    b.proto = b.router.proto = order_venue("binance_usdm").protocol(Signer("k", "s"), ["BTCUSDT"],
                                                                   [("BTC", "USDT")], "htag", 1000, 2000)
    return b


def test_usdm_orders_wait_until_the_user_data_stream_is_open():
    b = usdm_bench()
    s = session(b, user_stream=True)
    assert s.holding, "no user-data stream yet"
    frames = [orjson.loads(f) for f in s.opening(T0)]
    assert [f["method"] for f in frames] == ["userDataStream.start", "openOrders.status"]
    assert s.user_key(1000) == ""
    b.venue(ok(frames[0]["id"], {"listenKey": "key-1"}))
    b.venue(ok(frames[1]["id"], []))
    s.tick(T0 + MS)
    assert s.user_key(2000) == "key-1" and not b.router.reconciling
    assert s.holding, "reconciled, but the user-data stream is not open yet"
    s.user_ready = True  # the worker opened it
    assert not s.holding
    s.opening(T0 + 2 * MS)
    assert s.holding, "a new connection trades only once its user-data stream is open again"


def test_usdm_no_listen_key_in_time_ends_the_session():
    b = usdm_bench()
    s = session(b, user_stream=True)
    s.opening(T0)
    assert s.user_key(1000) == "" and s.user_key(1000 + RECONCILE_NS) == ""
    with pytest.raises(ConnectionError, match="listenKey"):
        s.user_key(1000 + RECONCILE_NS + 1)
    start = orjson.loads(s.opening(T0 + MS)[0])  # the reconnect asks again, with a deadline of its own
    assert s.user_key(5 * RECONCILE_NS) == "" and s.user_key(6 * RECONCILE_NS) == ""
    b.venue(ok(start["id"], {"listenKey": "key-2"}))
    assert s.user_key(9 * RECONCILE_NS) == "key-2"


def test_resume_adopts_an_earlier_process_orders_and_recovers_an_earlier_runs():
    b = Bench()
    acked(b, 1)
    proto = Protocol(Signer("k", "s"), ["BTCUSDT"], [("BTC", "USDT")], "htag", recv_window_ms=1000)
    b.router = OrderRouter(b.risk, b.area, b.gate, proto, b.published.append, b.count,
                           {k: Rec() for k in ("risk_check", "intent_to_verdict", "sent_to_ack")}, b.halt, 1000 * MS,
                           clock=b.clock)
    s = session(b)
    assert s.resume(None, [_unfinished(counter=5)], {}, set()) == (1, 1)
    assert b.counts["recovered"] == 1 and b.router.open == 2
    frames = [orjson.loads(f) for f in s.opening(T0)]
    assert [(f["method"], f["params"].get("origClientOrderId")) for f in frames[1:3]] == [
        ("order.status", "htag-10000000001"), ("order.status", "hrs-10000000005")]
    assert frames[3]["method"] == "openOrders.status" and s.holding
