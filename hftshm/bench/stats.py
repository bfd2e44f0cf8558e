"""Figures every benchmark reports: latency percentiles, CPU share, and the machine."""

from __future__ import annotations

import os
import platform
import resource
import sys
import time

import numpy as np

PERCENTILES = {"p50_us": 50, "p90_us": 90, "p99_us": 99, "p999_us": 99.9}


def latency_summary(samples_ns) -> dict:
    a = np.asarray(samples_ns, dtype=np.float64)
    if a.size == 0:
        return {k: None for k in (*PERCENTILES, "max_us")}
    out = {k: round(float(np.percentile(a, q)) / 1e3, 3) for k, q in PERCENTILES.items()}
    out["max_us"] = round(float(a.max()) / 1e3, 3)
    return out


class CpuMeter:
    """CPU time of this process over a stretch of wall time, as % of one core."""

    def __init__(self):
        self.start()

    def start(self):
        self._wall = time.perf_counter()
        self._cpu = self._now()

    @staticmethod
    def _now():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    def percent(self) -> float:
        wall = time.perf_counter() - self._wall
        return round(100.0 * (self._now() - self._cpu) / wall, 1) if wall > 0 else 0.0


def machine() -> dict:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    import numba

    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "numba": numba.__version__,
    }
