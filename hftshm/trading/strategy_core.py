"""One strategy wired to its instance's rings, wherever it runs: its own worker
(``workers/strategy.py``) or inside execution (``[[strategies]] host = "execution"``,
``workers/execution.py``). Both build it here, so both restore, read and emit the same way.

Market data is read ad hoc (never holding ingest back; a lapped read is counted, never torn);
fills through a gating reader named after the worker (``strategy-<name>``), so none is missed:
the strategy's position comes from fills only. A (re)started strategy gets its position back
from the persisted state (``hftshm.state``: the unique fills committed so far) and reads the
fills ring from just after that state's cut, so a fill counts once, whether the ring has wrapped
or not. The last order counter used lives in the worker's shared counters (``order_ctr``, in
its control-block slot), so a restarted strategy never reuses an order id.

A cross-venue strategy (symbols on several venues, ``runtime.group``) does all of this on every
venue it names, through ``trading.venue_rings``: one symbol table over every venue's rings. It
always has its own process (config.py refuses ``host = "execution"`` for it).
"""

from __future__ import annotations

import logging
import os
import time

import numpy as np

from ..layouts import exec_report as F
from ..layouts import md as M
from ..layouts import order as O
from ..ring import BroadcastRing, ManyToOneRing
from ..state.store import path_for, restore
from . import instruments, loader
from .area import TradingArea
from .strategy import StrategyEngine
from .venue_rings import VenueRings, restored

BATCH = 256
COUNTERS = ("md_in", "intents", "dropped", "fills_in", "md_lost", "order_ctr")
log = logging.getLogger("hftshm.strategy")


class StrategyCore:
    """Rings, restored state and engine of worker ``name`` (``strategy-<name>``); ``poll()`` does
    what is ready (md, fills, the timer) and returns how much. ``counters`` is the int64 view of
    the worker's control-block slot (``COUNTERS``). ``yield_after_offer``: its own process hands
    the core to execution after each intent; inside execution there is no one to hand it to."""

    def __init__(self, cfg, name: str, control, counters: np.ndarray, latency, *, yield_after_offer: bool):
        self.name = name
        self.counters = counters
        self.counter = {n: i for i, n in enumerate(COUNTERS)}
        self.venue_rings = self.md_reader = self.fills_reader = self.producer = None
        self._tick_to_intent = latency.recorder("tick_to_intent", add=True).record
        self.read_lat = latency.recorder(f"publish_to_read.{name}", add=True).record
        self._yield = yield_after_offer
        table = cfg.strategy(name.removeprefix("strategy-"))  # a resolved StrategyConfig
        if table.venues:  # symbols on several venues ([[venues]]): every venue's rings, one table
            self._open_cross_venue(table, cfg)
        else:
            self._open(table, cfg, control)
        self.timer_ns = int(self.strategy.timer_s * 1e9)
        self.max_idle_s = self.strategy.timer_s or None  # a parked waiter wakes for on_timer too
        self.next_timer = time.time_ns() + self.timer_ns if self.timer_ns else 1 << 62

    def _restore_counter(self, stored: int) -> np.ndarray:
        """The order counter goes on after the highest one stored (a whole-instance restart) or
        the slot's own (a restarted process); the engine writes it there."""
        ctr = self.counter["order_ctr"]
        self.counters[ctr] = max(int(self.counters[ctr]), stored)
        return self.counters[ctr: ctr + 1]

    def _open(self, table, cfg, control) -> None:
        name = self.name
        md = BroadcastRing.attach(cfg.instance, "md", M.LAYOUT)
        self._rings = [md, ManyToOneRing.attach(cfg.instance, "orders", O.LAYOUT),
                       BroadcastRing.attach(cfg.instance, "fills", F.LAYOUT)]
        _, orders, fills = self._rings
        sid = table.id
        # position back from the persisted state (hftshm.state), then the fills after its cut
        symbols = list(md.symbols)
        back = restore(path_for(cfg), TradingArea(control.risk_buffer()).run_tag)
        positions, seen, start = restored(back, sid, {s.upper(): i for i, s in enumerate(symbols)})
        self.md_reader = md.reader(None, gating=False, start="newest")  # no wait of its own: the host idles
        self.fills_reader = fills.reader(name, gating=True, start=start)
        self.producer = orders.producer(name)
        # the venue's instrument rules, fetched at start (hftshm.trading.instruments): no rules, no start
        self.strategy = loader.load(table, symbols, instruments.by_symbol(instruments.load(cfg)))
        counter = self._restore_counter(back.counters.get(sid, 0))
        if back.n_fills or back.counters:
            log.info("%s: restored positions %s from %d stored fills; fills ring from %s; order counter %d",
                     name, back.by_strategy.get(sid, {}), back.n_fills, start, int(counter[0]))
        # a numba kernel compiles here (or loads from the cache), before the host reports RUNNING
        self.engine = StrategyEngine(self.strategy, sid, self._sink(self.producer.offer), counter,
                                     positions=positions, seen=seen, md_dtype=md.layout.dtype)
        self.poll = self._poll

    def _open_cross_venue(self, table, cfg) -> None:
        self.venue_rings = rings = VenueRings(table, self.name, cfg.data_dir)
        positions, seen, counter, starts = rings.restore()
        rings.open(starts)
        self._rings = []
        self.strategy = loader.load(table, rings.symbols, rings.rules())
        self.engine = StrategyEngine(self.strategy, table.id, self._sink(rings.offer), self._restore_counter(counter),
                                     positions=positions, seen=seen, md_dtype=M.DTYPE)
        self.poll = self._poll_cross_venue
        log.info("%s: cross-venue strategy over %s, fills from %s", self.name, ", ".join(rings.symbols), starts)

    def _sink(self, offer):
        """Where the engine's intents go: ``offer`` (an orders ring's), with tick_to_intent."""
        tick_to_intent, hand_over = self._tick_to_intent, self._yield

        def sink(rec) -> bool:
            r = rec[0]
            trig = int(r["trigger_recv_ns"])
            if trig:
                tick_to_intent(int(r["intent_ns"]) - trig)
            if not offer(rec):
                return False
            if hand_over:
                # the publish may have woken execution onto this core (socket wake-ups are "sync":
                # the kernel expects the waker to sleep soon); hand the core over now rather than
                # at the end of this batch and its idle polls (measured: ~100 us off intent_to_verdict)
                os.sched_yield()
            return True

        return sink

    def count(self, name: str, n: int = 1) -> None:
        self.counters[self.counter[name]] += n

    def set(self, name: str, value: int) -> None:
        self.counters[self.counter[name]] = value

    def _poll(self) -> int:
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

    def _poll_cross_venue(self) -> int:
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
                    self.set("md_lost", self.venue_rings.lost())
            if leg.fills_reader.pending():  # (an empty copying read costs ~2 us, pending() ~0.4)
                reps = leg.fills_reader.read_batch(BATCH, copy=True)  # a copy: mapped() rewrites its ids
                if reps.shape[0]:
                    work += reps.shape[0]
                    for rep in leg.mapped(reps):
                        self.engine.on_fill(rep)
                    self.count("fills_in", reps.shape[0])
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

    def readers(self) -> list:
        """The readers whose publishes should wake a parked host."""
        if self.venue_rings is not None:
            return self.venue_rings.readers()
        return [self.md_reader, self.fills_reader]

    def close(self) -> None:
        if self.venue_rings is not None:
            self.venue_rings.close()
        for obj in (self.md_reader, self.fills_reader, self.producer):
            if obj is not None:
                obj.close()
