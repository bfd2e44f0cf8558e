"""The ``[backtest]`` tables: schema, defaults and validation.

::

    [backtest]
    equity_interval_ms = 1000     # equity-curve sampling interval (local clock)

    [backtest.latency]
    model = "constant"            # "constant" | "feed" | "recorded"
    entry_us = 0                  # constant: intent -> the venue model has the order
    response_us = 0               # constant: venue event -> the strategy sees the answer or fill
    compute_us = 0                # trigger record seen -> intent (the strategy's own compute time)
    entry_mult = 1.0              # feed: entry = entry_mult x feed latency + offset_us
    response_mult = 1.0           # feed: response = response_mult x feed latency + offset_us
    offset_us = 0
    run = ""                      # recorded: a live run's directory (its journal/orders, journal/fills)
    compute = "constant"          # "constant": compute_us; "recorded": run's tick_to_intent samples
    busy = "constant"             # the strategy's busy time: "constant" (the two below) or "recorded" (fitted to run)
    busy_record_us = 0            # per md record the strategy reads (0 and 0: it keeps up with the stream)
    busy_intent_us = 0            # per intent it sends
    busy_wake_us = 0              # a parked strategy's wake-up (it then reads md before answers)

    [backtest.fill]
    queue = "conservative"        # "conservative" | "probabilistic"
    queue_power = 2.0             # probabilistic: f(x) = x ** queue_power
    taker = "touch"               # "touch": capped at the displayed quantity; "unlimited"; "depth": walk the levels
    maker_fee_bps = 10.0          # Binance Spot VIP 0 (negative: a rebate)
    taker_fee_bps = 10.0

    [backtest.symbols.btcusdt]    # venue filters; default: hftshm's table of known symbols
    tick = "0.01"
    step = "0.00001"
    min_notional = "5"

The other tables of the file (``[[strategies]]``, ``[risk]``) are the live ones, validated by
``hftshm.runtime.config``; ``[venue]`` and the rest are ignored, so a live config can be reused.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from ..feed.e8 import parse_e8
from ..matching.recorded_venue import Filters
from .errors import BacktestError

DEFAULT_BACKTEST = {"equity_interval_ms": 1000}
DEFAULT_LATENCY = {"model": "constant", "entry_us": 0, "response_us": 0, "compute_us": 0, "entry_mult": 1.0,
                   "response_mult": 1.0, "offset_us": 0, "run": "", "compute": "constant",
                   "busy": "constant", "busy_record_us": 0, "busy_intent_us": 0,
                   "busy_wake_us": 0}
DEFAULT_FILL = {"queue": "conservative", "queue_power": 2.0, "taker": "touch", "maker_fee_bps": 10.0,
                "taker_fee_bps": 10.0}
SYMBOL_KEYS = ("tick", "step", "min_notional")
LATENCY_MODELS = ("constant", "feed", "recorded")
QUEUES = ("conservative", "probabilistic")
TAKERS = ("touch", "unlimited", "depth")
COMPUTES = ("constant", "recorded")
BUSIES = ("constant", "recorded")


@dataclass
class BacktestConfig:
    equity_interval_ms: int = 1000
    latency: dict = field(default_factory=lambda: dict(DEFAULT_LATENCY))
    fill: dict = field(default_factory=lambda: dict(DEFAULT_FILL))
    symbols: dict = field(default_factory=dict)  # lower-case symbol -> {tick, step, min_notional}
    strategies: list = field(default_factory=list)
    risk: dict = field(default_factory=dict)
    # several venues: each venue's [risk] (the shared table, its [[venues]] risk on top), config
    # order; empty for one venue (``risk`` then)
    venue_risk: dict = field(default_factory=dict)

    def filters(self, symbol: str) -> Filters:
        """The venue filters of ``symbol``: its ``[backtest.symbols.X]`` table, else the known table."""
        table = self.symbols.get(symbol.lower())
        if table is None:
            from ..exchange.config import KNOWN_SYMBOLS

            # several venues: "venue:symbol", the known table by its symbol
            spec = KNOWN_SYMBOLS.get(symbol.lower().rpartition(":")[2])
            if spec is None:
                key = symbol.lower() if ":" not in symbol else f'"{symbol.lower()}"'
                raise BacktestError(f"[backtest.symbols.{key}]: no filters for {symbol}; set tick, step "
                                    f"and min_notional (known symbols: {', '.join(KNOWN_SYMBOLS)})")
            return Filters(spec.tick_e8, spec.step_e8, spec.min_notional_e8)
        return Filters(*(parse_e8(str(table[k])) for k in SYMBOL_KEYS))


def load(path: Path | None, symbols: list[str], overrides: dict | None = None) -> BacktestConfig:
    """The backtest config of a TOML file (None: defaults) for a journal of ``symbols``."""
    return from_dict(read(path, overrides), symbols)


def read(path: Path | None, overrides: dict | None = None) -> dict:
    """A config file's tables (None: none), ``overrides`` on top."""
    data: dict = {}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise BacktestError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise BacktestError(f"{path}: not valid TOML: {exc}") from None
    for key, value in (overrides or {}).items():
        data[key] = value
    return data


