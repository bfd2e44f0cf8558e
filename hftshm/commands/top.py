"""``hftshm top``: thin; it runs the live dashboard of ``hftshm.ui.live``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .common import TARGET, pick_target


def top(
    instance: Annotated[Optional[str], TARGET] = None,
    hz: Annotated[float, typer.Option(help="Redraws per second.", min=1.0)] = 4.0,
    window: Annotated[float, typer.Option(help="Latency window, seconds.")] = 5.0,
    duration: Annotated[Optional[float], typer.Option(help="Stop after this many seconds.")] = None,
) -> None:
    """The live dashboard of a running instance (or of a group's, stacked), until Ctrl-C."""
    from ..instances import Group
    from ..ui.live import LiveDashboard

    target = pick_target(instance)
    name = target.name if isinstance(target, Group) else target
    LiveDashboard(name, hz=hz, latency_window_s=window, screen=True).run(duration)


def register(app) -> None:
    app.command()(top)
