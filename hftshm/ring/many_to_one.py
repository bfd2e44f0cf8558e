"""Many-to-one ring: several producers, one consumer (orders).

Producers claim slots by compare-and-swap and nothing is ever overwritten or lost: a full ring
makes ``offer`` return False (``put`` waits). A producer that dies between claim and commit
cannot wedge the consumer: the reader finds the record claimed but uncommitted, sees that no live
producer can own it (``producer_table``), skips it and counts it in ``skipped``. The consumer and
any journal attach as gating readers; ``hftshm tail`` as an ad-hoc one.
"""

from __future__ import annotations

import time

import numpy as np

from .. import atomics as A
from .. import procinfo
from ..errors import HftshmError, ReaderTableFull, RecordTypeError, RingConfigError
from ..layouts.base import Layout
from ..wait import make as make_wait
from . import header as H
from . import kernels as K
from . import producer_table as PT
from .evict import STALL_CHECK_NS, ungate_blockers
from .fast import entry_point
from .reader import Reader, check_records
from .segment import RingSegment
from .wake import Waker

OK = 0


class ManyToOneRing(RingSegment):
    KIND = H.KIND_MANY_TO_ONE

    @classmethod
    def create(cls, instance: str, name: str, layout: Layout, capacity: int, *, symbols=(),
               stale_after_s: float = 2.0) -> "ManyToOneRing":
        return cls._create(instance, name, layout, capacity, H.POLICY_WAIT, list(symbols), stale_after_s)

    @classmethod
    def attach(cls, instance: str, name: str, layout: Layout | None = None) -> "ManyToOneRing":
        return cls._attach(instance, name, layout)

    def producer(self, name: str = "", wait=None) -> "Producer":
        return Producer(self, name, wait)

    def reader(self, name: str | None = None, **options) -> Reader:
        return Reader(self, name, **options)

    def published(self) -> int:
        """Sequences claimed so far (committed, in flight, or skipped)."""
        return int(A.load_acquire(self.hdr, H.W_CLAIM))


class AbandonedError(HftshmError):
    """The record was claimed but a reader took this producer for dead and skipped it."""