def is_group(data: dict) -> bool:
    """A config of several venues (``[[venues]]``, ``runtime.group``)."""
    return isinstance(data, dict) and "venues" in data


def _number(where: str, value, low: float, integer: bool = False):
    ok = not isinstance(value, bool) and isinstance(value, int if integer else (int, float))
    if not ok or value < low:
        kind = "an integer" if integer else "a number"
        raise BacktestError(f"{where} must be {kind} >= {low}, got {value!r}")
    return value


def _table(where: str, value, defaults: dict) -> dict:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise BacktestError(f"{where}: expected a table")
    unknown = sorted(set(value) - set(defaults))
    if unknown:
        raise BacktestError(f"{where}: unknown key {unknown[0]!r}; known: {', '.join(defaults)}")
    return {**defaults, **value}


def from_dict(data: dict, symbols: list[str], venues: dict | None = None) -> BacktestConfig:
    """Validate a parsed config (defaults filled in); BacktestError naming the key on bad input.
    ``venues``: a config of several venues (``[[venues]]``): each venue's journal symbols, config
    order; ``symbols`` is then the merged table (``venue:symbol``, ``backtest.venues``)."""
    bt = data.get("backtest") or {}
    if not isinstance(bt, dict):
        raise BacktestError("[backtest]: expected a table")
    top = _table("[backtest]", {k: v for k, v in bt.items() if k not in ("latency", "fill", "symbols")},
                 DEFAULT_BACKTEST)
    _number("[backtest] equity_interval_ms", top["equity_interval_ms"], 1, integer=True)
    lat = _table("[backtest.latency]", bt.get("latency"), DEFAULT_LATENCY)
    if lat["model"] not in LATENCY_MODELS:
        raise BacktestError(f"[backtest.latency] model must be one of {', '.join(LATENCY_MODELS)}, got {lat['model']!r}")
    for key in ("entry_us", "response_us", "compute_us", "entry_mult", "response_mult", "offset_us",
                "busy_record_us", "busy_intent_us", "busy_wake_us"):
        _number(f"[backtest.latency] {key}", lat[key], 0)
    if not isinstance(lat["run"], str):
        raise BacktestError(f"[backtest.latency] run must be a path (a live run's directory), got {lat['run']!r}")
    if lat["compute"] not in COMPUTES:
        raise BacktestError(f"[backtest.latency] compute must be one of {', '.join(COMPUTES)}, got {lat['compute']!r}")
    if lat["busy"] not in BUSIES:
        raise BacktestError(f"[backtest.latency] busy must be one of {', '.join(BUSIES)}, got {lat['busy']!r}")
    fill = _table("[backtest.fill]", bt.get("fill"), DEFAULT_FILL)
    if fill["queue"] not in QUEUES:
        raise BacktestError(f"[backtest.fill] queue must be one of {', '.join(QUEUES)}, got {fill['queue']!r}")
    if fill["taker"] not in TAKERS:
        raise BacktestError(f"[backtest.fill] taker must be one of {', '.join(TAKERS)}, got {fill['taker']!r}")
    _number("[backtest.fill] queue_power", fill["queue_power"], 0)
    for key in ("maker_fee_bps", "taker_fee_bps"):
        _number(f"[backtest.fill] {key}", fill[key], -10_000)
    syms = bt.get("symbols") or {}
    if not isinstance(syms, dict):
        raise BacktestError("[backtest.symbols]: expected a table of symbol tables")
    lower = [s.lower() for s in symbols]
    checked = {}
    for sym, table in syms.items():
        where = f"[backtest.symbols.{sym}]"
        if sym.lower() not in lower:
            raise BacktestError(f"{where}: {sym!r} is not a symbol of the journal ({', '.join(lower)})")
        if not isinstance(table, dict) or set(table) != set(SYMBOL_KEYS):
            raise BacktestError(f"{where}: needs exactly the keys {', '.join(SYMBOL_KEYS)}")
        for key in SYMBOL_KEYS:
            try:
                if parse_e8(str(table[key])) <= 0:
                    raise ValueError("must be > 0")
            except ValueError as exc:
                raise BacktestError(f"{where} {key}: {exc}") from None
        checked[sym.lower()] = dict(table)
    cfg = BacktestConfig(equity_interval_ms=top["equity_interval_ms"], latency=lat, fill=fill, symbols=checked)
    if venues is None:
        _trading(cfg, data, lower)
    else:
        for key in ("model", "compute", "busy"):
            if lat[key] == "recorded":
                raise BacktestError(f"[backtest.latency] {key} 'recorded' follows one live instance's run; with "
                                    "several venues use the constant or feed model")
        _group_trading(cfg, data, lower, venues)
    for s in lower:
        cfg.filters(s)  # every symbol needs filters: fail here, not mid-run
    return cfg


