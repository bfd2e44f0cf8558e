"""``hftshm bench backtest``: capture-to-result time and warm records/s of the grid market maker.

The grid trades the capture's first symbol: 10 post-only levels a side, 10 ticks apart, the first
10 ticks from the mid, each of about 120 quote units to one digit (0.002 BTC on the shared captures), |position|
up to 10 levels; the probabilistic queue model (power 3); a constant 500 us entry and response
latency. The filters (``market``): USD-M BTCUSDT's (tick 0.1, step 0.001, min notional 100 USDT)
or Spot's known table where they apply, else the largest tick and step every recorded price and
quantity is on. With ``--peer-python``, hftbacktest runs the same capture in that interpreter
(``hbt_peer.py``: its own converter, an equivalent grid, the same tick, step and sizes); it is
optional, never required, and runs on a capture of one symbol.
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
import math
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from ..bench.stats import machine
from ..feed.capture import markets_of, stream_names
from ..journal.capture_import import capture_symbols, import_capture
from ..backtest import config as C
from ..backtest.run import run as run_backtest

GRID = {"name": "grid", "kind": "grid", "levels": 10, "spacing_ticks": 10, "step_ticks": 10}
LEVEL_NOTIONAL = 120.0  # quote units a level aims at, to one significant digit: 0.002 BTC on the shared captures
MAX_LEVELS = 10  # |position| up to this many levels' quantity (0.02 BTC)
RISK = {"max_orders_per_s": 64, "max_orders_per_s_total": 1000}
USDM = {"tick": "0.1", "step": "0.001", "min_notional": "100"}  # Binance USD-M BTCUSDT's filters
MIN_NOTIONAL = "5"  # where the symbol's own is not known: Spot's and most USD-M perpetuals' value


def market(journal: Path, venue: str) -> dict:
    """The traded (first) symbol's filters and the grid's sizes, from the imported journal:
    ``symbol``, ``filters`` (tick, step, min_notional), ``qty`` and ``max_position``."""
    from ..exchange.config import KNOWN_SYMBOLS
    from ..feed.e8 import format_e8
    from ..journal import files
    from ..layouts import md as M

    meta, recs = files.load_ring(journal)
    symbol = meta["symbols"][0]
    own = recs[(recs["symbol_id"] == 0) & np.isin(recs["kind"], (M.TRADE, M.QUOTE, M.LEVEL))]
    if venue == "usdm" and symbol == "btcusdt":
        filters = dict(USDM)
    elif venue == "spot" and symbol in KNOWN_SYMBOLS:
        spec = KNOWN_SYMBOLS[symbol]
        filters = {"tick": format_e8(spec.tick_e8), "step": format_e8(spec.step_e8),
                   "min_notional": format_e8(spec.min_notional_e8)}
    else:  # every book and trade price is on the tick, every size on the step: their gcd is it (or a multiple)
        prices = np.concatenate([own["price_e8"], own["price2_e8"]])
        sizes = np.concatenate([own["qty_e8"], own["qty2_e8"]])
        prices, sizes = prices[prices > 0], sizes[sizes > 0]
        if not len(prices) or not len(sizes):
            raise ValueError(f"{symbol}: no prices or sizes recorded to take its tick and step from")
        filters = {"tick": format_e8(int(np.gcd.reduce(prices))), "step": format_e8(int(np.gcd.reduce(sizes))),
                   "min_notional": MIN_NOTIONAL}
    quotes = own[own["kind"] == M.QUOTE]
    if not len(quotes):
        raise ValueError(f"{symbol}: no quotes to size the grid's orders by")
    mid = (int(quotes[0]["price_e8"]) + int(quotes[0]["price2_e8"])) / 2e8
    step = int(round(float(filters["step"]) * 1e8))
    aim = LEVEL_NOTIONAL / mid * 1e8  # e8 units of the base
    unit = 10 ** math.floor(math.log10(aim))  # one significant digit: 0.002 BTC at 58,000 and at 61,800
    qty = max(step, -(-int(round(aim / unit) * unit) // step) * step)
    while qty * mid < float(filters["min_notional"]) * 1e8:
        qty += step
    return {"symbol": symbol, "filters": filters, "qty": format_e8(qty), "max_position": format_e8(MAX_LEVELS * qty),
            "mid": mid}


def grid_config(mk: dict) -> dict:
    bt = {"latency": {"entry_us": 500, "response_us": 500},
          "fill": {"queue": "probabilistic", "queue_power": 3.0, "maker_fee_bps": 2.0, "taker_fee_bps": 5.0},
          "symbols": {mk["symbol"]: dict(mk["filters"])}}
    grid = dict(GRID, qty=mk["qty"], max_position=mk["max_position"], tick=mk["filters"]["tick"],
                symbols=[mk["symbol"]])
    # far above the grid's own (1 BTC on the shared captures); in e8 units, so it stays on 8 decimals
    risk = dict(RISK, max_position=500 * int(round(float(mk["qty"]) * 1e8)) / 1e8)
    return {"strategies": [grid], "risk": risk, "backtest": bt}


def _symbols(data: dict) -> list[str]:
    return list(data["backtest"]["symbols"])


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
    r = run_backtest(journal, None, cfg=C.from_dict(data, _symbols(data)), engine="python")
    out["python_engine_grid_records_per_s"] = r["timing"]["records_per_s"]
    out["python_engine_grid_records_per_cpu_s"] = r["timing"]["records_per_cpu_s"]
    (tmp / "hook.py").write_text(HOOK)
    hook = dict(data, strategies=[{"name": "hook", "kind": "file", "path": str(tmp / "hook.py"),
                                   "class": "EveryRecord"}])
    r = run_backtest(journal, None, cfg=C.from_dict(hook, _symbols(data)))
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
        bt, src, _ = build(journal, cfg=C.from_dict(data, _symbols(data)))
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


def _day(tmp: Path, data: dict, records: int) -> dict:
    """The grid over ``records`` records in journal files of 1 GiB, its memory watched."""
    from . import backtest_memory

    import signal

    def stop(signum, frame):  # a kill: leave through the finally blocks, which remove GBs of journal
        raise SystemExit(128 + signum)

    was = signal.signal(signal.SIGTERM, stop)
    try:
        journal = backtest_memory.tile(tmp / "md", tmp / "day", records)
        m = backtest_memory.measure(tmp / "day", data)
    finally:
        signal.signal(signal.SIGTERM, was)
    return {"day_records": m["records"], "day_journal_bytes": journal["bytes"], "day_journal_files": journal["files"],
            "day_span_h": journal["span_s"] / 3600, "day_s": m["s"], "day_records_per_s": m["records_per_s"],
            "day_peak_rss_bytes": m["peak_rss_bytes"], "day_peak_rss_anon_bytes": m["peak_rss_anon_bytes"],
            "day_peak_rss_file_bytes": m["peak_rss_file_bytes"]}


def peer(python: str, capture: Path, runs: int, mk: dict, timeout_s: float = 900) -> dict:
    """hftbacktest in its own interpreter (its virtualenv), on the same tick, step and sizes: its
    figures, or why there are none."""
    args = [mk["filters"]["tick"], mk["filters"]["step"], mk["qty"], mk["max_position"]]
    try:
        done = subprocess.run([python, str(PEER), str(capture), str(runs), *args], capture_output=True, text=True,
                              timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"error": f"{python}: {exc}"}
    if done.returncode != 0:
        return {"error": f"{python} exited {done.returncode}: {done.stderr.strip()[-400:]}"}
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": f"{python}: no JSON result in its output: {done.stdout[-200:]!r}"}


def run(capture, runs: int = 3, peer_python: str | None = None, day_records: int = 0) -> dict:
    """``day_records``: also run the grid over that many records (the capture's, tiled in time;
    ``backtest_memory``) with its process's memory watched."""
    capture = Path(capture)
    with tempfile.TemporaryDirectory(prefix="hftshm-bench-backtest-") as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        first = markets_of(stream_names(capture, lines=1000))[0][:1]  # the grid's symbol: the first frames'
        if not first:
            raise ValueError(f"capture {capture}: no combined-stream frame in its first 1,000 lines to tell "
                             "its symbol from")
        info = import_capture(capture, Path(tmp) / "md", first)
        t1, c1 = time.perf_counter(), time.process_time()
        # the venue's rules and the sizes, as the peer is given them: setup, not timed
        mk = market(Path(tmp) / "md", info["venue"])
        data = grid_config(mk)
        t1b, c1b = time.perf_counter(), time.process_time()
        first = run_backtest(Path(tmp) / "md", None, cfg=C.from_dict(data, _symbols(data)))
        t2, c2 = time.perf_counter(), time.process_time()
        warm = []
        for _ in range(runs):
            r = run_backtest(Path(tmp) / "md", None, cfg=C.from_dict(data, _symbols(data)))
            warm.append(r["timing"])
        engine = r["engine"]
        loop = _loop_in_memory(Path(tmp) / "md", data, runs)
        paths = _python_paths(Path(tmp) / "md", data, Path(tmp))
        day = _day(Path(tmp), grid_config(mk), day_records) if day_records else {}  # (from_dict changes data)
    figures = {
        "capture_lines": info["lines"], "md_records": info["records"], "venue": info["venue"],
        "import_s": t1 - t0, "import_lines_per_s": info["lines"] / (t1 - t0),
        "import_cpu_s": c1 - c0, "first_backtest_s": t2 - t1b, "capture_to_result_s": (t1 - t0) + (t2 - t1b),
        "capture_to_result_cpu_s": (c1 - c0) + (c2 - c1b), "symbol": mk["symbol"], "qty": mk["qty"],
        **{f"filter_{k}": v for k, v in mk["filters"].items()},
        "warm_records_per_s": statistics.median(w["records_per_s"] for w in warm),
        "warm_records_per_cpu_s": statistics.median(w["records_per_cpu_s"] for w in warm), **loop,
        "engine": engine, "first_backtest_setup_s": first["timing"]["setup_s"],
        "trades": first["summary"]["trades"], "orders": first["summary"]["orders"],
        "net_pnl": first["summary"]["net_pnl"], **paths, **day,
    }
    result = {"machine": machine(), "capture": str(capture), "config": data, "figures": figures, "warm_runs": warm}
    if peer_python:
        symbols = capture_symbols(capture)
        p = result["peer"] = (peer(peer_python, capture, runs, mk) if len(symbols) == 1 else
                              {"error": f"not run: the capture streams {len(symbols)} symbols, and the peer's "
                                        "converter reads one"})
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
