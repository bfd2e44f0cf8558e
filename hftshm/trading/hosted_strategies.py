"""The strategies the execution worker runs in its own process (``[[strategies]] host =
"execution"``, ``runtime.plan.hosted``), each a ``StrategyCore`` as in a strategy worker.

A ``HostedStrategies`` stands in for the pump's orders reader (``trading.wiring``): each
``read_batch`` first runs the hosted strategies (md, fills, its timer; ``poll``: until one leaves
an intent), then reads the orders ring, so an intent is read in the round that made it, with no
wake-up in between. Intents still
go through the orders ring: the journal, the state worker and the pre-trade check see them as
from a strategy worker. Their md and fills readers are watched by execution's wake socket
(``wait.FdWake``), so a parked pump wakes for market data and for the reports it published
itself. They run while the pump reads: not while execution holds (starting, reconciling, a
protecting worker down) or has no venue connection; md of that time is read late, or lost when
the ring laps the ad-hoc reader (``md_lost``).

Each keeps its control-block slot ``strategy-<name>``, claimed with execution's by the instance
(``launch.instance``): counters (``order_ctr`` among them: a restarted execution goes on after
the killed one's order ids), heartbeat and state, written here. A fault in a strategy's code
raises ``HostedStrategyError`` and ends execution (never taken for a lost venue connection); the
supervisor restarts execution and the strategy resumes from the persisted state.

A hosted strategy's gating fills reader is read only by the pump: the fills publisher (execution's
receive task, same thread) would wait forever on a full fills ring that the pump never got to
read; a ring holds 16384 reports, and the loop runs the pump between a handful of frames.
"""

from __future__ import annotations

import logging
import time

from ..runtime import control_layout as C
from ..runtime.plan import hosted
from ..runtime.runner import HEARTBEAT_NS
from . import guests
from .strategy_core import COUNTERS, StrategyCore

log = logging.getLogger("hftshm.execution")


class HostedStrategyError(RuntimeError):
    """A hosted strategy's code raised: execution ends (the supervisor restarts it)."""


class HostedStrategies:
    def __init__(self, ctx, reader, wake, park_s: float, local_md: bool = False):
        """``ctx``: execution's worker context; ``reader``: its orders reader; ``wake``: the
        pump's FdWake; ``park_s``: the pump's longest park, shortened here to the shortest
        strategy timer (``on_timer``); ``local_md``: md is published on this thread (the feed
        execution hosts, which nudges the pump): the md readers are watched without a parked bit."""
        control = ctx.control
        self.control, self.reader = control, reader
        self.cores, self.slots = [], []
        try:
            for name in hosted(ctx.config):
                slot = guests.take(control, name, COUNTERS)  # claimed with execution's (launch.instance)
                # no sched_yield after an intent: the consumer is this thread
                core = StrategyCore(ctx.config, name, control, control.counters(slot), ctx.latency,
                                    yield_after_offer=False)
                self.cores.append(core)
                self.slots.append(slot)
                for r in core.readers():
                    if local_md and r is core.md_reader:
                        wake.watch_local(r)
                    else:
                        wake.watch(r)
        except BaseException:
            self.close()
            raise
        self.park_s = min([park_s, *(c.max_idle_s for c in self.cores if c.max_idle_s)])
        self.next_beat = 0
        self.next = 0  # the strategy the next round starts with
        self._beat(time.time_ns(), C.W_RUNNING)  # the beat first: the slot may hold a dead one's
        log.info("hosting %s", ", ".join(c.name for c in self.cores))

    def _beat(self, now: int, state: int | None = None) -> None:
        guests.beat(self.control, self.slots, now, state)
        self.next_beat = now + HEARTBEAT_NS

    def poll(self) -> int:
        """A round of the hosted strategies (md, fills, timer), from the one after where the last
        round stopped; a strategy that leaves an intent in the orders ring ends the round, so the
        pump checks and sends it before the others run (they run first in the next round, which
        the pump starts at once after orders; a parked pump wakes for their unread md). Returns
        how much it did."""
        work, cores = 0, self.cores
        for _ in range(len(cores)):
            core = cores[self.next]
            self.next = (self.next + 1) % len(cores)
            try:
                work += core.poll()
            except Exception as exc:
                raise HostedStrategyError(f"hosted strategy {core.name} failed: {type(exc).__name__}: {exc}") from exc
            if self.reader.pending():
                break
        now = time.time_ns()
        if now >= self.next_beat:
            self._beat(now)
        return work

    def read_batch(self, n: int):
        """The orders reader's ``read_batch``, after a round of the strategies."""
        self.poll()
        return self.reader.read_batch(n)

    def close(self) -> None:
        """The strategies' readers and producers, then the orders reader."""
        for core in self.cores:
            core.close()
        self._beat(time.time_ns(), C.W_STOPPED)
        self.cores, self.slots = [], []
        self.reader.close()
