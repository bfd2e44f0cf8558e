"""What several command modules share: option types, the instance pickers and figure formats.
Not a command itself (``cli.py`` lists the command modules)."""

from __future__ import annotations

from typing import Optional

import typer

from .. import instances

# `metrics`: --instance or -i; an unknown or ambiguous name exits 2
INSTANCE = typer.Option("--instance", "-i", help="Instance name (default: the only live one).")
# `status`, `tail`, `top`: the same option, which also takes a group's name (several venues)
TARGET = typer.Option("--instance", "-i", help="Instance or group name (default: the only live one, or the "
                                               "group whose instances are all the live ones).")
# `halt`, `resume`, `reduce-only`: --instance, an instance or a group (every venue of it); an
# unknown or ambiguous name is a bad parameter
CONTROL_INSTANCE = typer.Option("--instance", help="Instance or group name (default: the only live one, or the "
                                                   "group whose instances are all the live ones).")


def pick_instance(name: Optional[str]) -> str:
    """The instance to watch: ``name``, else the only live one; exits 2 with the reason otherwise."""
    from ..ui import pick

    return _picked(pick.pick_instance, name)


def pick_target(name: Optional[str]):
    """``pick_instance`` for the commands that also watch a group (``status``, ``tail``, ``top``):
    an instance name or an ``instances.Group``."""
    from ..ui import pick

    return _picked(pick.pick, name)


def _picked(how, name):
    from ..errors import InstanceError

    try:
        return how(name)
    except (InstanceError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)


def attach_controls(instance: Optional[str], failed: Optional[list] = None) -> list:
    """The control blocks to command the kill switch of: ``instance``'s, or every venue's of the
    group of that name (else of the only live instance, or the group that is all of them). One
    that cannot be attached refuses them all, or, given ``failed`` (a halt: do what can be done),
    is named there and the others are returned."""
    from ..errors import InstanceError
    from ..runtime.control import ControlBlock
    from ..ui import pick

    try:
        target = pick.pick(instance)
    except (InstanceError, ValueError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--instance") from None
    names = list(target.instances) if isinstance(target, instances.Group) else [target]
    out, problems = [], []
    for name in names:
        try:
            out.append(ControlBlock.attach(name))
        except Exception as exc:
            problems.append(f"instance {name!r}: {exc}")
    if problems and failed is None:
        for control in out:
            control.close()
        raise typer.BadParameter("; ".join(problems), param_hint="--instance")
    if failed is not None:
        failed.extend(problems)
    return out


def manual_change(instance: Optional[str], command: str, done: str) -> None:
    """``resume`` and ``reduce-only``: a manual kill-switch command on the instance (or on every
    venue of the group), refused (exit 1) where an automatic cause holds."""
    from ..risk import reasons as R
    from ..trading import protection

    refused = False
    controls = attach_controls(instance)
    try:
        for control in controls:
            change = protection.command(control, command)
            if not change.written:
                refused = True
                typer.echo(f"{control.instance}: refused: {R.name(change.reason)} holds ({R.message(change.reason)}); "
                           f"trading stays {R.state_name(change.state)}", err=True)
            else:
                typer.echo(f"{control.instance}: trading {done} at {change.visible_ns}")
    finally:
        for control in controls:
            control.close()
    if refused:
        raise typer.Exit(1)


def split_choices(value: str, allowed, what: str) -> tuple:
    """A comma-separated option value, each item one of ``allowed``."""
    items = tuple(v.strip() for v in value.split(",") if v.strip())
    bad = [v for v in items if v not in allowed]
    if bad or not items:
        raise typer.BadParameter(f"unknown {what} {', '.join(bad) or '(none)'}; choose from {', '.join(allowed)}")
    return items


def fmt(value, digits=2):
    """A benchmark table cell: floats to ``digits`` places, ints with thousands separators."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def fmt_figure(v) -> str:
    """A backtest figure: small floats to 4 places, large ones to 2, ints with separators."""
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.4f}" if abs(v) < 1000 else f"{v:,.2f}"
    return f"{v:,}" if isinstance(v, int) else str(v)
