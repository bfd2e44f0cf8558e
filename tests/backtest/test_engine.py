"""The event loop: determinism, no look-ahead, monotonicity in latency, a golden run, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hftshm.backtest.errors import BacktestError
from hftshm.backtest.run import build, results, run
from hftshm.journal import files
from hftshm.journal import format as JF
from hftshm.journal.capture_import import import_capture
from hftshm.layouts import exec_report as F
from hftshm.layouts import md as M
from hftshm.layouts import order as O

from ._md import CAPTURE, HERE, T0, WIDE_RISK, backtest, cfg, quote, trade, write_md

STRAT = str(HERE / "strategies.py")


def nth(every=50, **params):
    return [{"name": "nth", "kind": "file", "path": STRAT, "class": "EveryNthTrade", "every": every, **params}]


@pytest.fixture(scope="module")
def spot(tmp_path_factory):
    """The vendored real Spot capture as an md journal (through the live normalizer)."""
    out = tmp_path_factory.mktemp("spot") / "md"
    info = import_capture(CAPTURE, out, ["btcusdt"])
    assert info["records"] > 100_000 and info["counters"].get("book_resets", 0) == 1
    return out


def body(path) -> bytes:
    """A journal's records as bytes (the header holds its creation time)."""
    return b"".join(open(p, "rb").read()[JF.HEADER_LENGTH:] for p in files.ring_files(path))


# --- determinism -----------------------------------------------------------------------------------

def test_same_inputs_give_byte_identical_fills(spot, tmp_path):
    strategies = nth(20) + [{"name": "imb", "kind": "imbalance", "threshold": 0.5}]
    a = backtest(spot, strategies, tmp_path / "a", latency={"entry_us": 300, "response_us": 700})
    b = backtest(spot, strategies, tmp_path / "b", latency={"entry_us": 300, "response_us": 700})
    assert a["summary"]["trades"] > 50
    assert body(tmp_path / "a/journal/fills") == body(tmp_path / "b/journal/fills")
    assert body(tmp_path / "a/journal/orders") == body(tmp_path / "b/journal/orders")
    assert (tmp_path / "a/equity.npy").read_bytes() == (tmp_path / "b/equity.npy").read_bytes()
    assert a["summary"] == b["summary"]


# --- no look-ahead (property) ------------------------------------------------------------------------

def synthetic(rng_seed: int, n: int, feed_us: int):
    rng = np.random.default_rng(rng_seed)
    t = T0 + np.cumsum(rng.integers(1, 3_000, n)) * 1_000  # 1 us .. 3 ms apart
    shared = rng.random(n) < 0.2
    shared[0] = False
    t = np.maximum.accumulate(np.where(shared, 0, t))  # a fifth read in one socket read with the record before
    feed = rng.integers(0, feed_us + 1, n) * 1_000
    mid = 6_000_000_000_000 + np.cumsum(rng.integers(-3, 4, n)) * 1_000_000
    out = []
    for i in range(n):
        if rng.random() < 0.6:
            out.append(quote(t[i], mid[i] - 1_000_000, int(rng.integers(1, 50)) * 100_000, mid[i] + 1_000_000,
                             int(rng.integers(1, 50)) * 100_000, exch_ns=0 if rng.random() < 0.5 else t[i] - feed[i]))
        else:
            side = M.BUY if rng.random() < 0.5 else M.SELL
            px = mid[i] + (1_000_000 if side == M.BUY else -1_000_000)
            out.append(trade(t[i], px, int(rng.integers(1, 20)) * 100_000, side, exch_ns=t[i] - feed[i]))
    return np.concatenate(out)


