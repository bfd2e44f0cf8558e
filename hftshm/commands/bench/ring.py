"""``hftshm bench ring``: thin: options in, figures printed (and written as JSON)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from ...bench import ring as ring_bench
from ...wait import STRATEGIES
from ..common import fmt as _fmt
from ..common import split_choices as _split


def ring(
    seconds: Annotated[float, typer.Option(help="Throughput run per case, seconds.")] = 1.0,
    latency_seconds: Annotated[float, typer.Option(help="Paced latency run per case, seconds.")] = 2.0,
    rate: Annotated[float, typer.Option(help="Paced rate of the latency run, msgs/s.")] = 10_000.0,
    api: Annotated[str, typer.Option(help="hftshm APIs: record,batch,numba.")] = "record,batch,numba",
    wait: Annotated[str, typer.Option(help="Consumer wait strategies.")] = ",".join(STRATEGIES),
    peers: Annotated[bool, typer.Option(help="Also measure the peer transports.")] = True,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the results here as JSON.")] = None,
) -> None:
    """The hftshm ring against multiprocessing.Queue/Pipe, faster-fifo, pyzmq and iceoryx2."""
    if seconds <= 0 or latency_seconds <= 0 or rate <= 0:
        raise typer.BadParameter("--seconds, --latency-seconds and --rate must be positive")
    opts = ring_bench.Options(seconds=seconds, latency_seconds=latency_seconds, rate=rate,
                              apis=_split(api, ring_bench.APIS, "api"), waits=_split(wait, tuple(STRATEGIES), "wait"),
                              peers=peers)
    console = Console()
    table = Table(title=f"ring: 64-byte records; latency at {rate:,.0f} msgs/s", show_lines=False)
    for col in ("transport", "api", "wait", "records/s", "p50 us", "p90 us", "p99 us", "p99.9 us", "max us",
                "lost", "cpu %"):
        table.add_column(col, justify="left" if col in ("transport", "api", "wait") else "right")

    def report(row):
        console.print(f"  measured {row['transport']} {row['api']}/{row['wait']}"
                      + (f": ERROR {row['error']}" if "error" in row else ""))
        table.add_row(row["transport"], row["api"], row["wait"], _fmt(row.get("records_per_s")),
                      *(_fmt(row.get(k)) for k in ("p50_us", "p90_us", "p99_us", "p999_us", "max_us")),
                      _fmt(row.get("lost")), _fmt(row.get("cpu_pct"), 1))

    result = ring_bench.run(opts, report)
    console.print(table)
    ratios = Table(title="hftshm vs peers (throughput x, p50 latency x lower)")
    for col in ("hftshm", "peer", "throughput x", "p50 lower x"):
        ratios.add_column(col, justify="right" if "x" in col else "left")
    for r in result["ratios"]:
        ratios.add_row(r["hftshm"], r["peer"], _fmt(r["throughput_x"], 1), _fmt(r["p50_lower_x"], 1))
    console.print(ratios)
    if json_out:
        ring_bench.write_json(result, json_out)
        console.print(f"wrote {json_out}")


def register(group) -> None:
    group.command("ring")(ring)
