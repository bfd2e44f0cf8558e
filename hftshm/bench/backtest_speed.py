"""``hftshm bench backtest``: capture-to-result time and warm records/s of the grid market maker.

The grid: 10 post-only levels a side, 10 ticks apart, the first 10 ticks from the mid, 0.002 BTC
each, |position| up to 0.02; the probabilistic queue model (power 3); a constant 500 us entry
and response latency. Filters are USD-M BTCUSDT's (tick 0.1, step 0.001, min notional 100 USDT)
when the capture is USD-M, Spot's otherwise. With ``--peer-python``, hftbacktest runs the same capture in that interpreter
(``hbt_peer.py``: its own converter, an equivalent grid); it is optional, never required.
Figures only: nothing here asserts a time. Each time is given as wall time and as this process's
CPU time: on a shared machine the wall time mostly measures the other processes.

The grid runs in the compiled loop (``fast``; its kernels are compiled once and cached, so a run
after the first process's loads them). Its warm figure is given twice: a whole run, reading and
checking the journal as it goes (``warm_records_per_*``), and the loop alone over records already
read (``warm_loop_records_per_*``), which is what the peer's warm figure times (its loop over its
converted data in memory). Beside it, the same grid through the Python engine (the
reference) and a Python hook strategy called on every md record (``HOOK``: the per-record cost
of the hook path), one warm run each.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from ..bench.stats import machine
from ..journal.capture_import import import_capture
from ..backtest import config as C
from ..backtest.run import run as run_backtest

GRID = {"name": "grid", "kind": "grid", "levels": 10, "spacing_ticks": 10, "step_ticks": 10, "qty": "0.002",
        "max_position": "0.02"}
RISK = {"max_orders_per_s": 64, "max_orders_per_s_total": 1000, "max_position": 10}
USDM = {"tick": "0.1", "step": "0.001", "min_notional": "100"}


def grid_config(venue: str) -> dict:
    bt = {"latency": {"entry_us": 500, "response_us": 500},
          "fill": {"queue": "probabilistic", "queue_power": 3.0, "maker_fee_bps": 2.0, "taker_fee_bps": 5.0}}
    grid = dict(GRID)
    if venue == "usdm":
        bt["symbols"] = {"btcusdt": dict(USDM)}
        grid["tick"] = USDM["tick"]
    return {"strategies": [grid], "risk": dict(RISK), "backtest": bt}


PEER = Path(__file__).with_name("hbt_peer.py")

# a Python hook on every md record: keeps the last mid and counts trades and levels; never trades
HOOK = """
from hftshm.trading.strategy import Strategy


class EveryRecord(Strategy):
    def on_start(self):
        self.mid = 0
        self.trades = 0
        self.levels = 0

    def on_quote(self, r):
        self.mid = (int(r["price_e8"]) + int(r["price2_e8"])) // 2

    def on_trade(self, r):
        self.trades += 1

    def on_book(self, r):
        self.levels += 1
