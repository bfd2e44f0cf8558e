"""The risk worker: marks from market data, PnL and exposure from the fills execution applied,
and the automatic kill switch.

Execution runs the pre-trade check inline on the risk state block and is the block's writer for
positions, open quantities and rates (hftshm/risk/live_gate.py); this worker writes only each
symbol's mid (from QUOTE records) into it. Every ``EVAL_NS`` it evaluates the triggers
(``risk.killswitch``): total PnL at or below ``-[risk] loss_limit``, the newest market data
older than ``max_feed_age_s``, or this worker more than ``max_ring_lag`` md records behind; the
feed triggers arm only once the feed has delivered its first record (``risk.feed_clock``), so a
feed still connecting, or a first run still compiling, never trips the kill switch (a restarted
risk worker finds the feed armed if md has records already). A trigger halts trading through
``killswitch.trip`` (and asks execution to cancel open orders); it never resumes by itself
(``hftshm resume``). Execution in turn halts trading (RISK_DOWN) when this worker's heartbeat
goes stale: a dead risk worker cannot leave trading unprotected.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
from numba import njit

from hftshm.layouts import exec_report as F
from hftshm.layouts import md as M
from hftshm.ring import BroadcastRing
from hftshm.risk import killswitch
from hftshm.risk.feed_clock import FeedClock
from hftshm.risk import reasons as R
from hftshm.risk.marks import mark_to_market
from hftshm.risk.state import RiskState
from hftshm.runtime.agent import Agent
from hftshm.trading.area import TradingArea

log = logging.getLogger("hftshm.risk")
EVAL_NS = 10_000_000
BATCH = 1024


@njit(cache=True)
def apply_mids(records, symbols):
    """Store the mid of every two-sided QUOTE (plain aligned stores: this worker alone writes
    ``mid_e8``/``mid_ns``); returns the newest ``recv_ns`` in the batch."""
    newest = 0
    for i in range(records.shape[0]):
        r = records[i]
        if r.recv_ns > newest:
            newest = r.recv_ns
        if r.symbol_id >= symbols.shape[0]:
            continue
        if r.kind == M.MARK:  # futures: the venue's mark price (its price_e8)
            if r.price_e8 > 0:
                symbols[r.symbol_id].mark_e8 = r.price_e8
            continue
        if r.kind != M.QUOTE:
            continue
        bid = r.price_e8
        ask = r.price2_e8
        if bid <= 0 or ask <= 0 or bid > ask:
            continue
        sym = symbols[r.symbol_id]
        sym.mid_ns = r.recv_ns
        sym.mid_e8 = bid + (ask - bid) // 2
    return newest


class RiskAgent(Agent):
    role = "risk"
    counter_names = ("md_in", "fills_in", "halts", "trigger", "md_lag", "md_lost", "pnl_milli", "gross",
                     "feed")  # feed: risk.feed_clock state (0 waiting, 1 live, 2 stale)

    def on_start(self) -> None:
        ctx = self.ctx
        cfg = ctx.config
        control = ctx.control
        self.risk = RiskState.attach(control.risk_buffer())
        self.area = TradingArea(control.risk_buffer())
        risk = cfg.risk  # a RiskConfig: the supervisor's config was validated, defaults filled
        self.loss_limit = risk.loss_limit
        self.max_feed_age = int(risk.max_feed_age_s * 1e9)
        self.max_lag = risk.max_ring_lag
        self.md = BroadcastRing.attach(ctx.instance, "md", M.LAYOUT)
        self.fills = BroadcastRing.attach(ctx.instance, "fills", F.LAYOUT)
        # no wait strategy of their own: the runner idles this worker (by default on a timer,
        # wait/periodic.py: one wake-up per period, a batch of whatever came)
        self.md_reader = self.md.reader(ctx.name, gating=False, start="newest")
        self.fills_reader = self.fills.reader(ctx.name, gating=True, start="resume")  # a restart goes on, never recounts
        self.feed = FeedClock()  # the feed triggers arm at its first record
        if self.md.published():  # a restart: the feed delivered before, so it is judged from now
            self.feed.delivered(0, time.time_ns(), resumed=True)
        self.next_eval = 0
        # compile (or load) the kernels now, before the runner reports RUNNING: a first compile in
        # do_work stops the heartbeat for about a second, which execution's protection watch
        # would take for a dead risk worker
        apply_mids(np.zeros(0, M.DTYPE), self.risk.symbols)
        mark_to_market(self.risk.symbols)

    def do_work(self) -> int:
        work = 0
        batch = self.md_reader.read_batch(BATCH, copy=True)
        if batch.shape[0]:
            apply_mids(batch, self.risk.symbols)
            self.feed.delivered(batch.shape[0], time.time_ns())
            self.count("md_in", batch.shape[0])
            work += batch.shape[0]
        fills = self.fills_reader.read_batch(BATCH)
        if fills.shape[0]:
            self.count("fills_in", fills.shape[0])
            work += fills.shape[0]
        now = time.time_ns()
        if now >= self.next_eval:
            self.next_eval = now + EVAL_NS
            self.evaluate(now)
        return work

    def evaluate(self, now: int) -> int:
        unrealized, total, gross = mark_to_market(self.risk.symbols)
        lag = self.md_reader.lag
        demanded, cause = killswitch.evaluate(total, self.loss_limit, self.feed.age_ns(now), self.max_feed_age,
                                              self.feed.lag(lag), self.max_lag)
        self.area.set_trigger(cause, now)
        self.set("trigger", cause)
        self.set("md_lag", lag)
        self.set("md_lost", self.md_reader.lost)
        # not a number: UNKNOWN, which [risk_total] reads as such (trading.protection.risk_total), never 0
        self.set("pnl_milli", int(total * 1000) if math.isfinite(total) else killswitch.UNKNOWN)
        self.set("gross", int(gross) if math.isfinite(gross) else killswitch.UNKNOWN)
        self.set("feed", self.feed.state(now, self.max_feed_age))
        if demanded == R.TS_HALTED and killswitch.trip(self.ctx.control, cause).written:
            self.count("halts")
            log.warning("kill switch: trading halted (%s: %s)", R.name(cause), R.message(cause))
        return cause

    def readers(self) -> list:
        return [self.md_reader, self.fills_reader]

    def on_close(self) -> None:
        for x in ("md_reader", "fills_reader"):
            obj = getattr(self, x, None)
            if obj is not None:
                obj.close()
