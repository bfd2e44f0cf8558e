"""A strategy worker: md ring + fills ring -> the strategy (hooks or numba kernel) -> orders ring.

Wiring only: ``trading.strategy_core.StrategyCore`` restores the strategy's position and order
counter, opens its readers and producer (every venue's for a cross-venue strategy) and runs the
engine; execution builds the same core for a strategy it hosts (``host = "execution"``). This
worker's runner idles on the core's readers (blocking by default, ``runtime.roles``).
"""

from __future__ import annotations

from hftshm.runtime.agent import Agent
from hftshm.trading.strategy_core import COUNTERS, StrategyCore


class StrategyAgent(Agent):
    role = "strategy"
    counter_names = COUNTERS

    def on_start(self) -> None:
        ctx = self.ctx
        # its own process: after an intent it hands the core to execution (StrategyCore._sink)
        self.core = StrategyCore(ctx.config, ctx.name, ctx.control, self.counters, ctx.latency,
                                 yield_after_offer=True)
        self.do_work = self.core.poll
        self.max_idle_s = self.core.max_idle_s  # a parked runner wakes for on_timer too

    def readers(self) -> list:
        return self.core.readers()

    def on_close(self) -> None:
        core = getattr(self, "core", None)
        if core is not None:
            core.close()
