"""``hftshm bench parity``: the whole loop, live then backtest, on the simulator replaying a capture.

1. ``hftshm start`` runs the pipeline (ingest, strategy, risk, execution, journal) against the
   simulator replaying the capture with orders matched on the recorded book (``[sim] replay_orders``,
   ``hftshm/exchange/replay_trading.py``), for ``seconds``;
2. ``compare`` (``hftshm backtest --compare-live RUN_DIR``) backtests that run's own md journal at
   the latency recorded in it (entry and response per order, compute time per trigger, the
   pre-trade check at the recorded verdict delay, the strategy's busy time fitted to the run,
   recorded rejects) with the run's own strategies and risk;
3. the figures: live fills reproduced (%, by order sequence as ``--compare-live`` defines it,
   and by order identity: strategy, trigger record, side, price, quantity), the first divergence
   (time and cause), the PnL difference and whether it is within the target (5% of the live PnL,
   or one tick per live fill, whichever is looser).

A benchmark: it reports, it never asserts. Figures depend on the machine (a loaded machine makes
live latencies jumpy, which the recorded model follows).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .replayed_markets import Markets, capture_markets

STRATEGIES = {
    # IOC at the touch on a book imbalance: takes often, both sides (its position limit turns it)
    "imbalance": '[[strategies]]\nname = "imb"\nkind = "imbalance"\nthreshold = 0.6\nqty = "{qty}"\n'
                 'max_position = "{qty5}"\ncooldown_ms = 300\nsymbols = ["{symbol}"]\n',
    # a post-only grid: maker fills through the queue model
    "grid": '[[strategies]]\nname = "grid"\nkind = "grid"\nlevels = 1\nspacing_ticks = 5\nstep_ticks = 5\n'
            'qty = "{qty}"\nmax_position = "{qty10}"\ncooldown_ms = 500\nsymbols = ["{symbol}"]\n',
}

LIVE = """instance = "{instance}"
data_dir = "{data_dir}"

[venue]
kind = "sim"
symbols = {symbols}
streams = {streams}

[sim]
replay = "{capture}"
speed = "{speed}"
replay_orders = true

{strategies}
[risk]
max_orders_per_s = 4
max_orders_per_s_total = 4
# the workers start one after another (slowly on a loaded machine): the feed-age kill switch must
# not halt trading before the ingest's first record (a halt stays until `hftshm resume`)
max_feed_age_s = 600.0

