"""Streaming benchmark: how many messages a second the simulator delivers to one local client,
and how much CPU it uses doing so. Measures and reports; asserts nothing.

    python -m hftshm.bench.sim_stream --rate 200000 --seconds 10

The simulator runs in a child process (``launch.simulator``, as under ``hftshm start``); a ``RawClient`` counts
frames of every symbol's trade, aggTrade and bookTicker streams. Reported per run: the rate the
client received, the server's CPU time over the window (``/proc/<pid>/stat``, as a fraction of one
core), and how far the newest event time lagged the client's clock (sampled), which grows without
bound if the server cannot keep up.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import orjson

from ..exchange.rawclient import RawClient
from ..launch.simulator import SimProcess
from ..runtime.config import SimConfig


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def measure(rate: float, seconds: float, symbols: str = "btcusdt,ethusdt", warmup: float = 2.0) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        sim = SimProcess.start(symbols.split(","), SimConfig(rate=rate), Path(tmp))  # the one launcher
        try:
            streams = "/".join(f"{s}@{k}" for s in symbols.split(",") for k in ("trade", "aggTrade", "bookTicker"))
            client = RawClient("127.0.0.1", sim.port, f"/stream?streams={streams}")
            client.count(warmup)
            lags: list[float] = []

            def sample(payload: bytes) -> None:
                data = orjson.loads(payload)["data"]
                if "E" in data:
                    lags.append(time.time() * 1000 - data["E"])

            pid = sim.proc.pid
            cpu0, t0 = cpu_seconds(pid), time.monotonic()
            frames, nbytes = client.count(seconds, sample_every=997, on_sample=sample)
            cpu1, t1 = cpu_seconds(pid), time.monotonic()
            client.close()
        finally:
            sim.stop()
    wall = t1 - t0
    return {
        "rate": rate,
        "received_per_s": frames / wall,
        "mbytes_per_s": nbytes / wall / 1e6,
        "server_cpu": (cpu1 - cpu0) / wall,
        "lag_ms_median": statistics.median(lags) if lags else None,
        "lag_ms_max": max(lags) if lags else None,
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=float, action="append", help="target rate(s); repeat for several")
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args(argv)
    for rate in args.rate or [50_000, 100_000, 200_000]:
        r = measure(rate, args.seconds)
        lag = (f"event lag median {r['lag_ms_median']:.1f} ms max {r['lag_ms_max']:.1f} ms"
               if r["lag_ms_max"] is not None else "no lag sample (connection dropped?)")
        print(f"rate {r['rate']:>9.0f}/s  received {r['received_per_s']:>9.0f}/s "
              f"({r['mbytes_per_s']:.1f} MB/s)  server cpu {r['server_cpu']:.2f} core  {lag}", flush=True)


if __name__ == "__main__":
    main()