"""


def _python_paths(journal: Path, data: dict, tmp: Path) -> dict:
    """One warm run each: the grid through the Python engine; the hook on every record."""
    out = {}
    r = run_backtest(journal, None, cfg=C.from_dict(data, ["btcusdt"]), engine="python")
    out["python_engine_grid_records_per_s"] = r["timing"]["records_per_s"]
    out["python_engine_grid_records_per_cpu_s"] = r["timing"]["records_per_cpu_s"]
    (tmp / "hook.py").write_text(HOOK)
    hook = dict(data, strategies=[{"name": "hook", "kind": "file", "path": str(tmp / "hook.py"),
                                   "class": "EveryRecord"}])
    r = run_backtest(journal, None, cfg=C.from_dict(hook, ["btcusdt"]))
    out["python_hook_records_per_s"] = r["timing"]["records_per_s"]
    out["python_hook_records_per_cpu_s"] = r["timing"]["records_per_cpu_s"]
    return out


def _loop_in_memory(journal: Path, data: dict, runs: int) -> dict:
    """The compiled loop over records already read and checked (the journal's chunks, read before
    the clock starts): the like-for-like figure for the peer's warm loop, which runs over its
    converted data in memory. The warm run figures above include reading the journal."""
    import gc

    from ..backtest import fast
    from ..backtest.run import build

    out = []
    for _ in range(runs):
        bt, src, _ = build(journal, cfg=C.from_dict(data, ["btcusdt"]))
        chunks = list(src.chunks())
        gc.disable()
        try:
            t, c = time.perf_counter(), time.process_time()
            r = fast.run(bt, chunks)
            t, c = time.perf_counter() - t, time.process_time() - c
        finally:
            gc.enable()
        out.append({"s": t, "cpu_s": c, "records": r["records"]})
    return {"warm_loop_records_per_s": statistics.median(w["records"] / w["s"] for w in out),
            "warm_loop_records_per_cpu_s": statistics.median(w["records"] / w["cpu_s"] for w in out)}


def peer(python: str, capture: Path, runs: int, timeout_s: float = 900) -> dict:
    """hftbacktest in its own interpreter (its virtualenv): its figures, or why there are none."""
    try:
        done = subprocess.run([python, str(PEER), str(capture), str(runs)], capture_output=True, text=True,
                              timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"error": f"{python}: {exc}"}
    if done.returncode != 0:
        return {"error": f"{python} exited {done.returncode}: {done.stderr.strip()[-400:]}"}
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": f"{python}: no JSON result in its output: {done.stdout[-200:]!r}"}


def run(capture, runs: int = 3, peer_python: str | None = None) -> dict:
    capture = Path(capture)
    with tempfile.TemporaryDirectory(prefix="hftshm-bench-backtest-") as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        info = import_capture(capture, Path(tmp) / "md", ["btcusdt"])
        t1, c1 = time.perf_counter(), time.process_time()
        data = grid_config(info["venue"])
        first = run_backtest(Path(tmp) / "md", None, cfg=C.from_dict(data, ["btcusdt"]))
        t2, c2 = time.perf_counter(), time.process_time()
        warm = []
        for _ in range(runs):
            r = run_backtest(Path(tmp) / "md", None, cfg=C.from_dict(data, ["btcusdt"]))
            warm.append(r["timing"])
        engine = r["engine"]
        loop = _loop_in_memory(Path(tmp) / "md", data, runs)
        paths = _python_paths(Path(tmp) / "md", data, Path(tmp))
    figures = {
        "capture_lines": info["lines"], "md_records": info["records"], "venue": info["venue"],
        "import_s": t1 - t0, "import_lines_per_s": info["lines"] / (t1 - t0),
        "import_cpu_s": c1 - c0, "first_backtest_s": t2 - t1, "capture_to_result_s": t2 - t0,
        "capture_to_result_cpu_s": c2 - c0,
        "warm_records_per_s": statistics.median(w["records_per_s"] for w in warm),
        "warm_records_per_cpu_s": statistics.median(w["records_per_cpu_s"] for w in warm), **loop,
        "engine": engine, "first_backtest_setup_s": first["timing"]["setup_s"],
        "trades": first["summary"]["trades"], "orders": first["summary"]["orders"],
        "net_pnl": first["summary"]["net_pnl"], **paths,
    }
    result = {"machine": machine(), "capture": str(capture), "config": data, "figures": figures, "warm_runs": warm}
    if peer_python:
        p = result["peer"] = peer(peer_python, capture, runs)
        if "error" not in p:
            figures["hftbacktest_events"] = p["events"]
            figures["hftbacktest_convert_s"] = p["convert_s"]
            figures["hftbacktest_capture_to_result_s"] = p["capture_to_result_s"]
            figures["hftbacktest_capture_to_result_cpu_s"] = p["capture_to_result_cpu_s"]
            figures["hftbacktest_warm_events_per_s"] = p["warm_events_per_s"]
            figures["hftbacktest_warm_events_per_cpu_s"] = p["warm_events_per_cpu_s"]
            # >1: hftshm ahead (throughput: records/s over its events/s; time: its over ours)
            figures["ratio_warm_throughput_cpu"] = figures["warm_records_per_cpu_s"] / p["warm_events_per_cpu_s"]
            # like for like: both loops over data already in memory
            figures["ratio_warm_loop_cpu"] = figures["warm_loop_records_per_cpu_s"] / p["warm_events_per_cpu_s"]
            figures["ratio_capture_to_result_cpu"] = p["capture_to_result_cpu_s"] / figures["capture_to_result_cpu_s"]
        else:
            figures["hftbacktest"] = p["error"]
    else:
        result["peer"] = "not run: give --peer-python (a Python with hftbacktest installed)"
    return result