[risk.symbols.{symbol}]
max_order_qty = "{qty10}"
max_position = "{qty100}"
"""


def live_config(capture: Path, data_dir: Path, instance: str, seconds: float, speed: float,
                strategies: list[str], markets: Markets = Markets()) -> str:
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown or not strategies:
        raise ValueError(f"unknown strategy {', '.join(unknown) or '(none)'}; choose from {', '.join(STRATEGIES)}")
    from ..feed.e8 import format_e8

    q = markets.qty_e8
    sizes = {"symbol": markets.symbols[0], "qty": format_e8(q), "qty5": format_e8(5 * q),
             "qty10": format_e8(10 * q), "qty100": format_e8(100 * q)}
    return LIVE.format(instance=instance, data_dir=data_dir, symbols=json.dumps(list(markets.symbols)),
                       streams=json.dumps(list(markets.streams)), capture=capture, speed=f"{speed:g}",
                       strategies="\n".join(STRATEGIES[s].format(**sizes) for s in strategies), **sizes)


def live_run(capture: Path, work: Path, seconds: float, speed: float, strategies: list[str],
             timeout_s: float = 900.0, markets: Markets | None = None) -> Path:
    """Run the pipeline live for ``seconds``; its run directory. ``markets``: the capture's
    (``capture_markets``), when already read."""
    instance = f"parity{os.getpid()}"
    cfg = work / "live.toml"
    cfg.write_text(live_config(capture.resolve(), work / "data", instance, seconds, speed, strategies,
                               markets or capture_markets(capture)))
    cmd = [sys.executable, "-c", "from hftshm.cli import app; app()", "start", "--config", str(cfg),
           "--headless", "--duration", f"{seconds:g}", "--summary", str(work / "live-summary.json")]
    with open(work / "start.log", "wb") as log:
        rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            timeout=timeout_s).returncode
    run_dir = work / "data" / instance
    if rc != 0:
        raise RuntimeError(f"hftshm start exited with {rc}; see {work / 'start.log'} and {run_dir / 'logs'}")
    return run_dir


def figures(res: dict, run_dir: Path) -> dict:
    """The parity figures of a ``compare`` result."""
    from ..backtest.rules import run_rules
    from ..journal import files
    from ..layouts import exec_report as F

    _, fills = files.load_ring(files.ring_dir(run_dir, "fills"))
    meta = files.read_meta(files.ring_files(files.ring_dir(run_dir, "md"))[0])
    rules = run_rules(run_dir)  # the tick the run traded on
    ticks = [rules[s.lower()].tick_e8 for s in meta["symbols"]]
    t = fills[fills["exec_type"] == F.EX_TRADE]
    tick_tol = float(sum(ticks[int(r["symbol_id"])] * int(r["last_qty_e8"]) for r in t)) / 1e16
    live, diff = res["live_pnl"], res["pnl_difference"]
    tol = max(0.05 * abs(live), tick_tol)
    return {
        "live_orders": res["live_orders"], "backtest_orders": res["backtest_orders"],
        "orders_matched": res["orders_matched"], "live_fills": res["live_fills"],
        "backtest_fills": res["backtest_fills"], "fills_reproduced": res["fills_reproduced"],
        "fill_match_pct": None if res["fill_match_rate"] is None else 100.0 * res["fill_match_rate"],
        "fill_match_pct_by_trigger": None if res["fill_match_rate_by_trigger"] is None
        else 100.0 * res["fill_match_rate_by_trigger"],
        "live_fills_after_md_end": res.get("live_fills_after_md_end"),
        "fill_match_pct_within_md": None if res.get("fill_match_rate_within_md") is None
        else 100.0 * res["fill_match_rate_within_md"],
        "fill_match_pct_by_trigger_within_md": None if res.get("fill_match_rate_by_trigger_within_md") is None
        else 100.0 * res["fill_match_rate_by_trigger_within_md"],
        "first_divergence": res["first_divergence"], "live_pnl": live, "backtest_pnl": res["backtest_pnl"],
        "pnl_difference": diff, "pnl_difference_pct": 100.0 * diff / abs(live) if live else None,
        "pnl_tolerance": tol, "pnl_within_target": abs(diff) <= tol,
        "pnl_difference_within_md": res.get("pnl_difference_within_md"),
        "fills_within_target": res["fill_match_rate"] is not None and res["fill_match_rate"] >= 0.95,
        "fills_within_target_by_trigger": res["fill_match_rate_by_trigger"] is not None
        and res["fill_match_rate_by_trigger"] >= 0.95,
        "latency_samples": res["latency_samples"], "replayed_rejects": res.get("replayed_rejects", 0),
        "busy": res.get("busy"),
    }


def run(capture, seconds: float = 60.0, speed: float = 1.0, strategies=("imbalance",), keep: Path | None = None,
        timeout_s: float = 900.0) -> dict:
    from ..backtest.compare import compare

    markets = capture_markets(Path(capture))  # ValueError, as for an unknown strategy, before any file
    live_config(Path(capture), Path("."), "check", seconds, speed, list(strategies), markets)
    work = Path(keep) if keep is not None else Path(tempfile.mkdtemp(prefix="hftshm-parity-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    run_dir = live_run(Path(capture), work, seconds, speed, list(strategies), timeout_s, markets)
    t1 = time.perf_counter()
    res = compare(run_dir, None)
    t2 = time.perf_counter()
    out = figures(res, run_dir)
    out.update({"capture": str(capture), "seconds": seconds, "speed": speed, "strategies": list(strategies),
                "run_dir": str(run_dir), "live_wall_s": t1 - t0, "backtest_wall_s": t2 - t1})
    if keep is None:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
        out["run_dir"] = None
    return out
