"""``hftshm start``, ``hftshm replay`` and ``hftshm journal inspect`` (registered by cli.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer


def start(
    config: Annotated[Optional[Path], typer.Option("--config", help="TOML config (docs/operations.md).")] = None,
    duration: Annotated[Optional[float], typer.Option(help="Stop by itself after this many seconds.")] = None,
    headless: Annotated[bool, typer.Option("--headless", help="No dashboard, even on a terminal.")] = False,
    summary: Annotated[Optional[Path], typer.Option(help="Write a JSON summary here at the end.")] = None,
    instance: Annotated[Optional[str], typer.Option(help="Instance name (default: i<pid>).")] = None,
) -> None:
    """Start the simulated exchange (unless a venue is configured) and the whole pipeline."""
    from ..runtime import config as config_mod

    if duration is not None and duration <= 0:
        raise typer.BadParameter("--duration must be positive")
    try:
        cfg = config_mod.load(config, {"instance": instance} if instance else None)
    except (config_mod.ConfigError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    run_supervisor(cfg, duration, headless, summary)


def run_supervisor(cfg, duration, headless, summary) -> None:
    from ..runtime import config as config_mod
    from ..launch.supervisor import Supervisor

    try:  # the data directory, cores and input files: before anything starts
        config_mod.preflight(cfg)
    except config_mod.ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None

    dashboard = None
    if not headless and sys.stdout.isatty():
        from ..ui.live import LiveDashboard

        def dashboard(name, hz):
            return LiveDashboard(name, hz=hz, latency_window_s=cfg.latency_window_s)
    from ..metrics.exporter import Exporter

    raise typer.Exit(Supervisor(cfg, duration=duration, dashboard=dashboard, exporter=Exporter,
                                summary_path=summary).run())


def latency(
    samples: Annotated[int, typer.Option(help="Samples per measurement.")] = 1_000_000,
    rounds: Annotated[int, typer.Option(help="Best of this many runs.")] = 5,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the figures here as JSON.")] = None,
) -> None:
    """What recording one latency sample costs (ns), from numba and from Python."""
    import json

    from ..bench.stats import machine
    from ..latency.measure import measure

    if samples < 1000 or rounds < 1:
        raise typer.BadParameter("--samples must be >= 1000 and --rounds >= 1")
    figures = measure(samples, rounds)
    for name, ns in figures.items():
        typer.echo(f"{name:40s} {ns:8.1f} ns/sample")
    if json_out:
        rows = [{"case": k, "ns_per_sample": round(v, 1)} for k, v in figures.items()]
        json_out.write_text(json.dumps({"machine": machine(), "results": rows}, indent=2) + "\n")


def register(app, bench_app) -> None:
    app.command()(start)
    bench_app.command("latency")(latency)
    from . import journal as journal_cmd

    app.command()(journal_cmd.replay)
    journal_app = typer.Typer(no_args_is_help=True, help="Journal files: inspect what a run recorded.")
    journal_app.command("inspect")(journal_cmd.inspect)
    app.add_typer(journal_app, name="journal")
