"""The parity pieces of the models: the depth walk of marketable orders, recorded rejects
replayed as rejects, and the compute time taken from a live run's tick_to_intent samples."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from hftshm.backtest.errors import BacktestError
from hftshm.backtest.latency import RecordedCompute, RecordedLatency
from hftshm.journal import files
from hftshm.journal.writer import RingJournal
from hftshm.layouts import exec_report as F
from hftshm.layouts import md as M
from hftshm.layouts import order as O
from hftshm.risk import reasons as R

from ._md import T0, WIDE_RISK, backtest, quote, trade, write_md
from .test_engine import STRAT, nth
from .test_queue import ASK, BID, TICK, order, venue

E8 = M.E8


# --- depth walk --------------------------------------------------------------------------------------

def level(v, side, px, qty):
    out = []
    v.on_md(M.LEVEL, 0, side, 0, px, qty, 0, 0, 5, out)
    assert out == []


def deep(taker):
    """Quote: bid 2 BTC at BID, ask 3 BTC at ASK; depth beyond: asks 2 BTC at ASK+1 tick, 4 BTC at
    ASK+3 ticks, a stale ask inside the touch; bids 1 BTC at BID-2 ticks."""
    v = venue(taker=taker)
    level(v, M.ASK, ASK - TICK, 9 * E8)  # at the bid's price: stale, inside the touch
    level(v, M.ASK, ASK, 3 * E8)
    level(v, M.ASK, ASK + TICK, 2 * E8)
    level(v, M.ASK, ASK + 3 * TICK, 4 * E8)
    level(v, M.BID, BID - 2 * TICK, 1 * E8)
    return v


def trades(reports):
    return [(int(r[0]["last_px_e8"]), int(r[0]["last_qty_e8"])) for r in reports if r[0]["exec_type"] == F.EX_TRADE]


def last_state(reports):
    return int(reports[-1][0]["state"])


def test_depth_walk_takes_levels_up_to_the_limit():
    v = deep("depth")
    out = v.on_order(order(1, O.BUY, ASK + 2 * TICK, 6 * E8, tif=O.IOC), 10)
    assert trades(out) == [(ASK, 3 * E8), (ASK + TICK, 2 * E8)]  # ASK+3 ticks is past the limit
    assert last_state(out) == F.ST_EXPIRED  # 1 BTC left: an IOC's rest expires


def test_depth_walk_market_order_goes_as_deep_as_it_needs():
    v = deep("depth")
    out = v.on_order(order(1, O.BUY, 0, 6 * E8, kind=O.MARKET, tif=O.IOC), 10)
    assert trades(out) == [(ASK, 3 * E8), (ASK + TICK, 2 * E8), (ASK + 3 * TICK, 1 * E8)]
    assert last_state(out) == F.ST_FILLED


def test_depth_walk_sell_side_and_fok():
    v = deep("depth")
    out = v.on_order(order(1, O.SELL, BID - 2 * TICK, 3 * E8, tif=O.IOC), 10)
    assert trades(out) == [(BID, 2 * E8), (BID - 2 * TICK, 1 * E8)]
    v = deep("depth")
    out = v.on_order(order(2, O.SELL, BID - 2 * TICK, 4 * E8, tif=O.FOK), 10)  # 3 BTC there: not whole
    assert trades(out) == [] and last_state(out) == F.ST_EXPIRED


def test_touch_is_the_default_and_never_walks():
    v = deep("touch")
    out = v.on_order(order(1, O.BUY, ASK + 2 * TICK, 6 * E8, tif=O.IOC), 10)
    assert trades(out) == [(ASK, 3 * E8)] and last_state(out) == F.ST_EXPIRED


def test_depth_walk_without_depth_records_stops_at_the_touch():
    v = venue(taker="depth")  # quotes only
    out = v.on_order(order(1, O.BUY, ASK + 5 * TICK, 6 * E8, tif=O.IOC), 10)
    assert trades(out) == [(ASK, 3 * E8)]


def test_depth_walk_through_the_engine(tmp_path):
    """The whole loop with ``taker = "depth"``: an IOC 60 bps through the trade price takes the
    quote's ask and the LEVEL records beyond it."""
    px = 60_000 * E8
    recs = [quote(T0, px - TICK, E8, px, 10_000)]
    for k, q in ((1, 20_000), (2, 50_000), (40_000, 10 * E8)):  # the last: past the limit
        r = np.zeros(1, M.DTYPE)
        r["kind"], r["recv_ns"], r["side"], r["price_e8"], r["qty_e8"] = M.LEVEL, T0 + 1, M.ASK, px + k * TICK, q
        recs.append(r)
    recs.append(trade(T0 + 2, px, 1000, M.BUY))
    write_md(tmp_path / "md", np.concatenate(recs))
    res = backtest(tmp_path / "md", nth(1, slip_bps=60, qty_e8=100_000), tmp_path / "run", fill={"taker": "depth"})
    _, fills = files.load_ring(files.ring_dir(tmp_path / "run", "fills"))
    got = [(int(r["last_px_e8"]), int(r["last_qty_e8"])) for r in fills if r["exec_type"] == F.EX_TRADE]
    assert got == [(px, 10_000), (px + TICK, 20_000), (px + 2 * TICK, 50_000)]
    assert res["summary"]["trades"] == 3


