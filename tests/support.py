"""Helpers for tests: child-process bodies (importable by spawned children) and checks."""

from __future__ import annotations

import multiprocessing as mp
import time
from pathlib import Path

import numpy as np

from hftshm.layouts import bench

CAPTURE = Path(__file__).resolve().parent / "data" / "btcusdt_spot_20240808.capture.gz"  # real Binance frames
USDM_CAPTURE = Path(__file__).resolve().parent / "data" / "btcusdt_usdm_20240808.capture.gz"  # real Binance USD-M frames
FORK = mp.get_context("fork")
SPAWN = mp.get_context("spawn")


def bench_records(source: int, start: int, n: int) -> np.ndarray:
    recs = np.zeros(n, bench.DTYPE)
    bench.fill(recs, source, np.arange(start, start + n, dtype=np.int64))
    return recs


def run_children(targets, timeout=120):
    """Start (target, args) pairs in forked processes, join them, return their exit codes."""
    procs = [FORK.Process(target=t, args=a) for t, a in targets]
    for p in procs:
        p.start()
    deadline = time.monotonic() + timeout
    for p in procs:
        p.join(max(0.1, deadline - time.monotonic()))
    codes = []
    for p in procs:
        if p.is_alive():
            p.kill()
            p.join()
        codes.append(p.exitcode)
    return codes


class SeqChecker:
    """Checks a stream of bench records for the forbidden outcomes: lost, duplicated, torn."""

    def __init__(self, first: int = 0):
        self.expected = first
        self.count = 0
        self.lost = 0
        self.duplicated = 0
        self.torn = 0
        self.gaps = 0  # sequences skipped over, within and between batches

    def feed(self, batch, value_is_seq: bool = True, allow_gaps: bool = False) -> None:
        if len(batch) == 0:
            return
        seqs = batch["seq"]
        self.torn += int((~bench.check(batch)).sum())
        if value_is_seq:
            self.torn += int((batch["value"] != seqs).sum())
        first = int(seqs[0])
        steps = np.diff(seqs)
        gaps = max(0, first - self.expected) + int((steps[steps > 1] - 1).sum())
        self.gaps += gaps
        if first < self.expected:
            self.duplicated += self.expected - first
        self.duplicated += int((steps <= 0).sum())
        if not allow_gaps:
            self.lost += gaps
        self.count += len(batch)
        self.expected = int(seqs[-1]) + 1


def bybit_get(port: int, path: str, query: str) -> list:
    """The ``result.list`` of one of the Bybit simulator's signed REST calls."""
    import urllib.request

    import orjson

    from hftshm.exchange.config import DEFAULT_API_KEY, DEFAULT_API_SECRET
    from hftshm.venues.bybit.signing import BybitSigner

    signer = BybitSigner(DEFAULT_API_KEY, DEFAULT_API_SECRET)
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}?{query}",
                                 headers=signer.rest_headers(int(time.time() * 1000), "5000", query))
    with urllib.request.urlopen(req, timeout=10) as resp:
        body = orjson.loads(resp.read())
    assert body["retCode"] == 0, body
    return body["result"]["list"]


def bybit_positions(port: int) -> dict[str, int]:
    """The Bybit simulator's linear positions (symbol -> signed 1e-8 quantity)."""
    out = {}
    for p in bybit_get(port, "/v5/position/list", "category=linear&settleCoin=USDT"):
        size = round(float(p["size"]) * 100_000_000)
        out[p["symbol"]] = -size if p["side"] == "Sell" else size
    return out
