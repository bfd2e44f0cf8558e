"""The ingest that the execution worker runs in its own process (``[feed] host = "execution"``,
``runtime.plan.feed_hosted``): the venue's market streams, the normalizer and the md ring's
publisher on execution's asyncio loop, beside the order socket and the strategies it hosts.

Why: on a machine with fewer cores than busy processes every process hop costs a wake-up, a
wait for a core and a cold cache; with the feed and the strategies in execution, a tick is read,
published, turned into an intent and sent by one process (docs/trading.md "The feed inside
execution"). The md ring is written as by the ingest worker: the journal, strategy processes,
``hftshm tail`` and the bridge read it unchanged.

The agent is the ingest worker's own (``runtime.roles``: ``IngestAgent``, resolved by role so
this package does not import the workers), with the ``ingest`` control-block slot that the
instance claimed with execution's (``launch.instance``): its counters, heartbeat and state are
written here, and a restart of execution resumes the feed as a restarted ingest does (trade ids,
books reset). A failure of the feed ends execution and a failure of execution ends the feed (``running``); the
supervisor restarts execution. An error inside a socket read (the normalizer, the publish) is
the ingest worker's: that connection ends and the feed reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from ..runtime import control_layout as C
from ..runtime.agent import WorkerContext
from ..runtime.roles import agent_class
from ..runtime.runner import HEARTBEAT_NS
from . import guests

log = logging.getLogger("hftshm.execution")
NAME = "ingest"


class HostedFeed:
    def __init__(self, ctx, wake=None):
        """``ctx``: execution's worker context; its params' ``ingest`` table holds the ingest
        worker params (``hold_wakes``, ``frames``, ``depth_limit``); ``wake``: the pump's
        ``FdWake``, nudged after each socket read that published."""
        control = self.control = ctx.control
        cls = agent_class(NAME)
        self.slot = guests.take(control, NAME, cls.counter_names)  # claimed with execution's (launch.instance)
        params = dict((ctx.params or {}).get(NAME) or {})
        self.agent = cls(WorkerContext(ctx.instance, NAME, NAME, ctx.config, control, self.slot,
                                       control.counters(self.slot), ctx.latency, params))
        try:
            self.agent.on_start()
        except BaseException:
            self.agent.on_close()
            raise
        if wake is not None:
            self.agent.pipeline.after_publish = wake.nudge
        self._beat(C.W_RUNNING)  # the beat first: the slot may hold a dead one's
        log.info("hosting the feed (%s)", ", ".join(ctx.config.venue.symbols))

    def _beat(self, state: int | None = None) -> None:
        guests.beat(self.control, (self.slot,), time.time_ns(), state)

    @contextlib.asynccontextmanager
    async def running(self, stop: asyncio.Event):
        """The feed runs while the body does: its end, by failure too, sets ``stop`` (execution
        stops as asked: cancels at stop, then ends), and the failure is raised on the way out;
        the body's end, by failure too, stops the feed and waits for its connections to close,
        so nothing publishes into the md ring once ``close`` has unmapped it."""
        task = asyncio.create_task(self.run(stop))
        task.add_done_callback(lambda _: stop.set())
        try:
            yield
        except BaseException:
            await self._ended(task, stop)
            if not task.cancelled() and task.exception() is not None:  # both failed: say the feed's too
                log.error("the hosted feed had failed as well: %r", task.exception())
            raise
        await self._ended(task, stop)
        if task.cancelled():
            raise RuntimeError("the hosted feed was cancelled")
        task.result()  # the feed's failure, if that is what ended it

    async def _ended(self, task: asyncio.Task, stop: asyncio.Event) -> None:
        stop.set()
        await asyncio.wait([task])
        self.agent.pipeline.after_publish = None

    async def run(self, stop: asyncio.Event) -> None:
        """The feed until ``stop``; its heartbeat beside it (a blocked loop shows as hung)."""
        async def beat():
            while True:
                self._beat()
                await asyncio.sleep(HEARTBEAT_NS / 1e9)

        beater = asyncio.create_task(beat())
        try:
            await self.agent.run_async(stop)
        finally:
            beater.cancel()

    def close(self) -> None:
        self.agent.pipeline.after_publish = None
        self.agent.on_close()
        self._beat(C.W_STOPPED)
