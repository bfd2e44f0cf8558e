"""``hftshm bench parity``: live/backtest parity on a replayed capture (the work is in
``hftshm.bench.parity``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from ..common import fmt_figure


def bench_parity(
    capture: Annotated[Path, typer.Argument(help="The capture the simulator replays (e.g. ../shared/data/binance/"
                                                 "btcusdt_spot_20240808.capture).")],
    seconds: Annotated[float, typer.Option(help="Length of the live run, seconds.")] = 60.0,
    speed: Annotated[float, typer.Option(help="Replay pace of the live run (finite).")] = 1.0,
    strategy: Annotated[str, typer.Option(help="Strategies, comma-separated: imbalance, grid.")] = "imbalance",
    keep: Annotated[Optional[Path], typer.Option(help="Keep the live run and its config in this directory.")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the figures here as JSON.")] = None,
) -> None:
    """Live/backtest parity: a live run on the simulator replaying CAPTURE, then the backtest of
    that run at its recorded latency; fills reproduced, first divergence, PnL difference."""
    from ...bench import parity

    if seconds <= 0 or not speed > 0 or speed == float("inf"):
        raise typer.BadParameter("--seconds and --speed must be positive and finite")
    if not capture.is_file():
        typer.echo(f"error: capture {capture} does not exist", err=True)
        raise typer.Exit(2)
    try:
        result = parity.run(capture, seconds, speed, [s.strip() for s in strategy.split(",") if s.strip()], keep)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except RuntimeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    table = Table(title=f"parity: {seconds:g} s live on the replayed capture, then its backtest")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for k, v in result.items():
        table.add_row(k, fmt_figure(v) if not isinstance(v, dict) else json.dumps(v))
    Console().print(table)
    if json_out is not None:
        json_out.write_text(json.dumps(result, indent=2, default=str) + "\n")


def register(group) -> None:
    group.command("parity")(bench_parity)
