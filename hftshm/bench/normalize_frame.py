"""How long decode + normalize takes per frame, on the real capture. A measurement, not a test.

    python -m hftshm.bench.normalize_frame CAPTURE [--passes N] [--memo-limit N]

Replays every frame of the capture, in its order, through one venue normalizer (handed in:
``make_normalizer``, a venue's ``MarketVenue.normalizer``; the command line's is Binance Spot's) (the
snapshot line through ``apply_snapshot``), ``passes`` times, timing each ``normalize`` call alone
with ``perf_counter_ns`` around it (gc off). Reports p50/p99/max per message type for the first
pass (the e8 memo starts empty) and the later ones (memo warm; the book resyncs at the restart,
as after a gap), plus the timer's own cost, which every sample includes. Then the mean per call
of an untimed tight loop over one type's frames alone: no timer, and caches kept warm by the
same kind of frame, so it reads lower than the interleaved p50, which is the realistic figure.
"""

from __future__ import annotations

import argparse
import gc
import time
from pathlib import Path

import numpy as np

from ..feed.capture import iter_capture
from ..venues.binance_spot.normalize import BinanceSpotNormalizer

_KINDS = (b"@trade", b"@bookTicker", b"@depth")


def _kind(frame: bytes) -> str:
    head = frame[:48]
    for k in _KINDS:
        if k in head:
            return k[1:].decode()
    return "other"


def _read(capture: Path) -> list[tuple[int, bytes]]:
    return list(iter_capture(capture))


def _pcts(samples: list[int]) -> str:
    a = np.asarray(samples)
    p50, p99 = np.percentile(a, [50, 99])
    return f"p50 {p50 / 1e3:6.2f} us  p99 {p99 / 1e3:6.2f} us  max {a.max() / 1e3:8.1f} us  (n={len(a)})"


def measure(capture: Path, make_normalizer, passes: int = 3,
            memo_limit: int | None = None) -> dict[str, dict[str, list[int]]]:
    """Per pass label ("cold", "warm") and message type, the ns of each normalize call."""
    lines = _read(capture)
    kinds = [_kind(f) for _, f in lines]
    now = time.perf_counter_ns
    memo = {} if memo_limit is None else {"memo_limit": memo_limit}
    results: dict[str, dict[str, list[int]]] = {"cold": {}, "warm": {}}
    gc.disable()  # a collection inside one call would show up as that call's time
    try:
        for p in range(passes):
            if p == 0:
                norm = make_normalizer({"BTCUSDT": 1}, **memo)
            label = "cold" if p == 0 else "warm"
            for (recv, frame), kind in zip(lines, kinds):
                if frame.startswith(b'{"lastUpdateId"'):
                    if norm.snapshot_requests():
                        norm.apply_snapshot("BTCUSDT", frame, recv)
                    continue
                t0 = now()
                norm.normalize(frame, recv)
                t1 = now()
                results[label].setdefault(kind, []).append(t1 - t0)
    finally:
        gc.enable()
    return results


def _timer_cost() -> list[int]:
    now = time.perf_counter_ns
    out = []
    for _ in range(20000):
        t0 = now()
        t1 = now()
        out.append(t1 - t0)
    return out


def _untimed_mean(capture: Path, kind: str, make_normalizer, repeat: int = 5) -> float:
    frames = [(r, f) for r, f in _read(capture) if _kind(f) == kind]
    norm = make_normalizer({"BTCUSDT": 1})
    normalize = norm.normalize
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        for recv, frame in frames:
            normalize(frame, recv)
        best = min(best, (time.perf_counter_ns() - t0) / len(frames))
    return best


def main(make_normalizer, argv=None) -> None:
    """The CLI, for the venue whose normalizer is handed in (feed names no venue)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("capture", type=Path, help="a capture file, e.g. shared/data/binance/*.capture")
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--memo-limit", type=int, default=None, help="E8Memo size (default: the normalizer's)")
    args = ap.parse_args(argv)
    res = measure(args.capture, make_normalizer, args.passes, args.memo_limit)
    print(f"timer pair alone: {_pcts(_timer_cost())}")
    for label, by_kind in res.items():
        for kind, samples in sorted(by_kind.items()):
            print(f"{label:4} {kind:10} {_pcts(samples)}")
    for kind in ("trade", "bookTicker"):
        print(f"untimed loop {kind:10} mean {_untimed_mean(args.capture, kind, make_normalizer) / 1e3:.2f} us/frame"
              " (memo warm after the first of 5 runs; best run)")


if __name__ == "__main__":
    main(BinanceSpotNormalizer)
