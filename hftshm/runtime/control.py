"""The instance control block: who runs, their heartbeats and counters, and the kill switch."""

from __future__ import annotations

import time

import numpy as np

from .. import atomics as A
from .. import naming, preamble, procinfo, shm
from ..errors import InstanceError, SegmentCorrupt
from . import control_layout as C

# Trading states (the kill switch): the values the trading word stores, reasons.TS_* (see
# control_layout.py); 0 is unset and, like any unknown value, means halted.
ACTIVE, REDUCE_ONLY, HALTED = C.TS_ACTIVE, C.TS_REDUCE_ONLY, C.TS_HALTED
TRADING_STATES = C.TRADING_STATE_NAMES


def trading_state_name(state: int) -> str:
    """"active", "reduce-only", "halted"; an unset or unknown word reads "... (halted)"."""
    state = int(state)
    if state in TRADING_STATES:
        return TRADING_STATES[state]
    return "unset (halted)" if state == C.TS_UNSET else f"unknown {state} (halted)"


def _put(buf, offset: int, text: str, length: int) -> None:
    raw = text.encode("ascii")[: length - 1]
    buf[offset : offset + length] = raw.ljust(length, b"\0")


def _get(buf, offset: int, length: int) -> str:
    return bytes(buf[offset : offset + length]).split(b"\0", 1)[0].decode("ascii", "replace")


