"""Validation and defaults of the trading tables of the config: [[strategies]], [risk], [execution].

::

    [[strategies]]                 # one process each; they share the orders ring
    name = "mom"                   # worker "strategy-mom"
    kind = "momentum"              # "momentum" | "imbalance" | "grid" | "file"
    symbols = ["btcusdt"]          # default: every venue symbol
    qty = "0.001"                  # kind-specific keys: see docs/strategy.md
    # kind = "file", path = "my.py", class = "MyStrategy"

    [risk]                         # natural units (BTC, USDT); every limit > 0
    max_order_qty = 1              # ... and the other keys of config_schema.RISK
    [risk.symbols.btcusdt]         # per-symbol overrides of the per-symbol limits
    max_order_qty = 0.01

    [execution]
    key_file = ""                  # 0600 file "KEY\nSECRET"; else HFTSHM_API_KEY/HFTSHM_API_SECRET
    timeout_ms = 2000              # no answer by then: ask the venue (order.status)
    recv_window_ms = 5000
    spins = 200                    # empty polls of the orders ring before parking (backoff/blocking)
    slice_us = 0                   # scheduler slice to ask for, 100+ (Linux 6.12+: wake-ups preempt); 0: default
    max_order_age_ms = 1000        # an order older than this (since its intent) is dropped: STALE
"""

from __future__ import annotations

from .. import config_schema as S
from ..errors import ConfigError
from ..risk.limits import PER_SYMBOL, Limits, LimitsError

# Types, ranges and defaults of every key: hftshm/config_schema.py (RISK, EXECUTION, STRATEGY,
# and the kinds' keys in KIND_KEYS); these names stay for the workers that read them.
KINDS = S.KINDS
MAX_STRATEGY_ID = S.MAX_STRATEGY_ID
DEFAULT_RISK = S.RISK.defaults()
DEFAULT_STRATEGY = {"name": "momentum", "kind": "momentum"}
TRIGGERS = ("loss_limit", "max_feed_age_s", "max_ring_lag")
DEFAULT_EXECUTION = S.EXECUTION.defaults()


def validate(cfg) -> None:
    """Check ``cfg.strategies``, ``cfg.risk`` and ``cfg.execution`` in place, filling defaults;
    raise ``hftshm.errors.ConfigError`` naming the key on bad input."""
    if cfg.strategies is None:
        # the simulator trades out of the box; a real venue, or a replay, only when configured
        # on the first symbol only: its default qty is above every simulated symbol's minimum
        # notional only for BTC-priced ones (0.001 ETH is under 5 USDT)
        first = cfg.venue.symbols[:1]
        cfg.strategies = [dict(DEFAULT_STRATEGY, symbols=first)] if cfg.venue.kind == "sim" and first else []
    if not isinstance(cfg.strategies, list):
        raise ConfigError(f"[[strategies]]: expected an array of tables, got {cfg.strategies!r}")
    if cfg.strategies and cfg.venue.kind == "replay" and not cfg.venue.api_url:
        raise ConfigError("[venue] kind 'replay' has no venue for the strategies' orders: set [venue] api_url "
                     "(a running `hftshm exchange`, say) or configure no [[strategies]]")
    symbols = [s.lower() for s in cfg.venue.symbols]
    cfg.risk = _risk(cfg.risk, symbols)
    cfg.execution = _execution(cfg.execution)
    seen_names, seen_ids = set(), set()
    for i, table in enumerate(cfg.strategies):
        where = f"[[strategies]] #{i + 1}"
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: expected a table, got {table!r}")
        table = cfg.strategies[i] = dict(table)
        table["name"] = S.STRATEGY["name"].check(where, table.get("name"))
        name = table["name"]
        if name in seen_names:
            raise ConfigError(f"{where}: duplicate strategy name {name!r}")
        seen_names.add(name)
        where = f"{where} ({name})"
        kind = table["kind"] = S.STRATEGY["kind"].check(where, table.get("kind", "momentum"))
        sid = table["id"] = S.STRATEGY["id"].check(where, table.get("id", i + 1))
        if sid in seen_ids:
            raise ConfigError(f"{where} id = {sid!r}: expected a unique id (another strategy has it)")
        seen_ids.add(sid)
        syms = S.STRATEGY["symbols"].check(where, table.get("symbols", list(symbols)))
        if any(s.lower() not in symbols for s in syms):
            raise ConfigError(f"{where} symbols = {syms!r}: expected a subset of the venue symbols {symbols}")
        table["symbols"] = [s.lower() for s in syms]
        if kind == "file":
            for key in ("path", "class"):
                if key not in table:
                    raise ConfigError(f"{where}: kind 'file' needs {key} = \"...\"")
                S.STRATEGY[key].check(where, table[key])
        from . import builtins  # late: numba compiles nothing at import, but keep config light

        try:
            builtins.check_params(kind, table)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from None


def _risk(values, symbols: list[str]) -> dict:
    out = S.RISK.check(values, also=("symbols",))
    over = out.get("symbols") or {}
    if not isinstance(over, dict):
        raise ConfigError(f"[risk.symbols]: expected a table of symbol tables, got {over!r}")
    for sym, table in over.items():
        if sym.lower() not in symbols:
            raise ConfigError(f"[risk.symbols.{sym}]: not a venue symbol ({', '.join(symbols)})")
        if not isinstance(table, dict) or set(table) - set(PER_SYMBOL):
            raise ConfigError(f"[risk.symbols.{sym}]: keys must be among {', '.join(PER_SYMBOL)}")
        for key, value in table.items():
            S.RISK[key].check(f"[risk.symbols.{sym}]", value)
    out["symbols"] = {k.lower(): dict(v) for k, v in over.items()}
    try:
        limits(out, symbols)
    except LimitsError as exc:
        raise ConfigError(f"[risk] {exc}") from None
    return out


def limits(risk: dict, symbols: list[str]) -> Limits:
    """The risk library's Limits from a validated [risk] table; symbol ids are venue order."""
    overrides = {symbols.index(s): t for s, t in (risk.get("symbols") or {}).items()}
    kw = {k: risk[k] for k in S.RISK_LIMITS}
    return Limits(n_symbols=len(symbols), overrides=overrides, **kw)


def _execution(values) -> dict:
    return S.EXECUTION.check(values)
