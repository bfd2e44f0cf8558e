"""``hftshm tail``: thin; it checks options and runs the tail loop of ``hftshm.ui.tail``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .common import TARGET, pick_target


def tail(
    ring: Annotated[str, typer.Argument(help="Ring name: md, orders, fills, ...; on a group venue:ring "
                                             "(bybit:md), or md for every venue's.")],
    symbol: Annotated[Optional[str], typer.Option(help="Only this symbol (e.g. BTCUSDT; on a group "
                                                       "venue:SYMBOL, which alone picks that venue's md).")] = None,
    kind: Annotated[Optional[str], typer.Option(help="Only this kind: md trade/aggTrade/quote/level/reset, "
                                                     "orders new/cancel, fills NEW/TRADE/CANCELED/...")] = None,
    count: Annotated[Optional[int], typer.Option(help="Stop after this many records.", min=1)] = None,
    from_seq: Annotated[Optional[int], typer.Option(help="Start at this sequence (default: the newest).",
                                                    min=0)] = None,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    instance: Annotated[Optional[str], TARGET] = None,
) -> None:
    """Print a ring's records live, decoded (a non-gating reader: it never slows the system)."""
    from ..errors import HftshmError
    from ..instances import Group
    from ..ui.tail import TailOptions, run

    target = pick_target(instance)
    group = target if isinstance(target, Group) else None
    opts = TailOptions(ring=ring, instance=group.name if group else target, symbol=symbol, kind=kind, count=count,
                       from_seq=from_seq, json=json_out, group=group)
    try:
        code = run(opts)
    except HftshmError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    raise typer.Exit(code)


def register(app) -> None:
    app.command()(tail)
