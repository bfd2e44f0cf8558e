"""Prometheus metric families from a ``ui.snapshot.Snapshot`` and the latency histograms: pure,
so a test can build them from a snapshot made by hand.

Names: every metric starts ``hftshm_``; counters end ``_total``; times are in seconds. Labels:
``instance`` on every series, then ``worker``, ``role``, ``ring``, ``stage``, ``venue``,
``symbol``, ``state`` or ``reason`` where they apply. docs/operations.md ("Metrics") lists
every family; the figures are those of ``hftshm status --json`` (the same collector reads them).
"""

from __future__ import annotations

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from ..risk.feed_clock import STATE_NAMES as FEED_STATES
from . import histograms

TRADING_STATES = ("active", "reduce-only", "halted")


def _gauge(name, doc, labels):
    return GaugeMetricFamily(f"hftshm_{name}", doc, labels=labels)


def _counter(name, doc, labels):
    # prometheus_client appends _total to a counter's samples; the family is named without it
    return CounterMetricFamily(f"hftshm_{name}", doc, labels=labels)


def families(snap, latency: dict | None = None) -> list:
    """``latency``: stage -> (folded buckets from ``histograms.fold``, count, sum_ns)."""
    inst = snap.instance
    out = []
    info = _gauge("instance_info", "The instance: its state and venue (always 1).", ["instance", "state", "venue"])
    info.add_metric([inst, snap.state, snap.venue], 1)
    out.append(info)
    up = _gauge("instance_running", "1 while the instance's state is running.", ["instance"])
    up.add_metric([inst], 1 if snap.state == "running" else 0)
    out.append(up)
    if snap.uptime_s is not None:
        g = _gauge("uptime_seconds", "Seconds since the instance was created.", ["instance"])
        g.add_metric([inst], snap.uptime_s)
        out.append(g)
    probs = _gauge("scrape_problems", "Parts of the instance that could not be read in this scrape.", ["instance"])
    probs.add_metric([inst], len(snap.problems))
    out.append(probs)
    out += _trading(inst, snap)
    out += _rings(inst, snap)
    out += _workers(inst, snap)
    out += _feed(inst, snap)
    out += _latency(inst, snap, latency or {})
    return out


def _trading(inst, snap) -> list:
    t = snap.trading
    out = []
    state = t.get("trading_state") or snap.kill_switch
    if state is None:
        return out
    g = _gauge("trading_state", "The kill switch: 1 for the state in force (an unset or unknown word is halted).",
               ["instance", "state"])
    current = state if state in TRADING_STATES else "halted"
    for s in TRADING_STATES:
        g.add_metric([inst, s], 1 if s == current else 0)
    out.append(g)
    h = _gauge("trading_halted", "1 while trading is halted; reason: why the state last changed.",
               ["instance", "reason"])
    h.add_metric([inst, t.get("trading_reason", "") or ""], 1 if current == "halted" else 0)
    out.append(h)
    trig = _gauge("trading_trigger", "1 while an automatic cause holds (a risk trigger, RISK_DOWN, "
                  "JOURNAL_DOWN): resume is refused until it clears.", ["instance", "reason"])
    if t.get("trigger"):
        trig.add_metric([inst, t["trigger"]], 1)
    out.append(trig)
    if not t.get("positions") and not t.get("orders_by_state") and "fills" not in t:
        return out
    pos = _gauge("position", "Position per symbol, in base units.", ["instance", "venue", "symbol"])
    for sym, qty in t.get("positions", {}).items():
        pos.add_metric([inst, snap.venue, sym], float(qty))
    pnl = _gauge("pnl", "PnL in quote currency: realized, unrealized (at the mid), fees, total.", ["instance", "kind"])
    for kind, value in t.get("pnl", {}).items():
        pnl.add_metric([inst, kind], float(value))
    orders = _gauge("orders", "Orders by state: those that ended, by final state, plus those live now.",
                    ["instance", "state"])
    for s, n in t.get("orders_by_state", {}).items():
        orders.add_metric([inst, s], n)
    rejects = _counter("rejects", "Orders refused, by reason (pre-trade checks and the venue).",
                       ["instance", "reason"])
    for reason, n in t.get("rejects_by_reason", {}).items():
        rejects.add_metric([inst, reason], n)
    fills = _counter("fills", "Fills applied to positions.", ["instance"])
    fills.add_metric([inst], t.get("fills", 0))
    return out + [pos, pnl, orders, rejects, fills]