def venue_times(journal, offset):
    """source.py's venue times, computed record by record the slow way."""
    recv, exch = journal["recv_ns"].tolist(), journal["exch_ns"].tolist()
    n = len(recv)
    local = np.maximum.accumulate(journal["recv_ns"])
    out = []
    for i in range(n):
        if exch[i] > 0:
            v = exch[i]
        else:
            nxt = next((j for j in range(i + 1, n) if exch[j] > 0), None)
            prv = next((j for j in range(i - 1, -1, -1) if exch[j] > 0), None)
            cap = exch[nxt] if nxt is not None else np.iinfo(np.int64).max
            if prv is not None and recv[prv] == recv[i]:
                v = min(exch[prv], cap)
            elif nxt is not None and recv[nxt] == recv[i]:
                v = cap
            else:
                v = min(recv[i] - offset, cap)
        out.append(min(v, int(local[i])))
    return np.maximum.accumulate(np.array(out, np.int64))


@pytest.mark.parametrize("chunk", [1, 2, 3, 1 << 16])
def test_a_record_without_exchange_time_takes_the_one_it_was_read_with(tmp_path, monkeypatch, chunk):
    """Spot bookTicker has no exchange time: read in one socket read with a record that has one,
    it was sent with it (the one before it first); read alone, receive time minus the median feed
    latency, never after the next record's exchange time. Chunk edges fall inside the reads."""
    from hftshm.backtest import source as S
    from hftshm.backtest.source import MdSource

    monkeypatch.setattr(S, "CHUNK", chunk)

    ms = 1_000_000
    q = lambda t: quote(t, 60_000 * M.E8, M.E8, 60_001 * M.E8, M.E8)  # noqa: E731
    t = lambda t, e: trade(t, 60_000 * M.E8, M.E8, M.BUY, exch_ns=e)  # noqa: E731
    write_md(tmp_path / "md", np.concatenate([
        t(T0 + 3 * ms, T0),  # feed latency 3 ms (the median of the trades' below: 2 ms)
        q(T0 + 3 * ms),  # read with it: its time, 0 (not 3 - 2)
        q(T0 + 7 * ms),  # alone: 7 - 2 = 5
        q(T0 + 12 * ms),  # read with the trade behind it: that one's, 11 (not 12 - 2)
        t(T0 + 12 * ms, T0 + 11 * ms),
        q(T0 + 13 * ms),  # alone: 11
        q(T0 + 15_500_000),  # alone, 13.5, but the next trade says no later than 13 (two chunks on at 1)
        q(T0 + 16 * ms),  # alone, 14, and no later than 13
        t(T0 + 17 * ms, T0 + 13 * ms),
        t(T0 + 21 * ms, T0 + 19 * ms),  # one read: a trade, a quote, a trade
        q(T0 + 21 * ms),  # between two timed records of its read: the one before it, 19
        t(T0 + 21 * ms, T0 + 20 * ms),
        t(T0 + 25 * ms, T0 + 24 * ms),  # one read: a later exchange time before an earlier one
        q(T0 + 25 * ms),  # the one before it says 24, the next no later than 23: 23, then kept
        t(T0 + 25 * ms, T0 + 23 * ms),  # non-decreasing (24)
        *(t(T0 + k * ms, T0 + (k - 2) * ms) for k in (30, 40, 50, 60, 70, 80, 90))]))
    src = MdSource(tmp_path / "md")
    venue = np.concatenate([c.venue for c in src.chunks()])
    assert src.feed_offset_ns == 2 * ms
    assert ((venue - T0) / ms).tolist() == [0, 0, 5, 11, 11, 11, 13, 13, 13, 19, 19, 20, 24, 24, 24,
                                            28, 38, 48, 58, 68, 78, 88]
    assert venue.tolist() == venue_times(files.load_ring(tmp_path / "md")[1], 2 * ms).tolist()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31), entry=st.integers(0, 5_000), response=st.integers(0, 5_000),
       compute=st.integers(0, 500), feed=st.integers(0, 3_000), every=st.integers(1, 4), gtc=st.booleans(),
       slip=st.sampled_from([-5, 0, 3]))
