"""The strategy's busy time (rule 6 of hftshm/backtest/engine.py) and the pre-trade check at the
verdict time (rule 7): a burst read in live-sized batches, answers seen after the batch in
progress, the no-look-ahead property with busy time, the fit of the costs to a live run's stamps,
and the rate window at the verdict time."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hftshm.backtest.errors import BacktestError
from hftshm.backtest.latency import READ_BATCH, RecordedLatency, recorded_busy
from hftshm.backtest.run import build, results
from hftshm.journal import files
from hftshm.layouts import exec_report as F
from hftshm.layouts import md as M
from hftshm.layouts import order as O
from hftshm.risk import reasons as R

from ._md import HERE, T0, WIDE_RISK, cfg, quote, trade, write_md
from .test_parity_models import journal, new_order, report

E8 = M.E8
US = 1_000
TICK = 1_000_000
PX = 60_000 * E8
STRAT = str(HERE / "strategies.py")


def first_trade(**params):
    return [{"name": "log", "kind": "file", "path": STRAT, "class": "FirstTradeLog", **params}]


def burst(n: int = 600, trade_at: int = 5):
    """``n`` records received at once (one read of the ingest), the ``trade_at``-th a trade; then
    one quote 50 ms later."""
    recs = [quote(T0, PX - TICK, E8, PX, E8)]
    for i in range(2, n + 1):
        recs.append(trade(T0, PX, 1000, M.BUY, exch_ns=T0 - 1_000_000) if i == trade_at
                    else quote(T0, PX - TICK, E8 + i, PX, E8))
    recs.append(quote(T0 + 50_000_000, PX - TICK, E8, PX, E8))
    return np.concatenate(recs)


def run_log(md_dir, **latency):
    bt, _, _ = build(md_dir, cfg=cfg(first_trade(), latency={"entry_us": 100, "response_us": 100, **latency}))
    bt.run()
    return bt, bt.runners[1].strategy.log


def test_a_busy_strategy_sees_an_answer_after_the_read_batch_in_progress(tmp_path):
    n = 600
    write_md(tmp_path / "md", burst(n))
    # keeping up: the whole burst has one local time, before the answer
    _, log = run_log(tmp_path / "md")
    fills = [k for k, e in enumerate(log) if e[0] == "fill"]
    assert [e[1] for e in log[: fills[0]] if e[0] == "md"] == list(range(1, n + 1))
    # 10 us a record: the IOC is sent while record 5 is handled, its answer arrives 200 us later,
    # during the first read batch; the strategy sees it after that batch, before the next read
    bt, log = run_log(tmp_path / "md", busy_record_us=10)
    orders, reps, _ = results(bt)
    assert int(orders[0]["intent_ns"]) == T0 + 5 * 10 * US
    fill = reps[reps["exec_type"] == F.EX_TRADE][0]
    assert int(fill["recv_ns"]) == T0 + 50 * US + 200 * US  # the answer's arrival, unchanged
    k = next(k for k, e in enumerate(log) if e[0] == "fill")
    seen = [e[1] for e in log[:k] if e[0] == "md"]
    assert seen == list(range(1, READ_BATCH + 1))
    assert log[k][2] == T0 + READ_BATCH * 10 * US  # at the end of the batch
    after = [e for e in log[k:] if e[0] == "md"]
    assert after[0] == ("md", READ_BATCH + 1, T0 + (READ_BATCH + 1) * 10 * US)
    assert all(e[0] == "fill" for e in log[k: log.index(after[0])])
    clocks = [e[2] for e in log]
    assert clocks == sorted(clocks)
    # the last record of the burst and the quote 50 ms later: the strategy caught up meanwhile
    assert log[-2][1:] == (n, T0 + n * 10 * US) and log[-1][1:] == (n + 1, T0 + 50_010 * US)


def test_a_record_is_read_when_it_was_published_and_intents_cost_time(tmp_path):
    """Published 3 ms after its receive time (the ingest's own time), a record is read then;
    an intent's cost delays the records after it."""
    recs = burst(300)
    pub = recs["recv_ns"].copy()
    pub[4:] += 3_000 * US  # from the trade on
    write_md(tmp_path / "md", recs, publish_ns=pub)
    bt, log = run_log(tmp_path / "md", busy_record_us=1, busy_intent_us=40)
    orders, _, _ = results(bt)
    # records 1-4 read at T0 (1 us each); the rest read at T0 + 3 ms
    assert [e for e in log if e[0] == "md"][3] == ("md", 4, T0 + 4 * US)
    assert int(orders[0]["intent_ns"]) == T0 + 3_000 * US + 1 * US
    assert log[5] == ("md", 6, T0 + 3_000 * US + 1 * US + 40 * US + 1 * US)


def test_busy_config_is_checked(tmp_path):
    write_md(tmp_path / "md", burst(10))
    with pytest.raises(BacktestError, match="busy must be one of constant, recorded"):
        build(tmp_path / "md", cfg=cfg(first_trade(), latency={"busy": "live"}))
    with pytest.raises(BacktestError, match="busy_record_us must be a number >= 0"):
        build(tmp_path / "md", cfg=cfg(first_trade(), latency={"busy_record_us": -1}))
    with pytest.raises(BacktestError, match="busy_wake_us must be a number >= 0"):
        build(tmp_path / "md", cfg=cfg(first_trade(), latency={"busy_wake_us": -1}))
    with pytest.raises(BacktestError, match="busy 'recorded' needs run"):
        build(tmp_path / "md", cfg=cfg(first_trade(), latency={"busy": "recorded"}))
    bt, _, _ = build(tmp_path / "md", cfg=cfg(first_trade()))
    assert bt.busy is None  # the default: the strategy keeps up


# --- no look-ahead with busy time (property) -----------------------------------------------------

def bursty(seed: int, n: int, feed_us: int):
    """Random quotes and trades, some in bursts of one receive time, published up to 2 ms late."""
    rng = np.random.default_rng(seed)
    gaps = rng.integers(1, 3_000, n) * US
    gaps[rng.random(n) < 0.3] = 0  # bursts
    t = T0 + np.cumsum(gaps)
    feed = rng.integers(0, feed_us + 1, n) * US
    mid = 6_000_000_000_000 + np.cumsum(rng.integers(-3, 4, n)) * TICK
    out = []
    for i in range(n):
        if rng.random() < 0.6:
            out.append(quote(t[i], mid[i] - TICK, int(rng.integers(1, 50)) * 100_000, mid[i] + TICK,
                             int(rng.integers(1, 50)) * 100_000, exch_ns=0 if rng.random() < 0.5 else t[i] - feed[i]))
        else:
            side = M.BUY if rng.random() < 0.5 else M.SELL
            px = mid[i] + (TICK if side == M.BUY else -TICK)
            out.append(trade(t[i], px, int(rng.integers(1, 20)) * 100_000, side, exch_ns=t[i] - feed[i]))
    publish = t + rng.integers(0, 2_000, n) * US * (rng.random(n) < 0.2)
    return np.concatenate(out), publish


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31), entry=st.integers(0, 3_000), response=st.integers(0, 3_000),
       compute=st.integers(0, 300), record=st.integers(1, 400), intent=st.integers(0, 500),
       every=st.integers(1, 4), gtc=st.booleans(), wake=st.sampled_from([0, 0, 40, 300]))
