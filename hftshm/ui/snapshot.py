"""Immutable snapshots of a running instance: what the collector builds and the renderer draws.

Every figure is a plain value; ``None`` means "not known" (the renderer shows "-"). Nothing here
touches shared memory, so a snapshot can be built by hand in a test, stored as JSON (``as_dict``)
and drawn again (``from_dict``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping


@dataclass(frozen=True)
class ReaderSnap:
    """One slot of a ring's reader table."""

    name: str
    gating: bool
    wait: str  # the reader's wait strategy ('backoff', ...) or '?'
    state: str  # 'active', 'orphaned' (its process died; kept for a restart) or 'dead'
    pid: int
    cursor: int
    lag: int  # records published that it has not read
    lost: int  # records it lost to being lapped (ad-hoc readers)
    lapped: int  # times it was lapped
    evicted: int = 0  # times the producer ungated it (silent or dead)
    rate: float | None = None  # records/s it read since the last snapshot


@dataclass(frozen=True)
class RingSnap:
    name: str
    kind: str = "broadcast"  # or 'many-to-one'
    layout: str = ""
    policy: str = ""
    capacity: int = 0
    published: int = 0
    rate: float | None = None  # records/s since the last snapshot
    occupancy: float | None = None  # slowest gating reader's lag / capacity; None without one
    overruns: int = 0  # overwrite policy: records overwritten before a gating reader read them
    waits: int = 0  # times the producer found the ring full
    lost: int = 0  # records lost by lapped readers, all readers
    evictions: int = 0
    skipped: int = 0  # many-to-one: records of producers that died mid-write
    producer_pid: int = 0
    producer_alive: bool | None = None
    symbols: int = 0
    readers: tuple[ReaderSnap, ...] = ()
    missing: str | None = None  # why the ring could not be read, if it could not

    @property
    def max_lag(self) -> int | None:
        lags = [r.lag for r in self.readers if r.state == "active"]
        return max(lags) if lags else None


@dataclass(frozen=True)
class WorkerSnap:
    name: str
    role: str
    state: str  # control-block state; 'dead' when it says running but the process is gone
    pid: int
    alive: bool
    heartbeat_age_s: float | None
    restarts: int
    cpu_pct: float | None
    counters: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "counters", MappingProxyType(dict(self.counters)))


@dataclass(frozen=True)
class Figures:
    """Latency of one stage over one span, in microseconds."""

    count: int = 0
    p50_us: float | None = None
    p99_us: float | None = None
    p999_us: float | None = None
    max_us: float | None = None
    span_s: float | None = None


@dataclass(frozen=True)
class StageSnap:
    name: str
    window: Figures  # the last ``Snapshot.latency_window_s`` seconds
    total: Figures  # since the latency book was created


@dataclass(frozen=True)
class FeedSnap:
    """Figures of the ``ingest`` worker (its counters; None when it does not keep one)."""

    worker: str
    connection: str  # 'connected', 'disconnected', 'dead', or the worker's state
    msgs_per_s: float | None = None
    messages: int | None = None
    reconnects: int | None = None
    gaps: int | None = None
    malformed: int | None = None


@dataclass(frozen=True)
class Snapshot:
    instance: str
    taken_ns: int
    state: str  # 'running', 'starting', 'stopping', 'stopped', 'dead' (supervisor gone), 'missing'
    supervisor_pid: int = 0
    uptime_s: float | None = None
    venue: str = ""
    kill_switch: str | None = None  # from the control block: 'active', 'reduce-only', 'halted'
    rings: tuple[RingSnap, ...] = ()
    workers: tuple[WorkerSnap, ...] = ()
    stages: tuple[StageSnap, ...] = ()
    latency_window_s: float = 5.0
    latency_missing: str | None = None
    feed: FeedSnap | None = None
    trading: Mapping = field(default_factory=dict)  # hftshm.trading.snapshot.figures(); {} if none
    problems: tuple[str, ...] = ()  # what could not be read, in words

    def __post_init__(self):
        object.__setattr__(self, "trading", MappingProxyType(dict(self.trading)))

    def ring(self, name: str) -> RingSnap | None:
        return next((r for r in self.rings if r.name == name), None)

    def worker(self, name: str) -> WorkerSnap | None:
        return next((w for w in self.workers if w.name == name), None)

    def as_dict(self) -> dict:
        """JSON-ready (what ``hftshm status --json`` prints)."""
        return _plain(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Snapshot":
        """Back from ``as_dict`` (recorded snapshots in tests)."""
        d = dict(data)
        d["rings"] = tuple(RingSnap(**{**r, "readers": tuple(ReaderSnap(**x) for x in r["readers"])})
                           for r in d.get("rings", ()))
        d["workers"] = tuple(WorkerSnap(**w) for w in d.get("workers", ()))
        d["stages"] = tuple(StageSnap(s["name"], Figures(**s["window"]), Figures(**s["total"]))
                            for s in d.get("stages", ()))
        d["feed"] = FeedSnap(**d["feed"]) if d.get("feed") else None
        d["problems"] = tuple(d.get("problems", ()))
        return cls(**d)


@dataclass(frozen=True)
class GroupSnapshot:
    """A group's instances (several venues in one instance, ``hftshm.instances.Group``): venue ->
    the ``Snapshot`` of that venue's instance, by venue."""

    group: str
    venues: Mapping[str, Snapshot]

    def __post_init__(self):
        object.__setattr__(self, "venues", MappingProxyType(dict(self.venues)))

    @property
    def missing(self) -> bool:
        """Some venue's instance has no control block."""
        return any(s.state == "missing" for s in self.venues.values())

    def as_dict(self) -> dict:
        """``{"group": G, "venues": {venue: Snapshot.as_dict()}}`` (``hftshm status --json``)."""
        return {"group": self.group, "venues": {v: s.as_dict() for v, s in self.venues.items()}}

    @classmethod
    def from_dict(cls, data: dict) -> "GroupSnapshot":
        return cls(data["group"], {v: Snapshot.from_dict(s) for v, s in data["venues"].items()})


def _plain(value):
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
