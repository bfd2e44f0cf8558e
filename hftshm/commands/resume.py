"""``hftshm resume``: trade again after a halt, through ``risk.killswitch``."""

from __future__ import annotations

from typing import Annotated, Optional

from .common import CONTROL_INSTANCE, manual_change


def resume(instance: Annotated[Optional[str], CONTROL_INSTANCE] = None) -> None:
    """Trade again after a halt; refused while an automatic cause holds (loss, stale feed, lag,
    risk or journal worker down)."""
    manual_change(instance, "resume", "active")


def register(app) -> None:
    app.command()(resume)
