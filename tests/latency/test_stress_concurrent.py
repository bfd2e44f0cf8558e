"""Several processes recording into one stage at once, with a ticker and readers running.
Forbidden outcomes: a lost increment (count, a bucket or the sum short of what was recorded), a
wrong max or min, a window with negative counts, two slots for one stage name."""

import numpy as np

from hftshm.latency import LatencyBook
from hftshm.latency import buckets as B
from hftshm.latency import kernels as K
from support import FORK

PROCS = 4
NUMBA_PER_PROC = 200_000
PYTHON_PER_PROC = 10_000
CHUNK = 1_000
TOP = 10**10 + 7  # the one maximum, recorded by process 2 last of its rising run


def values_of(p: int) -> np.ndarray:
    rng = np.random.default_rng(100 + p)
    v = rng.lognormal(np.log(20_000), 1.5, NUMBA_PER_PROC + PYTHON_PER_PROC).astype(np.int64)
    # rising runs make every process compare-and-swap max at the same time
    v[:CHUNK] = np.linspace(TOP - 10 * CHUNK, TOP - (p != 2), CHUNK).astype(np.int64)
    v[CHUNK] = 3 if p == 3 else 4 + p  # the one minimum
    return v


def _recorder(instance, p, start):
    book = LatencyBook.attach(instance)
    stage = book.stage_index("shared")
    rec = book.recorder("shared")
    v = values_of(p)
    start.wait()
    for i in range(0, NUMBA_PER_PROC, CHUNK):
        K.record_many(book.words, stage, v[i : i + CHUNK])
        if i % (10 * CHUNK) == 0:
            for x in v[NUMBA_PER_PROC + i // 20 : NUMBA_PER_PROC + i // 20 + PYTHON_PER_PROC // 20].tolist():
                rec.record(x)


def test_no_lost_increment_and_exact_extremes(make_book, instance):
    book = make_book(["shared"], period_s=0.001, snapshots=64)
    start = FORK.Barrier(PROCS + 1)
    procs = [FORK.Process(target=_recorder, args=(instance, p, start)) for p in range(PROCS)]
    for p in procs:
        p.start()
    start.wait()
    # Meanwhile: tick every (fake) millisecond and read windows; nothing may come out negative.
    t = book.created_ns
    k = 0
    while any(p.is_alive() for p in procs):
        k += 1
        book.tick(t + k * 1_000_000)
        w = book.summary("shared", window_s=0.01, now_ns=t + k * 1_000_000)
        assert 0 <= w["count"] and w["negative"] == 0
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * PROCS

    everything = np.concatenate([values_of(p) for p in range(PROCS)])
    s = book.summary("shared")
    assert s["count"] == len(everything) == PROCS * (NUMBA_PER_PROC + PYTHON_PER_PROC)
    hist, fields = np.zeros(B.BUCKETS, np.int64), np.zeros(K.F_WORDS, np.int64)
    K.read_stage(book.words, 0, hist, fields)
    assert fields[K.F_MAX] == TOP and fields[K.F_MIN] == 3  # exact ns; the µs figures are rounded
    want = np.bincount(np.searchsorted(B.lows(), everything, side="right") - 1, minlength=B.BUCKETS)
    assert (hist == want).all(), "a bucket increment was lost"
    assert fields[K.F_SUM] == everything.sum() and fields[K.F_COUNT] == len(everything)
    assert k > 0 and book.ticks >= 1


def _adder(instance, p, start, out):
    book = LatencyBook.attach(instance)
    names = ["common", f"own{p}", "common2"]
    np.random.default_rng(p).shuffle(names)
    start.wait()
    out.put({n: book.add_stage(n) for n in names})


def test_concurrent_add_stage_gives_one_slot_per_name(make_book, instance):
    book = make_book([], max_stages=8)
    start, out = FORK.Barrier(PROCS), FORK.Queue()
    procs = [FORK.Process(target=_adder, args=(instance, p, start, out)) for p in range(PROCS)]
    for p in procs:
        p.start()
    got = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * PROCS
    assert len({g["common"] for g in got}) == 1 and len({g["common2"] for g in got}) == 1
    assert sorted(book.stages) == sorted(["common", "common2"] + [f"own{p}" for p in range(PROCS)])
    for g in got:
        for name, i in g.items():
            assert book.stage_index(name) == i
