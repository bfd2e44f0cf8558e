"""``hftshm bench bridge``: thin: options in, figures printed (and written as JSON)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table


def _fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.1f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def bench_bridge(
    url: Annotated[str, typer.Option(help="A NATS server with JetStream; empty: start a local one.")] = "",
    raw_msgs: Annotated[int, typer.Option(help="8 KiB messages per raw throughput case.")] = 20_000,
    latency_rate: Annotated[float, typer.Option(help="Raw latency: messages/s.")] = 150.0,
    latency_seconds: Annotated[float, typer.Option(help="Raw latency: seconds per case.")] = 3.0,
    records: Annotated[int, typer.Option(help="Bridge throughput: md records (<= 1048576).")] = 300_000,
    bridge_rate: Annotated[float, typer.Option(help="Bridge latency: records/s.")] = 10_000.0,
    bridge_seconds: Annotated[float, typer.Option(help="Bridge latency: seconds.")] = 3.0,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the results here as JSON.")] = None,
) -> None:
    """Raw JetStream baselines and the bridge against them, in the same run (docs/bridge.md)."""
    from ...bench import jetstream_bridge as bench
    from ...bridge.nats_server import LocalServer

    if not 1 <= records <= 1 << 20 or raw_msgs < 1 or min(latency_rate, latency_seconds, bridge_rate, bridge_seconds) <= 0:
        raise typer.BadParameter("--records must be in [1, 1048576]; counts, rates and seconds positive")
    console = Console()
    table = Table(title="bridge vs raw JetStream (8 KiB messages = 64 md records)")
    for col in ("case", "msgs/s", "records/s", "p50 us", "p99 us", "max us", "exact"):
        table.add_column(col, justify="left" if col == "case" else "right")

    def report(r):
        console.print(f"  measured {r['case']}")
        table.add_row(r["case"], _fmt(r.get("msgs_per_s")), _fmt(r.get("records_per_s")), _fmt(r.get("p50_us")),
                      _fmt(r.get("p99_us")), _fmt(r.get("max_us")), _fmt(r.get("exact")))

    def go(server_url):
        opts = bench.Options(url=server_url, raw_msgs=raw_msgs, latency_rate=latency_rate,
                             latency_seconds=latency_seconds, records=records, bridge_rate=bridge_rate,
                             bridge_seconds=bridge_seconds)
        return bench.run(opts, report)

    if url:
        result = go(url)
    else:
        with tempfile.TemporaryDirectory(prefix="hftshm-nats-") as tmp, LocalServer(Path(tmp)) as server:
            console.print(f"started {server.version()} at {server.url} (store {tmp})")
            result = go(server.url)
    console.print(table)
    for k, v in result["ratios"].items():
        console.print(f"{k}: {_fmt(v)}")
    if json_out:
        bench.write_json(result, json_out)
        console.print(f"wrote {json_out}")


def register(group) -> None:
    group.command("bridge")(bench_bridge)
