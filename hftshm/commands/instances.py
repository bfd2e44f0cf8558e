"""``hftshm ls`` and ``hftshm clean``: the instances on this machine, and their leftovers."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from .. import instances


def ls() -> None:
    """List hftshm instances found in /dev/shm, live or dead, and the user owning each."""
    found = instances.scan()
    console = Console()
    if not found:
        console.print("no hftshm instances")
        return
    table = Table()
    for col in ("instance", "state", "user", "owner pid", "segments", "semaphores"):
        table.add_column(col)
    for name, inst in sorted(found.items()):
        table.add_row(name, inst.state, inst.owner, ",".join(map(str, inst.owner_pids)) or "-",
                      ", ".join(s.split(".", 2)[2] for s in inst.segments) or "-", str(len(inst.semaphores)))
    console.print(table)
    if any(i.state == instances.UNKNOWN for i in found.values()):
        console.print("unknown: another user's instance; its shared memory is owner-only, so only that user "
                      "or root can tell whether it runs")


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
