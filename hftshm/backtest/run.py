"""One backtest from start to finish: config, journal, strategies, the loop, the run directory."""

from __future__ import annotations

import gc
import time
from pathlib import Path

import numpy as np

from ..layouts import exec_report as F
from ..layouts import order as O
from ..runtime.config import risk_limits
from ..trading.loader import load as load_strategy
from . import config as C
from . import latency as LAT
from . import fast, outputs, stats
from .engine import Backtest
from .errors import BacktestError
from ..matching.queue import QueueModel
from ..matching.recorded_venue import RecordedVenue
from .source import MdSource
from .window import Window, concat


def build(journal, cfg_path: Path | None = None, overrides: dict | None = None,
          cfg: C.BacktestConfig | None = None) -> tuple[Backtest, MdSource, C.BacktestConfig]:
    """The engine for ``journal`` under a config file (or a ready ``cfg``), not yet run."""
    src = MdSource(journal)
    lower = [s.lower() for s in src.symbols]
    if cfg is None:
        cfg = C.load(cfg_path, lower, overrides)
    strategies = []
    rules = instrument_rules(cfg, src.symbols)
    for table in cfg.strategies:
        try:
            strategies.append((load_strategy(table, src.symbols, rules), table["id"]))
        except (FileNotFoundError, TypeError, ImportError, SyntaxError, AttributeError, KeyError) as exc:
            raise BacktestError(f"[[strategies]] {table.get('name')!r}: {exc}") from None
    fill = cfg.fill
    venue = RecordedVenue([cfg.filters(s) for s in lower], QueueModel(fill["queue"], fill["queue_power"]), fill["taker"],
                  fill["maker_fee_bps"], fill["taker_fee_bps"])
    bt = Backtest(Window(src.chunks()), strategies, venue, LAT.make(cfg.latency, lower), risk_limits(cfg.risk, lower),
                  len(lower), cfg.equity_interval_ms * 1_000_000)
    return bt, src, cfg


def instrument_rules(cfg: C.BacktestConfig, symbols) -> dict:
    """The strategies' instrument rules (tick, step, min notional) from the backtest's filters."""
    from ..venues.instruments import InstrumentRules

    out = {}
    for s in symbols:
        f = cfg.filters(s.lower())
        out[s.upper()] = InstrumentRules(symbol=s.upper(), base="?", quote="?", tick_e8=f.tick_e8,
                                         step_e8=f.step_e8, min_notional_e8=f.min_notional_e8)
    return out


def results(bt: Backtest) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(orders, fills, equity curve) arrays of a finished run."""
    orders = concat([bt.orders[i] for i in bt.order_list], O.DTYPE)
    fills = concat(bt.fills, F.DTYPE)
    curve = np.array(bt.equity, stats.EQUITY_DTYPE)
    return orders, fills, curve


ENGINES = ("auto", "compiled", "python")


def run(journal, run_dir: Path | None, cfg_path: Path | None = None, overrides: dict | None = None,
        cfg: C.BacktestConfig | None = None, picture: bool = False, engine: str = "auto") -> dict:
    """Backtest ``journal``; write the run directory (unless None; with ``picture``, its PNG
    too, where matplotlib is installed); return the summary.

    ``engine``: "auto" runs the compiled loop (``fast``) where it applies and the Python engine
    elsewhere; "compiled" refuses a backtest the compiled loop cannot run; "python" always runs
    the Python engine (the reference)."""
    if engine not in ENGINES:
        raise BacktestError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    t0 = time.perf_counter()
    bt, src, cfg = build(journal, cfg_path, overrides, cfg)
    why = fast.eligible(bt) if engine != "python" else "the Python engine was asked for"
    if engine == "compiled" and why:
        raise BacktestError(f"the compiled loop cannot run this backtest: {why}; use engine auto or python")
    t1 = time.perf_counter()
    c1 = time.process_time()
    if why:
        bt.run()
        t2 = time.perf_counter()
        cpu = time.process_time() - c1
        orders, fills, curve = results(bt)
        tick_to_venue, maker_trades = bt.tick_to_venue, bt.venue.maker_trades
        position, fees, trades = bt.position, bt.fees, bt.trades
    else:
        # no collector passes over the caller's objects mid-loop: the driver makes a few small
        # objects a window and no cycles, and a full pass in a large process costs more than the loop
        collecting = gc.isenabled()
        gc.disable()
        try:
            r = fast.run(bt, src.chunks())
        finally:
            if collecting:
                gc.enable()
        t2 = time.perf_counter()
        cpu = time.process_time() - c1
        orders, fills, curve = r["orders"], r["fills"], r["curve"]
        tick_to_venue, maker_trades = r["tick_to_venue"], r["maker_trades"]
        position, fees, trades = r["position"], r["fees"], r["trades"]
    summary = stats.summary(curve, orders, fills, tick_to_venue, maker_trades)
    result = {
        "journal": str(journal), "records": int(src.total), "symbols": src.symbols,
        "strategies": [{k: v for k, v in t.items()} for t in cfg.strategies],
        "latency": cfg.latency, "fill": cfg.fill, "feed_offset_ns": src.feed_offset_ns,
        "summary": summary,
        "per_symbol": {s: {"position": int(position[i]) / 1e8, "fees": float(fees[i]),
                           "trades": int(trades[i])} for i, s in enumerate(src.symbols)},
        "engine": "python" if why else "compiled",
        "timing": {"setup_s": t1 - t0, "loop_s": t2 - t1, "loop_cpu_s": cpu,
                   "records_per_s": src.total / (t2 - t1) if t2 > t1 else None,
                   "records_per_cpu_s": src.total / cpu if cpu > 0 else None},
    }
    if run_dir is not None:
        outputs.write_all(Path(run_dir), orders, fills, curve, [s.lower() for s in src.symbols], result)
        result["run_dir"] = str(run_dir)
        if picture:
            from .plot import draw

            why = draw(Path(run_dir) / "backtest.png", curve, fills, [s.lower() for s in src.symbols])
            result["picture"] = why or str(Path(run_dir) / "backtest.png")
    return result
