"""What recording a sample costs: ``python -m hftshm.bench.latency_record [samples]``.

Measures and reports, asserts nothing. Each figure is the best of ``rounds`` runs of ``n``
samples (log-normal values around 20 us, so they spread over ~200 buckets), in ns per sample:

* numba ``kernels.record`` inlined in a numba loop (and ``bucket_of`` alone, for scale);
* numba ``record_since`` (adds a ``clock_gettime``);
* Python ``Recorder.record(ns)`` and ``Recorder.since(t0)`` in a ``for`` loop, with the bare loop's
  cost reported separately, and the same call through the numba dispatcher for comparison;
* two processes recording into one stage at once (the line holding ``count`` then bounces
  between cores), if the machine has two cores.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import time

import numpy as np
from numba import njit

from .. import shm
from ..latency import buckets as B
from ..latency import kernels as K
from ..latency.histograms import LatencyBook


@njit(cache=True)
def _nb_record(words, stage, values):
    for i in range(values.shape[0]):
        K.record(words, stage, values[i])


@njit(cache=True)
def _nb_since(words, stage, values):
    for i in range(values.shape[0]):
        K.record_since(words, stage, values[i])


@njit(cache=True)
def _nb_buckets(values):
    acc = 0
    for i in range(values.shape[0]):
        acc += B.bucket_of(values[i])
    return acc


def _best(fn, n, rounds):
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter_ns()
        fn()
        best = min(best, (time.perf_counter_ns() - t) / n)
    return round(best, 1)


def _py_loop(f, values):
    def run():
        for v in values:
            f(v)
    return run


def _bare_loop(values):
    def run():
        for v in values:
            pass
    return run


def _contender(instance, stage, values, start, out):
    book = LatencyBook.attach(instance)
    start.wait()
    t = time.perf_counter_ns()
    _nb_record(book.words, stage, values)
    out.put((time.perf_counter_ns() - t) / len(values))
    book.close()


def _contended(book, instance, values):
    ctx = mp.get_context("fork")
    start, out = ctx.Barrier(2), ctx.Queue()
    stage = book.add_stage("contended")
    procs = [ctx.Process(target=_contender, args=(instance, stage, values, start, out)) for _ in range(2)]
    for p in procs:
        p.start()
    figures = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join()
    return round(max(figures), 1)


def measure(n: int = 1_000_000, rounds: int = 5) -> dict:
    """Costs of recording one sample, ns; see the module doc."""
    instance = f"measure{os.getpid()}"
    book = LatencyBook.create(instance, ["numba", "python"])
    try:
        rng = np.random.default_rng(7)
        values = rng.lognormal(np.log(20_000), 1.0, n).astype(np.int64)
        py_values = values.tolist()
        stage = book.stage_index("numba")
        rec = book.recorder("python")
        _nb_record(book.words, stage, values[:10])
        _nb_since(book.words, stage, values[:10])
        _nb_buckets(values[:10])
        now = time.time_ns()
        since_values = np.full(n, now, np.int64)
        since_list = [now] * n
        addr = rec.record.args[0]
        out = {
            "numba bucket_of": _best(lambda: _nb_buckets(values), n, rounds),
            "numba record": _best(lambda: _nb_record(book.words, stage, values), n, rounds),
            "numba record_since": _best(lambda: _nb_since(book.words, stage, since_values), n, rounds),
            "python for-loop alone": _best(_bare_loop(py_values), n, rounds),
            "python Recorder.record": _best(_py_loop(rec.record, py_values), n, rounds),
            "python Recorder.since": _best(_py_loop(rec.since, since_list), n, rounds),
            "python record_at via dispatcher": _best(
                _py_loop(lambda v: K.record_at(addr, rec.stage, v), py_values[: n // 10]), n // 10, rounds),
        }
        if (os.cpu_count() or 1) >= 2:
            out["numba record, 2 processes, one stage"] = _contended(book, instance, values)
        return out
    finally:
        book.unlink()
        book.close()
        assert not shm.exists(f"hftshm.{instance}.lat")


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    n = int(argv[0]) if argv else 1_000_000
    for name, ns in measure(n).items():
        print(f"{name:40s} {ns:8.1f} ns/sample")


if __name__ == "__main__":
    main()
