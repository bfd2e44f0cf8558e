"""What the supervisor does for trading once the control block and rings exist, before any
worker starts (format the risk state block, check limits against the symbol table)."""

from __future__ import annotations

from ..risk import killswitch
from ..risk.state import RiskState
from . import config as trading_config
from .area import TradingArea


def prepare(cfg, control) -> None:
    """Called by the supervisor after creating ``control`` (a ControlBlock) and the rings.

    Formats the risk state block at the start of ``control.risk_buffer()`` (one symbol record
    per venue symbol, id = index) and the trading area at its end, and arms the kill switch
    (ACTIVE; until then the control block's zeroed trading word reads as halted)."""
    symbols = [s.lower() for s in cfg.venue.symbols]
    trading_config.limits(cfg.risk or trading_config.DEFAULT_RISK, symbols)  # raises on a bad table
    buf = control.risk_buffer()
    TradingArea.format(buf, len(symbols))  # checks that the block fits before it
    RiskState(len(symbols), buf)
    killswitch.arm(control)