def test_no_look_ahead_with_busy_time(tmp_path_factory, seed, entry, response, compute, record, intent, every, gtc,
                                      wake):
    d = tmp_path_factory.mktemp("busy")
    md, publish = bursty(seed, 300, 1_000)
    write_md(d / "md", md, publish_ns=publish)
    strategies = [{"name": "nth", "kind": "file", "path": STRAT, "class": "EveryNthTrade", "every": every,
                   "gtc": gtc, "slip_bps": 3}]
    c = cfg(strategies, latency={"entry_us": entry, "response_us": response, "compute_us": compute,
                                 "busy_record_us": record, "busy_intent_us": intent, "busy_wake_us": wake})
    bt, _, _ = build(d / "md", cfg=c)
    log = []
    strat = bt.runners[1].strategy
    on_trade, on_fill = strat.on_trade, strat.on_fill

    def logged_trade(r):
        log.append(("md", int(r["seq"]), strat._engine.clock()))
        on_trade(r)

    def logged_fill(r):
        log.append(("fill", int(r["recv_ns"]), strat._engine.clock()))
        on_fill(r)

    strat.on_trade, strat.on_fill = logged_trade, logged_fill
    bt.run()
    orders, fills, _ = results(bt)
    journal_ = files.load_ring(d / "md")[1]
    local = np.maximum.accumulate(journal_["recv_ns"])
    avail = np.maximum.accumulate(np.maximum(local, journal_["publish_ns"]))
    by_seq = {int(s): i for i, s in enumerate(journal_["seq"])}
    assert len(orders) > 0
    for o in orders:
        i = by_seq[int(o["trigger_seq"])]
        # seen once published, and after the compute model's time
        assert o["intent_ns"] >= max(avail[i], local[i] + compute * US)
    sent = {int(o["order_id"]): int(o["intent_ns"]) for o in orders}
    for r in fills:
        if r["exec_type"] == F.EX_REJECTED and r["reason"] < 32:
            continue
        assert r["recv_ns"] == r["venue_ns"] + response * US
        assert r["venue_ns"] >= sent[int(r["order_id"])] + entry * US
    for kind, x, clock in log:
        if kind == "md":
            assert clock >= avail[by_seq[x]] + record * US  # read once published, handled after its cost
        else:
            assert clock >= x + compute * US  # an answer is never seen before it arrived
    clocks = [e[2] for e in log]
    assert clocks == sorted(clocks)  # the strategy's own timeline never goes back