class ControlBlock:
    def __init__(self, seg: shm.Segment, instance: str):
        self._seg = seg
        self.instance = instance
        self.buf = seg.buf
        self.words = np.frombuffer(seg.buf, np.int64, C.SEGMENT_SIZE // 8)

    @classmethod
    def create(cls, instance: str, venue: str = "") -> "ControlBlock":
        name = naming.control_segment(instance)
        try:
            seg = shm.Segment.create(name, C.SEGMENT_SIZE)
        except FileExistsError:
            raise InstanceError(f"instance {instance!r} already exists ({name}); is it running? "
                                "`hftshm ls` lists instances, `hftshm clean` removes dead ones") from None
        block = cls(seg, instance)
        w = block.words
        pid, ticks = preamble.stamp(seg.buf, preamble.KIND_CONTROL, C.SEGMENT_SIZE)
        w[C.word(C.SUPERVISOR_PID)] = pid
        w[C.word(C.SUPERVISOR_TICKS)] = ticks
        w[C.word(C.STARTED_NS)] = time.time_ns()
        w[C.word(C.INSTANCE_STATE)] = C.STARTING
        _put(seg.buf, C.NAME, instance, C.NAME_LENGTH)
        _put(seg.buf, C.VENUE, venue, C.NAME_LENGTH)
        preamble.publish(w)  # valid from here on: the magic goes last
        return block

    @classmethod
    def attach(cls, instance: str) -> "ControlBlock":
        seg = shm.Segment.attach(naming.control_segment(instance))
        try:
            preamble.check(seg.buf, naming.control_segment(instance), preamble.KIND_CONTROL, "a control block")
            if seg.size < C.SEGMENT_SIZE:
                raise SegmentCorrupt(f"control block of {instance!r} is {seg.size} B, expected {C.SEGMENT_SIZE}")
        except SegmentCorrupt:
            seg.close()
            raise
        return cls(seg, instance)

    # --- instance -------------------------------------------------------------------------------

    def _load(self, offset: int) -> int:
        return int(A.load_acquire(self.words, C.word(offset)))

    def _store(self, offset: int, value: int) -> None:
        A.store_release(self.words, C.word(offset), value)

    @property
    def state(self) -> int:
        return self._load(C.INSTANCE_STATE)

    def set_state(self, state: int) -> None:
        if state == C.STOPPING:
            self._store(C.STOPPING_NS, time.time_ns())
        self._store(C.INSTANCE_STATE, state)

    @property
    def supervisor_pid(self) -> int:
        return self._load(C.SUPERVISOR_PID)

    def supervisor_alive(self) -> bool:
        return procinfo.alive(self._load(C.SUPERVISOR_PID), self._load(C.SUPERVISOR_TICKS))

    @property
    def started_ns(self) -> int:
        return self._load(C.STARTED_NS)

    @property
    def venue(self) -> str:
        return _get(self.buf, C.VENUE, C.NAME_LENGTH)

    # --- kill switch ----------------------------------------------------------------------------

    @property
    def trading_state(self) -> int:
        return self._load(C.TRADING_STATE)

    @property
    def trading_reason(self) -> int:
        return self._load(C.TRADING_REASON)

    @property
    def trading_changed_ns(self) -> int:
        return self._load(C.TRADING_CHANGED_NS)

    @property
    def cancel_open(self) -> bool:
        return bool(self._load(C.CANCEL_OPEN))

    def set_trading(self, state: int, reason: int = 0, cancel_open: bool = False) -> int:
        """Store a kill-switch change; returns the time it was visible (ns). Call it through
        ``hftshm.risk.killswitch``, which holds the rules. The state store is a release and comes
        after the reason, time and cancel flag; the fetch-add on ``changes`` after it is a full
        barrier, so the clock read that follows is taken once the new state is visible: every
        check that starts at or after the returned time sees it."""
        if state not in TRADING_STATES:
            raise ValueError(f"unknown trading state {state}; expected one of {sorted(TRADING_STATES)}")
        self._store(C.TRADING_REASON, reason)
        self._store(C.TRADING_CHANGED_NS, time.time_ns())  # when the write began
        self._store(C.CANCEL_OPEN, int(cancel_open))
        self._store(C.TRADING_STATE, state)
        A.fetch_add(self.words, C.word(C.TRADING_CHANGES), 1)
        return time.time_ns()

    @property
    def trading_changes(self) -> int:
        return self._load(C.TRADING_CHANGES)

    @property
    def protection_cause(self) -> int:
        """What execution's protection watch sees now (RISK_DOWN, JOURNAL_DOWN, or 0)."""
        return self._load(C.PROTECTION_CAUSE)

    def set_protection(self, cause: int, now_ns: int) -> None:
        self._store(C.PROTECTION_NS, now_ns)
        self._store(C.PROTECTION_CAUSE, cause)

    @property
    def held_cause(self) -> int:
        """A cause a worker holds until it clears it (the journal while it cannot write), or 0."""
        return self._load(C.HELD_CAUSE)

    def set_held_cause(self, cause: int) -> None:
        self._store(C.HELD_CAUSE, cause)

    def trading_word_index(self) -> int:
        """Index of the kill-switch word in ``words`` (for numba code that checks it)."""
        return C.word(C.TRADING_STATE)

    # --- workers --------------------------------------------------------------------------------

    def claim_worker(self, name: str, role: str) -> int:
        """A slot for worker ``name`` (supervisor side): its old slot if it ran before, else free."""
        free = None
        for slot in range(C.WORKER_SLOTS):
            if self.worker_name(slot) == name:
                return slot
            if free is None and self._load(C.worker_offset(slot) + C.W_STATE) == C.FREE:
                free = slot
        if free is None:
            raise InstanceError(f"instance {self.instance!r}: all {C.WORKER_SLOTS} worker slots are used")
        base = C.worker_offset(free)
        _put(self.buf, base + C.W_NAME, name, C.NAME_LENGTH)
        _put(self.buf, base + C.W_ROLE, role, C.NAME_LENGTH)
        self._store(base + C.W_STATE, C.W_STARTING)
        return free

    def worker_slots(self) -> list[int]:
        return [s for s in range(C.WORKER_SLOTS) if self._load(C.worker_offset(s) + C.W_STATE) != C.FREE]

    def find_worker(self, name: str) -> int:
        for slot in self.worker_slots():
            if self.worker_name(slot) == name:
                return slot
        raise InstanceError(f"instance {self.instance!r} has no worker {name!r}")

    def worker_name(self, slot: int) -> str:
        return _get(self.buf, C.worker_offset(slot) + C.W_NAME, C.NAME_LENGTH)

    def worker_role(self, slot: int) -> str:
        return _get(self.buf, C.worker_offset(slot) + C.W_ROLE, C.NAME_LENGTH)

    def worker_field(self, slot: int, field: int) -> int:
        return self._load(C.worker_offset(slot) + field)

    def set_worker_field(self, slot: int, field: int, value: int) -> None:
        self._store(C.worker_offset(slot) + field, value)

    def add_restart(self, slot: int) -> None:
        A.fetch_add(self.words, C.word(C.worker_offset(slot) + C.W_RESTARTS), 1)

    def counters(self, slot: int) -> np.ndarray:
        """The worker's counter values (an int64 view: its worker writes, anyone reads)."""
        start = C.word(C.worker_offset(slot) + C.W_COUNTERS)
        return self.words[start : start + C.COUNTERS]

    def set_counter_names(self, slot: int, names) -> None:
        names = list(names)
        if len(names) > C.COUNTERS:
            raise ValueError(f"a worker has at most {C.COUNTERS} counters, got {len(names)}")
        base = C.worker_offset(slot) + C.W_COUNTER_NAMES
        for i in range(C.COUNTERS):
            _put(self.buf, base + i * C.COUNTER_NAME_LENGTH, names[i] if i < len(names) else "", C.COUNTER_NAME_LENGTH)

    def counter_values(self, slot: int) -> dict[str, int]:
        base = C.worker_offset(slot) + C.W_COUNTER_NAMES
        values = self.counters(slot)
        out = {}
        for i in range(C.COUNTERS):
            name = _get(self.buf, base + i * C.COUNTER_NAME_LENGTH, C.COUNTER_NAME_LENGTH)
            if name:
                out[name] = int(values[i])
        return out

    def risk_buffer(self) -> memoryview:
        return self.buf[C.RISK_OFFSET : C.RISK_OFFSET + C.RISK_LENGTH]

    # --- lifetime -------------------------------------------------------------------------------

    def close(self) -> None:
        self.words = self.buf = None
        self._seg.close()

    def unlink(self) -> None:
        shm.unlink(naming.control_segment(self.instance))
