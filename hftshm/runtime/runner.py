"""Running one agent in this process until told to stop (SIGTERM/SIGINT or supervisor death)."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import time

from ..wait import make as make_wait
from . import control_layout as C
from .roles import resolve_wait

log = logging.getLogger("hftshm.worker")

HEARTBEAT_NS = 20_000_000  # the supervisor takes a worker silent for seconds for hung


def settle_heap() -> None:
    """Move everything that start-up allocated (numba, websockets, numpy, the config) out of the
    collector's reach: a full collection would otherwise walk it all again and again, a
    millisecond pause on the hot path; what the duty loop allocates is still collected."""
    gc.collect()
    gc.freeze()


class Runner:
    """The only idler of a worker: the agent's readers take no wait strategy of their own; the
    runner's strategy watches them all (``agent.readers()``), so a parking strategy is woken by a
    publish on any of them. ``wait`` "auto" is the role's default (``roles.DEFAULT_WAIT``)."""

    def __init__(self, agent, wait: str = "auto", **wait_options):
        self.agent = agent
        self.ctx = agent.ctx
        self.wait = make_wait(resolve_wait(agent.role, wait), **wait_options)
        self.stop_requested = False

    def request_stop(self, *_):
        self.stop_requested = True

    def _beat(self, now: int) -> None:
        self.ctx.control.set_worker_field(self.ctx.slot, C.W_HEARTBEAT_NS, now)

    def run(self) -> int:
        ctx, agent = self.ctx, self.agent
        ctx.control.set_counter_names(ctx.slot, agent.counter_names)
        if getattr(agent, "run_async", None) is not None:
            return asyncio.run(self._run_async())
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        agent.on_start()
        settle_heap()
        for reader in agent.readers():
            self.wait.watch(reader)
        # a parked worker with a timer of its own (a strategy's on_timer) must wake for it too
        limit = getattr(agent, "max_idle_s", None)
        if limit and hasattr(self.wait, "timeout_s"):
            self.wait.timeout_s = min(self.wait.timeout_s, limit)
        self._beat(time.time_ns())  # before RUNNING: the slot may hold a dead predecessor's beat
        ctx.control.set_worker_field(ctx.slot, C.W_STATE, C.W_RUNNING)
        log.info("%s %s running", agent.role, ctx.name)
        do_work, idle, reset = agent.do_work, self.wait.idle, self.wait.reset
        after_work = self.wait.after_work  # a batching strategy idles after a busy cycle too
        next_beat = 0
        idled = False
        try:
            while not self.stop_requested:
                work = do_work()
                if work:
                    if after_work:
                        idle(work)
                    elif idled:
                        reset()
                        idled = False
                else:
                    idle(0)
                    idled = True
                now = time.time_ns()
                if now >= next_beat:
                    self._beat(now)
                    next_beat = now + HEARTBEAT_NS
            ctx.control.set_worker_field(ctx.slot, C.W_STATE, C.W_STOPPING)
            while not agent.on_stop():
                self._beat(time.time_ns())
        finally:
            agent.on_close()
            self.wait.close()
        ctx.control.set_worker_field(ctx.slot, C.W_STATE, C.W_STOPPED)
        log.info("%s %s stopped", agent.role, ctx.name)
        return 0

    async def _run_async(self) -> int:
        """An I/O agent (ingest, execution) idles in the event loop's epoll instead of a wait
        strategy: ``agent.run_async(stop)`` runs until the ``stop`` event is set, then drains
        and returns. The heartbeat is a task of the same loop, so a blocked loop shows as hung."""
        ctx, agent = self.ctx, self.agent
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()

        def request_stop():
            self.stop_requested = True
            stop.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, request_stop)

        async def beat():
            while True:
                self._beat(time.time_ns())
                await asyncio.sleep(HEARTBEAT_NS / 1e9)

        beater = asyncio.create_task(beat())
        try:
            agent.on_start()
            settle_heap()
            # on_start held the loop, so the beat task has not run yet; without this beat the
            # supervisor would see RUNNING next to a dead predecessor's beat and kill us as hung.
            self._beat(time.time_ns())
            ctx.control.set_worker_field(ctx.slot, C.W_STATE, C.W_RUNNING)
            log.info("%s %s running", agent.role, ctx.name)
            await agent.run_async(stop)
            ctx.control.set_worker_field(ctx.slot, C.W_STATE, C.W_STOPPING)
        finally:
            beater.cancel()
            agent.on_close()
            self.wait.close()
        ctx.control.set_worker_field(ctx.slot, C.W_STATE, C.W_STOPPED)
        log.info("%s %s stopped", agent.role, ctx.name)
        return 0
