"""``hftshm status``: thin; it picks the instance (or group) and prints the snapshot that
``hftshm.ui.status`` takes and renders."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from .common import TARGET, pick_target


def status(
    json_out: Annotated[bool, typer.Option("--json", help="Print the snapshot as one JSON object.")] = False,
    instance: Annotated[Optional[str], TARGET] = None,
    window: Annotated[float, typer.Option(help="Latency window, seconds.")] = 5.0,
) -> None:
    """Rings, readers, workers, counters and trading figures of a running instance (or of each
    venue's instance of a group)."""
    import orjson
    from rich.console import Console

    from ..ui import status as ui_status

    snap = ui_status.take(pick_target(instance), window)
    if json_out:
        sys.stdout.buffer.write(orjson.dumps(snap.as_dict(), option=orjson.OPT_INDENT_2) + b"\n")
        sys.stdout.flush()
    else:
        console = Console()
        console.print(ui_status.view(snap, console.width))
    if ui_status.missing(snap):
        raise typer.Exit(1)


def register(app) -> None:
    app.command()(status)