# --- a live run directory written by hand ----------------------------------------------------------

def journal(directory, layout, records):
    j = RingJournal(directory, SimpleNamespace(name=layout.name.split(".")[0], layout=layout, symbols=["btcusdt"]),
                    "test", 1 << 30)
    out = np.zeros(len(records), layout.dtype)
    out[:] = records
    out["seq"] = np.arange(1, len(out) + 1)
    j.write(out)
    j.close()


def live_run(tmp_path, orders, reports):
    """A run directory with the live layouts: orders as published (outcome fields empty)."""
    run = tmp_path / "live"
    journal(run / "journal" / "orders", O.LAYOUT, np.concatenate(orders))
    journal(run / "journal" / "fills", F.LAYOUT, np.concatenate(reports))
    return run


def new_order(oid, intent, trigger_seq, trigger_recv, side=O.BUY, price=60_000 * E8, qty=100_000, sid=1):
    o = np.zeros(1, O.DTYPE)
    o["order_id"], o["strategy_id"], o["side"], o["type"], o["tif"], o["action"] = oid, sid, side, O.LIMIT, O.IOC, O.NEW
    o["price_e8"], o["qty_e8"], o["intent_ns"] = price, qty, intent
    o["trigger_seq"], o["trigger_recv_ns"] = trigger_seq, trigger_recv
    return o


def report(oid, exec_type, state, venue_ns, recv_ns, reason=0, code=0, sid=1):
    r = np.zeros(1, F.DTYPE)
    r["order_id"], r["strategy_id"], r["exec_type"], r["state"] = oid, sid, exec_type, state
    r["venue_ns"], r["recv_ns"], r["reason"], r["venue_code"] = venue_ns, recv_ns, reason, code
    return r


