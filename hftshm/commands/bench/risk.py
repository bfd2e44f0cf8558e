"""``hftshm bench risk``: what one pre-trade check costs (the work is in ``hftshm.bench.risk_check``)."""

from __future__ import annotations

from typing import Annotated

import typer


def bench_risk(
    orders: Annotated[int, typer.Option(help="Orders per numba run.")] = 100_000,
    calls: Annotated[int, typer.Option(help="Orders checked one call at a time from Python.")] = 100_000,
) -> None:
    """What one pre-trade check costs (ns/order): in numba, and per call from Python."""
    from ...bench.risk_check import measure

    if orders < 100 or calls < 100:
        raise typer.BadParameter("--orders and --calls must be >= 100")
    for name, value in measure(n_orders=orders, python_calls=calls).items():
        typer.echo(f"{name:28s} {value}")


def register(group) -> None:
    group.command("risk")(bench_risk)
