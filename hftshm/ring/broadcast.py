"""Broadcast ring: one producer, many readers (market data).

The producer never waits for an ad-hoc reader. Gating readers hold it back under the ring's
policy: ``wait`` (the producer waits for the slowest; lossless) or ``overwrite`` (it never waits
and counts, in ``overruns``, every record it overwrote before the slowest gating reader read it).
A gating reader that dies stalls a ``wait`` producer for at most ``evict.STALL_CHECK_NS``.
"""

from __future__ import annotations

import time

import numpy as np
from numba import typeof

from .. import atomics as A
from .. import procinfo
from ..errors import HftshmError, RecordTypeError, RingConfigError
from ..layouts.base import Layout
from ..wait import make as make_wait
from . import header as H
from . import kernels as K
from .evict import STALL_CHECK_NS, ungate_blockers
from .fast import entry_point
from .pointers import address
from .reader import Reader, check_records
from .segment import RingSegment
from .wake import Waker


class BroadcastRing(RingSegment):
    KIND = H.KIND_BROADCAST

    @classmethod
    def create(cls, instance: str, name: str, layout: Layout, capacity: int, *, policy: str = "wait",
               symbols=(), stale_after_s: float = 2.0) -> "BroadcastRing":
        """Create the ring (0600). ``policy`` is 'wait' or 'overwrite'."""
        codes = {v: k for k, v in H.POLICY_NAMES.items()}
        if policy not in codes:
            raise RingConfigError(f"policy must be 'wait' or 'overwrite', got {policy!r}")
        return cls._create(instance, name, layout, capacity, codes[policy], list(symbols), stale_after_s)

    @classmethod
    def attach(cls, instance: str, name: str, layout: Layout | None = None) -> "BroadcastRing":
        """Attach by name; with ``layout``, refuse a ring holding any other layout."""
        return cls._attach(instance, name, layout)

    def publisher(self, wait=None, stamp: dict | None = None) -> "Publisher":
        return Publisher(self, wait, stamp)

    def reader(self, name: str | None = None, **options) -> Reader:
        return Reader(self, name, **options)

    def published(self) -> int:
        return int(A.load_acquire(self.hdr, H.W_CURSOR))


def _fast_publish(one, hdr_addr, slots_addr, dtype, wake, slow):
    """The per-record publish as a closure: no attribute lookups on the hot path."""
    ndarray = np.ndarray

    def publish(record) -> None:
        """Publish one record: a 1-record array of the ring's dtype (fastest), a numpy record
        or a tuple. The ring stamps ``seq`` and ``publish_ns``. Waits while a ``wait`` ring is full."""
        if record.__class__ is ndarray and record.dtype is dtype:
            r = one(hdr_addr, slots_addr, record)
            if r == 0:
                return
            if r > 0:  # published; parked readers to wake
                wake(r)
                return
        slow(record)  # not published: anything else, a full ring or a bad shape

    return publish


def stamp_word(dtype: np.dtype, stamp: dict | None) -> int:
    """``header.W_PRODUCER_STAMP`` for ``{field: value}``: one one-byte field of the layout, which
    the producer writes into every record it publishes (what was in it is overwritten)."""
    if not stamp:
        return 0
    if len(stamp) != 1:
        raise RingConfigError(f"a producer stamps one field, not {sorted(stamp)}")
    (name, value), = stamp.items()
    if name not in (dtype.names or ()) or dtype.fields[name][0].itemsize != 1:
        raise RingConfigError(f"stamp field {name!r} is not a one-byte field of the ring's records")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
        raise RingConfigError(f"stamp {name}={value!r}: a byte is 0..255")
    if dtype.fields[name][1] > 0xFFFF:
        raise RingConfigError(f"stamp field {name!r} lies past the first 64 KiB of the record")
    return H.STAMP_SET | dtype.fields[name][1] << 8 | value


