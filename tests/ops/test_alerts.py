"""The dashboard's alerts: the example Prometheus rules' conditions on constructed snapshots,
and the line the renderer draws for them."""

from __future__ import annotations

import dataclasses
import io

from rich.console import Console

from hftshm.ui.alerts import alerts
from hftshm.ui.render import render
from hftshm.ui.snapshot import Figures, StageSnap
from tests.ui import samples


def names(snap) -> list[str]:
    return [a.name for a in alerts(snap)]


def _worker(snap, name, **changes):
    return tuple(dataclasses.replace(w, **changes) if w.name == name else w for w in snap.workers)


def test_a_healthy_instance_has_none():
    assert alerts(samples.full()) == ()


def test_each_condition():
    s = samples.full()
    halted = dataclasses.replace(s, trading={**s.trading, "trading_state": "halted", "trading_reason": "FEED_STALE"})
    assert names(halted) == ["KillSwitchHalted"] and "FEED_STALE" in alerts(halted)[0].text
    unset = dataclasses.replace(s, kill_switch="unset (halted)", trading={})
    assert names(unset) == ["KillSwitchHalted"]  # fail closed: an unset word is halted
    assert names(dataclasses.replace(s, workers=_worker(s, "journal", state="crashed"))) == ["JournalDown"]
    assert names(dataclasses.replace(s, workers=_worker(s, "risk", counters={"feed": 2}))) == ["FeedStale"]
    waiting = alerts(dataclasses.replace(s, workers=_worker(s, "risk", counters={"feed": 0})))
    assert [(a.name, a.severity) for a in waiting] == [("FeedWaiting", "info")]
    assert names(dataclasses.replace(s, workers=_worker(s, "execution", restarts=2))) == ["WorkerRestarts"]
    assert names(dataclasses.replace(s, workers=_worker(s, "execution", state="dead"))) == ["WorkerDown"]
    md = s.rings[0]
    lagging = dataclasses.replace(md, readers=(dataclasses.replace(md.readers[0], lag=md.capacity // 2 + 1),))
    assert names(dataclasses.replace(s, rings=(lagging, *s.rings[1:]))) == ["RingLag"]
    slow = StageSnap("tick_to_trade", Figures(count=10, p50_us=300.0, p99_us=1500.0), Figures())
    stages = tuple(slow if st.name == "tick_to_trade" else st for st in s.stages)
    assert names(dataclasses.replace(s, stages=stages)) == ["TickToTradeP99High"]


def test_most_severe_first_and_drawn_on_one_line():
    s = samples.full()
    snap = dataclasses.replace(s, workers=_worker(s, "execution", restarts=1),
                               trading={**s.trading, "trading_state": "halted", "trading_reason": "MANUAL"})
    assert names(snap) == ["KillSwitchHalted", "WorkerRestarts"]
    console = Console(width=160, height=40, file=io.StringIO(), record=True)
    console.print(render(snap, 160, 40))
    text = console.export_text()
    line = next(ln for ln in text.splitlines() if ln.startswith("alerts"))
    assert "KillSwitchHalted: trading halted (MANUAL)" in line and "WorkerRestarts: restarts: execution x1" in line
