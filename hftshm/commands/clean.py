"""``hftshm clean``: remove your dead instances' leftovers from /dev/shm."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .. import instances


def clean(
    instance: Annotated[Optional[str], typer.Argument(help="Only this instance.")] = None,
) -> None:
    """Remove the shared memory and semaphores of your dead instances (never a live one, never
    another user's)."""
    found = instances.scan()
    if instance is not None and instance not in found:
        raise typer.BadParameter(f"no instance {instance!r} in /dev/shm", param_hint="INSTANCE")
    kept = {n: i for n, i in found.items() if not instances.cleanable(i) and (instance is None or n == instance)}
    removed = instances.clean(instance)
    for name, files in sorted(removed.items()):
        typer.echo(f"removed {name}: {len(files)} objects")
    for name, inst in sorted(kept.items()):
        if not inst.mine:
            typer.echo(f"kept {name}: user {inst.owner}'s ({inst.state}); only its owner cleans it")
        else:
            typer.echo(f"kept {name}: live (owner pid {', '.join(map(str, inst.owner_pids))})")
    if not removed and not kept:
        typer.echo("nothing to clean")


def register(app) -> None:
    app.command()(clean)
