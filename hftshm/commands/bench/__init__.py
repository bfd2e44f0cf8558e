"""The ``hftshm bench`` group: one module per benchmark command, each thin (options in, figures
printed); the harnesses that measure live in ``hftshm.bench``."""

from __future__ import annotations

import typer

from . import backtest, bridge, ingest, latency, parity, ring, risk, trading, wake

# the order of `hftshm bench --help`
COMMANDS = (ring, wake, latency, trading, risk, ingest, bridge, backtest, parity)


def register(app) -> None:
    group = typer.Typer(no_args_is_help=True, help="Benchmarks that measure and report figures.")
    for module in COMMANDS:
        module.register(group)
    app.add_typer(group, name="bench")
