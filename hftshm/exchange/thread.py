"""The simulator on an event loop in a daemon thread of this process: for tests and benchmarks
that want the venue's own state (``sim.venue.engine.executions``) at hand."""

from __future__ import annotations

import asyncio
import threading

from .config import ExchangeConfig
from .server import ExchangeSimulator


class SimThread:
    """``ExchangeSimulator(cfg)``, started on construction; ``close()`` stops it."""

    def __init__(self, cfg: ExchangeConfig):
        self.loop = asyncio.new_event_loop()
        self.sim = ExchangeSimulator(cfg)
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.sim.start(), self.loop).result(60)

    @property
    def port(self) -> int:
        return self.sim.port

    def call(self, fn):
        """Run ``fn()`` on the simulator's loop (its state is not thread-safe); its result."""
        async def wrap():
            return fn()
        return asyncio.run_coroutine_threadsafe(wrap(), self.loop).result(10)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.sim.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()
