"""Per-process setup for workers: title, parent-death signal, CPU pinning."""

from __future__ import annotations

import ctypes
import os
import signal

from setproctitle import setproctitle

PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def set_title(text: str) -> None:
    """What ``ps`` and ``top`` show for this process."""
    setproctitle(text)


def die_with_parent(expected_parent: int) -> None:
    """Get SIGTERM when the supervisor dies (even by kill -9), so no worker outlives it."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != expected_parent:  # it died before we asked
        os.kill(os.getpid(), signal.SIGTERM)


def pin(cpu: int | None) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