def test_recorded_latency_is_taken_from_intent_and_replays_failures(tmp_path):
    us = 1000
    orders = [new_order(1, T0 + 100 * us, 10, T0), new_order(2, T0 + 5000 * us, 20, T0 + 4900 * us),
              new_order(3, T0 + 9000 * us, 30, T0 + 8800 * us), new_order(4, T0 + 12000 * us, 40, T0 + 11990 * us)]
    reports = [report(1, F.EX_NEW, F.ST_ACKED, T0 + 1100 * us, T0 + 1400 * us),
               # timed out, then found never sent: a replayed reject, 2 s after its intent
               report(2, F.EX_RESOLVED, F.ST_REJECTED, 0, T0 + 2_005_000 * us, R.NOT_SENT),
               report(3, F.EX_REJECTED, F.ST_REJECTED, 0, T0 + 9400 * us, R.VENUE_RATE_LIMIT, -1015),
               report(4, F.EX_REJECTED, F.ST_REJECTED, 0, T0 + 12100 * us, R.VENUE_WOULD_TAKE, -2010)]
    lat = RecordedLatency(live_run(tmp_path, orders, reports), ["btcusdt"])
    assert lat.samples == 1 and lat.entry(T0) == T0 + 1000 * us  # venue 1100 us - intent 100 us
    assert lat.response(T0) == T0 + 300 * us
    assert lat.failures == 2  # the post-only reject is the venue model's to make
    same2 = new_order(99, T0 + 5050 * us, 20, T0 + 4900 * us)[0]  # the same order, 50 us later
    assert lat.failure(same2) == (T0 + 5050 * us + (2_005_000 - 5000) * us, R.NOT_SENT, 0)
    same3 = new_order(98, T0 + 9000 * us, 30, T0 + 8800 * us)[0]
    assert lat.failure(same3) == (T0 + 9400 * us, R.VENUE_RATE_LIMIT, -1015)
    ok = new_order(97, T0 + 100 * us, 10, T0)[0]
    assert lat.failure(ok) is None  # it went through live
    other = new_order(96, T0 + 1_000_000 * us, 77, T0 + 999_000 * us)[0]  # no live counterpart, in 2's window
    assert lat.failure(other) == (T0 + 2_005_000 * us, R.NOT_SENT, 0)
    late = new_order(95, T0 + 3_000_000 * us, 78, T0 + 2_999_000 * us)[0]
    assert lat.failure(late) is None
    # the same trigger as 3 but another order: not 3's counterpart; inside 2's timeout window
    differs = new_order(94, T0 + 9000 * us, 30, T0 + 8800 * us, side=O.SELL)[0]
    assert lat.failure(differs) == (T0 + 2_005_000 * us, R.NOT_SENT, 0)


def cancel_order(oid, intent, target, sid=1):
    o = np.zeros(1, O.DTYPE)
    o["order_id"], o["strategy_id"], o["action"], o["cancel_id"], o["intent_ns"] = oid, sid, O.CANCEL, target, intent
    return o


def test_recorded_latency_takes_cancels_from_their_own_answers(tmp_path):
    """A live cancel whose answer has a venue time is a sample of the cancels' own curve: from
    the cancel's intent (not the order's) to the venue's time of its answer. The new orders'
    curve is unchanged, and a run without such answers gives cancels the new orders' curve."""
    us = 1000
    orders = [new_order(1, T0 + 100 * us, 10, T0), cancel_order(2, T0 + 3000 * us, 1),
              cancel_order(3, T0 + 9000 * us, 1)]  # sent after the answer came: not the one answered
    acked = report(1, F.EX_NEW, F.ST_ACKED, T0 + 1100 * us, T0 + 1400 * us)
    canceled = report(1, F.EX_CANCELED, F.ST_CANCELED, T0 + 3250 * us, T0 + 3500 * us)
    lat = RecordedLatency(live_run(tmp_path / "a", orders, [acked, canceled]), ["btcusdt"])
    assert lat.cancel_samples == 1
    assert lat.entry(T0 + 5000 * us, cancel=True) == T0 + 5250 * us  # 3250 - 3000 us
    assert lat.entry(T0 + 5000 * us) == T0 + 6000 * us  # the new order's 1000 us
    assert lat.min_entry_ns == 250 * us
    # the CANCELED report times the cancel, never the order: with the ack's venue time missing,
    # the order has no sample (not 3250 - 100 us)
    unacked = report(1, F.EX_NEW, F.ST_ACKED, 0, T0 + 1400 * us)
    other = new_order(4, T0 + 200 * us, 11, T0)
    lat2 = RecordedLatency(live_run(tmp_path / "c", [*orders, other],
                                    [unacked, canceled, report(4, F.EX_NEW, F.ST_ACKED, T0 + 700 * us, T0 + 900 * us)]),
                           ["btcusdt"])
    assert lat2.samples == 1 and lat2.entry(T0) == T0 + 500 * us
    # two cancels on the way when the answer came: which one the venue took is unknown, no sample
    twice = [*orders, cancel_order(5, T0 + 3100 * us, 1)]
    assert RecordedLatency(live_run(tmp_path / "d", twice, [acked, canceled]), ["btcusdt"]).cancel_samples == 0
    unknown = report(1, F.EX_CANCELED, F.ST_CANCELED, 0, T0 + 3500 * us)  # no venue time: no sample
    old = RecordedLatency(live_run(tmp_path / "b", orders, [acked, unknown]), ["btcusdt"])
    assert old.cancel_samples == 0 and old.entry(T0 + 5000 * us, cancel=True) == T0 + 6000 * us


