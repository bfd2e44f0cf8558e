"""``hftshm halt``: the kill switch, through ``risk.killswitch``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .common import CONTROL_INSTANCE, attach_controls


def halt(instance: Annotated[Optional[str], CONTROL_INSTANCE] = None,
         cancel_open: Annotated[bool, typer.Option("--cancel-open", help="Also cancel every open order.")] = False) -> None:
    """Kill switch: stop every new order now (execution checks before each send); a group's name
    halts every venue of it.

    The time printed is read after the halt is visible: no order goes out later than 1 ms after it."""
    from ..risk import killswitch
    from ..risk import reasons as R
    from ..trading import protection

    failed: list = []  # a venue that cannot be attached does not stop the others' halt
    controls = attach_controls(instance, failed)  # one instance, or every venue of a group
    try:
        for control in controls:
            change = protection.command(control, killswitch.HALT, cancel_open=cancel_open)
            if change.reason != R.MANUAL:  # it was halted already: the first cause stays
                typer.echo(f"{control.instance}: trading already halted ({R.name(change.reason)}) since "
                           f"{control.trading_changed_ns}" + (" (cancelling open orders)" if cancel_open else ""))
            else:
                typer.echo(f"{control.instance}: trading halted at {change.visible_ns}"
                           + (" (cancelling open orders)" if cancel_open else ""))
    finally:
        for control in controls:
            control.close()
    for problem in failed:
        typer.echo(f"error: not halted: {problem}", err=True)
    if failed:
        raise typer.Exit(1)


def register(app) -> None:
    app.command()(halt)
