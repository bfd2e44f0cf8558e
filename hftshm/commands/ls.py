"""``hftshm ls``: the instances on this machine, live or dead."""

from __future__ import annotations

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


def register(app) -> None:
    app.command()(ls)
