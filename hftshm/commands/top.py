"""``hftshm top``: thin; it runs the live dashboard of ``hftshm.ui.live``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .common import INSTANCE, pick_instance


def top(
    instance: Annotated[Optional[str], INSTANCE] = None,
    hz: Annotated[float, typer.Option(help="Redraws per second.", min=1.0)] = 4.0,
    window: Annotated[float, typer.Option(help="Latency window, seconds.")] = 5.0,
    duration: Annotated[Optional[float], typer.Option(help="Stop after this many seconds.")] = None,
) -> None:
    """The live dashboard of a running instance, until Ctrl-C."""
    from ..ui.live import LiveDashboard

    LiveDashboard(pick_instance(instance), hz=hz, latency_window_s=window, screen=True).run(duration)


def register(app) -> None:
    app.command()(top)
