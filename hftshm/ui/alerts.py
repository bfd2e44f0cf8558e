"""The dashboard's alerts: the conditions of the example Prometheus alerting rules
(docs/operations.md, "Alerts"), judged on one ``Snapshot``.

Pure: a snapshot in, alerts out, most severe first. The thresholds are the rules' defaults; the
Prometheus rules can be tuned per site, the dashboard shows these.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..risk.feed_clock import STALE, WAITING
from .snapshot import Snapshot

TICK_TO_TRADE_STAGE = "tick_to_trade"
TICK_TO_TRADE_P99_US = 1000.0  # TickToTradeP99High: the window's p99 above 1 ms
RING_LAG_RATIO = 0.5  # RingLag: a reader more than half a ring behind
CRITICAL, WARNING, INFO = "critical", "warning", "info"
_ORDER = {CRITICAL: 0, WARNING: 1, INFO: 2}


@dataclass(frozen=True)
class Alert:
    name: str  # the Prometheus rule's alert name
    severity: str
    text: str


def alerts(s: Snapshot) -> tuple[Alert, ...]:
    if s.state == "missing":
        return ()
    out: list[Alert] = []
    t = s.trading
    state = t.get("trading_state") or s.kill_switch
    if state is not None and state not in ("active", "reduce-only"):
        reason = t.get("trading_reason") or "unset"
        out.append(Alert("KillSwitchHalted", CRITICAL, f"trading halted ({reason})"))
    journal = [w for w in s.workers if w.role == "journal"]
    trigger = t.get("trigger", "")
    if any(not (w.state == "running" and w.alive) for w in journal) or trigger == "JOURNAL_DOWN":
        out.append(Alert("JournalDown", CRITICAL, "journal down: no journal, no trading"))
    risk = next((w for w in s.workers if w.role == "risk"), None)
    feed = None if risk is None else risk.counters.get("feed")
    if feed == STALE:
        out.append(Alert("FeedStale", CRITICAL, "market data stale"))
    elif feed == WAITING and s.state == "running":
        out.append(Alert("FeedWaiting", INFO, "waiting for the first market data"))
    for w in s.workers:
        if w.role != "journal" and w.state in ("crashed", "dead", "stopped") and s.state == "running":
            out.append(Alert("WorkerDown", CRITICAL, f"worker {w.name} {w.state}"))
    restarted = [f"{w.name} x{w.restarts}" for w in s.workers if w.restarts]
    if restarted:
        out.append(Alert("WorkerRestarts", WARNING, "restarts: " + ", ".join(restarted)))
    for r in s.rings:
        if r.missing or not r.capacity:
            continue
        for rd in r.readers:
            if rd.state == "active" and rd.lag > RING_LAG_RATIO * r.capacity:
                out.append(Alert("RingLag", WARNING, f"{rd.name} {rd.lag:,} behind on {r.name} "
                                                     f"({rd.lag / r.capacity:.0%} of its capacity)"))
    stage = next((st for st in s.stages if st.name == TICK_TO_TRADE_STAGE), None)
    p99 = None if stage is None else stage.window.p99_us
    if p99 is not None and p99 > TICK_TO_TRADE_P99_US:
        out.append(Alert("TickToTradeP99High", WARNING,
                         f"tick-to-trade p99 {p99:,.0f} us > {TICK_TO_TRADE_P99_US:,.0f} us"))
    out.sort(key=lambda a: _ORDER[a.severity])
    return tuple(out)
