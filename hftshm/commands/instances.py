"""``hftshm ls`` and ``hftshm clean``: the instances on this machine, and their leftovers."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from .. import instances


def ls() -> None:
    """List hftshm instances found in /dev/shm, live or dead."""
    found = instances.scan()
    console = Console()
    if not found:
        console.print("no hftshm instances")
        return
    table = Table()
    for col in ("instance", "state", "owner pid", "segments", "semaphores"):
        table.add_column(col)
    for name, inst in sorted(found.items()):
        table.add_row(name, "live" if inst.alive else "dead", ",".join(map(str, inst.owner_pids)) or "-",
                      ", ".join(s.split(".", 2)[2] for s in inst.segments) or "-", str(len(inst.semaphores)))
    console.print(table)


def clean(
    instance: Annotated[Optional[str], typer.Argument(help="Only this instance.")] = None,
) -> None:
    """Remove the shared memory and semaphores of dead instances (never a live one)."""
    found = instances.scan()
    if instance is not None and instance not in found:
        raise typer.BadParameter(f"no instance {instance!r} in /dev/shm", param_hint="INSTANCE")
    live = [n for n, i in found.items() if i.alive and (instance is None or n == instance)]
    removed = instances.clean(instance)
    for name, files in sorted(removed.items()):
        typer.echo(f"removed {name}: {len(files)} objects")
    for name in live:
        typer.echo(f"kept {name}: live (owner pid {', '.join(map(str, found[name].owner_pids))})")
    if not removed and not live:
        typer.echo("nothing to clean")
