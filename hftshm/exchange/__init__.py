"""A local Binance-Spot-compatible exchange: market streams, WebSocket API, matching, replay.

``ExchangeSimulator`` (async, in-process) and ``run`` (blocking, for a child process) take a
``SimConfig``; see docs/exchange.md.
"""

from .config import Faults, SimConfig, SimLimits, SymbolSpec, symbol_spec
from .run import run
from .server import ExchangeSimulator

__all__ = ["ExchangeSimulator", "Faults", "SimConfig", "SimLimits", "SymbolSpec", "run", "symbol_spec"]