class JitteredEntry:
    """The configured latency model with an entry latency that varies per order (0 to 3 ms, as a
    recorded run's does) and a least entry of zero."""

    def __init__(self, inner, seed):
        self.inner, self.rng, self.min_entry_ns = inner, np.random.default_rng(seed), 0

    def entry(self, intent_ns, cancel=False):
        return intent_ns + int(self.rng.integers(0, 3_000)) * US

    def __getattr__(self, name):
        return getattr(self.inner, name)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31), response=st.sampled_from([0, 0, 20]), wake=st.sampled_from([5, 40, 300, 1_000]),
       compute=st.sampled_from([0, 10, 100, 400]))
def test_a_parked_strategy_and_a_late_arrival_never_stall_the_loop(tmp_path_factory, seed, response, wake, compute):
    """An answer waits for a parked strategy's wake-up while an order sent earlier, with a longer
    entry latency, is still on its way: the venue must move on to that arrival (the answer cannot
    make the strategy act before its wake-up), else each waits for the other and the loop stops
    ("stalled"). Seen on a recorded run's --compare-live before the bound knew the wake-up. And
    moving on it must never go past an order that can still arrive (rule 3): every order finds the
    venue with no md record applied after its arrival time."""
    d = tmp_path_factory.mktemp("stall")
    md, publish = bursty(seed, 300, 1_000)
    write_md(d / "md", md, publish_ns=publish)
    strategies = [{"name": "nth", "kind": "file", "path": STRAT, "class": "EveryNthTrade", "every": 1,
                   "gtc": True, "slip_bps": 3}]
    c = cfg(strategies, latency={"response_us": response, "compute_us": compute, "busy_record_us": 5,
                                 "busy_wake_us": wake})
    bt, _, _ = build(d / "md", cfg=c)
    bt.lat = JitteredEntry(bt.lat, seed)
    applied, late = [0], []
    run_md, on_order = bt.venue.run_md, bt.venue.on_order

    def tracked_md(cols, lo, hi, venue_list, out, observe=None):
        end = run_md(cols, lo, hi, venue_list, out, observe)
        if end > lo:
            applied[0] = max(applied[0], venue_list[end - 1])
        return end

    def checked_order(order, venue_ns):
        if applied[0] > venue_ns:
            late.append((applied[0], venue_ns))
        return on_order(order, venue_ns)

    bt.venue.run_md, bt.venue.on_order = tracked_md, checked_order
    bt.run()
    orders, fills, _ = results(bt)
    assert len(orders) > 0 and len(fills) > 0
    assert late == []  # (md venue time applied, arrival) where the venue had run past an order


# --- the fit to a live run's stamps ---------------------------------------------------------------

