"""``hftshm bench latency``: what recording one latency sample costs (the work is in
``hftshm.bench.latency_record``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def latency(
    samples: Annotated[int, typer.Option(help="Samples per measurement.")] = 1_000_000,
    rounds: Annotated[int, typer.Option(help="Best of this many runs.")] = 5,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the figures here as JSON.")] = None,
) -> None:
    """What recording one latency sample costs (ns), from numba and from Python."""
    import json

    from ...bench.stats import machine
    from ...bench.latency_record import measure

    if samples < 1000 or rounds < 1:
        raise typer.BadParameter("--samples must be >= 1000 and --rounds >= 1")
    figures = measure(samples, rounds)
    for name, ns in figures.items():
        typer.echo(f"{name:40s} {ns:8.1f} ns/sample")
    if json_out:
        rows = [{"case": k, "ns_per_sample": round(v, 1)} for k, v in figures.items()]
        json_out.write_text(json.dumps({"machine": machine(), "results": rows}, indent=2) + "\n")


def register(group) -> None:
    group.command("latency")(latency)