def test_a_cancel_never_overtakes_the_order_sent_before_it(tmp_path):
    """Execution writes a venue's requests to one connection: a cancel sent right after its order
    reaches the venue after it, even where the cancels' recorded latency is shorter (here 100 us
    against the order's 1 ms). Overtaking, the cancel would find no order (a cancel reject) and
    the order would rest."""
    us = 1000
    px = 60_000 * E8
    write_md(tmp_path / "md", np.concatenate([quote(T0, px - TICK, E8, px, E8),
                                              quote(T0 + 5000 * us, px - TICK, E8, px, E8)]))
    orders = [new_order(1, T0, 1, T0), cancel_order(2, T0, 1)]
    reports = [report(1, F.EX_NEW, F.ST_ACKED, T0 + 1000 * us, T0 + 1200 * us),
               report(1, F.EX_CANCELED, F.ST_CANCELED, T0 + 100 * us, T0 + 1300 * us)]
    run = live_run(tmp_path, orders, reports)
    strat = [{"name": "pc", "kind": "file", "path": STRAT, "class": "PlaceThenCancel"}]
    backtest(tmp_path / "md", strat, tmp_path / "bt", latency={"model": "recorded", "run": str(run)})
    _, fills = files.load_ring(files.ring_dir(tmp_path / "bt", "fills"))
    assert [int(k) for k in fills["exec_type"]] == [F.EX_NEW, F.EX_CANCELED]
    assert int(fills["venue_ns"][1]) == T0 + 1000 * us  # arrived with its order, not 900 us before it


US_ = 1000
MINE = 60_000 * E8 - 6 * TICK  # PlaceThenCancel's buy: 5 ticks below the bid of the quotes below


def _place_then_cancel(tmp_path, through: list, fill_recv_ns: int, refusal=(R.CANCEL_UNKNOWN, -2011)):
    """An md journal: a quote (bid 60,000 - 1 tick), ``through`` (what fills ``MINE``), a quote
    back. A live run of PlaceThenCancel on it: the order acked at venue time 1 ms, filled at 2 ms,
    its cancel (sent with it) refused for ``refusal`` (None: no refusal). Returns the run
    directory and the order and cancel records."""
    px = 60_000 * E8
    write_md(tmp_path / "md", np.concatenate([quote(T0, px - TICK, E8, px, E8), *through,
                                              quote(T0 + 9000 * US_, px - TICK, E8, px, E8)]))
    placed = new_order(1, T0, 1, T0, price=MINE)
    cancel = cancel_order(2, T0, 1)
    cancel["trigger_seq"], cancel["trigger_recv_ns"] = 1, T0
    reports = [report(1, F.EX_NEW, F.ST_ACKED, T0 + 1000 * US_, T0 + 1200 * US_),
               report(1, F.EX_TRADE, F.ST_FILLED, T0 + 2000 * US_, fill_recv_ns)]
    if refusal is not None:
        reports.append(report(1, F.EX_CANCEL_REJECTED, F.ST_FILLED, 0, T0 + 3000 * US_, *refusal))
    name = "live" if refusal is None else f"live{refusal[1]}"
    return live_run(tmp_path / name, [placed, cancel], reports), placed[0], cancel[0]


