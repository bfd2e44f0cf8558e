"""Whole-run summaries against numpy on the same samples: percentiles within one bucket's width
(in fact within 1/128 of numpy's value), count, sum, max and min exact."""

import numpy as np
import pytest

from hftshm.latency import buckets as B
from hftshm.latency import kernels as K

QS = {"p50_us": 50, "p90_us": 90, "p99_us": 99, "p999_us": 99.9}


def check_against_numpy(summary, samples):
    x = np.asarray(samples, np.int64)
    assert summary["count"] == len(x)
    assert summary["max_us"] * 1e3 == pytest.approx(int(x.max()), abs=1e-6, rel=1e-12)
    assert summary["min_us"] * 1e3 == pytest.approx(int(x.min()), abs=1e-6, rel=1e-12)
    assert summary["mean_us"] * 1e3 == pytest.approx(x.sum() / len(x), rel=1e-12)
    for key, q in QS.items():
        want = float(np.percentile(x, q))
        got = summary[key] * 1e3
        width = B.bucket_width(B.bucket_of(int(want)))
        assert abs(got - want) <= width, (key, got, want, width)
        assert abs(got - want) <= want / 128 + 1e-6, (key, got, want)


SAMPLES = {
    "lognormal 20us": lambda rng: rng.lognormal(np.log(20_000), 1.0, 50_000),
    "lognormal wide": lambda rng: rng.lognormal(np.log(5_000), 3.0, 50_000),
    "uniform small": lambda rng: rng.integers(0, 200, 10_000),
    "uniform large": lambda rng: rng.uniform(1e6, 6e10, 20_000),
    "few samples": lambda rng: rng.lognormal(10, 2, 7),
    "one sample": lambda rng: np.array([123_456_789]),
    "two clusters": lambda rng: np.concatenate([rng.integers(100, 110, 999), [7 * 10**9]]),
}


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_percentiles_match_numpy(make_book, kind):
    book = make_book(["s"])
    x = SAMPLES[kind](np.random.default_rng(len(kind))).astype(np.int64)
    K.record_many(book.words, 0, x)
    check_against_numpy(book.summary("s"), x)


def test_python_recorder_matches_numba(make_book):
    book = make_book(["py", "nb"])
    x = np.random.default_rng(3).lognormal(9, 1.5, 5_000).astype(np.int64)
    rec = book.recorder("py")
    for v in x.tolist():
        rec.record(v)
    K.record_many(book.words, book.stage_index("nb"), x)
    py, nb = book.summary("py"), book.summary("nb")
    py.pop("span_s"), nb.pop("span_s")
    assert py == nb
    check_against_numpy(book.summary("py"), x)


@pytest.mark.parametrize("value", [0, 1, 63, 64, 127, 128, 129, 1000, 2**20 - 1, 2**20, 10**9, B.MAX_VALUE])
def test_identical_samples_give_exact_figures(make_book, value):
    book = make_book(["s"])
    rec = book.recorder("s")
    for _ in range(10):
        rec.record(value)
    s = book.summary("s")
    assert s["count"] == 10
    for key in (*QS, "max_us", "min_us", "mean_us"):
        assert s[key] * 1e3 == pytest.approx(value, abs=1e-6, rel=1e-12), key


def test_edge_values_together(make_book):
    book = make_book(["s"])
    x = np.array([0, 1, 127, 128, 255, 256, 2**36, B.MAX_VALUE] * 3, np.int64)
    K.record_many(book.words, 0, x)
    check_against_numpy(book.summary("s"), x)


def test_values_above_range_counted_apart_with_exact_max(make_book):
    book = make_book(["s"])
    rec = book.recorder("s")
    for v in (1000, 2000, B.MAX_VALUE + 1, 10**12):
        rec.record(v)
    s = book.summary("s")
    assert s["over"] == 2 and s["count"] == 4
    assert s["max_us"] == 10**12 / 1e3
    assert s["mean_us"] == pytest.approx((1000 + 2000 + B.MAX_VALUE + 1 + 10**12) / 4 / 1e3)
    assert s["p50_us"] * 1e3 == pytest.approx(np.percentile([1000, 2000, B.MAX_VALUE + 1, 10**12], 50), rel=1 / 128)


def test_negative_samples_count_as_zero_and_apart(make_book):
    book = make_book(["s"])
    rec = book.recorder("s")
    for v in (-5, -(2**63), 10, 20):
        rec.record(v)
    s = book.summary("s")
    assert s["negative"] == 2 and s["count"] == 4
    assert s["min_us"] == 0 and s["max_us"] == 0.02
    assert s["mean_us"] == pytest.approx(30 / 4 / 1e3)


def test_since_records_elapsed_time(make_book):
    import time

    book = make_book(["s"])
    rec = book.recorder("s")
    t0 = time.time_ns()
    got = rec.since(t0 - 5_000_000)
    assert 5_000_000 <= got < 5_000_000 + 10**9
    s = book.summary("s")
    assert s["count"] == 1 and s["max_us"] * 1e3 == got


def test_empty_stage(make_book):
    book = make_book(["s", "t"])
    s = book.summary("t")
    assert s["count"] == 0 and s["negative"] == 0 and s["over"] == 0
    assert all(s[k] is None for k in (*QS, "max_us", "min_us", "mean_us"))
    assert list(book.summaries()) == ["s", "t"]


def test_numba_record_from_numba_code(make_book):
    from numba import njit

    @njit
    def hot_loop(words, stage, n):
        for i in range(n):
            K.record(words, stage, i)

    book = make_book(["a", "b"])
    hot_loop(book.words, book.stage_index("b"), 1000)
    check_against_numpy(book.summary("b"), np.arange(1000))
    assert book.summary("a")["count"] == 0