def _rings(inst, snap) -> list:
    lr = ["instance", "ring"]
    cap = _gauge("ring_capacity", "Records a ring holds.", lr)
    pub = _counter("ring_published", "Records published into a ring.", lr)
    occ = _gauge("ring_occupancy_ratio", "Slowest gating reader's lag over the capacity (0..1).", lr)
    over = _counter("ring_overruns", "Records overwritten before a gating reader read them (overwrite policy).", lr)
    waits = _counter("ring_producer_waits", "Times a producer found the ring full.", lr)
    lost = _counter("ring_lost", "Records lost by lapped readers, all readers.", lr)
    evic = _counter("ring_evictions", "Gating readers the producer ungated (silent or dead).", lr)
    skip = _counter("ring_skipped", "Many-to-one: records of producers that died mid-write.", lr)
    lrd = ["instance", "ring", "worker", "gating"]
    lag = _gauge("ring_reader_lag", "Records published that a reader has not read yet.", lrd)
    rlost = _counter("ring_reader_lost", "Records a reader lost to being lapped.", lrd)
    lapped = _counter("ring_reader_lapped", "Times a reader was lapped.", lrd)
    for r in snap.rings:
        if r.missing:
            continue
        k = [inst, r.name]
        cap.add_metric(k, r.capacity)
        pub.add_metric(k, r.published)
        if r.occupancy is not None:
            occ.add_metric(k, r.occupancy)
        over.add_metric(k, r.overruns)
        waits.add_metric(k, r.waits)
        lost.add_metric(k, r.lost)
        evic.add_metric(k, r.evictions)
        skip.add_metric(k, r.skipped)
        for rd in r.readers:
            kr = [inst, r.name, rd.name, "true" if rd.gating else "false"]
            lag.add_metric(kr, rd.lag)
            rlost.add_metric(kr, rd.lost)
            lapped.add_metric(kr, rd.lapped)
    return [cap, pub, occ, over, waits, lost, evic, skip, lag, rlost, lapped]


def _workers(inst, snap) -> list:
    lw = ["instance", "worker", "role"]
    up = _gauge("worker_up", "1 while the worker runs (state running and its process alive).", lw)
    info = _gauge("worker_info", "The worker's state (always 1).", [*lw, "state"])
    restarts = _counter("worker_restarts", "Times the supervisor restarted the worker.", lw)
    beat = _gauge("worker_heartbeat_age_seconds", "Seconds since the worker's last heartbeat.", lw)
    cpu = _gauge("worker_cpu_ratio", "CPU the worker's process used since the previous scrape (1 = one core).", lw)
    raw = _gauge("worker_counter", "A worker's own counter as it keeps it (counts and gauges alike).",
                 [*lw, "counter"])
    for w in snap.workers:
        k = [inst, w.name, w.role]
        up.add_metric(k, 1 if (w.state == "running" and w.alive) else 0)
        info.add_metric([*k, w.state], 1)
        restarts.add_metric(k, w.restarts)
        if w.heartbeat_age_s is not None:
            beat.add_metric(k, max(0.0, w.heartbeat_age_s))  # clocks a moment apart
        if w.cpu_pct is not None:
            cpu.add_metric(k, w.cpu_pct / 100.0)
        for name, value in w.counters.items():
            raw.add_metric([*k, name], value)
    return [up, info, restarts, beat, cpu, raw]


def _feed(inst, snap) -> list:
    out = []
    f = snap.feed
    if f is not None:
        lf = ["instance", "worker", "venue"]
        k = [inst, f.worker, snap.venue]
        g = _gauge("feed_connected", "1 while the market-data connection is open.", lf)
        g.add_metric(k, 1 if f.connection in ("connected", "receiving") else 0)
        out.append(g)
        for name, value, doc in (("feed_messages", f.messages, "Messages received from the venue."),
                                 ("feed_reconnects", f.reconnects, "Connections that ended unasked."),
                                 ("feed_gaps", f.gaps, "Sequence gaps seen in the venue's streams."),
                                 ("feed_malformed", f.malformed, "Frames that did not parse.")):
            if value is not None:
                c = _counter(name, doc, lf)
                c.add_metric(k, value)
                out.append(c)
    risk = next((w for w in snap.workers if w.role == "risk"), None)
    if risk is not None and "feed" in risk.counters:
        state = FEED_STATES.get(int(risk.counters["feed"]), "unknown")
        g = _gauge("feed_state", "The market-data feed as the kill switch judges it: waiting (no data yet), "
                   "live or stale (1 for the state in force).", ["instance", "venue", "state"])
        for s in FEED_STATES.values():
            g.add_metric([inst, snap.venue, s], 1 if s == state else 0)
        out.append(g)
    return out


def _stage_labels(inst, stage: str) -> list[str]:
    # "publish_to_read.journal": the reader's worker follows the dot
    return [inst, stage, stage.split(".", 1)[1] if "." in stage else ""]


def _latency(inst, snap, latency: dict) -> list:
    ls = ["instance", "stage", "worker"]
    hist = HistogramMetricFamily("hftshm_latency_seconds", "Per-stage latency since the instance started.",
                                 labels=ls)
    for stage, (buckets, _count, sum_ns) in latency.items():
        hist.add_metric(_stage_labels(inst, stage), buckets, sum_ns / 1e9)
    p99 = _gauge("latency_window_p99_seconds",
                 "Per-stage p99 over the dashboard's latency window (the last few seconds).", ls)
    for st in snap.stages:
        if st.window.p99_us is not None:
            p99.add_metric(_stage_labels(inst, st.name), st.window.p99_us / 1e6)
    return [hist, p99]
