"""Constructed snapshots for renderer tests: a full default instance, and broken variants."""

from __future__ import annotations

import dataclasses

from hftshm.ui.snapshot import FeedSnap, Figures, ReaderSnap, RingSnap, Snapshot, StageSnap, WorkerSnap

T0 = 1_723_111_200_000_000_000


def _reader(name, gating=True, lag=0, lost=0, state="active", pid=2001, wait="backoff"):
    return ReaderSnap(name=name, gating=gating, wait=wait, state=state, pid=pid, cursor=123_456 - lag, lag=lag,
                      lost=lost, lapped=1 if lost else 0, rate=2000.0)


def _stage(name, p50, k=1.0):
    w = Figures(count=10_000, p50_us=p50, p99_us=p50 * 4, p999_us=p50 * 9, max_us=p50 * 30, span_s=5.0)
    a = Figures(count=900_000, p50_us=p50 * k, p99_us=p50 * 5, p999_us=p50 * 12, max_us=p50 * 400, span_s=312.0)
    return StageSnap(name, w, a)


STAGE_NAMES = ("exch_to_recv", "recv_to_publish", "publish_to_read.journal", "publish_to_read.strategy-mm",
               "tick_to_intent", "intent_to_verdict", "verdict_to_sent", "sent_to_ack", "tick_to_trade",
               "risk_check")


def full(**changes) -> Snapshot:
    rings = (
        RingSnap(name="md", layout="md_event.v2", policy="overwrite", capacity=1 << 20, published=1_234_567,
                 rate=2013.0, occupancy=0.0001, symbols=2,
                 readers=(_reader("journal", lag=3), _reader("strategy-mm", lag=1),
                          _reader("adhoc-999.0", gating=False, lost=77, wait="backoff"))),
        RingSnap(name="orders", kind="many-to-one", layout="order.v1", policy="wait", capacity=1 << 14,
                 published=4321, rate=12.0, occupancy=0.0, readers=(_reader("execution"), _reader("journal"))),
        RingSnap(name="fills", layout="exec_report.v1", policy="wait", capacity=1 << 14, published=2222, rate=8.0,
                 occupancy=0.0, readers=(_reader("journal"), _reader("risk"), _reader("strategy-mm"))),
    )
    workers = tuple(
        WorkerSnap(name=n, role=r, state="running", pid=3000 + i, alive=True, heartbeat_age_s=0.01, restarts=0,
                   cpu_pct=3.5 + i, counters=c)
        for i, (n, r, c) in enumerate((
            ("journal", "journal", {"records": 99}), ("risk", "risk", {"checks": 5}),
            ("execution", "execution", {"sent": 7}), ("strategy-mm", "strategy", {"intents": 9}),
            ("ingest", "ingest", {"msgs": 123_456, "reconnects": 1, "depth_gaps": 2, "malformed_json": 0,
                                  "connected": 1}))))
    snap = Snapshot(
        instance="demo", taken_ns=T0, state="running", supervisor_pid=2999, uptime_s=312.4, venue="sim",
        kill_switch="active", rings=rings, workers=workers,
        stages=tuple(_stage(n, 3.0 + i * 7.5) for i, n in enumerate(STAGE_NAMES)),
        feed=FeedSnap(worker="ingest", connection="connected", msgs_per_s=2011.0, messages=123_456, reconnects=1,
                      gaps=2, malformed=0),
        trading={"trading_state": "active", "trading_reason": "", "orders_by_state": {"acknowledged": 2, "filled": 5},
                 "rejects_by_reason": {"MAX_POSITION": 1}, "fills": 5, "positions": {"BTCUSDT": 0.002},
                 "pnl": {"realized": 1.25, "unrealized": -0.5, "total": 0.75}},
    )
    return dataclasses.replace(snap, **changes)


def with_dead_worker() -> Snapshot:
    s = full()
    workers = tuple(dataclasses.replace(w, state="dead", alive=False, cpu_pct=None, heartbeat_age_s=7.5)
                    if w.name == "risk" else w for w in s.workers)
    return dataclasses.replace(s, workers=workers)


def with_missing_ring() -> Snapshot:
    s = full()
    rings = tuple(dataclasses.replace(r, missing="segment removed") if r.name == "fills" else r for r in s.rings)
    return dataclasses.replace(s, rings=rings, problems=("ring fills: no shared-memory segment named 'x'",))


def missing_instance() -> Snapshot:
    return Snapshot(instance="gone", taken_ns=T0, state="missing",
                    problems=("control block: no shared-memory segment named 'hftshm.gone.ctl'",),
                    latency_missing="no latency book")
