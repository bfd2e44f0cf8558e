"""The trading tables of the config: [[strategies]], [risk], [execution].

They are checked, typed and defaulted with the rest of the config in ``hftshm.runtime.config``
(``RiskConfig``, ``ExecutionConfig``, ``validate_trading``; types, ranges and defaults of every
key in ``hftshm.config_schema``). This module keeps the names the workers and the backtest
read (``limits``, ``DEFAULT_RISK``, ...) so they need not change in step.

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
from ..runtime.config import DEFAULT_STRATEGY, ExecutionConfig, RiskConfig, risk_limits
from ..runtime.config import validate_trading as validate  # noqa: F401 (the backtest's name)

KINDS = S.KINDS
MAX_STRATEGY_ID = S.MAX_STRATEGY_ID
DEFAULT_RISK = RiskConfig()
DEFAULT_EXECUTION = ExecutionConfig()
limits = risk_limits
__all__ = ["DEFAULT_EXECUTION", "DEFAULT_RISK", "DEFAULT_STRATEGY", "KINDS", "MAX_STRATEGY_ID",
           "limits", "validate"]
