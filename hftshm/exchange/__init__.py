"""A local Binance-Spot-compatible exchange: market streams, WebSocket API, matching, replay.

``ExchangeSimulator`` (async, in-process) and ``run`` (blocking, for a child process) take a
``ExchangeConfig``; see docs/exchange.md.
"""

from .config import ExchangeConfig, Faults, SimLimits, SymbolSpec, symbol_spec
from .run import run
from .server import ExchangeSimulator

__all__ = ["ExchangeConfig", "ExchangeSimulator", "Faults", "SimLimits", "SymbolSpec", "run", "symbol_spec"]
