"""The trading commands (registered by cli.py)."""

from __future__ import annotations


def register(app, bench_app) -> None:
    """Add this module's commands to the typer apps."""