def test_recorded_busy_fits_the_costs_to_a_live_runs_stamps(tmp_path):
    """A live run: 1,000 records received at once, handled at 8 us each, each intent 50 us; three
    triggers acted on inside the burst (2, 3 and 1 intents), then one after a pause (the strategy
    idle: no pair)."""
    run = tmp_path / "live"
    n = 1_100
    md = np.zeros(n, M.DTYPE)
    md["kind"] = M.QUOTE
    md["recv_ns"] = T0
    md["recv_ns"][1_000:] = T0 + 1_000_000_000  # a second later
    journal(run / "journal" / "md", M.LAYOUT, md)  # seq 1..n, publish_ns 0: read at recv_ns
    c, y = 8 * US, 50 * US
    orders, intents = [], 0
    for idx, k in ((100, 2), (400, 3), (550, 1), (1_050, 1)):
        start = T0 + (idx + 1) * c + intents * y if idx < 1_000 else T0 + 1_000_000_000 + 3 * c
        for j in range(k):
            orders.append(new_order(len(orders) + 1, start + j * y, idx + 1, int(md["recv_ns"][idx])))
        intents += k
    journal(run / "journal" / "orders", O.LAYOUT, np.concatenate(orders))
    busy = recorded_busy(run, ["btcusdt"])
    assert busy.fit["strategies"][1]["pairs"] == 2  # 100 -> 400, 400 -> 550; not 550 -> 1050
    assert busy.record_ns == c and busy.intent_ns == y
    # 1050 found the strategy parked: published -> first intent 3 records' time, less one record's
    assert busy.fit["strategies"][1]["wakes"] == 1 and busy.wake_ns == 2 * c
    # no order with a trigger: zero costs, the strategy kept up
    journal(tmp_path / "none" / "journal" / "md", M.LAYOUT, md)
    journal(tmp_path / "none" / "journal" / "orders", O.LAYOUT, new_order(1, T0, 0, 0))
    assert recorded_busy(tmp_path / "none", ["btcusdt"]).record_ns == 0


# --- the wake-up of a parked strategy ------------------------------------------------------------

def test_a_parked_strategy_woken_by_an_answer_reads_the_md_published_meanwhile_first(tmp_path):
    """The IOC (sent on the trade) is answered at T0 + 250 us; a quote comes 10 us later, inside
    the 50 us wake-up: live the worker wakes at T0 + 300 us and reads md before fills, so the
    quote comes first. Without the wake-up the strategy sees the answer first, at its arrival."""
    recs = np.concatenate([quote(T0, PX - TICK, E8, PX, E8), trade(T0 + 10 * US, PX, 1000, M.BUY),
                           quote(T0 + 260 * US, PX - TICK, E8 + 1, PX, E8),
                           quote(T0 + 400 * US, PX - TICK, E8 + 2, PX, E8)])
    write_md(tmp_path / "md", recs)
    _, log = run_log(tmp_path / "md", busy_record_us=0.001)  # busy, no wake-up
    k = next(k for k, e in enumerate(log) if e[0] == "fill")
    # the trade read at T0 + 10 us (1 ns a record): the answer 200 us after, seen at once
    assert [e[1] for e in log[:k] if e[0] == "md"] == [1, 2] and log[k][2] == T0 + 210 * US + 1
    bt, log = run_log(tmp_path / "md", busy_wake_us=50)
    assert bt.wake == 50 * US
    mds = [e for e in log if e[0] == "md"]
    # parked at T0: records 1 and 2 (published by T0 + 50 us) read at the wake-up
    assert mds[:2] == [("md", 1, T0 + 50 * US), ("md", 2, T0 + 50 * US)]
    orders, reps, _ = results(bt)
    assert int(orders[0]["intent_ns"]) == T0 + 50 * US
    fill = reps[reps["exec_type"] == F.EX_TRADE][0]
    assert int(fill["recv_ns"]) == T0 + 250 * US  # the answer's arrival is the venue's, unchanged
    k = next(k for k, e in enumerate(log) if e[0] == "fill")
    assert log[k - 1] == ("md", 3, T0 + 300 * US)  # the quote first, at the wake-up
    assert log[k][2] == T0 + 300 * US
    assert mds[3] == ("md", 4, T0 + 450 * US)  # parked again: the next record wakes it
    clocks = [e[2] for e in log]
    assert clocks == sorted(clocks)


def test_an_answer_with_no_md_behind_it_is_seen_a_wake_up_after_it_arrives(tmp_path):
    recs = np.concatenate([quote(T0, PX - TICK, E8, PX, E8), trade(T0 + 10 * US, PX, 1000, M.BUY),
                           quote(T0 + 5_000 * US, PX - TICK, E8 + 1, PX, E8)])
    write_md(tmp_path / "md", recs)
    _, log = run_log(tmp_path / "md", busy_wake_us=30)
    k = next(k for k, e in enumerate(log) if e[0] == "fill")
    # intent at T0 + 30 us, answer at T0 + 230 us, seen at T0 + 260 us; the quote at 5,030 us
    assert log[k][2] == T0 + 260 * US and log[-1] == ("md", 3, T0 + 5_030 * US)


