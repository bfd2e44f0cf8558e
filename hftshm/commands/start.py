"""``hftshm start``: load and check the config, then run the supervisor (``run_supervisor`` is
shared with ``hftshm replay``)."""

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
    from ..runtime import group

    if duration is not None and duration <= 0:
        raise typer.BadParameter("--duration must be positive")
    try:  # one venue: a Config; several ([[venues]]): a GroupConfig
        cfg = group.load(config, {"instance": instance} if instance else None)
    except (config_mod.ConfigError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    run_supervisor(cfg, duration, headless, summary)


def run_supervisor(cfg, duration, headless, summary) -> None:
    from ..runtime import config as config_mod
    from ..launch.supervisor import Supervisor

    from ..runtime.group import GroupConfig

    venues = list(cfg.venues.values()) if isinstance(cfg, GroupConfig) else [cfg]
    try:  # the data directory, cores and input files: before anything starts
        for one in venues:
            config_mod.preflight(one)
    except config_mod.ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None

    dashboard = None
    if not headless and sys.stdout.isatty():
        from ..ui.live import LiveDashboard

        def dashboard(name, hz):
            return LiveDashboard(name, hz=hz, latency_window_s=venues[0].latency_window_s)
    from ..metrics.exporter import Exporter

    if isinstance(cfg, GroupConfig):
        from ..launch.group import GroupSupervisor

        raise typer.Exit(GroupSupervisor(cfg, duration=duration, dashboard=dashboard, exporter=Exporter,
                                         summary_path=summary).run())
    raise typer.Exit(Supervisor(cfg, duration=duration, dashboard=dashboard, exporter=Exporter,
                                summary_path=summary).run())


def register(app) -> None:
    app.command()(start)