def test_no_look_ahead(tmp_path_factory, seed, entry, response, compute, feed, every, gtc, slip):
    d = tmp_path_factory.mktemp("la")
    md = synthetic(seed, 300, feed)
    write_md(d / "md", md)
    c = cfg(nth(every, gtc=gtc, slip_bps=slip), latency={"entry_us": entry, "response_us": response,
                                                          "compute_us": compute})
    bt, src, _ = build(d / "md", cfg=c)
    bt.run()
    orders, fills, _ = results(bt)
    strat = bt.runners[1].engine.s
    journal = files.load_ring(d / "md")[1]
    local = np.maximum.accumulate(journal["recv_ns"])
    by_seq = {int(s): i for i, s in enumerate(journal["seq"])}
    ns = 1_000
    assert len(orders) > 0
    for o in orders:
        i = by_seq[int(o["trigger_seq"])]
        assert local[i] <= o["intent_ns"] == local[i] + compute * ns  # seen first, then acted on
        assert journal["recv_ns"][i] == o["trigger_recv_ns"]
    sent = {int(o["order_id"]): int(o["intent_ns"]) for o in orders}
    for r in fills:
        if r["exec_type"] == F.EX_REJECTED and r["reason"] < 32:
            continue  # a risk reject: answered at the intent time, by the local gate
        assert r["recv_ns"] == r["venue_ns"] + response * ns
        assert r["venue_ns"] >= sent[int(r["order_id"])] + entry * ns
    for clock, r in strat.seen_fills:
        assert clock >= r["venue_ns"] + (response + compute) * ns or r["reason"] and r["reason"] < 32
    # the strategy's own timeline never goes back: md records and answers in time order
    times = [t for t, _ in strat.seen_fills]
    assert times == sorted(times)
    # a taker fill is at the touch of the last quote the venue had applied when the order arrived
    # (a record without an exchange time: no later than the next one that has one, as source.py says)
    venue_t = venue_times(journal, src.feed_offset_ns)
    quotes = np.flatnonzero(journal["kind"] == M.QUOTE)
    for r in fills[(fills["exec_type"] == F.EX_TRADE)]:
        if int(r["trade_id"]) in bt.venue.maker_trades:
            continue
        j = quotes[np.searchsorted(venue_t[quotes], r["venue_ns"], side="right") - 1]
        touch = journal["price2_e8"][j] if r["side"] == O.BUY else journal["price_e8"][j]
        assert r["last_px_e8"] == touch


def test_strategy_sees_records_and_answers_in_time_order(tmp_path):
    """The md hook and the fill hook interleave in local-time order (the batch stops at answers)."""
    write_md(tmp_path / "md", synthetic(7, 400, 500))
    log = []

    from hftshm.trading import loader

    cls = loader.load_class(STRAT, "EveryNthTrade")

    class Logged(cls):
        def on_trade(self, r):
            log.append(self._engine.clock())
            super().on_trade(r)

        def on_quote(self, r):
            log.append(self._engine.clock())

        def on_fill(self, r):
            log.append(self._engine.clock())
            super().on_fill(r)

    c = cfg(nth(2), latency={"entry_us": 200, "response_us": 900})
    bt, _, _ = build(tmp_path / "md", cfg=c)
    runner = bt.runners[1]
    strat = Logged(c.strategies[0], ["BTCUSDT"])
    runner.engine.s = runner.strategy = strat
    strat._engine = runner.engine
    strat.on_start()
    bt.run()
    assert len(strat.seen_fills) > 10
    assert log == sorted(log)


# --- monotonicity -----------------------------------------------------------------------------------

