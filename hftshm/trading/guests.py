"""The control-block slots of what the execution worker runs in its own process (the strategies
with ``host = "execution"``, the feed with ``[feed] host = "execution"``): the instance claims
them with execution's (``launch.instance``); execution takes them over here and writes their
pid, counter names, heartbeat and state, so ``hftshm status`` shows them as workers."""

from __future__ import annotations

import os
import time

from ..runtime import control_layout as C


def take(control, name: str, counter_names) -> int:
    """Guest ``name``'s slot, marked as run by this process; its counters are ``counter_names``."""
    slot = control.find_worker(name)
    control.set_worker_field(slot, C.W_PID, os.getpid())
    control.set_worker_field(slot, C.W_STARTED_NS, time.time_ns())
    control.set_counter_names(slot, counter_names)
    return slot


def beat(control, slots, now: int, state: int | None = None) -> None:
    """The heartbeat (and ``state``, if given) of every slot of ``slots``."""
    for slot in slots:
        control.set_worker_field(slot, C.W_HEARTBEAT_NS, now)
        if state is not None:
            control.set_worker_field(slot, C.W_STATE, state)
