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
from .inputs import md_journals
from .rules import with_journal_rules
from .errors import BacktestError
from ..matching.queue import QueueModel
from ..matching.recorded_venue import RecordedVenue
from .source import MdSource
from .venues import MergedSource
from .window import Window, concat


def build(journal, cfg_path: Path | None = None, overrides: dict | None = None,
          cfg: C.BacktestConfig | None = None) -> tuple[Backtest, MdSource | MergedSource, C.BacktestConfig]:
    """The engine for ``journal`` under a config file (or a ready ``cfg``), not yet run.
    ``journal``: one md journal, or ``{venue: journal}`` for a config of several venues
    (``backtest.venues``: one merged stream, one table of ``venue:symbol``)."""
    data = None if cfg is not None else C.read(cfg_path, overrides)
    group = isinstance(journal, dict)
    if data is not None and C.is_group(data) != group:
        if group:
            raise BacktestError("VENUE=PATH journals need a config of several venues ([[venues]]); "
                                f"{cfg_path} has one venue: give its journal as PATH")
        names = [e.get("name") for e in data["venues"] if isinstance(e, dict)]
        raise BacktestError(f"{cfg_path} runs several venues ([[venues]]: {', '.join(map(str, names))}): give "
                            "each venue's md journal as VENUE=PATH")
    if group:
        if data is None and not (cfg.venue_risk and set(journal) == set(cfg.venue_risk)):
            raise BacktestError(f"journals of venues {', '.join(journal)}: the config's venues are "
                                f"{', '.join(cfg.venue_risk) or 'none (one [venue])'}")
        names = list(cfg.venue_risk) if data is None else [e.get("name") for e in data["venues"] if isinstance(e, dict)]
        src = MergedSource(_config_order(journal, names))
        venues = {n: s.symbols for n, s in src.sources.items()}
    else:
        src, venues = MdSource(journal), None
    lower = [s.lower() for s in src.symbols]
    if cfg is None:
        cfg = C.from_dict(with_journal_rules(data, src.sources if group else {None: src}), lower, venues)
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
    if group:  # each venue's limits, over the whole table (only its own symbols reach them)
        limits = [_venue_limits(risk, src, v) for v, risk in enumerate(cfg.venue_risk.values())]
    else:
        limits = risk_limits(cfg.risk, lower)
    bt = Backtest(Window(src.chunks()), strategies, venue, LAT.make(cfg.latency, lower), limits,
                  len(lower), cfg.equity_interval_ms * 1_000_000, venue_of=src.venue_of if group else None)
    return bt, src, cfg


def _config_order(journals: dict, names: list) -> dict:
    """``journals`` in the config's venue order (``names``); a venue the config lacks is refused."""
    for v in journals:
        if v not in names:
            raise BacktestError(f"venue {v!r}: not a venue of the config ([[venues]]: {', '.join(map(str, names))})")
    return {v: journals[v] for v in names if v in journals}


def _venue_limits(risk, src: MergedSource, v: int):
    """One venue's [risk] as limits over the merged table: its per-symbol overrides at its own
    symbols' table ids (the defaults elsewhere: other venues' symbols never reach its gate)."""
    from ..risk.limits import Limits
    from ..config_schema import RISK_LIMITS

    ids = [i for i, w in enumerate(src.venue_of) if w == v]
    own = [src.symbols[i].partition(":")[2].lower() for i in ids]
    overrides = {ids[own.index(s)]: t for s, t in (risk["symbols"] or {}).items()}
    return Limits(n_symbols=len(src.symbols), overrides=overrides, **{k: risk[k] for k in RISK_LIMITS})


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

    ``journal``: an md journal, or a raw capture, converted for this run (``inputs``; its
    counts under ``imported``). ``engine``: "auto" runs the compiled loop (``fast``) where it
    applies and the Python engine elsewhere; "compiled" refuses a backtest the compiled loop
    cannot run; "python" always runs the Python engine (the reference)."""
    if engine not in ENGINES:
        raise BacktestError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if cfg is None:
        C.read(cfg_path, overrides)  # a missing or bad config file is named before a capture's conversion
    with md_journals(journal, run_dir) as (md, imported):
        return _run(md, run_dir, cfg_path, overrides, cfg, picture, engine, journal, imported)


def _run(journal, run_dir, cfg_path, overrides, cfg, picture, engine, given, imported) -> dict:
    """``given``: the journal or capture asked for (``journal`` is what is read)."""
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
        "journal": {v: str(p) for v, p in given.items()} if isinstance(given, dict) else str(given),
        "records": int(src.total), "symbols": src.symbols,
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
    if imported:
        result["imported"] = imported
    if isinstance(src, MergedSource):
        result["venues"] = venue_totals(src, curve)
    if run_dir is not None:
        outputs.write_all(Path(run_dir), orders, fills, curve, [s.lower() for s in src.symbols], result)
        result["run_dir"] = str(run_dir)
        if picture:
            from .plot import draw

            why = draw(Path(run_dir) / "backtest.png", curve, fills, [s.lower() for s in src.symbols])
            result["picture"] = why or str(Path(run_dir) / "backtest.png")
    return result


def venue_totals(src: MergedSource, curve: np.ndarray) -> dict:
    """Per venue: its records, feed offset, the records applied after their own venue time
    (``venues.MergedSource``), and its symbols' PnL, fees and trades at the end of the run."""
    out = {}
    last = curve[curve["time_ns"] == curve["time_ns"].max()] if len(curve) else curve
    for v, name in enumerate(src.venues):
        rows = last[np.isin(last["symbol_id"], [i for i, w in enumerate(src.venue_of) if w == v])]
        net = float((rows["cash"] + rows["position_e8"] / 1e8 * rows["mid_e8"] / 1e8).sum())
        fees = float(rows["fees"].sum())
        raised = src.raised[name]
        out[name] = {"records": int(src.sources[name].total), "feed_offset_ns": src.feed_offset_ns[name],
                     "venue_time_raised": raised["records"], "venue_time_raised_max_us": raised["max_ns"] / 1e3,
                     "net_pnl": net, "fees": fees, "gross_pnl": net + fees, "trades": int(rows["trades"].sum())}
    return out
