"""The worker model: an agent does a bounded piece of work per duty cycle and says how much.

The runner (runner.py) owns the process and the loop: it calls ``do_work()`` until asked to
stop, idles with the worker's wait strategy whenever a cycle returns 0, beats the heartbeat,
and publishes the agent's counters. An agent never sleeps or loops on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class WorkerContext:
    """What a worker process knows: who it is, the instance, its config, its counters."""

    instance: str
    name: str
    role: str
    config: object  # hftshm.runtime.config.Config
    control: object  # hftshm.runtime.control.ControlBlock
    slot: int
    counters: np.ndarray = field(repr=False)  # this worker's int64 counters in the control block
    latency: object = None  # hftshm.latency.LatencyBook of the instance
    params: dict = field(default_factory=dict)  # per-worker settings (a strategy's config table)


class Agent:
    """Base class; subclasses set ``role`` and ``counter_names`` and implement ``do_work``.

    An I/O agent implements ``async def run_async(self, stop: asyncio.Event)`` instead: the
    runner then runs it in an event loop (see runner.py) and ``do_work`` is not called."""

    role = "agent"
    counter_names: tuple[str, ...] = ()

    def __init__(self, ctx: WorkerContext):
        self.ctx = ctx
        self.counters = ctx.counters
        self.counter = {name: i for i, name in enumerate(self.counter_names)}

    def on_start(self) -> None:
        """Attach rings and open resources; called once before the first duty cycle."""

    def do_work(self) -> int:
        """Do what is ready now, without blocking; return how much (0 = nothing to do)."""
        raise NotImplementedError

    def on_stop(self) -> bool:
        """Asked to stop. Return True when done draining (called once per cycle until True)."""
        return True

    def on_close(self) -> None:
        """Release everything; the last call."""

    def readers(self) -> list:
        """Readers whose records should end an idle wait (for blocking wait strategies)."""
        return []

    def count(self, name: str, n: int = 1) -> None:
        self.counters[self.counter[name]] += n

    def set(self, name: str, value: int) -> None:
        """A gauge: the counter's value is ``value`` now."""
        self.counters[self.counter[name]] = value
