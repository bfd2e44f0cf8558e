"""``hftshm bench wake``: the machine's floor under backoff and blocking waits (the work is in
``hftshm.bench.wake``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from ..common import fmt as _fmt


def wake(
    count: Annotated[int, typer.Option(help="Samples per case.")] = 500,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the results here as JSON.")] = None,
) -> None:
    """The machine's floor under backoff and blocking waits: real nap lengths, semaphore wake-up."""
    import json

    from ...bench import wake as wake_bench
    from ...bench.stats import machine

    if count < 10:
        raise typer.BadParameter("--count must be >= 10")
    rows = wake_bench.run(count)
    table = Table(title="sleep and wake-up costs on this machine")
    for col in ("case", "p50 us", "p90 us", "p99 us", "max us"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["case"], *(_fmt(r[k]) for k in ("p50_us", "p90_us", "p99_us", "max_us")))
    Console().print(table)
    if json_out:
        json_out.write_text(json.dumps({"machine": machine(), "results": rows}, indent=2) + "\n")


def register(group) -> None:
    group.command("wake")(wake)
