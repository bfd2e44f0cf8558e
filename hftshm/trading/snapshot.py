"""Trading figures of a running instance, for ``--summary``, ``hftshm status`` and the dashboard."""

from __future__ import annotations


def figures(control) -> dict:
    """Orders by state, rejects by reason, fills, positions, PnL, trading state (none yet)."""
    return {}