class Producer:
    """One of the ring's producers; each process (or thread) uses its own."""

    def __init__(self, ring: ManyToOneRing, name: str = "", wait=None):
        self.ring = ring
        self.hdr = ring.hdr
        self.slots = ring.slots
        self.dtype = ring.layout.dtype
        self.pst = np.zeros(K.P_WORDS, np.int64)
        self.slot = self._claim_slot(name)
        self.pst[K.P_SLOT] = self.slot
        self.wait_strategy = make_wait(wait)
        self._waker = Waker(ring)
        self._stage = np.zeros(1, self.dtype)
        self._offer = entry_point(K.m2o_offer, self.hdr, ring.slots, self.pst, self._stage, 0, 1)
        self._closed = False

    def _claim_slot(self, name: str) -> int:
        hdr = self.hdr
        pid, ticks = procinfo.me()
        for p in range(H.PRODUCER_SLOTS):
            w = PT.word(p, PT.STATE)
            state = int(A.load_acquire(hdr, w))
            if state != PT.FREE:
                owner = int(hdr[PT.word(p, PT.PID)])
                if procinfo.alive(owner, int(hdr[PT.word(p, PT.PID_TICKS)])):
                    continue
                if A.load_seq_cst(hdr, PT.word(p, PT.CLAIMING)):
                    continue  # a dead producer's claim: readers still need its lo/hi to skip it
            if A.compare_and_swap(hdr, w, state, PT.CLAIMING_SLOT) != state:
                continue
            hdr[PT.word(p, PT.PID)] = pid
            hdr[PT.word(p, PT.PID_TICKS)] = ticks
            hdr[PT.word(p, PT.CLAIM_LO)] = -1
            hdr[PT.word(p, PT.HEARTBEAT_NS)] = time.time_ns()
            for field in (PT.COMMITS, PT.ABANDONED, PT.FULLS):
                hdr[PT.word(p, field)] = 0
            self.ring.put_name_bytes(PT.slot_offset(p) + PT.NAME, name or f"p{pid}", PT.NAME_LENGTH)
            A.store_release(hdr, w, PT.ACTIVE)
            return p
        raise ReaderTableFull(f"ring {self.ring.name!r}: all {H.PRODUCER_SLOTS} producer slots are held by live producers")

    def offer(self, record) -> bool:
        """Publish one record if there is room; False if the ring is full (nothing written).

        Raises AbandonedError if the record was claimed but skipped (only happens to a producer
        that was stopped long enough to be taken for dead): it was not delivered.
        """
        if type(record) is np.ndarray and record.dtype is self.dtype and record.shape == (1,):
            r = self._offer(self.hdr, self.slots, self.pst, record, 0, 1)
        else:
            self._stage[0] = self._coerce(record)
            r = self._offer(self.hdr, self.slots, self.pst, self._stage, 0, 1)
        return self._result(r, 1)

    def put(self, record, timeout: float | None = None) -> bool:
        """Publish one record, waiting while the ring is full; False on timeout."""
        if self.offer(record):
            return True
        return self._retry(lambda: self.offer(record), timeout)

    def offer_batch(self, records: np.ndarray) -> bool:
        """Publish a whole batch atomically-in-order (one claim) if it fits; else False."""
        check_records(records, self.dtype, "batch")
        n = len(records)
        if n == 0:
            return True
        if n > self.ring.capacity:
            raise RingConfigError(f"a batch of {n} records is larger than the ring ({self.ring.capacity})")
        r = K.m2o_offer(self.hdr, self.slots, self.pst, records, 0, n)
        return self._result(r, n)

    def put_batch(self, records: np.ndarray, timeout: float | None = None) -> bool:
        if self.offer_batch(records):
            return True
        return self._retry(lambda: self.offer_batch(records), timeout)

    def _result(self, r: int, n: int) -> bool:
        if r >= 0:
            if r:
                self._waker.wake(r)
            return True
        if r == K.FULL:
            A.fetch_add(self.hdr, PT.word(self.slot, PT.FULLS), 1)
            return False
        raise AbandonedError(
            f"ring {self.ring.name!r}: {-r - 1} of {n} records were skipped by a reader that took "
            "this producer for dead; they were not delivered"
        )

    def _retry(self, attempt, timeout):
        A.fetch_add(self.hdr, H.W_WAITS, 1)
        deadline = None if timeout is None else time.monotonic() + timeout
        since = time.monotonic_ns()
        strategy = self.wait_strategy
        while True:
            strategy.idle(0)
            if attempt():
                strategy.reset()
                return True
            if time.monotonic_ns() - since >= STALL_CHECK_NS:
                ungate_blockers(self.ring, int(A.load_acquire(self.hdr, H.W_CLAIM)))
                since = time.monotonic_ns()
            if deadline is not None and time.monotonic() >= deadline:
                return False

    def _coerce(self, record):
        if isinstance(record, (np.ndarray, np.void)):
            if record.dtype != self.dtype or record.size != 1:
                raise RecordTypeError(
                    f"offer takes one record of the ring's layout {self.ring.layout.name}; got "
                    f"{record.size} of dtype {record.dtype}"
                )
            return record.reshape(-1)[0] if isinstance(record, np.ndarray) else record
        if isinstance(record, tuple):
            return record
        raise RecordTypeError(f"cannot offer a {type(record).__name__}: give a numpy record or tuple")

    def handle(self):
        """``(hdr, slots, pst)`` for numba code: pass to ``kernels.m2o_claim``/``m2o_commit``."""
        return self.hdr, self.slots, self.pst

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        A.store_release(self.hdr, PT.word(self.slot, PT.STATE), PT.FREE)
        self._waker.close()
        self.wait_strategy.close()
        self.hdr = self.slots = self._stage = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
