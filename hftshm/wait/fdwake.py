"""Blocking on a file descriptor: the wait an asyncio loop can watch (``loop.add_reader``).

The same park protocol as ``Blocking`` (kernels.rd_park), but the producer's wake-up is one
1-byte datagram to a Unix socket in the abstract namespace instead of a ``sem_post``, so the
consumer can sleep in the event loop's own ``epoll`` next to its network sockets: no helper
thread, no ``call_soon_threadsafe``, one wake-up per order instead of two.

No lost wake-up: ``arm()`` sets each reader's parked bit with a seq_cst fetch-or (a full
barrier) and then re-checks the ring; a producer, after its release store of the cursor or
commit word, runs a seq_cst fence and then loads ``parked`` (kernels._wake). Either the
reader's re-check sees the record, or the producer sees the bit and sends the datagram, which
stays queued in the socket (level-triggered readiness) until ``drain()``. A datagram that comes
after the reader woke for another reason is a harmless spurious wake-up; so is one sent by a
stranger (abstract sockets have no file permissions): the reader only ever re-checks the ring.

The reader slot's wake name is ``@<pid>.<n>``; the socket address is
``\\0hftshm.<instance>.f.<pid>.<n>``. Abstract names vanish with the socket: nothing is left
in /dev/shm or on disk after a crash.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import select
import socket

from .base import WaitStrategy

PREFIX = "@"  # wake names starting with this are sockets; others are semaphores (Blocking)
_ids = itertools.count()


def address(instance: str, wake: str) -> bytes:
    """The abstract socket address of wake name ``wake`` (``@<pid>.<n>``) in ``instance``."""
    return f"\0hftshm.{instance}.f.{wake[len(PREFIX):]}".encode()


def _expire(fut) -> None:
    if not fut.done():
        fut.set_result(False)


class FdWake(WaitStrategy):
    """Park the watched readers and sleep until a producer's datagram (or the timeout).

    Sync: ``idle()`` (spins, then ``poll`` on the socket). Async: ``attach(loop)`` once, then
    ``await wait_async(timeout)``. Reported as "blocking" in the reader table.
    """

    name = "blocking"

    def __init__(self, spins: int = 0, timeout_s: float = 0.1):
        self.spins = spins
        self.timeout_s = timeout_s
        self._readers = []
        self._sock = None
        self._poll = None
        self.wake = ""
        self._count = 0
        self._loop = None
        self._waiter = None
        self.sleeps = 0
        self.wakeups = 0  # datagrams drained
        self.timed_out = False  # whether the last sync sleep ended by timeout rather than a datagram

    # --- set-up ------------------------------------------------------------------------------
    def watch(self, reader) -> None:
        if reader.slot < 0:
            return  # anonymous readers cannot be woken: they just poll with timeouts
        if self._sock is None:
            self.wake = f"{PREFIX}{os.getpid()}.{next(_ids)}"
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
            sock.bind(address(reader.ring.instance, self.wake))
            self._sock = sock
            self._poll = select.poll()
            self._poll.register(sock.fileno(), select.POLLIN)
        reader.set_wake(self.wake)
        self._readers.append(reader)

    def fileno(self) -> int:
        return self._sock.fileno()

    # --- the park protocol -------------------------------------------------------------------
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

    def drain(self) -> int:
        """Consume queued wake-up datagrams; returns how many."""
        n = 0
        recv = self._sock.recv
        while True:
            try:
                recv(64)
            except (BlockingIOError, InterruptedError):
                self.wakeups += n
                return n
            n += 1

    # --- sync use ----------------------------------------------------------------------------
    def idle(self, work_count: int = 0) -> None:
        if work_count > 0:
            self._count = 0
            return
        self._count += 1
        if self._count <= self.spins:
            return
        if self._sock is None or not self.arm():
            os.sched_yield()
            return
        try:
            self.timed_out = not self._poll.poll(int(self.timeout_s * 1000))
            self.drain()
            self.sleeps += 1
        finally:
            self.disarm()

    def reset(self) -> None:
        self._count = 0

    # --- asyncio use -------------------------------------------------------------------------
    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Watch the socket in ``loop`` (level-triggered) for ``wait_async``; idempotent."""
        if self._loop is loop:
            return
        if self._loop is not None:
            self._loop.remove_reader(self._sock.fileno())
        self._loop = loop
        loop.add_reader(self._sock.fileno(), self._on_readable)

    def _on_readable(self) -> None:
        self.drain()
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(True)

    async def wait_async(self, timeout: float) -> bool:
        """Park and sleep in the loop until woken (True) or ``timeout`` s pass (False). Returns
        True at once if a watched reader has something to read."""
        if not self.arm():
            return True
        loop = self._loop
        fut = self._waiter = loop.create_future()
        timer = loop.call_later(timeout, _expire, fut)
        self.sleeps += 1
        try:
            return await fut
        finally:
            timer.cancel()
            self._waiter = None
            self.disarm()

    def close(self) -> None:
        if self._sock is not None:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        self._loop = None
        self._readers.clear()