class Publisher:
    """The ring's single producer. ``publish`` waits while a ``wait`` ring is full.

    ``stamp={"venue": 4}``: every record published gets that one-byte field (ingest names the
    venue of its md records this way, so no normalizer writes it)."""

    def __init__(self, ring: BroadcastRing, wait=None, stamp: dict | None = None):
        word = stamp_word(ring.layout.dtype, stamp)
        hdr = ring.hdr
        pid = procinfo.me()[0]
        owner = int(A.load_acquire(hdr, H.W_PRODUCER_PID))
        if owner and procinfo.alive(owner, 0):
            raise HftshmError(f"ring {ring.name!r} already has a live producer (pid {owner})")
        if A.compare_and_swap(hdr, H.W_PRODUCER_PID, owner, pid) != owner:
            raise HftshmError(f"ring {ring.name!r}: another producer attached at the same moment")
        self.ring = ring
        self.hdr = hdr
        self.slots = ring.slots
        self.dtype = ring.layout.dtype
        # A producer taking over from a dead one goes on from the last published record; its
        # predecessor's cached limit may predate readers that joined since, so rescan first.
        A.store_relaxed(hdr, H.W_PRODUCER_LIMIT, A.load_acquire(hdr, H.W_CURSOR))
        A.store_relaxed(hdr, H.W_PRODUCER_STAMP, word)  # ours, not a predecessor's
        self.wait_strategy = make_wait(wait)
        self._waker = Waker(ring)
        self._held = 0  # parked bits taken while holding wake-ups (hold_wakes)
        self._holding = False
        self._stage = np.zeros(1, self.dtype)
        self._out = np.zeros(1, np.int64)
        self._addrs = (address(hdr), address(ring.slots))
        self._one = entry_point(K.bc_publish_one_at, *self._addrs, self._stage)
        # compile (or load) the batch and room kernels now: compiled at a first run's first
        # publish_batch, they would stall the producer for seconds after it reported RUNNING,
        # which the kill switch reads as a stale feed
        K.bc_publish.compile(tuple(typeof(a) for a in (hdr, self.slots, self._stage, 0, 0, self._out)))
        K.bc_room.compile(tuple(typeof(a) for a in (hdr, 0, 1)))
        # a batch's entry point, typed for a C-contiguous record array: the dispatcher's type
        # resolution of a structured array was most of a 2-3 record batch's ~1.4 us
        self._batch = entry_point(K.bc_publish_at, *self._addrs, self._stage, 0, 0, self._out)
        self._capacity = ring.capacity
        self.publish = _fast_publish(self._one, *self._addrs, self.dtype, self._wake, self._publish_slow)
        self._closed = False

    def _publish_slow(self, record) -> None:
        """Anything but a plain 1-record array of our dtype, and every non-zero result."""
        if not (type(record) is np.ndarray and record.dtype is self.dtype):
            self._stage[0] = self._coerce(record)
            record = self._stage
        while True:
            r = self._one(*self._addrs, record)
            if r == 0:
                return
            if r > 0:
                self._wake(r)
                return
            if r == K.BAD_SHAPE:
                raise RecordTypeError(f"publish takes exactly one record; got an array of {len(record)}")
            self.wait_for_room(1)

    def try_publish(self, record) -> bool:
        """Like ``publish`` but returns False instead of waiting when the ring is full."""
        self._stage[0] = self._coerce(record)
        r = self._one(*self._addrs, self._stage)
        if r == K.FULL:
            A.fetch_add(self.hdr, H.W_WAITS, 1)
            return False
        if r > 0:
            self._wake(r)
        return True

    def publish_batch(self, records: np.ndarray) -> int:
        """Publish every record of ``records`` in order, waiting for room as needed."""
        if not (records.__class__ is np.ndarray and records.dtype is self.dtype and records.ndim == 1
                and records.flags.c_contiguous):
            check_records(records, self.dtype, "batch")
            records = np.ascontiguousarray(records)  # the entry point takes exactly this type
        n = len(records)
        if n > self._capacity:
            raise RingConfigError(f"a batch of {n} records is larger than the ring ({self._capacity})")
        out, addrs = self._out, self._addrs
        done = self._batch(*addrs, records, 0, n, out)
        while True:
            if woke := out[0]:
                self._wake(int(woke))
            if done == n:
                return n
            self.wait_for_room(n - done)
            done += self._batch(*addrs, records, done, n - done, out)

    def _coerce(self, record):
        if isinstance(record, np.ndarray):
            if record.dtype != self.dtype or record.size != 1:
                raise RecordTypeError(
                    f"publish takes one record of the ring's layout {self.ring.layout.name}; got "
                    f"{record.size} of dtype {record.dtype}"
                )
            return record.reshape(-1)[0]
        if isinstance(record, np.void):
            if record.dtype != self.dtype:
                raise RecordTypeError(f"record dtype {record.dtype} is not the ring's {self.dtype}")
            return record
        if isinstance(record, tuple):
            return record
        raise RecordTypeError(f"cannot publish a {type(record).__name__}: give a numpy record or tuple")

    def wake(self, bits: int) -> None:
        """Post the blocking readers in ``bits`` (what a numba publish kernel returned)."""
        self._wake(bits)

    def _wake(self, bits: int) -> None:
        if self._holding:
            self._held |= bits
        else:
            self._waker.wake(bits)

    def hold_wakes(self) -> None:
        """Until ``release_wakes``, keep the wake-ups publishes owe instead of sending them: a
        producer that publishes several records in one go (ingest, the messages of one socket
        read) wakes each parked reader once, after the last, and is not preempted by a reader it
        woke halfway. No wake-up is lost: a parked bit a publish took stays in ``_held`` until
        ``release_wakes`` (call it in a ``finally``)."""
        self._holding = True

    def release_wakes(self) -> None:
        """Send the wake-ups held since ``hold_wakes`` (one per parked reader) and stop holding."""
        self._holding = False
        bits, self._held = self._held, 0
        if bits:
            self._waker.wake(bits)

    def wait_for_room(self, want: int = 1) -> None:
        """Full ring (``wait`` policy): idle until the slowest gating reader frees room.

        Numba producers call this when a kernel returned FULL."""
        A.fetch_add(self.hdr, H.W_WAITS, 1)
        seq = self.next_seq
        since = time.monotonic_ns()
        strategy = self.wait_strategy
        while K.bc_room(self.hdr, seq, 1) == 0:
            if time.monotonic_ns() - since >= STALL_CHECK_NS:
                ungate_blockers(self.ring, seq)
                since = time.monotonic_ns()
            A.store_relaxed(self.hdr, H.W_PRODUCER_HEARTBEAT, time.time_ns())
            strategy.idle(0)
        strategy.reset()

    def claim(self, n: int = 1):
        """Zero-copy: reserve ``n`` records; returns a writable view, then call ``commit``."""
        cap = self.ring.capacity
        if not 1 <= n <= cap:
            raise RingConfigError(f"claim size must be 1..{cap}, got {n}")
        if (self.next_seq & self.ring.mask) + n > cap:
            raise RingConfigError("a zero-copy claim may not wrap the ring: claim fewer records")
        while True:
            seq = K.bc_claim(self.hdr, n)
            if seq >= 0:
                break
            self.wait_for_room(n)
        i = seq & self.ring.mask
        self._claimed = (seq, n)
        return self.slots[i : i + n]

    def commit(self) -> None:
        seq, n = self._claimed
        bits = K.bc_commit(self.hdr, self.slots, seq, n)
        if bits:
            self._wake(bits)

    def handle(self):
        """``(hdr, slots)`` for numba code: pass to ``kernels.bc_publish`` and friends. Hand a
        positive result to ``wake`` and, after FULL, call ``wait_for_room``."""
        return self.hdr, self.slots

    @property
    def next_seq(self) -> int:
        return int(A.load_relaxed(self.hdr, H.W_CURSOR))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        A.compare_and_swap(self.hdr, H.W_PRODUCER_PID, procinfo.me()[0], 0)
        self._waker.close()
        self.wait_strategy.close()
        self.publish = self._closed_publish
        self.hdr = self.slots = self._stage = None

    @staticmethod
    def _closed_publish(record):
        raise HftshmError("publisher is closed")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
