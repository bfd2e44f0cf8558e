"""The collector: reads a running instance's counters and builds a ``Snapshot``.

It only loads words: the control block (instance, workers, counters, kill switch), every ring's
header and reader table, and the latency histograms. It never reads a record, never takes a
reader slot and never writes to the instance, so watching costs the hot path nothing but the
cache lines it loads. Segments that vanish (or come back under the same name) are noticed by
their inode on every ``collect``, and the snapshot says what is missing instead of failing.
"""

from __future__ import annotations

import os
import time

from .. import naming, procinfo, shm
from ..errors import HftshmError
from ..ring import header as H
from ..ring import reader_table as RT
from . import rings as ring_files
from .cpu import CpuMeter
from .snapshot import FeedSnap, Figures, ReaderSnap, RingSnap, Snapshot, StageSnap, WorkerSnap

# Counter names the ingest worker may keep (hftshm/runtime/agent.py: <= 15 chars each). The
# first present name of each tuple is used; gaps and malformed sum every name listed.
FEED_MESSAGES = ("msgs", "messages", "frames", "received", "records")
FEED_CONNECTED = ("connected",)
FEED_RECONNECTS = ("reconnects",)
FEED_GAPS = ("gaps", "trade_gaps", "agg_gaps", "depth_gaps", "seq_gaps")
FEED_MALFORMED = ("malformed", "malformed_json", "bad_fields")
RING_ORDER = ("md", "orders", "fills")  # the pipeline's order; other rings follow by name
LIVE_WORKER_STATES = ("starting", "running", "stopping")


def _first(counters: dict, names) -> int | None:
    return next((counters[n] for n in names if n in counters), None)


def _total(counters: dict, names) -> int | None:
    found = [counters[n] for n in names if n in counters]
    return sum(found) if found else None


class _Attached:
    """A mapped segment and the inode it was mapped from (to notice a removed or new one)."""

    def __init__(self, obj, path: str):
        self.obj = obj
        self.path = path
        self.inode = _inode(path)

    def stale(self) -> bool:
        return _inode(self.path) != self.inode


def _inode(path: str):
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