@pytest.mark.parametrize("gtc,slip", [(False, 50), (True, -2)])
def test_more_latency_never_makes_a_fill_earlier(spot, gtc, slip):
    first_fill = []
    for lat in (0, 100, 2_000, 20_000):
        res_bt, _, _ = build(spot, cfg=cfg(nth(40, gtc=gtc, slip_bps=slip),
                                           latency={"entry_us": lat, "response_us": lat}))
        res_bt.run()
        _, fills, _ = results(res_bt)
        t = fills[fills["exec_type"] == F.EX_TRADE]
        first = {}
        for r in t:
            first.setdefault(int(r["order_id"]), int(r["venue_ns"]))
        first_fill.append(first)
    assert len(first_fill[0]) > 10
    for lo, hi in zip(first_fill, first_fill[1:]):
        for oid, t in hi.items():
            if oid in lo:
                assert t >= lo[oid], f"order {oid:#x} filled earlier with more latency"


# --- golden run -------------------------------------------------------------------------------------

def test_golden_zero_latency_unlimited_taker_matches_brute_force(spot):
    res_bt, src, _ = build(spot, cfg=cfg(nth(50), fill={"taker": "unlimited", "maker_fee_bps": 0.0,
                                                       "taker_fee_bps": 0.0}))
    res_bt.run()
    orders, fills, _ = results(res_bt)
    got = [(int(r["order_id"]), int(r["side"]), int(r["last_px_e8"]), int(r["last_qty_e8"]))
           for r in fills if r["exec_type"] == F.EX_TRADE]
    # brute force, straight from the journal and the documented clocks
    recs = files.load_ring(spot)[1]
    recv = recs["recv_ns"].astype(np.int64)
    exch = recs["exch_ns"].astype(np.int64)
    local = np.maximum.accumulate(recv)
    both = (exch > 0) & (recv > 0)
    offset = int(np.median((recv - exch)[both][:100_000])) if both[:100_000].any() else 0
    both100 = both.copy()
    both100[100_000:] = False
    offset = int(np.median((recv - exch)[both100]))
    venue_t = np.maximum.accumulate(np.minimum(np.where(exch > 0, exch, recv - offset), local))
    expected = []
    n_trades = 0
    sides = 0
    oid = 0
    last_quote = -1
    for i in range(len(recs)):
        k = recs["kind"][i]
        if k == M.QUOTE:
            last_quote = i
        if k != M.TRADE:
            continue
        n_trades += 1
        if n_trades % 50:
            continue
        assert last_quote >= 0
        px = int(recs["price_e8"][i])
        buy = sides % 2 == 0
        sides += 1
        oid += 1
        limit = (px + int(px * 50 / 1e4)) // 1_000_000 * 1_000_000 if buy else \
            -(-(px - int(px * 50 / 1e4)) // 1_000_000) * 1_000_000
        # the venue's book at the arrival (intent = local time of the trade): the last quote by venue time
        j = int(np.flatnonzero((recs["kind"] == M.QUOTE) & (venue_t <= local[i]))[-1])
        touch = int(recs["price2_e8"][j] if buy else recs["price_e8"][j])
        if (buy and limit >= touch) or (not buy and limit <= touch):
            expected.append(((1 << 40) | oid, O.BUY if buy else O.SELL, touch, 100_000))
    assert len(expected) > 100
    assert got == expected
    assert len(orders) == oid


# --- bad input ---------------------------------------------------------------------------------------

def test_empty_journal_is_a_clear_error(tmp_path):
    write_md(tmp_path / "md", np.zeros(0, M.DTYPE))
    with pytest.raises(BacktestError, match="holds no records"):
        run(tmp_path / "md", None, cfg=cfg(nth()))


def test_truncated_journal_is_a_clear_error(spot, tmp_path):
    path = files.ring_files(spot)[0]
    cut = tmp_path / path.name
    cut.write_bytes(path.read_bytes()[: JF.HEADER_LENGTH + 128 * 10 + 50])
    with pytest.raises(BacktestError, match=rf"truncated journal: {cut}: at byte 4096: the file ends inside a batch"):
        run(cut, None, cfg=cfg(nth()))
    short = tmp_path / "short.hftj"
    short.write_bytes(path.read_bytes()[:100])
    with pytest.raises(BacktestError, match="shorter than its 4096 B header"):
        run(short, None, cfg=cfg(nth()))


def test_journal_of_another_layout_is_a_clear_error(spot, tmp_path):
    backtest(spot, nth(), tmp_path / "run")
    with pytest.raises(BacktestError, match="layout 'order.v1' .* a backtest reads md journals"):
        run(tmp_path / "run/journal/orders", None, cfg=cfg(nth()))


def test_missing_journal_is_a_clear_error(tmp_path):
    with pytest.raises(BacktestError, match="does not exist"):
        run(tmp_path / "nope", None, cfg=cfg(nth()))


def test_unknown_strategy_is_a_clear_error(spot):
    with pytest.raises(BacktestError, match="kind = 'martingale': expected one of"):
        run(spot, None, cfg=cfg([{"name": "x", "kind": "martingale"}]))
    with pytest.raises(BacktestError, match="does not exist"):
        run(spot, None, cfg=cfg([{"name": "x", "kind": "file", "path": "/nonexistent.py", "class": "X"}]))
    with pytest.raises(BacktestError, match="'Nope' is not a subclass"):
        run(spot, None, cfg=cfg([{"name": "x", "kind": "file", "path": STRAT, "class": "Nope"}]))


@pytest.mark.parametrize("table,match", [
    ({"fill": {"queue": "optimistic"}}, r"\[backtest.fill\] queue must be one of"),
    ({"fill": {"slippage": 1}}, r"\[backtest.fill\]: unknown key 'slippage'"),
    ({"latency": {"entry_us": -1}}, r"\[backtest.latency\] entry_us must be a number >= 0"),
    ({"latency": {"model": "interpolated"}}, r"model must be one of constant, feed, recorded"),
    ({"symbols": {"ethusdt": {"tick": "0.01", "step": "0.001", "min_notional": "5"}}}, "not a symbol of the journal"),
])
def test_bad_backtest_config_is_a_clear_error(table, match):
    with pytest.raises(BacktestError, match=match):
        cfg(nth(), **table)


def test_symbol_without_filters_is_a_clear_error():
    with pytest.raises(BacktestError, match=r"\[backtest.symbols.dogeusdt\]: no filters"):
        cfg(nth(), journal_symbols=("dogeusdt",))


def test_a_non_spot_journal_takes_its_runs_rules_or_its_own_table(tmp_path, monkeypatch):
    """The built-in table holds Spot's rules. A USD-M journal takes the rules its live run traded on
    (the run directory's instruments.json), else a [backtest.symbols] table, else it is refused by
    name; it used to run silently at Spot's tick, a tenth of USD-M BTCUSDT's."""
    from hftshm.venues import instruments as I

    recs = np.concatenate([quote(T0 + i * 1_000_000, 6_000_000_000_000, 100_000_000, 6_000_010_000_000, 100_000_000)
                           for i in range(20)])
    recs["venue"] = M.VENUE_CODES["binance_usdm"]
    run_dir = tmp_path / "run"
    md = write_md(run_dir / "journal" / "md", recs)
    conf = tmp_path / "bt.toml"
    conf.write_text('[[strategies]]\nname = "g"\nkind = "grid"\nlevels = 1\nspacing_ticks = 1\nstep_ticks = 1\n'
                    'qty = "0.002"\n')
    with pytest.raises(BacktestError, match=r"\[backtest.symbols.btcusdt\]: no filters for BTCUSDT of binance_usdm"):
        run(md, None, conf)
    usdm = I.InstrumentRules(symbol="BTCUSDT", base="BTC", quote="USDT", tick_e8=10_000_000, step_e8=100_000,
                             min_notional_e8=100 * M.E8)
    (run_dir / I.FILE_NAME).write_text(I.dumps([usdm], "test", 0))
    assert run(md, None, conf)["records"] == 20
    assert build(md, conf)[2].filters("btcusdt").tick_e8 == 10_000_000
    monkeypatch.chdir(md)  # a relative path names the same run
    assert build(Path("."), conf)[2].filters("btcusdt").tick_e8 == 10_000_000
    other = write_md(run_dir / "journal-copy", recs)  # not RUN/journal/md: not the run's journal
    with pytest.raises(BacktestError, match="no filters for BTCUSDT of binance_usdm"):
        build(other, conf)
    (run_dir / I.FILE_NAME).unlink()
    conf.write_text(conf.read_text() + '[backtest.symbols.btcusdt]\ntick = "0.5"\nstep = "0.001"\nmin_notional = "5"\n')
    assert build(md, conf)[2].filters("btcusdt").tick_e8 == 50_000_000
    recs["venue"] = M.VENUE_CODES["binance_spot"]  # a Spot journal takes the known table's rules
    spot = write_md(tmp_path / "spot", recs)
    conf.write_text(conf.read_text().split("[backtest")[0])
    assert build(spot, conf)[2].filters("btcusdt").tick_e8 == 1_000_000


def test_feed_latency_model_follows_the_recorded_feed(tmp_path):
    """Orders take entry_mult x (recv - exch) + offset; answers response_mult x that + offset."""
    feed = 2_000_000  # 2 ms
    recs = []
    t = T0
    for i in range(200):
        t += 1_000_000
        recs.append(quote(t, 6_000_000_000_000, 100_000_000, 6_000_001_000_000, 100_000_000))
        t += 1_000_000
        recs.append(trade(t, 6_000_001_000_000, 100_000, M.BUY, exch_ns=t - feed))
    write_md(tmp_path / "md", np.concatenate(recs))
    c = cfg(nth(20), latency={"model": "feed", "entry_mult": 0.5, "response_mult": 1.5, "offset_us": 100})
    bt, _, _ = build(tmp_path / "md", cfg=c)
    bt.run()
    orders, fills, _ = results(bt)
    assert len(orders) == 10
    sent = {int(o["order_id"]): int(o["intent_ns"]) for o in orders}
    for r in fills:
        assert r["venue_ns"] == sent[int(r["order_id"])] + feed // 2 + 100_000
        assert r["recv_ns"] == r["venue_ns"] + feed * 3 // 2 + 100_000


def test_on_timer_runs_on_the_local_clock(tmp_path):
    write_md(tmp_path / "md", synthetic(11, 800, 300))
    strategies = [{"name": "timed", "kind": "file", "path": STRAT, "class": "Timed"}]
    bt, _, _ = build(tmp_path / "md", cfg=cfg(strategies, latency={"entry_us": 100, "response_us": 100,
                                                                    "compute_us": 7}))
    bt.run()
    orders, fills, _ = results(bt)
    strat = bt.runners[1].strategy
    journal = files.load_ring(tmp_path / "md")[1]
    first, last = int(journal["recv_ns"][0]), int(journal["recv_ns"][-1])
    expected = list(range(first + 500_000_000, last + 1, 500_000_000))
    assert [t for t, _ in strat.ticks] == expected
    assert all(clock == t + 7_000 for t, clock in strat.ticks)
    assert len(orders) == len(expected) and (orders["intent_ns"] == np.array(expected) + 7_000).all()
    assert (orders["trigger_seq"] == 0).all()
    assert (fills["exec_type"] == F.EX_TRADE).sum() > 0


@pytest.mark.parametrize("chunk", [7, 64, 1000])
def test_streaming_in_small_chunks_gives_the_same_run(tmp_path, monkeypatch, chunk):
    """The window refills a chunk at a time and holds only what lies between the two clocks;
    chunk boundaries change nothing."""
    from hftshm.backtest import source, window

    write_md(tmp_path / "md", synthetic(21, 1500, 800))
    passive = {**nth(4, gtc=True, slip_bps=-1)[0], "name": "passive"}
    strategies = nth(3) + [passive, {"name": "imb", "kind": "imbalance", "threshold": 0.3, "max_spread_bps": 50.0}]
    lat = {"entry_us": 700, "response_us": 1500}
    whole = backtest(tmp_path / "md", strategies, tmp_path / "whole", latency=lat)
    most = []
    real = window.Window.refill

    def refill(self, keep_from):
        shift = real(self, keep_from)
        most.append(len(self))
        return shift

    monkeypatch.setattr(source, "CHUNK", chunk)
    monkeypatch.setattr(window.Window, "refill", refill)
    small = backtest(tmp_path / "md", strategies, tmp_path / "small", latency=lat)
    assert whole["summary"]["trades"] > 20
    assert body(tmp_path / "whole/journal/fills") == body(tmp_path / "small/journal/fills")
    assert body(tmp_path / "whole/journal/orders") == body(tmp_path / "small/journal/orders")
    assert max(most) <= 3 * chunk + 64  # a few chunks in memory, never the journal


def test_recorded_latency_from_a_run_reproduces_that_run(spot, tmp_path):
    """A run directory has the live journal layout; a backtest whose latency is taken from it
    (entry = answer venue time - sent, response = receive - venue time) makes the same fills."""
    strategies = nth(25)
    first = backtest(spot, strategies, tmp_path / "live", latency={"entry_us": 300, "response_us": 700})
    again = backtest(spot, strategies, tmp_path / "again", latency={"model": "recorded", "run": str(tmp_path / "live")})
    assert first["summary"]["trades"] > 50
    assert body(tmp_path / "live/journal/fills") == body(tmp_path / "again/journal/fills")


def test_recorded_latency_bad_input_is_a_clear_error(spot, tmp_path):
    with pytest.raises(BacktestError, match="model 'recorded' needs run"):
        backtest(spot, nth(), latency={"model": "recorded"})
    with pytest.raises(BacktestError, match="nothing/journal/orders does not exist"):
        backtest(spot, nth(), latency={"model": "recorded", "run": str(tmp_path / "nothing")})
    # a latency run of another symbol set
    write_md(tmp_path / "eth", synthetic(1, 300, 100), symbols=("ethusdt",))
    backtest(tmp_path / "eth", nth(3), tmp_path / "ethrun", journal_symbols=("ethusdt",))
    with pytest.raises(BacktestError, match=r"symbols \['ethusdt'\], the md journal of \['btcusdt'\]"):
        backtest(spot, nth(), latency={"model": "recorded", "run": str(tmp_path / "ethrun")})


def test_compare_live_reproduces_a_run_of_the_same_layout(spot, tmp_path):
    """A backtest run directory plus its md journal has a live run's layout: comparing against
    it at its recorded latency reproduces every fill; another strategy diverges, and says where."""
    import shutil

    from hftshm.backtest.compare import compare

    live = tmp_path / "live"
    backtest(spot, nth(25), live, latency={"entry_us": 300, "response_us": 700})
    shutil.copytree(spot, live / "journal" / "md")
    risk = "\n".join(f"{k} = {v}" for k, v in WIDE_RISK.items())
    cfg_path = tmp_path / "bt.toml"
    cfg_path.write_text(f'[[strategies]]\nname = "nth"\nkind = "file"\npath = "{STRAT}"\nclass = "EveryNthTrade"\n'
                        f'every = 25\n\n[risk]\n{risk}\n')
    res = compare(live, cfg_path)
    assert res["live_fills"] > 50 and res["fill_match_rate"] == 1.0
    assert res["first_divergence"] is None and abs(res["pnl_difference"]) < 1e-9
    cfg_path.write_text(cfg_path.read_text().replace("every = 25", "every = 25\nslip_bps = 80"))
    res = compare(live, cfg_path)
    # every limit price differs, so no order matches; the fills, at the touch, are the same
    assert res["orders_matched"] == 0 and res["fill_match_rate"] == 1.0
    d = res["first_divergence"]
    assert d["order_index"] == 0 and d["cause"].startswith("price_e8 live ")