def _backtest_reports(tmp_path, run, out: str):
    """PlaceThenCancel backtested on ``tmp_path / "md"`` at ``run``'s recorded latency: its reports."""
    strat = [{"name": "pc", "kind": "file", "path": STRAT, "class": "PlaceThenCancel"}]
    backtest(tmp_path / "md", strat, tmp_path / out, latency={"model": "recorded", "run": str(run)})
    return files.load_ring(files.ring_dir(tmp_path / out, "fills"))[1]


def test_a_cancel_live_saw_refused_after_a_fill_arrives_after_that_fill(tmp_path):
    """Live, the cancel reached the venue after its order had filled (the venue refused it: no
    venue time, but the fill's venue time bounds its arrival). The same cancel in the backtest
    arrives no earlier than that fill; at the new orders' 1 ms latency it would have caught the
    order first. A cancel of another order, or a run without the refusal, has no such floor."""
    through = [trade(T0 + 2100 * US_, MINE - TICK, 10 * E8, M.SELL, exch_ns=T0 + 2000 * US_)]
    run, placed, cancel = _place_then_cancel(tmp_path, through, T0 + 2300 * US_)
    lat = RecordedLatency(run, ["btcusdt"])
    assert lat.cancel_floor(cancel, placed) == T0 + 3000 * US_ - 1  # the end of the fill's millisecond
    other = new_order(9, T0, 1, T0, price=MINE - TICK)[0]
    assert lat.cancel_floor(cancel, other) == 0
    # refused for another cause (the venue's rate limit): it says nothing of the order being gone
    limited, _, _ = _place_then_cancel(tmp_path, through, T0 + 2300 * US_, (R.VENUE_RATE_LIMIT, -1015))
    assert RecordedLatency(limited, ["btcusdt"]).cancel_floor(cancel, placed) == 0
    fills = _backtest_reports(tmp_path, run, "bt")
    assert [int(k) for k in fills["exec_type"]] == [F.EX_NEW, F.EX_TRADE, F.EX_CANCEL_REJECTED]
    # the same run without the refusal: the cancel takes the orders' latency and catches it
    plain, _, _ = _place_then_cancel(tmp_path, through, T0 + 2300 * US_, None)
    fills2 = _backtest_reports(tmp_path, plain, "bt2")
    assert [int(k) for k in fills2["exec_type"]] == [F.EX_NEW, F.EX_CANCELED]


