"""Blocking on a file descriptor: the wait an asyncio loop can watch (``loop.add_reader``).

The same park protocol as ``Blocking`` (kernels.rd_park), but the producer's wake-up is one
1-byte datagram to a Unix socket in the abstract namespace instead of a ``sem_post``, so the
consumer can sleep in the event loop's own ``epoll`` next to its network sockets: no helper
thread, no ``call_soon_threadsafe``, one wake-up per order instead of two.

No lost wake-up: the park protocol of ``parking.py``; a datagram stays queued in the socket
(level-triggered readiness) until ``drain()``. A datagram that comes after the reader woke for
another reason is a harmless spurious wake-up; so is one sent by a stranger (abstract sockets
have no file permissions): the reader only ever re-checks the ring.

The reader slot's wake name is ``@<random>`` (``naming.wake_token``: 96 random bits, drawn anew
for every socket); the socket address is ``\\0hftshm.<instance>.f.<random>``. Any local user may
bind any abstract name, so a predictable one (a pid and a counter) could be taken first and make
the reader fail to start; a random one cannot be guessed, and the only place it is written is the
reader slot, in owner-only shared memory. A name already bound (by chance) is drawn again.
Abstract names vanish with the socket: nothing is left in /dev/shm or on disk after a crash.
"""

from __future__ import annotations

import asyncio
import errno
import select
import socket

from .. import naming
from .parking import Parking

PREFIX = "@"  # wake names starting with this are sockets; others are semaphores (Blocking)
BIND_TRIES = 8  # fresh random names tried before giving up (one collision is ~2**-96 by chance)


def address(instance: str, wake: str) -> bytes:
    """The abstract socket address of wake name ``wake`` (``@<random>``) in ``instance``."""
    return f"\0hftshm.{instance}.f.{wake[len(PREFIX):]}".encode()


def _expire(fut) -> None:
    if not fut.done():
        fut.set_result(False)


class FdWake(Parking):
    """Park the watched readers and sleep until a producer's datagram (or the timeout).

    Sync: ``idle()`` (spins, then ``poll`` on the socket). Async: ``attach(loop)`` once, then
    ``await wait_async(timeout)``. Reported as "blocking" in the reader table.
    """

    def __init__(self, spins: int = 0, timeout_s: float = 0.1):
        super().__init__(spins, timeout_s)
        self._sock = None
        self._poll = None
        self._loop = None
        self._waiter = None
        self.wakeups = 0  # datagrams drained
        self._local = []  # readers whose producer runs on this thread and nudges (watch_local)
        self._nudged = False  # a nudge that found no wait: the next wait_async returns at once
        self.on_ready = None  # run in the wake-up's own callback during wait_async (see _on_readable)
        self.handled = 0  # wake-ups on_ready handled while the wait went on

    def _open(self, reader) -> str:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
        for _ in range(BIND_TRIES):
            wake = PREFIX + naming.wake_token()
            try:
                sock.bind(address(reader.ring.instance, wake))
                break
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    sock.close()
                    raise
        else:
            sock.close()
            raise OSError(errno.EADDRINUSE, f"no free wake-up socket name in {BIND_TRIES} random tries")
        self._sock = sock
        self._poll = select.poll()
        self._poll.register(sock.fileno(), select.POLLIN)
        return wake

    def fileno(self) -> int:
        return self._sock.fileno()

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

    def _sleep(self) -> bool:
        woken = bool(self._poll.poll(int(self.timeout_s * 1000)))
        self.drain()
        return woken

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
        """The socket is readable: end the wait, unless ``on_ready()`` (if set) handles what woke
        it. A waiter resumed through the future runs a round of the loop later (its task is
        scheduled, then stepped); on_ready runs now, in this callback. It returns True when it
        read everything there was: the wait goes on, its readers parked again (a producer took
        their bits with its wake-up: ``arm()`` sets them and re-checks, so a record published
        meanwhile ends the wait rather than being missed). Its exception ends the wait with it.

        One datagram per call: the loop calls again while more are queued (level-triggered), and
        the usual single one is read without a second ``recv`` and its exception (a few us, and
        tens in a process just woken)."""
        try:
            self._sock.recv(64)
            self.wakeups += 1
        except (BlockingIOError, InterruptedError):
            pass
        w = self._waiter
        if w is None or w.done():
            return
        if self.on_ready is not None:
            try:
                if self.on_ready() and self.arm():
                    self.handled += 1
                    return
            except Exception as exc:
                if not w.done():
                    w.set_exception(exc)
                return
        if not w.done():  # (on_ready may have ended it: a nudge)
            w.set_result(True)

    def watch_local(self, reader) -> None:
        """Watch ``reader`` without parking it: its producer runs on this thread (the feed
        execution hosts) and calls ``nudge`` after publishing, so it never sends a datagram (a
        syscall, then a round of the loop's epoll and a drain) to wake its own process."""
        self._local.append(reader)

    def nudge(self) -> None:
        """End this thread's ``wait_async`` now, or the next one at once if none is on (the
        producer published while the waiter was busy); a spurious nudge only re-checks."""
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(True)
        else:
            self._nudged = True

    async def wait_async(self, timeout: float) -> bool:
        """Park and sleep in the loop until woken (True) or ``timeout`` s pass (False). Returns
        True at once if a watched reader has something to read, or after a nudge (no await lies
        between these checks and the sleep, so a nudge from this thread cannot fall between)."""
        if self._nudged or any(r.pending() for r in self._local):
            self._nudged = False
            return True
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
        self._local.clear()