# --- the pre-trade check at the verdict time ------------------------------------------------------

def test_recorded_verdict_delay(tmp_path):
    run = tmp_path / "live"
    orders = [new_order(1, T0, 10, T0), new_order(2, T0 + 1000 * US, 20, T0 + 900 * US),
              new_order(3, T0 + 2000 * US, 30, T0 + 1900 * US)]
    sent = report(1, F.EX_NEW, F.ST_ACKED, T0 + 500 * US, T0 + 600 * US)
    sent["sent_ns"] = T0 + 100 * US
    refused = report(2, F.EX_REJECTED, F.ST_REJECTED, 0, T0 + 1300 * US, R.RATE_LIMIT)  # the gate's: at its verdict
    journal(run / "journal" / "orders", O.LAYOUT, np.concatenate(orders))
    journal(run / "journal" / "fills", F.LAYOUT, np.concatenate([sent, refused]))
    lat = RecordedLatency(run, ["btcusdt"])
    assert lat.verdict(T0) == T0 + 100 * US
    assert lat.verdict(T0 + 1000 * US) == T0 + 1300 * US
    assert lat.verdict(T0 + 500 * US) == T0 + 500 * US + 200 * US  # interpolated
    assert lat.verdict(T0 + 5000 * US) == T0 + 5000 * US + 300 * US  # held


def test_rate_window_runs_at_the_verdict_time(tmp_path):
    """One order a second allowed; two orders 999.95 ms apart by intent. Checked at intent time
    the second is refused; checked at a verdict 100 us after its intent (the first's at once),
    the window has moved on and it passes. A refusal is answered at its verdict time."""
    recs = [quote(T0, PX - TICK, E8, PX, E8), trade(T0 + 1 * US, PX, 1000, M.BUY),
            trade(T0 + 1 * US + 999_950 * US, PX, 1000, M.BUY), quote(T0 + 2_000_000_000, PX - TICK, E8, PX, E8)]
    write_md(tmp_path / "md", np.concatenate(recs))
    strategies = [{"name": "nth", "kind": "file", "path": STRAT, "class": "EveryNthTrade", "every": 1,
                   "slip_bps": 10}]
    risk = dict(WIDE_RISK, max_orders_per_s=1, max_orders_per_s_total=1)

    def verdicts(delay):
        bt, _, _ = build(tmp_path / "md", cfg=cfg(strategies, risk=risk))
        if delay is not None:
            bt.verdict = delay
        bt.run()
        orders, fills, _ = results(bt)
        return orders, fills

    orders, fills = verdicts(None)
    rej = fills[fills["exec_type"] == F.EX_REJECTED]
    assert [int(r["reason"]) for r in rej] == [R.RATE_LIMIT]
    assert int(rej[0]["recv_ns"]) == int(orders[1]["intent_ns"])
    orders, fills = verdicts(lambda t: t if t < T0 + 500_000 * US else t + 100 * US)
    assert not len(fills[fills["exec_type"] == F.EX_REJECTED])
    assert int(orders[1]["verdict_ns"]) == int(orders[1]["intent_ns"]) + 100 * US
    orders, fills = verdicts(lambda t: t + 30 * US)  # the same delay for both: refused, at its verdict
    rej = fills[fills["exec_type"] == F.EX_REJECTED]
    assert [int(r["reason"]) for r in rej] == [R.RATE_LIMIT]
    assert int(rej[0]["recv_ns"]) == int(orders[1]["intent_ns"]) + 30 * US


# --- the live run's own stamps: intents of a trigger, and each answer's response latency -------------

