"""``hftshm bench ingest``: thin: options in,
figures printed (and written as JSON)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from ..common import fmt as _fmt
from ..common import split_choices as _split

COLUMNS = ("kind", "mode", "messages", "msgs/s", "cpu %", "p50 us", "p90 us", "p99 us", "p99.9 us", "max us", "lost")
KEYS = ("kind", "mode", "messages", "msgs_per_s", "cpu_pct", "p50_us", "p90_us", "p99_us", "p999_us", "max_us",
        "lost")


def bench_ingest(
    messages: Annotated[int, typer.Option(help="Messages per kind and mode.")] = 300_000,
    kind: Annotated[Optional[str], typer.Option(
        help="Message kinds: bookTicker,trade (USD-M also capture: the whole recording). "
             "Default: all of the venue's.")] = None,
    mode: Annotated[str, typer.Option(help="pipeline,pipeline-ws,frames-only,websockets-recv.")] =
        "pipeline,pipeline-ws,frames-only,websockets-recv",
    latency_passes: Annotated[int, typer.Option(help="Passes over the capture for latency.")] = 5,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the results here as JSON.")] = None,
    venue: Annotated[str, typer.Option(help="binance_spot, binance_usdm (captures), bybit_spot, bybit_linear or "
                                            "okx (the simulator's synthetic streams): whose normalizer.")] =
        "binance_spot",
    capture: Annotated[Optional[Path], typer.Option(help="A capture of the Binance venue's frames to measure on "
                                                    "(its first symbol); default: the vendored one.")] = None,
) -> None:
    """Simulator -> websocket -> orjson -> normalizer -> md ring on one core: msgs/s and
    decode+normalize+publish latency."""
    from ...bench import ingest as ingest_bench

    if messages < 1 or latency_passes < 1:
        raise typer.BadParameter("--messages and --latency-passes must be >= 1")
    venue = {"binance": "binance_spot"}.get(venue, venue)
    if venue not in ingest_bench.VENUE_KINDS:
        raise typer.BadParameter(f"--venue {venue!r}: expected one of {', '.join(ingest_bench.VENUE_KINDS)}")
    kinds = ingest_bench.VENUE_KINDS[venue]
    opts = ingest_bench.Options(messages=messages, kinds=_split(kind or ",".join(kinds), kinds, "kind"),
                                modes=_split(mode, ingest_bench.MODES, "mode"), latency_passes=latency_passes,
                                venue=venue, capture=None if capture is None else str(capture))
    console = Console(width=max(Console().width, 120))
    table = Table(title=f"ingest ({venue}): simulator replay at --speed max, one core")
    for col in COLUMNS:
        table.add_column(col, justify="left" if col in ("kind", "mode") else "right")

    def report(row):
        console.print(f"  measured {row['kind']} {row['mode']}")
        table.add_row(*(_fmt(row.get(k)) for k in KEYS))

    try:  # (the capture is checked first thing, before anything is measured)
        result = ingest_bench.run(opts, report)
    except ValueError as exc:  # the capture: missing, of the other venue, no symbol to tell, a kind it lacks
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    console.print(table)
    if json_out:
        ingest_bench.write_json(result, json_out)
        console.print(f"wrote {json_out}")


def register(group) -> None:
    group.command("ingest")(bench_ingest)
