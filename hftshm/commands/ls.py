"""``hftshm ls``: the instances on this machine, live or dead, a group's under the group."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from .. import instances


def ls() -> None:
    """List hftshm instances found in /dev/shm, live or dead, and the user owning each; a group's
    instances (several venues in one instance) are listed under the group."""
    found = instances.scan()
    console = Console()
    if not found:
        console.print("no hftshm instances")
        return
    table = Table()
    for col in ("instance", "state", "user", "owner pid", "segments", "semaphores"):
        table.add_column(col)
    for group, names in instances.by_group(found):
        if group is not None:
            table.add_row(f"{group.name} (group)", instances.LIVE, found[names[0]].owner, str(group.owner[0]),
                          "venues " + ", ".join(group.venues), "")
        for name in names:
            inst = found[name]
            table.add_row(f"  {name}" if group else name, inst.state, inst.owner,
                          ",".join(map(str, inst.owner_pids)) or "-",
                          ", ".join(s.split(".", 2)[2] for s in inst.segments) or "-", str(len(inst.semaphores)))
    console.print(table)
    if any(i.state == instances.UNKNOWN for i in found.values()):
        console.print("unknown: another user's instance; its shared memory is owner-only, so only that user "
                      "or root can tell whether it runs")


def register(app) -> None:
    app.command()(ls)
