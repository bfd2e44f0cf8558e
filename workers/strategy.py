"""A strategy worker: md ring + fills ring -> the strategy (hooks or numba kernel) -> orders ring.

Market data is read ad hoc (never holding ingest back; a lapped read is counted, never torn);
fills through a gating reader named after the worker, so none is missed: the strategy's
position comes from fills only. A (re)started strategy gets its position back from the persisted
state (``hftshm.state``: the unique fills committed so far) and reads the fills ring from just
after that state's cut, so a fill counts once, whether the ring has wrapped or not. The last order counter used lives in this worker's shared
counters (``order_ctr``), so a restarted strategy never reuses an order id.

A cross-venue strategy (symbols on several venues, ``runtime.group``) does all of this on every
venue it names, through ``trading.venue_rings``: one symbol table over every venue's rings.
"""

from __future__ import annotations

import logging
import os
import time

import numpy as np

from hftshm.layouts import exec_report as F
from hftshm.layouts import md as M
from hftshm.layouts import order as O
from hftshm.ring import BroadcastRing, ManyToOneRing
from hftshm.runtime.agent import Agent
from hftshm.state.store import path_for, restore
from hftshm.trading import instruments, loader
from hftshm.trading.area import TradingArea
from hftshm.trading.strategy import StrategyEngine
from hftshm.trading.venue_rings import VenueRings

BATCH = 256
log = logging.getLogger("hftshm.strategy")


class StrategyAgent(Agent):
    role = "strategy"
    counter_names = ("md_in", "intents", "dropped", "fills_in", "md_lost", "order_ctr")

    def on_start(self) -> None:
        ctx = self.ctx
        self.venue_rings = None
        table = ctx.config.strategy(ctx.name.removeprefix("strategy-"))  # a resolved StrategyConfig
        if table.venues:  # symbols on several venues ([[venues]]): every venue's rings, one table
            self._start_cross_venue(table)
            return
        self.md = BroadcastRing.attach(ctx.instance, "md", M.LAYOUT)
        self.orders = ManyToOneRing.attach(ctx.instance, "orders", O.LAYOUT)
        self.fills = BroadcastRing.attach(ctx.instance, "fills", F.LAYOUT)
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
        sink = self._sink(self.producer.offer)

        # a numba kernel compiles here (or loads from the cache), before the worker reports RUNNING
        self.engine = StrategyEngine(strategy, sid, sink, self.counters[ctr: ctr + 1], positions=positions, seen=seen,
                                     md_dtype=self.md.layout.dtype)
        self.timer_ns = int(strategy.timer_s * 1e9)
        self.max_idle_s = strategy.timer_s or None  # a parked runner wakes for on_timer too
        self.next_timer = time.time_ns() + self.timer_ns if self.timer_ns else 1 << 62

    def _sink(self, offer):
        """Where the engine's intents go: ``offer`` (an orders ring's), with tick_to_intent."""
        tick_to_intent = self.ctx.latency.recorder("tick_to_intent", add=True).record
        self.read_lat = self.ctx.latency.recorder(f"publish_to_read.{self.ctx.name}", add=True).record

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

        return sink

    def _start_cross_venue(self, table) -> None:
        ctx = self.ctx
        self.venue_rings = rings = VenueRings(table, ctx.name, ctx.config.data_dir)
        positions, seen, counter, starts = rings.restore()
        rings.open(starts)
        strategy = loader.load(table, rings.symbols, rings.rules())
        ctr = self.counter["order_ctr"]
        self.counters[ctr] = max(int(self.counters[ctr]), counter)
        sink = self._sink(rings.offer)
        self.engine = StrategyEngine(strategy, table.id, sink, self.counters[ctr: ctr + 1], positions=positions,
                                     seen=seen, md_dtype=M.DTYPE)
        self.timer_ns = int(strategy.timer_s * 1e9)
        self.max_idle_s = strategy.timer_s or None
        self.next_timer = time.time_ns() + self.timer_ns if self.timer_ns else 1 << 62
        self.do_work = self._cross_venue_work
        log.info("%s: cross-venue strategy over %s, fills from %s", ctx.name, ", ".join(rings.symbols), starts)

    def _cross_venue_work(self) -> int:
        work = 0
        for leg in self.venue_rings.legs:
            if leg.md_reader.pending():
                batch = leg.md_reader.read_batch(BATCH, copy=True)
                if batch.shape[0]:
                    self.read_lat(time.time_ns() - int(batch[0]["publish_ns"]))
                    self.count("md_in", batch.shape[0])
                    work += batch.shape[0]
                    batch = leg.mapped(batch)
                    if batch.shape[0]:
                        k = self.engine.on_md_batch(batch)
                        if k:
                            self.count("intents", k)
            while True:
                rep = leg.fills_reader.read()
                if rep is None:
                    break
                work += 1
                rep = leg.mapped(np.array(rep, copy=True).reshape(-1))
                if rep.shape[0]:
                    self.engine.on_fill(rep[0])
                    self.count("fills_in")
        self.set("md_lost", self.venue_rings.lost())
        return work + self._timer_and_drops(work)

    def _timer_and_drops(self, work: int) -> int:
        done = 0
        if self.timer_ns:
            now = time.time_ns()
            if now >= self.next_timer:
                self.next_timer = now + self.timer_ns
                self.engine.on_timer(now)
                done = 1
        if work or done:
            self.set("dropped", self.engine.dropped)
        return done

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
        return work + self._timer_and_drops(work)

    def readers(self) -> list:
        if self.venue_rings is not None:
            return self.venue_rings.readers()
        return [self.md_reader, self.fills_reader]

    def on_close(self) -> None:
        if getattr(self, "venue_rings", None) is not None:
            self.venue_rings.close()
        for x in ("md_reader", "fills_reader", "producer"):
            obj = getattr(self, x, None)
            if obj is not None:
                obj.close()