def _trading(cfg: BacktestConfig, data: dict, symbols: list[str]) -> None:
    """``[[strategies]]`` and ``[risk]`` through the live validation."""
    from ..runtime.config import ConfigError
    from ..runtime.config import validate_trading

    ns = SimpleNamespace(strategies=data.get("strategies"), risk=data.get("risk") or {}, execution={},
                         venue=SimpleNamespace(kind="backtest", symbols=symbols, api_url=""))
    if ns.strategies is None:
        raise BacktestError("the config has no [[strategies]]: a backtest needs at least one")
    try:
        validate_trading(ns)
    except ConfigError as exc:
        raise BacktestError(str(exc)) from None
    if not ns.strategies:
        raise BacktestError("the config has no [[strategies]]: a backtest needs at least one")
    cfg.strategies = ns.strategies
    cfg.risk = ns.risk


def _group_trading(cfg: BacktestConfig, data: dict, symbols: list[str], venues: dict) -> None:
    """``[[strategies]]`` of a config of several venues, on the merged table's ``venue:symbol``
    names, and each venue's ``[risk]`` as ``runtime.group`` makes it for that venue's instance.
    Every venue a strategy trades must have its journal in ``venues``."""
    from ..errors import ConfigError
    from ..runtime.config import _risk, resolve_strategy

    entries = data.get("venues")
    if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("name"), str)
                                                for e in entries):
        raise BacktestError(f"[[venues]]: expected an array of tables with a name, got {entries!r}")
    config = {e["name"]: e for e in entries}
    for name in venues:
        if name not in config:
            raise BacktestError(f"venue {name!r}: not a venue of the config ([[venues]]: {', '.join(config)})")
    strategies = data.get("strategies")
    if not isinstance(strategies, list) or not strategies:
        raise BacktestError("the config has no [[strategies]]: a backtest needs at least one")
    risk = data.get("risk") or {}
    if isinstance(risk, dict) and "symbols" in risk:
        raise BacktestError("[risk.symbols] with [[venues]]: a symbol's limits go in its venue's table "
                            "([[venues]] ... risk = { symbols = { btcusdt = { ... } } })")
    instance = data.get("instance") or "backtest"
    seen_names, seen_ids = set(), set()
    out = []
    try:
        for i, table in enumerate(strategies, 1):
            where = f"[[strategies]] #{i}"
            names = table.get("symbols") if isinstance(table, dict) else None
            if not isinstance(names, list) or not names or not all(isinstance(s, str) for s in names):
                raise BacktestError(f"{where} symbols = {names!r}: with [[venues]], a strategy names its symbols "
                                    "as venue:symbol")
            touched = list(dict.fromkeys(s.lower().partition(":")[0] for s in names))
            for v in touched:
                if v not in config:
                    raise BacktestError(f"{where} symbols: no venue {v!r} (venues: {', '.join(config)})")
                if v not in venues:
                    raise BacktestError(f"{where} ({table.get('name')}) trades venue {v!r}: give its md journal "
                                        f"({v}=PATH)")
            out.append(resolve_strategy(table, where, i, symbols, seen_names, seen_ids,
                                        {v: f"{instance}-{v}" for v in touched}))
        cfg.venue_risk = {}
        for name, own in venues.items():
            mine = config[name].get("risk") or {}
            if not isinstance(mine, dict):
                raise BacktestError(f"[[venues]] {name} risk: expected a table, got {mine!r}")
            try:
                cfg.venue_risk[name] = _risk({**risk, **mine}, [s.lower() for s in own])
            except ConfigError as exc:
                raise ConfigError(f"[[venues]] {name}: {exc}") from None
    except ConfigError as exc:
        raise BacktestError(str(exc)) from None
    cfg.strategies = out
