"""What the supervisor does for trading once the control block and rings exist, before any
worker starts (format the risk state block, check limits against the symbol table)."""

from __future__ import annotations

from ..risk import killswitch
from ..risk.fills import set_position
from ..risk.results import APPLIED
from ..risk.state import RiskState
from ..runtime.config import risk_limits
from ..state.store import path_for, restore
from .area import TradingArea


def prepare(cfg, control, fresh_state: bool | None = None) -> None:
    """Called by the supervisor after creating ``control`` (a ControlBlock) and the rings.

    Formats the risk state block at the start of ``control.risk_buffer()`` (one symbol record
    per venue symbol, id = index) and the trading area at its end, loads the positions and PnL
    of the persisted state into it (``restore_books``), and arms the kill switch (ACTIVE; until
    then the control block's zeroed trading word reads as halted). ``fresh_state`` (default: for
    ``[venue] kind = "sim"``, whose simulator starts with the instance) moves an earlier state
    file aside instead."""
    symbols = [s.lower() for s in cfg.venue.symbols]
    risk_limits(cfg.risk, symbols)  # raises on a bad table
    buf = control.risk_buffer()
    TradingArea.format(buf, len(symbols))  # checks that the block fits before it
    risk = RiskState(len(symbols), buf)
    if fresh_state if fresh_state is not None else cfg.venue.kind == "sim":
        move_aside(path_for(cfg))  # a simulator started with the instance has a fresh account too
    restore_books(risk, [s.upper() for s in symbols], restore(path_for(cfg)))
    killswitch.arm(control)


def move_aside(path) -> None:
    """Move an earlier run's state file aside (``state.sqlite.<ms>.old``, never deleted)."""
    import time
    from pathlib import Path

    path = Path(path)
    if path.exists():
        stamp = time.time_ns() // 1_000_000
        for extra in ("", "-wal", "-shm"):
            p = Path(str(path) + extra)
            if p.exists():
                p.rename(p.with_name(f"{path.name}.{stamp}{extra}.old"))


def restore_books(risk: RiskState, symbols: list[str], back) -> None:
    """The positions, average prices, realized PnL and fees the persisted fills add up to
    (``hftshm.state``), into a freshly formatted risk state: a restarted instance starts where the
    last one stopped. Fills of a symbol no longer configured are not counted anywhere."""
    for i, name in enumerate(symbols):
        book = back.books.get(name)
        if book is None:
            continue
        sym = risk.symbols[i]
        sym["realized_pnl"], sym["fees"] = book.realized, book.fees
        sym["bought_e8"], sym["sold_e8"], sym["fills"] = book.bought_e8, book.sold_e8, book.fills
        if set_position(risk.symbols, risk.account, i, book.position_e8, book.avg_px) != APPLIED:
            raise ValueError(f"persisted state: {name} position {book.position_e8} at average price "
                             f"{book.avg_px} does not fit the risk state")
