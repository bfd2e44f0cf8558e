"""A strategy worker: md ring + fills ring -> the strategy (hooks or numba kernel) -> orders ring.

Market data is read ad hoc (never holding ingest back; a lapped read is counted, never torn);
fills through a gating reader named after the worker, so none is missed: the strategy's
position comes from fills only. A (re)started strategy gets its position back from the persisted
state (``hftshm.state``: the unique fills committed so far) and reads the fills ring from just
after that state's cut, so a fill counts once, whether the ring has wrapped or not. The last order counter used lives in this worker's shared
counters (``order_ctr``), so a restarted strategy never reuses an order id.
"""

from __future__ import annotations

import logging
import os
import time

from hftshm.layouts import exec_report as F
from hftshm.layouts import md as M
from hftshm.layouts import order as O
from hftshm.ring import BroadcastRing, ManyToOneRing
from hftshm.runtime.agent import Agent
from hftshm.state.store import path_for, restore
from hftshm.trading import instruments, loader
from hftshm.trading.area import TradingArea
from hftshm.trading.strategy import StrategyEngine

BATCH = 256
log = logging.getLogger("hftshm.strategy")


class StrategyAgent(Agent):
    role = "strategy"
    counter_names = ("md_in", "intents", "dropped", "fills_in", "md_lost", "order_ctr")

    def on_start(self) -> None:
        ctx = self.ctx
        self.md = BroadcastRing.attach(ctx.instance, "md", M.LAYOUT)
        self.orders = ManyToOneRing.attach(ctx.instance, "orders", O.LAYOUT)
        self.fills = BroadcastRing.attach(ctx.instance, "fills", F.LAYOUT)
        table = ctx.config.strategy(ctx.name.removeprefix("strategy-"))  # a resolved StrategyConfig
        sid = table.id
        # position back from the persisted state (hftshm.state), then the fills after its cut
        symbols = list(self.md.symbols)
        back = restore(path_for(ctx.config), TradingArea(ctx.control.risk_buffer()).run_tag)
        positions = {symbols.index(s): q for s, q in back.by_strategy.get(sid, {}).items() if s in symbols}
        seen = {(symbols.index(s), t, o) for s, t, o in back.keys if s in symbols and o >> O.STRATEGY_SHIFT == sid}
        start = back.fills_seq + 1 if back.fills_seq >= 0 else "oldest"
        self.md_reader = self.md.reader(None, gating=False, start="newest")  # no wait of their own: the runner idles this worker
        self.fills_reader = self.fills.reader(ctx.name, gating=True, start=start)
        self.producer = self.orders.producer(ctx.name)
        # the venue's instrument rules, fetched at start (hftshm.trading.instruments): no rules, no start
        strategy = loader.load(table, symbols, instruments.by_symbol(instruments.load(ctx.config)))
        ctr = self.counter["order_ctr"]
        # the order counter goes on after the highest one stored (a whole-instance restart)
        self.counters[ctr] = max(int(self.counters[ctr]), back.counters.get(sid, 0))
        if back.n_fills or back.counters:
            log.info("%s: restored positions %s from %d stored fills; fills ring from %s; order counter %d",
                     ctx.name, back.by_strategy.get(sid, {}), back.n_fills, start, int(self.counters[ctr]))
        offer = self.producer.offer
        tick_to_intent = ctx.latency.recorder("tick_to_intent", add=True).record
        self.read_lat = ctx.latency.recorder(f"publish_to_read.{ctx.name}", add=True).record

        def sink(rec) -> bool:
            r = rec[0]
            trig = int(r["trigger_recv_ns"])
            if trig:
                tick_to_intent(int(r["intent_ns"]) - trig)
            if not offer(rec):
                return False
            # the publish may have woken execution onto this core (socket wake-ups are "sync":
            # the kernel expects the waker to sleep soon); hand the core over now rather than
            # at the end of this batch and its idle polls (measured: ~100 us off intent_to_verdict)
            os.sched_yield()
            return True

        # a numba kernel compiles here (or loads from the cache), before the worker reports RUNNING
        self.engine = StrategyEngine(strategy, sid, sink, self.counters[ctr: ctr + 1], positions=positions, seen=seen,
                                     md_dtype=self.md.layout.dtype)
        self.timer_ns = int(strategy.timer_s * 1e9)
        self.max_idle_s = strategy.timer_s or None  # a parked runner wakes for on_timer too
        self.next_timer = time.time_ns() + self.timer_ns if self.timer_ns else 1 << 62

    def do_work(self) -> int:
        work = 0
        md_reader = self.md_reader
        # an empty poll must be cheap (the wait strategy polls many times per record on a quiet
        # feed): pending() is one acquire load (~0.4 us); a copying read_batch ~2 us even when empty
        if md_reader.pending():
            batch = md_reader.read_batch(BATCH, copy=True)
            n = batch.shape[0]
            if n:
                self.read_lat(time.time_ns() - int(batch[0]["publish_ns"]))
                self.count("md_in", n)
                k = self.engine.on_md_batch(batch)
                if k:
                    self.count("intents", k)
                self.set("md_lost", md_reader.lost)
                work += n
        while True:
            rep = self.fills_reader.read()
            if rep is None:
                break
            self.engine.on_fill(rep)
            self.count("fills_in")
            work += 1
        if self.timer_ns:
            now = time.time_ns()
            if now >= self.next_timer:
                self.next_timer = now + self.timer_ns
                self.engine.on_timer(now)
                work += 1
        if work:
            self.set("dropped", self.engine.dropped)
        return work

    def readers(self) -> list:
        return [self.md_reader, self.fills_reader]

    def on_close(self) -> None:
        for x in ("md_reader", "fills_reader", "producer"):
            obj = getattr(self, x, None)
            if obj is not None:
                obj.close()
