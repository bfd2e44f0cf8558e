"""Waking parked blocking readers (the producer side of a blocking wait).

A reader slot's wake name says how: ``w<token>`` is a posix_ipc semaphore (``wait.Blocking``,
woken with ``sem_post``), ``@<token>`` an abstract Unix datagram socket (``wait.FdWake``,
woken with a 1-byte ``sendto``, so an event loop can sleep on it in its own epoll). The token is
random (``naming.wake_token``) and only the reader slot, in owner-only shared memory, holds it.
"""

from __future__ import annotations

import socket

import posix_ipc

from .. import naming
from ..wait import fdwake
from . import header as H
from . import reader_table as RT

_PING = b"\1"


class Waker:
    """Turns the parked bits a publish returned into wake-ups.

    What wakes each reader slot (its semaphore's ``release`` or a ``sendto`` its socket) is
    looked up once and kept while the slot's generation (bumped on every attach) stays the same,
    so a wake-up costs one syscall.
    """

    def __init__(self, ring):
        self.ring = ring
        self._by_slot: dict[int, tuple[int, object]] = {}
        self._sems: dict[str, posix_ipc.Semaphore] = {}
        self._sock = None
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
        if cached is None or cached[0] != generation:
            post = self._lookup(slot)
            if post is None:
                return
            self._by_slot[slot] = (generation, post)
        else:
            post = cached[1]
        post()
        self.posts += 1

    def _lookup(self, slot: int):
        """The callable that wakes the reader in ``slot`` now, or None if it cannot be woken."""
        wake = self.ring.name_bytes(RT.slot_offset(slot) + RT.WAKE, RT.WAKE_LENGTH)
        if not wake:
            return None
        if wake.startswith(fdwake.PREFIX):
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK
                                           | socket.SOCK_CLOEXEC)
            sendto, addr = self._sock.sendto, fdwake.address(self.ring.instance, wake)

            def send() -> None:
                try:
                    sendto(_PING, addr)
                except BlockingIOError:
                    pass  # its queue is full: a wake-up is pending already
                except (ConnectionRefusedError, FileNotFoundError):
                    pass  # the reader is gone (its socket closed with it)

            return send
        name = naming.semaphore(self.ring.instance, wake)
        sem = self._sems.get(name)
        if sem is None:
            try:
                sem = posix_ipc.Semaphore(name)
            except posix_ipc.ExistentialError:
                return None  # the reader is gone (and unlinked its semaphore)
            self._sems[name] = sem
        return sem.release

    def close(self) -> None:
        for sem in self._sems.values():
            sem.close()
        self._sems.clear()
        self._by_slot.clear()
        if self._sock is not None:
            self._sock.close()
            self._sock = None
