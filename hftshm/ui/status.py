"""``hftshm status``: one snapshot (two, a moment apart, so rates are known), drawn in full or as JSON;
for a group (``instances.Group``), one per venue instance."""

from __future__ import annotations

import time

from rich.console import Group
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from .. import instances
from . import fmt
from .collector import Collector
from .render import render
from .snapshot import GroupSnapshot, Snapshot

RATE_INTERVAL_S = 0.25


def take(target: str | instances.Group, latency_window_s: float = 5.0,
         interval_s: float = RATE_INTERVAL_S) -> Snapshot | GroupSnapshot:
    """The snapshot of instance ``target``, or of every venue instance of group ``target``."""
    names = list(target.members.values()) if isinstance(target, instances.Group) else [target]
    collectors = [Collector(name, latency_window_s) for name in names]
    try:
        for c in collectors:
            c.collect()
        time.sleep(interval_s)
        snaps = [c.collect() for c in collectors]
    finally:
        for c in collectors:
            c.close()
    if isinstance(target, instances.Group):
        return GroupSnapshot(target.name, dict(zip(target.venues, snaps)))
    return snaps[0]


def missing(snap: Snapshot | GroupSnapshot) -> bool:
    """No control block (for a group: some venue's instance has none): ``status`` exits 1."""
    return snap.missing if isinstance(snap, GroupSnapshot) else snap.state == "missing"


def view(snap: Snapshot | GroupSnapshot, width: int) -> Group:
    """The dashboard with every row (no height limit), then every worker's counters; for a group,
    that of each venue's instance under a rule titled with the venue and the instance."""
    if isinstance(snap, GroupSnapshot):
        parts = []
        for venue, s in snap.venues.items():
            parts += [Text("")] if parts else []
            parts += [Rule(f"{venue}: {s.instance}", align="left", style="cyan"), _view(s, width)]
        return Group(*parts)
    return _view(snap, width)


def _view(snap: Snapshot, width: int) -> Group:
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