class Collector:
    """``collect()`` -> ``Snapshot`` of ``instance``; rates are over the time since the last call."""

    def __init__(self, instance: str, latency_window_s: float = 5.0):
        naming.check_name("instance", instance)
        self.instance = instance
        self.latency_window_s = latency_window_s
        self._control = None
        self._book = None
        self._rings: dict[str, _Attached] = {}
        self._cpu = CpuMeter()
        self._last_t: float | None = None
        self._last: dict = {}  # previous counter values, for rates

    # --- attaching --------------------------------------------------------------------------

    def _path(self, seg_name: str) -> str:
        return os.path.join(shm.SHM_DIR, seg_name)

    def _fresh(self, held: _Attached | None, seg_name: str, open_fn, problems: list, what: str):
        if held is not None and not held.stale():
            return held
        if held is not None:
            held.obj.close()
        try:
            return _Attached(open_fn(), self._path(seg_name))
        except HftshmError as exc:
            problems.append(f"{what}: {exc}")
            return None

    def _control_block(self, problems):
        from ..runtime.control import ControlBlock

        seg = naming.control_segment(self.instance)
        self._control = self._fresh(self._control, seg, lambda: ControlBlock.attach(self.instance), problems,
                                    "control block")
        return self._control.obj if self._control else None

    def _latency_book(self, problems):
        from ..latency import LatencyBook

        seg = naming.latency_segment(self.instance)
        self._book = self._fresh(self._book, seg, lambda: LatencyBook.attach(self.instance), problems,
                                 "latency book")
        return self._book.obj if self._book else None

    # --- collecting -------------------------------------------------------------------------

    def collect(self) -> Snapshot:
        now_ns = time.time_ns()
        t = time.monotonic()
        dt = None if self._last_t is None else t - self._last_t
        self._last_t = t
        last, self._last = self._last, {}
        problems: list[str] = []

        control = self._control_block(problems)
        head = self._instance(control, now_ns)
        workers = self._workers(control, now_ns, t) if control is not None else ()
        rings = tuple(self._ring(name, dt, last, problems) for name in self._ring_names())
        book = self._latency_book(problems)
        stages, lat_missing = self._stages(book, now_ns)
        feed = self._feed(workers, dt, last)
        trading = self._trading(control, problems)
        return Snapshot(instance=self.instance, taken_ns=now_ns, rings=rings, workers=workers, stages=stages,
                        latency_window_s=self.latency_window_s, latency_missing=lat_missing, feed=feed,
                        trading=trading, problems=tuple(problems), **head)

    def _instance(self, control, now_ns: int) -> dict:
        if control is None:
            return {"state": "missing"}
        from ..runtime import control_layout as C
        from ..runtime.control import trading_state_name

        state = C.INSTANCE_STATES.get(control.state, f"state {control.state}")
        if state != "stopped" and not control.supervisor_alive():
            state = "dead"
        started = control.started_ns
        return {"state": state, "supervisor_pid": control.supervisor_pid, "venue": control.venue,
                "uptime_s": (now_ns - started) / 1e9 if started > 0 else None,
                "kill_switch": trading_state_name(control.trading_state)}

    def _workers(self, control, now_ns: int, t: float) -> tuple[WorkerSnap, ...]:
        from ..runtime import control_layout as C

        out = []
        pids = []
        for slot in control.worker_slots():
            pid = control.worker_field(slot, C.W_PID)
            ticks = control.worker_field(slot, C.W_TICKS)
            state = C.WORKER_STATES.get(control.worker_field(slot, C.W_STATE), "?")
            alive = procinfo.alive(pid, ticks)
            if state in LIVE_WORKER_STATES and pid > 0 and not alive:
                state = "dead"
            beat = control.worker_field(slot, C.W_HEARTBEAT_NS)
            cpu = self._cpu.sample(pid, t) if alive else None
            if alive:
                pids.append(pid)
            out.append(WorkerSnap(
                name=control.worker_name(slot), role=control.worker_role(slot), state=state, pid=pid,
                alive=alive, heartbeat_age_s=(now_ns - beat) / 1e9 if beat > 0 else None,
                restarts=control.worker_field(slot, C.W_RESTARTS), cpu_pct=cpu,
                counters=control.counter_values(slot)))
        self._cpu.forget_others(pids)
        return tuple(out)

    def _ring_names(self) -> list[str]:
        names = ring_files.ring_names(self.instance)
        names.sort(key=lambda n: (RING_ORDER.index(n) if n in RING_ORDER else len(RING_ORDER), n))
        for gone in set(self._rings) - set(names):
            self._rings.pop(gone).obj.close()
        return names

    def _ring(self, name: str, dt, last: dict, problems: list) -> RingSnap:
        seg = naming.ring_segment(self.instance, name)
        held = self._fresh(self._rings.get(name), seg, lambda: ring_files.open_ring(self.instance, name), problems,
                           f"ring {name}")
        if held is None:
            self._rings.pop(name, None)
            return RingSnap(name=name, missing="cannot attach (see problems)")
        self._rings[name] = held
        ring = held.obj
        hdr = ring.hdr
        broadcast = ring.KIND == H.KIND_BROADCAST
        head = ring.counter(H.W_CURSOR if broadcast else H.W_CLAIM)
        cap = ring.capacity
        readers = []
        gating_cursors = []
        for slot in range(H.READER_SLOTS):
            r = self._reader(ring, slot, head, dt, last)
            if r is None:
                continue
            readers.append(r)
            if r.gating and r.state == "active":
                gating_cursors.append(r.cursor)
        key = ("ring", name)
        self._last[key] = head
        rate = (head - last[key]) / dt if dt and key in last and head >= last[key] else None
        ppid = ring.counter(H.W_PRODUCER_PID) if broadcast else 0
        return RingSnap(
            name=name, kind="broadcast" if broadcast else "many-to-one", layout=ring.layout.name, policy=ring.policy,
            capacity=cap, published=head, rate=rate,
            occupancy=(head - min(gating_cursors)) / cap if gating_cursors else None,
            overruns=ring.counter(H.W_OVERRUNS), waits=ring.counter(H.W_WAITS), lost=ring.counter(H.W_LOST),
            evictions=ring.counter(H.W_EVICTIONS), skipped=ring.counter(H.W_SKIPPED), producer_pid=ppid,
            producer_alive=procinfo.alive(ppid, 0) if ppid else None, symbols=int(hdr[H.W_SYMBOL_COUNT]),
            readers=tuple(readers))

    def _reader(self, ring, slot: int, head: int, dt, last: dict) -> ReaderSnap | None:
        hdr = ring.hdr
        word = int(hdr[RT.word(slot, RT.STATE)])
        code = word & RT.STATE_MASK
        if code in (RT.FREE, RT.CLAIMING):
            return None
        pid = int(hdr[RT.word(slot, RT.PID)])
        gating = bool(int(hdr[RT.word(slot, RT.FLAGS)]) & RT.FLAG_GATING)
        state = RT.STATE_NAMES.get(code, "?")
        if code == RT.ACTIVE and not procinfo.alive(pid, int(hdr[RT.word(slot, RT.PID_TICKS)])):
            if not gating:
                return None  # a killed ad-hoc reader (tail, a notebook): it holds nothing back
            state = "dead"
        name = ring.reader_name(slot)
        cursor = int(hdr[RT.word(slot, RT.CURSOR)])
        key = ("reader", ring.name, slot, name)
        self._last[key] = cursor
        rate = (cursor - last[key]) / dt if dt and key in last and cursor >= last[key] else None
        return ReaderSnap(
            name=name, gating=gating, wait=RT.WAIT_NAMES.get(int(hdr[RT.word(slot, RT.WAIT_CODE)]), "?"),
            state=state, pid=pid, cursor=cursor, lag=max(0, head - cursor), lost=int(hdr[RT.word(slot, RT.LOST)]),
            lapped=int(hdr[RT.word(slot, RT.LAPPED)]), evicted=int(hdr[RT.word(slot, RT.EVICTED)]), rate=rate)

    def _stages(self, book, now_ns: int):
        if book is None:
            return (), "no latency book"
        window = min(self.latency_window_s, book.max_window_s)
        out = []
        for name in book.stages:
            try:
                w = book.summary(name, window, now_ns=now_ns)
                a = book.summary(name, None, now_ns=now_ns)
            except HftshmError as exc:  # a window snapshot rewritten under us: skip this one
                return tuple(out), str(exc)
            out.append(StageSnap(name, _figures(w), _figures(a)))
        return tuple(out), None

    def _feed(self, workers, dt, last: dict) -> FeedSnap | None:
        ingest = next((w for w in workers if w.role == "ingest"), None)
        if ingest is None:
            return None
        c = dict(ingest.counters)
        msgs = _first(c, FEED_MESSAGES)
        key = ("feed", ingest.name)
        if msgs is not None:
            self._last[key] = msgs
        rate = (msgs - last[key]) / dt if dt and msgs is not None and key in last and msgs >= last[key] else None
        connected = _first(c, FEED_CONNECTED)
        if ingest.state != "running":
            connection = ingest.state
        elif connected is not None:
            connection = "connected" if connected else "disconnected"
        elif rate:  # no connection counter: tell by the messages
            connection = "receiving"
        else:
            connection = "connecting" if not msgs else "quiet"
        return FeedSnap(worker=ingest.name, connection=connection, msgs_per_s=rate, messages=msgs,
                        reconnects=_first(c, FEED_RECONNECTS), gaps=_total(c, FEED_GAPS),
                        malformed=_total(c, FEED_MALFORMED))

    def _trading(self, control, problems: list) -> dict:
        if control is None:
            return {}
        try:
            from ..trading.snapshot import figures

            return dict(figures(control) or {})
        except Exception as exc:  # the dashboard must outlive a bug in the trading figures
            problems.append(f"trading figures: {type(exc).__name__}: {exc}")
            return {}

    def close(self) -> None:
        for held in (self._control, self._book, *self._rings.values()):
            if held is not None:
                held.obj.close()
        self._control = self._book = None
        self._rings = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _figures(s: dict) -> Figures:
    return Figures(count=s["count"], p50_us=s["p50_us"], p99_us=s["p99_us"], p999_us=s["p999_us"],
                   max_us=s["max_us"], span_s=s["span_s"])
