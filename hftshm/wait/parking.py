"""What the sleeping strategies share: poll ``spins`` times, then park every watched reader
and sleep on a wake channel until a producer signals it (or a timeout).

No lost wake-up: ``arm`` sets each reader's parked bit with a seq_cst fetch-or (a full barrier)
and re-checks its ring (kernels.rd_park); a producer, after its release store of the cursor or
commit word, runs a seq_cst fence and then loads ``parked`` (kernels._wake). Either the reader's
re-check sees the record, or the producer sees the bit and signals the channel, whose signal
stays pending until the sleep consumes it. Subclasses give the channel: ``_open(reader)``
returns the wake name stored in the reader slot, ``_sleep()`` waits on it.
"""

from __future__ import annotations

import os

from .base import WaitStrategy


class Parking(WaitStrategy):
    name = "blocking"

    def __init__(self, spins: int = 0, timeout_s: float = 0.1):
        self.spins = spins
        self.timeout_s = timeout_s
        self._readers = []
        self._count = 0
        self.wake = ""  # this strategy's wake name, once a reader is watched
        self.sleeps = 0
        self.timed_out = False  # whether the last sleep ended by timeout rather than a signal

    def watch(self, reader) -> None:
        super().watch(reader)
        if reader.slot < 0:
            return  # anonymous readers cannot be woken: they just poll with timeouts
        if not self.wake:
            self.wake = self._open(reader)
        reader.set_wake(self.wake)
        self._readers.append(reader)

    def arm(self) -> bool:
        """Set every watched reader's parked bit; True if all are empty and it is safe to sleep
        (then call ``disarm()`` after the sleep). False: something is readable, nothing armed."""
        armed = 0
        for reader in self._readers:
            if not reader.park():
                for r in self._readers[:armed]:
                    r.unpark()
                return False
            armed += 1
        return bool(armed)

    def disarm(self) -> None:
        for reader in self._readers:
            reader.unpark()

    def idle(self, work_count: int = 0) -> None:
        if work_count > 0:
            self._count = 0
            return
        self._count += 1
        if self._count <= self.spins:
            return
        if not self.arm():  # something to read, or nothing that could wake us
            if not self._readers:
                os.sched_yield()
            return
        try:
            self.timed_out = not self._sleep()
            self.sleeps += 1
        finally:
            self.disarm()

    def reset(self) -> None:
        self._count = 0

    def _open(self, reader) -> str:
        """Create the wake channel in ``reader``'s instance; return its wake name."""
        raise NotImplementedError

    def _sleep(self) -> bool:
        """Wait on the channel up to ``timeout_s``; True if signalled, False on timeout."""
        raise NotImplementedError
