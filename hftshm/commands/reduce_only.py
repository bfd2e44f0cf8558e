"""``hftshm reduce-only``: only position-reducing orders pass, through ``risk.killswitch``."""

from __future__ import annotations

from typing import Annotated, Optional

from .common import CONTROL_INSTANCE, manual_change


def reduce_only(instance: Annotated[Optional[str], CONTROL_INSTANCE] = None) -> None:
    """Only orders that reduce a position pass (to flatten after a halt); refused while an
    automatic cause holds."""
    manual_change(instance, "reduce_only", "reduce-only")


def register(app) -> None:
    app.command("reduce-only")(reduce_only)
