"""``hftshm bench backtest``: capture-to-result time of the backtester (the work is in
``hftshm.bench.backtest_speed``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from ..common import fmt_figure


def bench_backtest(
    capture: Annotated[Path, typer.Argument(help="The capture to run over (e.g. ../shared/data/binance-usdm/"
                                                 "btcusdt_usdm_20240808.capture.gz).")],
    runs: Annotated[int, typer.Option(help="Warm runs (the median is reported).")] = 3,
    peer_python: Annotated[Optional[str], typer.Option(help="A Python with hftbacktest installed (its own "
                                                       "virtualenv): run it as the peer.")] = None,
    day_records: Annotated[int, typer.Option(help="Also run the grid over this many md records (the capture's, "
                                               "tiled in time; 50000000 is a day of one symbol, 6.4 GB of journal "
                                               "in the temp dir) and report the memory of its process.")] = 0,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the figures here as JSON.")] = None,
) -> None:
    """Capture-to-result time and warm records/s of the built-in grid market maker, on the capture's
    first symbol."""
    from ...bench import backtest_speed as bench

    if runs < 1:
        raise typer.BadParameter("--runs must be >= 1")
    if day_records < 0:
        raise typer.BadParameter("--day-records must be >= 0")
    if not capture.is_file():
        typer.echo(f"error: capture {capture} does not exist", err=True)
        raise typer.Exit(2)
    try:
        result = bench.run(capture, runs, peer_python, day_records)
    except ValueError as exc:  # the capture: not one (names the line), nothing to size the grid by; no room
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except RuntimeError as exc:  # the day run's own process failed
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    table = Table(title="backtest: grid market maker")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for k, v in result["figures"].items():
        table.add_row(k, fmt_figure(v))
    Console().print(table)
    if json_out is not None:
        json_out.write_text(json.dumps(result, indent=2, default=str) + "\n")


def register(group) -> None:
    group.command("backtest")(bench_backtest)
