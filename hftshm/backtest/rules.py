"""The venue filters (tick, step, min notional) a backtest matches with, where a symbol's come from:

1. its ``[backtest.symbols.X]`` table (``"venue:symbol"`` with several venues);
2. else, for a journal of a live run (``DATA/<instance>/journal/md``), the rules that run traded
   on: ``DATA/<instance>/instruments.json``, written by ``hftshm start``;
3. else, for a Binance Spot journal, hftshm's table of known symbols (``config.Filters``).

A journal of another venue with neither table nor run rules is refused: the known table holds
Spot's rules, and USD-M BTCUSDT's tick (0.1) and step (0.001) are not Spot's (0.01, 0.00001).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..journal import format as JF
from ..layouts import md as M
from .errors import BacktestError


def run_rules(run_dir: Path) -> dict:
    """The instrument rules the live run traded on (its ``instruments.json``, written at start),
    by lower-case symbol; {} when the run has none (a market-data-only run, an import)."""
    from ..venues import instruments as I

    path = Path(run_dir) / I.FILE_NAME
    try:
        text = path.read_text()
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except OSError as exc:
        raise BacktestError(f"{path}: cannot read the run's instrument rules: {exc.strerror or exc}") from None
    try:
        table, _ = I.loads(text, str(path))
    except I.InstrumentError as exc:
        raise BacktestError(str(exc)) from None
    return {symbol.lower(): rules for symbol, rules in table.items()}


def run_dir_of(journal: Path) -> Path | None:
    """The run directory a live md journal sits in (``RUN/journal/md``, or a file in it); None
    for a journal laid out otherwise (an import, a capture converted for one run)."""
    journal = Path(os.path.normpath(Path(journal).absolute()))
    md = journal.parent if journal.suffix == JF.SUFFIX else journal
    return md.parent.parent if md.parent.name == "journal" else None


def with_run_filters(bt_table: dict, rules: dict, symbols: list[str], venue: str | None = None) -> None:
    """``[backtest.symbols.X]`` for each of ``symbols`` the config leaves unset: the venue's
    filters as the run had them (``venue``: key them ``venue:symbol``)."""
    from ..feed.e8 import format_e8

    given = bt_table.setdefault("symbols", {})
    if not isinstance(given, dict):
        return  # config.from_dict names the bad table
    have = {k.lower() for k in given}
    for s in symbols:
        r = rules.get(s.lower())
        key = s.lower() if venue is None else f"{venue}:{s.lower()}"
        if r is not None and key not in have:
            given[key] = {"tick": format_e8(r.tick_e8), "step": format_e8(r.step_e8),
                          "min_notional": format_e8(max(r.min_notional_e8, 1))}  # 0: no minimum


def with_journal_rules(data: dict, sources: dict) -> dict:
    """``data`` (a config's tables) with each journal's run rules filled in, then checked: a
    journal of a venue other than Binance Spot needs a table or run rules for every symbol.
    ``sources``: ``{venue name or None: MdSource}``."""
    bt_table = data.setdefault("backtest", {})
    if not isinstance(bt_table, dict):
        return data  # config.from_dict names the bad table
    for venue, src in sources.items():
        run_dir = run_dir_of(src.path)
        if run_dir is not None:
            with_run_filters(bt_table, run_rules(run_dir), src.symbols, venue)
    given = bt_table.get("symbols")
    have = {k.lower() for k in given} if isinstance(given, dict) else set()
    for venue, src in sources.items():
        if src.venue_code in (0, M.VENUE_CODES["binance_spot"]):  # 0: a journal older than the field
            continue
        for sym in src.symbols:
            key = sym.lower() if venue is None else f"{venue}:{sym.lower()}"
            if key not in have:
                shown = key if venue is None else f'"{key}"'
                raise BacktestError(
                    f"[backtest.symbols.{shown}]: no filters for {sym} of {M.VENUES.get(src.venue_code, src.venue_code)}:"
                    " the built-in table has Binance Spot's rules only, and no live run's instruments.json "
                    "(RUN/instruments.json beside RUN/journal/md) names it; set tick, step and min_notional "
                    '(e.g. Binance USD-M BTCUSDT: tick = "0.1", step = "0.001", min_notional = "100")')
    return data
