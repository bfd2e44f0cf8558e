"""``hftshm metrics``: serve a running instance's figures to Prometheus (hftshm.metrics)."""

from __future__ import annotations

import signal
import threading
from typing import Annotated, Optional

import typer

from .common import INSTANCE, pick_instance


def metrics(
    port: Annotated[int, typer.Option("--port", help="TCP port to serve /metrics on (0: any free one).",
                                      min=0, max=65535)],
    instance: Annotated[Optional[str], INSTANCE] = None,
    addr: Annotated[str, typer.Option("--addr", help="Address to listen on.")] = "127.0.0.1",
    window: Annotated[float, typer.Option(help="Latency window of the p99 gauges, seconds.")] = 5.0,
) -> None:
    """Serve an instance's counters and latency histograms for Prometheus, until Ctrl-C."""
    from ..errors import HftshmError
    from ..metrics.exporter import Exporter

    name = pick_instance(instance)
    try:
        exporter = Exporter(name, port, addr, window).start()
    except HftshmError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    done = threading.Event()
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, lambda *_: done.set())
    typer.echo(f"serving {name}'s metrics on {exporter.url}", err=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        exporter.stop()


def register(app) -> None:
    app.command()(metrics)
