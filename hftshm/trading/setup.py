"""What the supervisor does for trading once the control block and rings exist, before any
worker starts (format the risk state block, check limits against the symbol table)."""

from __future__ import annotations


def prepare(cfg, control) -> None:
    """Called by the supervisor after creating ``control`` (a ControlBlock) and the rings."""
