"""The state worker: orders ring + fills ring -> SQLite (``hftshm.state.store``), off the hot path.

Gating readers named ``state`` on both rings: no record passes unstored (a ``wait`` ring holds
its producer back while this worker is behind, which execution and the strategies see as a slow
consumer, never as a loss). Each duty cycle stores what both readers have, up to ``BATCH``
records each, in one transaction, and commits before the next read releases those records to
the producer: a ``kill -9`` before a commit leaves them in the ring for the restarted worker,
which starts after the last committed sequence of this run (stored with the batch).
"""

from __future__ import annotations

import logging
import time

from hftshm.layouts import exec_report as F
from hftshm.layouts import order as O
from hftshm.ring import BroadcastRing, ManyToOneRing
from hftshm.runtime.agent import Agent
from hftshm.state.store import StateWriter, path_for
from hftshm.trading.area import TradingArea

log = logging.getLogger("hftshm.state")
BATCH = 4096


class StateAgent(Agent):
    role = "state"
    counter_names = ("orders_in", "fills_in", "new_fills", "commits", "commit_us")

    def on_start(self) -> None:
        ctx = self.ctx
        self.orders = ManyToOneRing.attach(ctx.instance, "orders", O.LAYOUT)
        self.fills = BroadcastRing.attach(ctx.instance, "fills", F.LAYOUT)
        run_tag = TradingArea(ctx.control.risk_buffer()).run_tag
        self.writer = StateWriter(path_for(ctx.config), run_tag, [s.upper() for s in ctx.config.venue.symbols])
        starts = {}
        for ring in ("orders", "fills"):
            seq = self.writer.cursor(ring)  # a restart goes on after the last commit of this run
            starts[ring] = seq + 1 if seq >= 0 else "oldest"
        self.order_reader = self.orders.reader("state", gating=True, start=starts["orders"])
        self.fill_reader = self.fills.reader("state", gating=True, start=starts["fills"])
        log.info("state: %s (run %d), orders from %s, fills from %s", path_for(ctx.config), run_tag,
                 starts["orders"], starts["fills"])

    def do_work(self) -> int:
        # the views stay valid (and the records held back from the producer) until the next read
        orders = self.order_reader.read_batch(BATCH)
        fills = self.fill_reader.read_batch(BATCH)
        n = orders.shape[0] + fills.shape[0]
        if not n:
            return 0
        t0 = time.perf_counter_ns()
        new = self.writer.write(orders, fills, time.time_ns())
        self.count("commit_us", (time.perf_counter_ns() - t0) // 1000)
        self.count("commits")
        self.count("orders_in", orders.shape[0])
        self.count("fills_in", fills.shape[0])
        self.count("new_fills", new)
        return n

    def readers(self) -> list:
        return [self.order_reader, self.fill_reader]

    def on_close(self) -> None:
        for x in ("order_reader", "fill_reader"):
            r = getattr(self, x, None)
            if r is not None:
                r.close()
        if getattr(self, "writer", None) is not None:
            self.writer.close()
