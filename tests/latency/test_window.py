"""Sliding window: after ticks, a window's figures reflect only the samples recorded since the
snapshot nearest its start. The ticker is driven with explicit timestamps; nothing sleeps."""

import numpy as np
import pytest

from hftshm.errors import RingConfigError
from hftshm.latency import kernels as K
from support import FORK

S = 10**9


def record(book, stage, values):
    K.record_many(book.words, book.stage_index(stage), np.asarray(values, np.int64))


def percentiles_us(x):
    return {k: float(np.percentile(x, q)) / 1e3 for k, q in (("p50_us", 50), ("p99_us", 99))}


def close_to(summary, x):
    """Within 1/128, as the whole-run percentiles are (test_percentiles.py)."""
    for k, want in percentiles_us(x).items():
        assert summary[k] == pytest.approx(want, rel=1 / 128), k
    assert summary["count"] == len(x)
    assert summary["max_us"] == int(np.max(x)) / 1e3 and summary["min_us"] == int(np.min(x)) / 1e3


def test_window_sees_only_recent_samples(make_book):
    book = make_book(["s"])
    t = book.created_ns
    rng = np.random.default_rng(5)
    old = rng.lognormal(np.log(1e6), 0.5, 5_000).astype(np.int64)  # ~1 ms, before the tick
    new = rng.lognormal(np.log(1e4), 0.5, 5_000).astype(np.int64)  # ~10 us, after it
    record(book, "s", old)
    assert book.tick(t + 1 * S)
    record(book, "s", new)
    assert book.tick(t + 2 * S)
    now = t + 2 * S + S // 5
    # 1 s ago is nearest the snapshot at t+1 s: only `new` is in the window
    w = book.summary("s", window_s=1, now_ns=now)
    close_to(w, new)
    assert w["span_s"] == pytest.approx(1.2)
    close_to(book.summary("s", now_ns=now), np.concatenate([old, new]))
    # nearest to now - 0.1 s is the snapshot at t+2 s: nothing since
    assert book.summary("s", window_s=0.1, now_ns=now)["count"] == 0


def test_before_the_window_has_passed_it_is_the_whole_run(make_book):
    book = make_book(["s"])
    t = book.created_ns
    record(book, "s", [100, 200, 300])
    book.tick(t + S)
    record(book, "s", [400])
    w = book.summary("s", window_s=10, now_ns=t + 2 * S)
    assert w["count"] == 4 and w["min_us"] == 0.1 and w["max_us"] == 0.4
    assert w["span_s"] == pytest.approx(2.0)


def test_window_extremes_are_exact_per_interval(make_book):
    book = make_book(["s"])
    t = book.created_ns
    record(book, "s", [5, 10**9])  # a 1 s outlier and a 5 ns sample, long ago
    for k in range(1, 6):
        book.tick(t + k * S)
        record(book, "s", [1000 + k, 2000 + k])
    w = book.summary("s", window_s=2, now_ns=t + 5 * S)  # samples after the tick at t+3 s
    assert w["count"] == 6
    assert w["max_us"] == 2.005 and w["min_us"] == 1.003
    s = book.summary("s")
    assert s["max_us"] == 10**6 and s["min_us"] == 0.005


def test_tick_is_idempotent_within_a_period(make_book):
    book = make_book(["s"], period_s=1.0)
    t = (book.created_ns // S + 1) * S  # a period boundary
    assert book.tick(t + 10)
    assert not book.tick(t + 10)
    assert not book.tick(t + S - 1)
    assert not book.tick(t - S)  # the clock went back: nothing to do
    assert book.tick(t + S)
    assert book.ticks == 2


def _ticker(instance, start, n):
    from hftshm.latency import LatencyBook

    book = LatencyBook.attach(instance)
    for k in range(n):
        book.tick(start + k * S)
        book.tick(start + k * S + S // 2)
    book.close()


def test_two_tickers_take_one_snapshot_per_period(make_book, instance):
    # More slots than periods: a ticker that a preempted one lags by a whole ring of slots may
    # skip a period by design (kernels.tick: slot still being written), so no slot is reused.
    book = make_book(["s"], snapshots=64)
    record(book, "s", [7])
    start = (book.created_ns // S + 1) * S
    procs = [FORK.Process(target=_ticker, args=(instance, start, 40)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    assert book.ticks == 40
    record(book, "s", [9, 11])
    w = book.summary("s", window_s=3, now_ns=start + 39 * S + S // 2)
    assert w["count"] == 2 and w["max_us"] == 0.011 and w["min_us"] == 0.009


def test_ring_wraps_and_the_window_stays_right(make_book):
    book = make_book(["s"], snapshots=4)
    t = book.created_ns
    for k in range(1, 20):
        record(book, "s", [k * 1000] * k)
        book.tick(t + k * S)
    # window 2 s at t+19 s: the snapshot at t+17 s; the samples of k = 18 and 19 came after it
    w = book.summary("s", window_s=2, now_ns=t + 19 * S)
    assert w["count"] == 18 + 19
    assert w["max_us"] == 19 and w["min_us"] == 18
    assert w["span_s"] == pytest.approx(2.0)
    record(book, "s", [500])
    w = book.summary("s", window_s=2, now_ns=t + 19 * S)
    assert w["count"] == 38 and w["min_us"] == 0.5


def test_stage_added_after_ticks(make_book):
    book = make_book(["s"])
    t = book.created_ns
    book.tick(t + S)
    book.tick(t + 2 * S)
    rec = book.recorder("late", add=True)
    rec.record(300)
    rec.record(100)
    book.tick(t + 3 * S)
    rec.record(200)
    w = book.summary("late", window_s=2, now_ns=t + 3 * S)  # since the snapshot at t+1 s
    assert w["count"] == 3 and w["min_us"] == 0.1 and w["max_us"] == 0.3
    w = book.summary("late", window_s=1, now_ns=t + 4 * S)  # since the snapshot at t+3 s
    assert w["count"] == 1 and w["min_us"] == 0.2 and w["max_us"] == 0.2


def test_summaries_with_window(make_book):
    book = make_book(["a", "b"])
    t = book.created_ns
    record(book, "a", [1, 2])
    book.tick(t + S)
    record(book, "b", [3])
    out = book.summaries(window_s=1, now_ns=t + 2 * S)
    assert list(out) == ["a", "b"] and out["a"]["count"] == 0 and out["b"]["count"] == 1


@pytest.mark.parametrize("window", [0, -1, 31.5, 1000, "5", None, True])
def test_bad_window(make_book, window):
    book = make_book(["s"], snapshots=32, period_s=1)
    if window is None:
        book.summary("s", window)  # None is the whole run
        return
    with pytest.raises(RingConfigError, match=r"window_s must be .* \(0, 31\]"):
        book.summary("s", window)


@pytest.mark.parametrize("now", [0, -5, 1.5, "now"])
def test_bad_tick_time(make_book, now):
    book = make_book(["s"])
    with pytest.raises(RingConfigError, match="tick time"):
        book.tick(now)
