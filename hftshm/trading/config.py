"""Validation and defaults of the trading tables of the config: [[strategies]], [risk], [execution].

::

    [[strategies]]                 # one process each; they share the orders ring
    name = "mom"                   # worker "strategy-mom"
    kind = "momentum"              # "momentum" | "imbalance" | "grid" | "file"
    symbols = ["btcusdt"]          # default: every venue symbol
    qty = "0.001"                  # kind-specific keys: see docs/strategy.md
    # kind = "file", path = "my.py", class = "MyStrategy"

    [risk]                         # natural units (BTC, USDT); every limit > 0
    max_order_qty = 1              # ... and the other keys of DEFAULT_RISK
    [risk.symbols.btcusdt]         # per-symbol overrides of the per-symbol limits
    max_order_qty = 0.01

    [execution]
    key_file = ""                  # 0600 file "KEY\nSECRET"; else HFTSHM_API_KEY/HFTSHM_API_SECRET
    timeout_ms = 2000              # no answer by then: ask the venue (order.status)
    recv_window_ms = 5000
    spins = 200                    # empty polls of the orders ring before parking (backoff/blocking)
    slice_us = 0                   # scheduler slice to ask for, 100+ (Linux 6.12+: wake-ups preempt); 0: default
"""

from __future__ import annotations

import re

from ..risk.limits import PER_SYMBOL, Limits, LimitsError

KINDS = ("momentum", "imbalance", "grid", "file")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,23}$")
MAX_STRATEGY_ID = 63  # area_layout.STRATEGIES - 1

# The simulator (like Binance) allows 50 orders per 10 s: the default rates stay below it.
DEFAULT_RISK = {
    "max_order_qty": 1,
    "max_order_notional": 10_000,
    "max_position": 2,
    "max_gross_exposure": 50_000,
    "price_band_bps": 100,
    "max_orders_per_s": 2,
    "max_orders_per_s_total": 4,
    # kill-switch triggers
    "loss_limit": 1_000.0,  # quote units: halt when total PnL <= -loss_limit
    "max_feed_age_s": 5.0,  # halt when the newest market data is older
    "max_ring_lag": 1 << 19,  # halt when the risk worker is this many md records behind
}
DEFAULT_STRATEGY = {"name": "momentum", "kind": "momentum"}
TRIGGERS = ("loss_limit", "max_feed_age_s", "max_ring_lag")
DEFAULT_EXECUTION = {"key_file": "", "timeout_ms": 2000, "recv_window_ms": 5000, "spins": 200, "slice_us": 0}


def _error(msg: str):
    from ..runtime.config import ConfigError  # late: the runtime config imports this module

    return ConfigError(msg)