def test_a_cancel_refused_after_a_fill_comes_after_a_record_of_that_fills_millisecond(tmp_path):
    """The fill and the refused cancel share the venue's millisecond, and what filled the order
    is a quote with no exchange time, whose estimated venue time falls 0.4 ms into it. Live, the
    fill came first (the cancel was refused): in the backtest the quote must reach the order
    before the cancel, wherever in that millisecond it was placed."""
    px = 60_000 * E8
    run, _, _ = _place_then_cancel(tmp_path, [
        trade(T0 + 500 * US_, px, E8 // 100, M.BUY, exch_ns=T0 + 400 * US_),  # at the ask: the feed latency, 0.1 ms
        quote(T0 + 2500 * US_, MINE - 2 * TICK, E8, MINE - TICK, E8),  # the ask through the buy: V = T0 + 2.4 ms
    ], T0 + 2600 * US_)
    fills = _backtest_reports(tmp_path, run, "bt")
    assert [int(k) for k in fills["exec_type"]] == [F.EX_NEW, F.EX_TRADE, F.EX_CANCEL_REJECTED]
    assert int(fills["venue_ns"][1]) // 1_000_000 == (T0 + 2000 * US_) // 1_000_000  # in live's millisecond


def _four_fills(tmp_path):
    """An md journal of a quote and four trades 1 ms apart, and the orders and reports of its
    constant-latency backtest (the first record of every trade taken: four fills), to make a
    live-looking run from."""
    px = 60_000 * E8
    recs = [quote(T0, px - TICK, E8, px, E8)] + [trade(T0 + k * 1_000_000, px, 1000, M.BUY) for k in range(1, 5)]
    write_md(tmp_path / "md", np.concatenate(recs))
    first = backtest(tmp_path / "md", nth(1, slip_bps=10), tmp_path / "bt1",
                     latency={"entry_us": 100, "response_us": 100})
    assert first["summary"]["trades"] == 4
    _, orders = files.load_ring(files.ring_dir(tmp_path / "bt1", "orders"))
    _, fills = files.load_ring(files.ring_dir(tmp_path / "bt1", "fills"))
    return orders, fills


def test_replayed_reject_reaches_the_strategy_at_the_recorded_moment(tmp_path):
    """End to end: a backtest at the latency of a run in which one order was rate-limited by the
    venue rejects that order, with the reason and venue code, as long after its intent as live."""
    orders, fills = _four_fills(tmp_path)
    # make it a live-looking run in which the third order was refused by the venue's rate limit
    third = orders[2]
    keep = fills[fills["order_id"] != third["order_id"]]
    rej = report(int(third["order_id"]), F.EX_REJECTED, F.ST_REJECTED, 0, int(third["intent_ns"]) + 700_000,
                 R.VENUE_RATE_LIMIT, -1015)
    run = live_run(tmp_path, [orders], [keep, rej])
    again = backtest(tmp_path / "md", nth(1, slip_bps=10), tmp_path / "bt2",
                     latency={"model": "recorded", "run": str(run)})
    assert again["summary"]["trades"] == 3
    _, fills2 = files.load_ring(files.ring_dir(tmp_path / "bt2", "fills"))
    rejects = fills2[fills2["exec_type"] == F.EX_REJECTED]
    assert len(rejects) == 1
    r = rejects[0]
    assert (int(r["reason"]), int(r["venue_code"])) == (R.VENUE_RATE_LIMIT, -1015)
    _, orders2 = files.load_ring(files.ring_dir(tmp_path / "bt2", "orders"))
    o = orders2[orders2["order_id"] == r["order_id"]][0]
    assert int(r["recv_ns"]) - int(o["intent_ns"]) == 700_000
    assert int(o["state"]) == F.ST_REJECTED and int(o["verdict"]) == O.APPROVED


def test_no_reference_price_until_the_live_risk_workers_first_mark(tmp_path):
    """Live, the gate refused the first two orders: the risk worker had not published a mid yet.
    The recorded model gives the backtest's gate no reference price before then: it refuses the
    same two, with the same reason, and (refused by the gate, as live) they take no place in the
    order-rate window, so with two orders a second allowed the other two pass."""
    orders, fills = _four_fills(tmp_path)
    refused = [int(o["order_id"]) for o in orders[:2]]
    keep = fills[~np.isin(fills["order_id"], refused)]
    rej = [report(int(o["order_id"]), F.EX_REJECTED, F.ST_REJECTED, 0, int(o["intent_ns"]) + 50_000,
                  R.NO_REFERENCE_PRICE) for o in orders[:2]]
    run = live_run(tmp_path, [orders], [keep, *rej])
    lat = RecordedLatency(run, ["btcusdt"])
    assert lat.first_mark_ns == {0: int(orders[1]["intent_ns"]) + 50_000 + 1}
    risk = dict(WIDE_RISK, max_orders_per_s=2, max_orders_per_s_total=2)
    again = backtest(tmp_path / "md", nth(1, slip_bps=10), tmp_path / "bt2",
                     latency={"model": "recorded", "run": str(run)}, risk=risk)
    assert again["summary"]["trades"] == 2
    _, orders2 = files.load_ring(files.ring_dir(tmp_path / "bt2", "orders"))
    assert [int(o["reason"]) for o in orders2] == [R.NO_REFERENCE_PRICE, R.NO_REFERENCE_PRICE, 0, 0]
    # without the recorded first mark the gate has a price from the first quote: the first two
    # pass and fill, and the rate window then refuses the third
    plain = backtest(tmp_path / "md", nth(1, slip_bps=10), tmp_path / "bt3",
                     latency={"entry_us": 100, "response_us": 100}, risk=risk)
    _, orders3 = files.load_ring(files.ring_dir(tmp_path / "bt3", "orders"))
    assert int(orders3[2]["reason"]) == R.RATE_LIMIT and plain["summary"]["trades"] < 4


# --- recorded compute time ---------------------------------------------------------------------------

def test_recorded_compute_takes_each_triggers_live_value_and_keeps_intents_in_order(tmp_path):
    us = 1000
    orders = [new_order(1, T0 + 300 * us, 1, T0),
              new_order(2, T0 + 1100 * us, 2, T0 + 1000 * us),
              new_order(3, T0 + 1150 * us, 2, T0 + 1000 * us),  # a second intent of the same trigger
              # another record received in the same read (the same recv_ns), handled 2 ms later
              new_order(4, T0 + 3000 * us, 3, T0 + 1000 * us),
              # 50 us for a trigger 10 us later: on the curve, raised to keep intents in order
              new_order(5, T0 + 1060 * us, 4, T0 + 1010 * us),
              new_order(6, T0 + 1020 * us, 2, T0 + 1000 * us, sid=2),  # another strategy, faster
              new_order(7, 0, 0, 0)]  # a timer intent: no trigger, no sample
    run = live_run(tmp_path, orders, [report(1, F.EX_NEW, F.ST_ACKED, T0 + 400 * us, T0 + 500 * us)])
    c = RecordedCompute(run, ["btcusdt"])
    assert c.samples == 6
    # exact: the live value of the trigger (its first intent), per strategy
    assert c(T0, 1, 1) == T0 + 300 * us
    assert c(T0 + 1000 * us, 2, 1) == T0 + 1100 * us
    assert c(T0 + 1000 * us, 3, 1) == T0 + 3000 * us  # same time, another record: its own value
    assert c(T0 + 1000 * us, 2, 2) == T0 + 1020 * us
    # the curve: per strategy, least per time, interpolated, raised where it would go back
    assert c(T0 + 500 * us, 9, 1) == T0 + 500 * us + 200 * us  # halfway from 300 us to 100 us
    assert c(T0 + 1010 * us, 4, 1) == T0 + 1100 * us  # 1060 would come before 2's 1100: raised
    assert c(T0 + 5000 * us, 9, 1) == T0 + 5000 * us + 90 * us  # held after the last (raised) sample
    # no strategy (the engine's bounds): the least over the strategies; an unknown one too
    assert c(T0 + 1000 * us) == T0 + 1020 * us
    assert c(T0 + 1000 * us, 2, 77) == T0 + 1020 * us
    for sid in (1, 2, -1):
        ts = np.arange(T0 - 100 * us, T0 + 3000 * us, 7 * us)
        done = [c(int(t), -1, sid) for t in ts]
        assert all(b >= a for a, b in zip(done, done[1:]))
        assert all(c(int(t)) <= d for t, d in zip(ts, done))  # a bound below every strategy's intent


def test_recorded_compute_in_a_backtest_and_its_bad_input(tmp_path):
    px = 60_000 * E8
    recs = [quote(T0, px - TICK, E8, px, E8)] + [trade(T0 + k * 1_000_000, px, 1000, M.BUY) for k in range(1, 5)]
    write_md(tmp_path / "md", np.concatenate(recs))
    backtest(tmp_path / "md", nth(1, slip_bps=10), tmp_path / "bt1", latency={"compute_us": 250, "entry_us": 50})
    res = backtest(tmp_path / "md", nth(1, slip_bps=10), tmp_path / "bt2",
                   latency={"compute": "recorded", "run": str(tmp_path / "bt1"), "entry_us": 50})
    _, orders = files.load_ring(files.ring_dir(tmp_path / "bt2", "orders"))
    assert res["summary"]["trades"] == 4
    assert (orders["intent_ns"] - orders["trigger_recv_ns"] == 250_000).all()
    with pytest.raises(BacktestError, match="compute 'recorded' needs run"):
        backtest(tmp_path / "md", nth(1), latency={"compute": "recorded"})
    with pytest.raises(BacktestError, match="compute must be one of constant, recorded"):
        backtest(tmp_path / "md", nth(1), latency={"compute": "live"})
