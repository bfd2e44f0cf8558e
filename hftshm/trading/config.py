"""Validation and defaults of the trading tables of the config: [[strategies]], [risk], [execution]."""

from __future__ import annotations


def validate(cfg) -> None:
    """Check ``cfg.strategies``, ``cfg.risk`` and ``cfg.execution`` in place, filling defaults;
    raise ``hftshm.runtime.config.ConfigError`` naming the key on bad input."""
    if cfg.strategies is None:
        cfg.strategies = []