def validate(cfg) -> None:
    """Check ``cfg.strategies``, ``cfg.risk`` and ``cfg.execution`` in place, filling defaults;
    raise ``hftshm.runtime.config.ConfigError`` naming the key on bad input."""
    if cfg.strategies is None:
        # the simulator trades out of the box; a real venue, or a replay, only when configured
        # on the first symbol only: its default qty is above every simulated symbol's minimum
        # notional only for BTC-priced ones (0.001 ETH is under 5 USDT)
        first = cfg.venue.symbols[:1]
        cfg.strategies = [dict(DEFAULT_STRATEGY, symbols=first)] if cfg.venue.kind == "sim" and first else []
    if cfg.strategies and cfg.venue.kind == "replay" and not cfg.venue.api_url:
        raise _error("[venue] kind 'replay' has no venue for the strategies' orders: set [venue] api_url "
                     "(a running `hftshm exchange`, say) or configure no [[strategies]]")
    symbols = [s.lower() for s in cfg.venue.symbols]
    cfg.risk = _risk(cfg.risk, symbols)
    cfg.execution = _execution(cfg.execution)
    if not isinstance(cfg.strategies, list):
        raise _error("[[strategies]] must be an array of tables")
    seen_names, seen_ids = set(), set()
    for i, table in enumerate(cfg.strategies):
        where = f"[[strategies]] #{i + 1}"
        if not isinstance(table, dict):
            raise _error(f"{where}: expected a table")
        table = cfg.strategies[i] = dict(table)
        name = table.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise _error(f"{where}: name must be 1-24 of a-z 0-9 _ - (starting with a letter or digit), got {name!r}")
        if name in seen_names:
            raise _error(f"{where}: duplicate strategy name {name!r}")
        seen_names.add(name)
        kind = table.setdefault("kind", "momentum")
        if kind not in KINDS:
            raise _error(f"{where} ({name}): kind must be one of {', '.join(KINDS)}, got {kind!r}")
        sid = table.setdefault("id", i + 1)
        if isinstance(sid, bool) or not isinstance(sid, int) or not 1 <= sid <= MAX_STRATEGY_ID or sid in seen_ids:
            raise _error(f"{where} ({name}): id must be a unique integer in 1..{MAX_STRATEGY_ID}, got {sid!r}")
        seen_ids.add(sid)
        syms = table.setdefault("symbols", list(symbols))
        if not isinstance(syms, list) or not syms or any(not isinstance(s, str) or s.lower() not in symbols for s in syms):
            raise _error(f"{where} ({name}): symbols must be a non-empty list of venue symbols {symbols}, got {syms!r}")
        table["symbols"] = [s.lower() for s in syms]
        if kind == "file":
            for key in ("path", "class"):
                if not isinstance(table.get(key), str) or not table[key]:
                    raise _error(f"{where} ({name}): kind 'file' needs {key} = \"...\"")
        from . import builtins  # late: numba compiles nothing at import, but keep config light

        try:
            builtins.check_params(kind, table)
        except ValueError as exc:
            raise _error(f"{where} ({name}): {exc}") from None


def _risk(values, symbols: list[str]) -> dict:
    if not isinstance(values, dict):
        raise _error("[risk]: expected a table")
    unknown = sorted(set(values) - set(DEFAULT_RISK) - {"symbols"})
    if unknown:
        raise _error(f"[risk]: unknown key {unknown[0]!r}; known: {', '.join(DEFAULT_RISK)}, symbols")
    out = {**DEFAULT_RISK, **values}
    over = out.get("symbols") or {}
    if not isinstance(over, dict):
        raise _error("[risk.symbols]: expected a table of symbol tables")
    for sym, table in over.items():
        if sym.lower() not in symbols:
            raise _error(f"[risk.symbols.{sym}]: not a venue symbol ({', '.join(symbols)})")
        if not isinstance(table, dict) or set(table) - set(PER_SYMBOL):
            raise _error(f"[risk.symbols.{sym}]: keys must be among {', '.join(PER_SYMBOL)}")
    out["symbols"] = {k.lower(): dict(v) for k, v in over.items()}
    try:
        limits(out, symbols)
    except LimitsError as exc:
        raise _error(f"[risk] {exc}") from None
    for key in TRIGGERS:
        v = out[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
            raise _error(f"[risk] {key} must be a number > 0, got {v!r}")
    return out


def limits(risk: dict, symbols: list[str]) -> Limits:
    """The risk library's Limits from a validated [risk] table; symbol ids are venue order."""
    overrides = {symbols.index(s): t for s, t in (risk.get("symbols") or {}).items()}
    kw = {k: risk[k] for k in DEFAULT_RISK if k not in TRIGGERS}
    return Limits(n_symbols=len(symbols), overrides=overrides, **kw)


def _execution(values) -> dict:
    if not isinstance(values, dict):
        raise _error("[execution]: expected a table")
    unknown = sorted(set(values) - set(DEFAULT_EXECUTION))
    if unknown:
        raise _error(f"[execution]: unknown key {unknown[0]!r}; known: {', '.join(DEFAULT_EXECUTION)}")
    out = {**DEFAULT_EXECUTION, **values}
    if not isinstance(out["key_file"], str):
        raise _error("[execution] key_file must be a path")
    for key, low, high in (("timeout_ms", 10, 600_000), ("recv_window_ms", 100, 60_000), ("spins", 0, 1_000_000),
                           ("slice_us", 0, 100_000)):
        v = out[key]
        if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
            raise _error(f"[execution] {key} must be an integer in [{low}, {high}], got {v!r}")
    return out
