"""Ask the Linux scheduler (EEVDF, 6.6+) for a short time slice: a latency hint for a worker.

On a machine with fewer cores than busy processes, a woken worker waits in the run queue until
the task on the core ends its slice (1-3 ms by default). Since Linux 6.12 a task may ask for a
shorter slice (``sched_setattr``, ``sched_runtime`` for SCHED_OTHER, 0.1-100 ms); its virtual
deadline is then nearer, so its wake-up preempts a task with a longer slice at once
(PREEMPT_SHORT) instead of after it. Its CPU share (weight) does not change, and no privilege
is needed. Older kernels accept and ignore the value (the call still succeeds); other systems
get False and nothing changes.
"""

from __future__ import annotations

import ctypes
import os
import platform
import struct

_SETATTR = {"x86_64": 314, "aarch64": 274}.get(platform.machine())
# struct sched_attr (SCHED_ATTR_SIZE_VER1, 56 bytes): size, policy, flags, nice, priority,
# runtime, deadline, period, util_min, util_max
_ATTR = "IIQiIQQQII"
SCHED_OTHER = 0


def request_slice(us: float) -> bool:
    """Set this thread's slice to ``us`` microseconds (clamped by the kernel to >= 100 us);
    True if the kernel took it."""
    if _SETATTR is None or os.name != "posix":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        nice = os.getpriority(os.PRIO_PROCESS, 0)
        attr = struct.pack(_ATTR, struct.calcsize(_ATTR), SCHED_OTHER, 0, nice, 0, int(us * 1000), 0, 0, 0, 0)
        return libc.syscall(_SETATTR, 0, ctypes.c_char_p(attr), 0) == 0
    except (OSError, AttributeError):
        return False
