"""``hftshm status``: one snapshot (two, a moment apart, so rates are known), drawn in full or as JSON."""

from __future__ import annotations

import time

from rich.console import Group
from rich.table import Table
from rich.text import Text

from . import fmt
from .collector import Collector
from .render import render
from .snapshot import Snapshot

RATE_INTERVAL_S = 0.25


def take(instance: str, latency_window_s: float = 5.0, interval_s: float = RATE_INTERVAL_S) -> Snapshot:
    with Collector(instance, latency_window_s) as collector:
        collector.collect()
        time.sleep(interval_s)
        return collector.collect()


def view(snap: Snapshot, width: int) -> Group:
    """The dashboard with every row (no height limit), then every worker's counters."""
    parts = [render(snap, width, 10_000)]
    counters = [(w.name, k, v) for w in snap.workers for k, v in w.counters.items()]
    if counters:
        t = Table(box=None, padding=(0, 1), pad_edge=False, header_style="bold", title=None)
        t.add_column("worker", no_wrap=True)
        t.add_column("counter", no_wrap=True)
        t.add_column("value", justify="right", no_wrap=True)
        for name, key, value in counters:
            t.add_row(name, key, fmt.count(value) if abs(value) >= 100_000 else f"{value:,}")
        parts += [Text(""), t]
    for problem in snap.problems:
        parts.append(Text(f"! {problem}", style="red"))
    return Group(*parts)
