"""Making the strategy object a ``[[strategies]]`` table names: a built-in, or a class in a file."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from .builtins import BUILTINS
from .strategy import Strategy


def load(table, symbols: list[str], instruments: dict | None = None) -> Strategy:
    """The strategy of one validated table (``runtime.config.StrategyConfig``); ``symbols`` is
    the venue's symbol table, ``instruments`` its rules by symbol (hftshm.trading.instruments).
    The class is handed the flat table (its own keys included)."""
    kind = table["kind"]  # a StrategyConfig reads as its flat table too, as a test's literal one does
    cls = load_class(table["path"], table["class"]) if kind == "file" else BUILTINS[kind]
    strategy = cls(dict(table), symbols)
    if instruments is not None:  # set after __init__: a user class's __init__ takes (params, symbols)
        strategy.instruments = instruments
    return strategy


def load_class(path: str, name: str) -> type:
    """Class ``name`` from the Python file at ``path``; it must subclass Strategy."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"strategy file {path!r} does not exist")
    spec = importlib.util.spec_from_file_location(f"hftshm_user_strategy_{file.stem}", file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    cls = getattr(module, name, None)
    if not isinstance(cls, type) or not issubclass(cls, Strategy):
        raise TypeError(f"{path}: {name!r} is not a subclass of hftshm.trading.strategy.Strategy")
    return cls