def test_each_answer_takes_its_own_live_response_latency(tmp_path):
    """A live-looking run in which the third order's fill took 2.1 ms to come back (the others
    0.1 ms): with busy time, the backtest's fill of that order comes back 2.1 ms after its venue
    time, the others 0.1 ms (interpolation alone would spread the 2.1 ms over its neighbours)."""
    from .test_engine import nth
    from .test_parity_models import live_run

    recs = [quote(T0, PX - TICK, E8, PX, E8)] + [trade(T0 + k * 1_000_000, PX, 1000, M.BUY) for k in range(1, 5)]
    write_md(tmp_path / "md", np.concatenate(recs))
    from hftshm.backtest.run import run

    run(tmp_path / "md", tmp_path / "bt1", cfg=cfg(nth(1, slip_bps=10), latency={"entry_us": 100, "response_us": 100}))
    _, orders = files.load_ring(files.ring_dir(tmp_path / "bt1", "orders"))
    _, fills = files.load_ring(files.ring_dir(tmp_path / "bt1", "fills"))
    third = int(orders[2]["order_id"])
    fills = fills.copy()
    fills["recv_ns"][fills["order_id"] == third] += 2_000 * US
    live = live_run(tmp_path, [orders], [fills])
    lat = {"model": "recorded", "run": str(live), "compute": "recorded", "busy_record_us": 1}
    bt, _, _ = build(tmp_path / "md", cfg=cfg(nth(1, slip_bps=10), latency=lat))
    bt.run()
    _, got, _ = results(bt)
    delay = {int(r["order_id"]) & 0xFFFF: int(r["recv_ns"]) - int(r["venue_ns"]) for r in got
             if r["exec_type"] == F.EX_TRADE}
    assert delay == {1: 100 * US, 2: 100 * US, 3: 2_100 * US, 4: 100 * US}
    assert bt.lat.min_response_ns == 100 * US  # the engine's bound: the least of every live answer


def test_recorded_compute_keeps_every_intent_time_of_a_trigger(tmp_path):
    from hftshm.backtest.latency import RecordedCompute
    from .test_parity_models import live_run

    orders = [new_order(1, T0 + 300 * US, 1, T0), new_order(2, T0 + 900 * US, 1, T0),
              new_order(3, T0 + 5_000 * US, 1, T0), new_order(4, T0 + 1_100 * US, 2, T0 + 1_000 * US)]
    run = live_run(tmp_path, orders, [report(1, F.EX_NEW, F.ST_ACKED, T0 + 400 * US, T0 + 500 * US)])
    c = RecordedCompute(run, ["btcusdt"])
    assert c.stamps_of(1, 1, T0) == [T0 + 300 * US, T0 + 900 * US, T0 + 5_000 * US]
    assert c.stamps_of(1, 2, T0 + 1_000 * US) == [T0 + 1_100 * US]
    assert c.stamps_of(1, 3, T0) is None and c.stamps_of(2, 1, T0) is None


def test_compare_counts_live_fills_after_the_md_journal_ends_apart(tmp_path):
    """At stop the ingest stops first, the venue matches a moment longer: live fills after the md
    journal's last record are counted apart (``live_fills_after_md_end``), and the rates within
    the journal's span leave them out; the plain rates still count them."""
    import shutil

    from hftshm.backtest.compare import compare
    from hftshm.backtest.run import run
    from .test_engine import nth

    recs = [quote(T0, PX - TICK, E8, PX, E8)] + [trade(T0 + k * 1_000_000, PX, 1000, M.BUY) for k in range(1, 9)]
    md = np.concatenate(recs)
    write_md(tmp_path / "md", md)
    live = tmp_path / "live"
    run(tmp_path / "md", live, cfg=cfg(nth(1, slip_bps=10), latency={"entry_us": 100, "response_us": 100}))
    write_md(live / "journal" / "md", md[:6])  # the live md journal ends after the 5th trade
    risk = "\n".join(f"{k} = {v}" for k, v in WIDE_RISK.items())
    (tmp_path / "bt.toml").write_text(f'[[strategies]]\nname = "nth"\nkind = "file"\npath = "{STRAT}"\n'
                                      f'class = "EveryNthTrade"\nevery = 1\nslip_bps = 10\n\n[risk]\n{risk}\n')
    res = compare(live, tmp_path / "bt.toml")
    # the 5th trade's order reached the venue 0.1 ms after the journal's last record: late too
    assert res["live_fills"] == 8 and res["live_fills_after_md_end"] == 4
    assert res["fills_reproduced"] == 5 and res["fill_match_rate"] == 5 / 8
    assert res["fill_match_rate_within_md"] == 1.0 and res["fill_match_rate_by_trigger_within_md"] == 1.0
    assert abs(res["pnl_difference_within_md"]) < 1e-9
    shutil.rmtree(live)
