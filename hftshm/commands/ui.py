"""``hftshm status``, ``hftshm tail`` and ``hftshm top``: thin, they check options and wire the
collector, renderer and tail loop of ``hftshm.ui`` together."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

INSTANCE = typer.Option("--instance", "-i", help="Instance name (default: the only live one).")


def _instance(name: Optional[str]) -> str:
    from ..errors import InstanceError
    from ..ui.pick import pick_instance

    try:
        return pick_instance(name)
    except (InstanceError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)


def status(
    json_out: Annotated[bool, typer.Option("--json", help="Print the snapshot as one JSON object.")] = False,
    instance: Annotated[Optional[str], INSTANCE] = None,
    window: Annotated[float, typer.Option(help="Latency window, seconds.")] = 5.0,
) -> None:
    """Rings, readers, workers, counters and trading figures of a running instance."""
    import orjson
    from rich.console import Console

    from ..ui import status as ui_status

    snap = ui_status.take(_instance(instance), window)
    if json_out:
        sys.stdout.buffer.write(orjson.dumps(snap.as_dict(), option=orjson.OPT_INDENT_2) + b"\n")
        sys.stdout.flush()
    else:
        console = Console()
        console.print(ui_status.view(snap, console.width))
    if snap.state == "missing":
        raise typer.Exit(1)


def tail(
    ring: Annotated[str, typer.Argument(help="Ring name: md, orders, fills, ...")],
    symbol: Annotated[Optional[str], typer.Option(help="Only this symbol (e.g. BTCUSDT).")] = None,
    kind: Annotated[Optional[str], typer.Option(help="Only this kind: md trade/aggTrade/quote/level/reset, "
                                                     "orders new/cancel, fills NEW/TRADE/CANCELED/...")] = None,
    count: Annotated[Optional[int], typer.Option(help="Stop after this many records.", min=1)] = None,
    from_seq: Annotated[Optional[int], typer.Option(help="Start at this sequence (default: the newest).",
                                                    min=0)] = None,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    instance: Annotated[Optional[str], INSTANCE] = None,
) -> None:
    """Print a ring's records live, decoded (a non-gating reader: it never slows the system)."""
    from ..errors import HftshmError
    from ..ui.tail import TailOptions, run

    opts = TailOptions(ring=ring, instance=_instance(instance), symbol=symbol, kind=kind, count=count,
                       from_seq=from_seq, json=json_out)
    try:
        code = run(opts)
    except HftshmError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    raise typer.Exit(code)


def top(
    instance: Annotated[Optional[str], INSTANCE] = None,
    hz: Annotated[float, typer.Option(help="Redraws per second.", min=1.0)] = 4.0,
    window: Annotated[float, typer.Option(help="Latency window, seconds.")] = 5.0,
    duration: Annotated[Optional[float], typer.Option(help="Stop after this many seconds.")] = None,
) -> None:
    """The live dashboard of a running instance, until Ctrl-C."""
    from ..ui.live import LiveDashboard

    LiveDashboard(_instance(instance), hz=hz, latency_window_s=window, screen=True).run(duration)


def register(app, bench_app) -> None:
    """Add this module's commands to the typer apps."""
    app.command()(status)
    app.command()(tail)
    app.command()(top)
