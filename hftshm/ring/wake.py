"""Posting the semaphores of parked blocking readers (the producer side of a blocking wait)."""

from __future__ import annotations

import posix_ipc

from .. import naming
from . import header as H
from . import reader_table as RT


class Waker:
    """Turns the parked bits a publish returned into ``sem_post`` calls.

    The semaphore of each reader slot is opened once and kept while the slot's generation
    (bumped on every attach) stays the same, so a wake-up costs one ``sem_post``.
    """

    def __init__(self, ring):
        self.ring = ring
        self._by_slot: dict[int, tuple[int, posix_ipc.Semaphore]] = {}
        self._sems: dict[str, posix_ipc.Semaphore] = {}
        self.posts = 0

    def wake(self, bits: int) -> None:
        slot = 0
        while bits:
            if bits & 1:
                self._post(slot)
            bits >>= 1
            slot += 1

    def _post(self, slot: int) -> None:
        if slot >= H.READER_SLOTS:
            return
        generation = int(self.ring.hdr[RT.word(slot, RT.GENERATION)])
        cached = self._by_slot.get(slot)
        if cached is not None and cached[0] == generation:
            cached[1].release()
            self.posts += 1
            return
        wake = self.ring.name_bytes(RT.slot_offset(slot) + RT.WAKE, RT.WAKE_LENGTH)
        if not wake:
            return
        name = naming.semaphore(self.ring.instance, wake)
        sem = self._sems.get(name)
        if sem is None:
            try:
                sem = posix_ipc.Semaphore(name)
            except posix_ipc.ExistentialError:
                return  # the reader is gone (and unlinked its semaphore)
            self._sems[name] = sem
        self._by_slot[slot] = (generation, sem)
        sem.release()
        self.posts += 1

    def close(self) -> None:
        for sem in self._sems.values():
            sem.close()
        self._sems.clear()
        self._by_slot.clear()
