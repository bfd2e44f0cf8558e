"""Blocking: sleep on a posix_ipc named semaphore until a producer posts it.

No CPU while idle; no wake-up lost (the park protocol of ``parking.py``: a post stays in the
semaphore's count until the sleep takes it). Costs: the producer pays a ``sem_post`` syscall per wake-up,
and the reader a futex wake-up (tens of us on a busy or virtualised machine). Polls ``spins``
times first; the default is 0: on the 2-core development VM 50 polls before parking doubled the
p50 (37 vs 17 us at 10k msgs/s) and cost 56% of a core instead of 8%, because polling competes
with the producer for the cores while a parked reader does not.
``timeout_s`` bounds each sleep, so a reader also notices a closed ring or a stop request.
"""

from __future__ import annotations

import posix_ipc

from .. import naming
from .parking import Parking

CREATE_TRIES = 8  # fresh random names tried before giving up


class Blocking(Parking):
    name = "blocking"

    def __init__(self, spins: int = 0, timeout_s: float = 0.1):
        super().__init__(spins, timeout_s)
        self._sem = None
        self._sem_name = None

    def _open(self, reader) -> str:
        # A random name (naming.wake_token), created exclusively: nobody can create it first (a
        # squatted name is drawn again) and nobody else's semaphore is ever opened by mistake.
        for _ in range(CREATE_TRIES):
            wake = "w" + naming.wake_token()
            name = naming.semaphore(reader.ring.instance, wake)
            try:
                self._sem = posix_ipc.Semaphore(name, posix_ipc.O_CREX, mode=0o600, initial_value=0)
            except posix_ipc.ExistentialError:
                continue
            self._sem_name = name
            return wake
        raise posix_ipc.ExistentialError(f"no free wake-up semaphore name in {CREATE_TRIES} random tries")

    def _sleep(self) -> bool:
        try:
            self._sem.acquire(self.timeout_s)
            return True
        except posix_ipc.BusyError:
            return False  # the caller polls again
        except posix_ipc.SignalError:
            # a signal (the supervisor's SIGTERM at stop) interrupted the wait: its handler has run,
            # so return and let the runner see the stop request instead of dying with the error
            return False

    def close(self) -> None:
        if self._sem is not None:
            self._sem.close()
            try:
                posix_ipc.unlink_semaphore(self._sem_name)
            except posix_ipc.ExistentialError:
                pass
            self._sem = None
        self._readers.clear()
