"""Let short sleeps be short: Linux rounds a sleep up by the thread's timer slack (50 us by
default), so ``time.sleep(2e-6)`` takes ~55 us unless the slack is lowered (prctl(2))."""

from __future__ import annotations

import ctypes

PR_SET_TIMERSLACK = 29
_libc = ctypes.CDLL(None, use_errno=True)


def set_timer_slack(ns: int) -> bool:
    """Set the calling thread's timer slack; False where the kernel refuses."""
    return _libc.prctl(PR_SET_TIMERSLACK, ctypes.c_ulong(ns), 0, 0, 0) == 0
