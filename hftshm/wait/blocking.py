"""Blocking: sleep on a posix_ipc named semaphore until a producer posts it.

No CPU while idle. Before sleeping, each watched reader sets its bit in its ring's ``parked``
word (a seq_cst fetch-or) and re-checks for records; a producer, after its release store of the
cursor, runs a seq_cst fence and then loads ``parked``. That StoreLoad pair makes it impossible
for both to miss: either the reader sees the record or the producer sees the bit and posts, so no
wake-up is lost (kernels.rd_park). Costs: the producer pays a ``sem_post`` syscall per wake-up,
and the reader a futex wake-up (tens of us on a busy or virtualised machine). Polls ``spins``
times first; the default is 0: on the 2-core development VM 50 polls before parking doubled the
p50 (37 vs 17 us at 10k msgs/s) and cost 56% of a core instead of 8%, because polling competes
with the producer for the cores while a parked reader does not. ``timeout_s`` bounds each sleep, so a reader
also notices a closed ring or a stop request.
"""

from __future__ import annotations

import itertools
import os

import posix_ipc

from .. import naming
from .base import WaitStrategy

_ids = itertools.count()


class Blocking(WaitStrategy):
    name = "blocking"

    def __init__(self, spins: int = 0, timeout_s: float = 0.1):
        self.spins = spins
        self.timeout_s = timeout_s
        self._readers = []
        self._sem = None
        self._sem_name = None
        self._count = 0
        self.sleeps = 0
        self.timed_out = False  # whether the last sleep ended by timeout rather than a post

    def watch(self, reader) -> None:
        if reader.slot < 0:
            return  # anonymous readers cannot be woken: they just poll with timeouts
        if self._sem is None:
            wake = f"w{os.getpid()}.{next(_ids)}"
            self._sem_name = naming.semaphore(reader.ring.instance, wake)
            self._sem = posix_ipc.Semaphore(self._sem_name, posix_ipc.O_CREAT, mode=0o600, initial_value=0)
            self._wake = wake
        reader.set_wake(self._wake)
        self._readers.append(reader)

    def idle(self, work_count: int = 0) -> None:
        if work_count > 0:
            self._count = 0
            return
        self._count += 1
        if self._count <= self.spins:
            return
        if self._sem is None:
            os.sched_yield()
            return
        armed = []
        try:
            for reader in self._readers:
                if not reader.park():
                    return  # something arrived while arming: do not sleep
                armed.append(reader)
            try:
                self._sem.acquire(self.timeout_s)
                self.timed_out = False
            except posix_ipc.BusyError:
                self.timed_out = True  # the caller polls again
            self.sleeps += 1
        finally:
            for reader in armed:
                reader.unpark()

    def reset(self) -> None:
        self._count = 0

    def close(self) -> None:
        if self._sem is not None:
            self._sem.close()
            try:
                posix_ipc.unlink_semaphore(self._sem_name)
            except posix_ipc.ExistentialError:
                pass
            self._sem = None
        self._readers.clear()
