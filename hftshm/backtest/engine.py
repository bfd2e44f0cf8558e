"""The event loop: the strategies on the local clock, the venue model on the venue clock.

Rules (each a guarantee, tested in tests/backtest):

1. A strategy sees an md record at its local time ``L`` (see ``source``), never earlier.
2. An intent is stamped at the local time of the record (or answer) that triggered it plus the
   model's compute time; it passes the live pre-trade check (``risk.gate``) at that time; a
   rejected order is answered at once, with its reason code, as the live execution worker does.
3. An accepted order reaches the venue model at its intent time plus the entry latency (a
   cancel: the model's cancel latency), and never before a request sent earlier to the same
   venue (one connection: they arrive in the order sent); the venue applies every md record
   with a venue time at or before that first.
4. Every venue answer and fill reaches the strategy at its venue time plus the response latency;
   on a tie with an md record, the answer comes first.
5. A strategy batch never runs past the time of an answer that is pending, or that could still
   come (the venue's next event plus the response latency), and it ends with the first record
   that makes a strategy act: that order's answer (a risk reject: at once) may come before the
   next record. Records with the same local time as an answer come after it.
6. With the strategy's busy time modelled (``latency.busy``), the strategy reads as the live
   worker does: at its read time ``R`` (when it is free and the next record was published,
   ``max(free, max(L, publish_ns))``), every record published by then, up to ``READ_BATCH``;
   each costs ``record_ns`` and each intent ``intent_ns`` of its clock; an answer is seen at
   the first read time at or after its arrival (after the batch in progress, as live), never
   earlier than without busy time. Intents are stamped at the strategy's clock (never earlier
   than the compute model says; for a trigger the recorded run acted on, the clock follows its
   live intent times, and an answer live had too takes its live response latency). Rules 4 and
   5 then hold with ``R`` for ``L``. With a wake-up time ``wake_ns``, a strategy that is free
   (parked) when a record is published or an answer arrives reads ``wake_ns`` after the first of
   them: the md published by then first, then the answers (the live worker's order).
7. The pre-trade check runs at the model's verdict time (``latency.verdict``: the intent plus
   the recorded intent -> verdict delay, non-decreasing, as one execution worker checks them),
   and a risk reject is answered then; without one, at the intent time.

Two pointers walk one ``Window`` of the md stream; the loop always advances the side whose next
event is earliest within what the rules allow, so no side ever acts on the other's future.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right

import numpy as np

from ..layouts import exec_report as F
from ..layouts import md as M
from ..layouts import order as O
from ..risk import reasons as R
from ..risk.fills import on_fill as risk_on_fill
from ..risk.gate import PreTradeGate
from ..risk.marks import on_mid
from ..risk.orders import on_done
from ..risk.state import RiskState
from ..ring.fast import entry_point
from ..trading.strategy import Strategy, StrategyEngine
from ..matching.recorded_venue import RecordedVenue, Resting
from .latency import READ_BATCH
from .window import Window

INF = np.iinfo(np.int64).max
BATCH = 4096  # md records per strategy batch at most (the kernels' ``out`` holds one intent each)
E8 = M.E8


class Runner:
    """One strategy inside the backtest: the live ``StrategyEngine`` around it, driven here."""

    def __init__(self, bt: "Backtest", strategy, strategy_id: int):
        self.bt = bt
        self.now = 0
        self.strategy = strategy
        self.engine = StrategyEngine(strategy, strategy_id, self._sink, clock=self._clock)
        self.kernel = None
        self.n = 0  # intents in ``out`` from the last kernel call
        if self.engine.kernel is not None:
            self.out = np.zeros(BATCH, O.DTYPE)  # a batch is at most BATCH records: never overflows
            self.saved = self.engine.state.copy()
            # the compiled overload for md batches: no per-call type resolution
            self.kernel = entry_point(self.engine.kernel, np.zeros(1, M.DTYPE), self.engine.state, self.out)
        self.emitted: list[np.ndarray] = []
        self.k = 0  # intents sent for the trigger being handled
        self.live = None  # that trigger's live intent times (busy model, recorded compute)
        # the md records its hooks handle: a kind whose hook the class leaves as the base's
        # no-op is not dispatched (the same outcome, without the Python call)
        cls = type(strategy)
        self.wants = [False] * 256  # by md kind (a Python list: read per record)
        for kinds, hook in (((M.QUOTE,), "on_quote"), ((M.TRADE, M.AGG_TRADE), "on_trade"),
                            ((M.LEVEL, M.BOOK_RESET), "on_book")):
            if getattr(cls, hook) is not getattr(Strategy, hook):
                for k in kinds:
                    self.wants[k] = True
        self.mine = [False] * len(strategy.symbols)  # the symbols it trades, by id
        for s in strategy.trading:
            self.mine[s] = True
        self.last_id = len(strategy.symbols)

    def _clock(self) -> int:
        return self.now

    def _sink(self, rec: np.ndarray) -> bool:
        self.emitted.append(rec.copy())
        # sending an intent takes the strategy's time (busy model): the cost, or, for a trigger
        # live acted on, until the live run's next intent of that trigger
        self.k += 1
        if self.live is not None and self.k < len(self.live):
            self.now = max(self.now, self.live[self.k])
        else:
            self.now += self.bt.intent_cost
        return True

    def arm(self, seq: int, recv: int) -> None:
        """A trigger record is being handled (busy model with recorded stamps)."""
        self.k = 0
        self.live = self.bt.stamps(self.engine.strategy_id, seq, recv) if self.bt.stamps is not None else None


class Backtest:
    def __init__(self, window: Window, strategies: list, venue: RecordedVenue, latency, limits, n_symbols: int,
                 equity_interval_ns: int, venue_of: list[int] | None = None):
        """``limits``: one ``Limits``; or, with several venues (``venue_of``: each symbol id's
        venue index), one per venue: each venue its own risk state and pre-trade check, as each
        venue's execution and risk workers have live, and only its own symbols reach them."""
        self.w = window
        self.venue = venue
        self.lat = latency
        self.observe = getattr(latency, "observe", None)  # a model that follows the feed
        self.failure = getattr(latency, "failure", None)  # a model that replays recorded rejects
        self.cancel_floor = getattr(latency, "cancel_floor", None)  # ... and refused cancels' timing
        self.n = n_symbols
        if venue_of is None:
            limits, venue_of = [limits], [0] * n_symbols
        self.risks = [RiskState(n_symbols) for _ in limits]
        self.gates = [PreTradeGate(r, lim) for r, lim in zip(self.risks, limits)]
        self.risk, self.gate = self.risks[0], self.gates[0]  # (the one venue's: the compiled loop's)
        self.risk_of = [self.risks[v] for v in venue_of]  # by symbol id
        self.venue_of = venue_of
        # per venue, the latest arrival so far: execution writes its requests to one connection
        # per venue, so they reach the venue in the order they were sent (rule 3)
        self.last_arrival = [0] * len(limits)
        self.gate_of = [self.gates[v] for v in venue_of]
        # the strategy's busy time (rule 6): one clock for the strategies, ``free`` when it is
        # done with what it read; the current read batch ends at global index ``batch_end``
        self.busy = getattr(latency, "busy", None)
        self.record_cost = self.busy.record_ns if self.busy is not None else 0
        self.intent_cost = self.busy.intent_ns if self.busy is not None else 0
        self.wake = self.busy.wake_ns if self.busy is not None else 0  # a parked strategy's wake-up
        self.compute_extra = getattr(latency, "compute_extra_ns", getattr(latency, "compute_ns", 0))
        self.free = 0
        self.batch_end = 0
        self.batch_r = 0
        window.track_avail = self.busy is not None
        # the live intent times per trigger (recorded compute), which a busy clock follows
        self.stamps = getattr(getattr(latency, "compute", None), "stamps_of", None) if self.busy is not None else None
        self.verdict = getattr(latency, "verdict", None)  # rule 7
        self.first_mark = getattr(latency, "first_mark_ns", None) or {}  # the live risk worker's first mids
        self.unmarked: dict[int, tuple[int, int]] = {}  # symbol -> (mid, recv) not yet marked
        self.reply = getattr(latency, "reply", None) if self.busy is not None else None  # per-answer recorded latency
        self.last_verdict = 0
        self.runners = {sid: Runner(self, s, sid) for s, sid in strategies}
        self.kernels = [r for r in self.runners.values() if r.kernel is not None]
        # strategies with a timer (``timer_s`` > 0): on_timer on the local clock
        self.timers = [(r, int(r.strategy.timer_s * 1e9)) for r in self.runners.values()
                       if r.strategy.timer_s and r.strategy.timer_s > 0]
        self.timer_at: list[int] | None = None
        self.hooks = [r for r in self.runners.values() if r.kernel is None]
        self.arrivals: list = []  # heap of (venue time, seq, order record)
        self.answers: list = []  # heap of (local time, seq, fill record)
        self._seq = 0
        self.orders: dict[int, np.ndarray] = {}  # order_id -> its record (final fields filled in)
        self.order_list: list[int] = []
        self.fills: list[np.ndarray] = []  # every report as the strategy got it, in that order
        self.tick_to_venue: list[int] = []
        # accounting, per symbol
        self.position = np.zeros(n_symbols, np.int64)
        self.cash = np.zeros(n_symbols)
        self.fees = np.zeros(n_symbols)
        self.trades = np.zeros(n_symbols, np.int64)
        self.mid = np.zeros(n_symbols, np.int64)
        self.interval = equity_interval_ns
        self.next_sample = -1  # set by the first event
        self.equity: list[tuple] = []
        self.records = 0
        self.last_t = 0
        self.sp = 0
        self.marked = 0  # global index: md records before it are in the marks

    # --- the loop ------------------------------------------------------------------------------
    def run(self) -> None:
        w = self.w
        sp = vp = 0
        lat = self.lat
        resp = lat.min_response_ns
        while True:
            if sp >= len(w) or vp >= len(w):
                self._marks(sp)
                shift = w.refill(min(sp, vp))
                if shift > 0:
                    sp -= shift
                    vp -= shift
            n = len(w)
            l_local = INF if sp >= n else w.local_list[sp]
            # the strategy reads the next record at l_next: its local time, or its read time
            # with the strategy's busy time (rule 6)
            l_next = l_local if self.busy is None or l_local == INF else self._read_time(sp)
            # the venue: md records and arrivals, up to the earliest time a new order could
            # arrive (one triggered by the next record, or by an answer on its way)
            venue_list = w.venue_list
            while True:
                if self.wake and l_local != INF:  # an answer the venue just made can wake it sooner
                    l_next = self._read_time(sp)
                # the earliest intent (compute times are non-decreasing in their trigger's time)
                if self.busy is None:
                    first = min(l_local, self.answers[0][0] if self.answers else INF, self._next_timer(l_next))
                    first = INF if first == INF else lat.compute(first)
                else:  # a busy strategy acts no earlier than its read time either
                    a0 = self.answers[0][0] if self.answers else INF
                    a_first = INF if a0 == INF else lat.compute(a0)
                    if a0 != INF and self.wake and a0 > self.free and l_next >= a0:
                        # parked when it arrives: read a wake-up later, or with the md at l_next
                        # (rule 6); bounding the venue at a0 instead can leave it waiting for a
                        # strategy that waits for it
                        a_first = max(a_first, min(a0 + self.wake, l_next))
                    first = min(INF if l_local == INF else max(lat.compute(l_local), l_next), a_first,
                                self._compute_or_inf(self._next_timer(l_next)))
                # (the least entry latency: a model's latency can change as the venue moves on)
                bound = INF if first == INF else first + lat.min_entry_ns
                v_next = INF if vp >= n else venue_list[vp]
                a_next = self.arrivals[0][0] if self.arrivals else INF
                if v_next != INF and v_next <= a_next and v_next <= bound:
                    # every md record up to the next arrival and the bound, in one call; it
                    # stops after a record that made reports (their answers tighten the bound)
                    hi = bisect_right(venue_list, min(a_next, bound), vp, n)
                    out: list = []
                    vp = self.venue.run_md(w.cols, vp, hi, venue_list, out, self.observe)
                    if out:
                        self._answer(out, venue_list[vp - 1])
                elif a_next != INF and a_next < v_next and a_next <= bound:
                    _, _, order = heapq.heappop(self.arrivals)
                    self._arrive(order, a_next)
                else:
                    break
            if vp >= n and not w.exhausted:
                continue  # refill, then carry on
            if self.wake and l_local != INF:  # an answer the venue just made can wake the strategy sooner
                l_next = self._read_time(sp)
            # the strategy: answers first, then timers, then md records below the horizon; a
            # parked strategy woken by an answer reads the md published meanwhile first
            r_min = self.answers[0][0] if self.answers else INF
            r_eff = r_min if r_min == INF or r_min <= self.free or not self.wake else r_min + self.wake
            if r_min != INF and (r_eff < l_next or (r_eff == l_next and not self.wake)):
                self.sp = sp
                self._deliver(r_min)
                continue
            t_timer = self._next_timer(l_next)
            if t_timer <= l_next and l_next != INF:
                self.sp = sp
                self._timer(t_timer, sp)
                continue
            if l_next == INF:
                if not self.arrivals and not self.answers and vp >= n:
                    break
                if not self.arrivals and not self.answers:
                    continue
                raise RuntimeError(f"backtest loop stalled after the last record (venue at {w.base + vp})")
            v_next = INF if vp >= n else venue_list[vp]
            venue_next = v_next if self.venue.open_orders() else INF
            if self.arrivals:
                venue_next = min(venue_next, self.arrivals[0][0])
            horizon = min(r_eff + (self.wake > 0 and r_eff != INF), t_timer,
                          INF if venue_next == INF else venue_next + resp)
            if l_next < horizon:
                sp = self._strategy(sp, horizon)
                continue
            raise RuntimeError(f"backtest loop stalled at record {w.base + sp} (venue at {w.base + vp})")
        self._marks(len(w))
        self._sample(self.last_t, final=True)

    def _compute_or_inf(self, t: int) -> int:
        return INF if t == INF else self.lat.compute(t)

    def _read_time(self, sp: int) -> int:
        """When the busy strategy reads window record ``sp`` (rule 6): the current batch's read
        time, or, for the next batch, when the strategy is free and the record was published."""
        if self.w.base + sp < self.batch_end:
            return self.batch_r
        a = self.w.avail_list[sp]
        if a <= self.free or not self.wake:
            return max(self.free, a)
        # parked when the record is published: the strategy wakes ``wake`` after the first thing
        # that wakes it (this record or an answer) and reads the md published by then first
        # (trading/strategy_core.py reads md, then fills)
        r = self.answers[0][0] if self.answers else INF
        if r <= self.free or r + self.wake < a:
            r = a
        return min(a, r) + self.wake

    def _handled(self, t: int, wake: int = 0) -> int:
        """The busy strategy handles an answer or timer due at ``t``: its clock then (``wake``
        later if it was parked at ``t``)."""
        if self.busy is None:
            return t
        self.free = max(self.free, t + wake if t > self.free else t)
        return self.free

    # --- timers --------------------------------------------------------------------------------
    def _next_timer(self, l_next: int) -> int:
        """When the next ``on_timer`` is due on the local clock (INF: none). Timers start one
        interval after the first record, as live they start one interval after the worker."""
        if not self.timers:
            return INF
        if self.timer_at is None:
            if l_next == INF:
                return INF
            self.timer_at = [l_next + iv for _, iv in self.timers]
        return min(self.timer_at)

    def _timer(self, t: int, sp: int) -> None:
        """Every timer due at ``t``: ``on_timer(t)`` (its intents have no trigger record)."""
        for j, (runner, interval) in enumerate(self.timers):
            if self.timer_at[j] != t:
                continue
            self.timer_at[j] = t + interval
            runner.now = self.lat.compute(t)
            if self.busy is not None:
                runner.now = max(runner.now, self._handled(t) + self.compute_extra)
                runner.live = None  # no trigger record
            self._marks(sp)
            runner.engine.on_timer(t)
            if runner.emitted:
                if self.busy is not None:
                    self.free = max(self.free, runner.now)
                self._intents(runner, None)

    # --- venue side ----------------------------------------------------------------------------
    def _venue_md(self, i: int, venue_ns: int) -> None:
        c = self.w.cols
        if self.observe is not None:
            self.observe(c[8][i], c[9][i])
        out: list = []
        self.venue.on_md(c[0][i], c[1][i], c[2][i], c[3][i], c[4][i], c[5][i], c[6][i], c[7][i], venue_ns, out)
        if out:
            self._answer(out, venue_ns)

    def _arrive(self, order: np.ndarray, venue_ns: int) -> None:
        self._answer(self.venue.on_order(order[0], venue_ns), venue_ns)

    def _answer(self, reports: list, venue_ns: int) -> None:
        t = self.lat.response(venue_ns)
        reply = self.reply
        for rec in reports:
            at = t
            if reply is not None:  # the live answer's own response latency, where live had it
                o = self.orders.get(int(rec[0]["order_id"]))
                d = None if o is None else reply(o[0], int(rec[0]["exec_type"]))
                if d is not None:
                    at = venue_ns + d
            rec[0]["recv_ns"] = at
            self._seq += 1
            heapq.heappush(self.answers, (at, self._seq, rec))

    # --- strategy side -------------------------------------------------------------------------
    def _deliver(self, t: int) -> None:
        """Every answer due at ``t``: to the accounts, the risk state, then the strategy."""
        while self.answers and self.answers[0][0] == t:
            _, _, rec = heapq.heappop(self.answers)
            if t >= self.next_sample:
                self._marks(self.sp)
                self._sample(t)
            r = rec[0]
            self._account(r)
            self.fills.append(rec)
            runner = self.runners.get(int(r["strategy_id"]))
            if runner is None:
                continue
            runner.now = self.lat.compute(t)
            if self.busy is not None:
                runner.now = max(runner.now, self._handled(t, self.wake) + self.compute_extra)
                runner.live = None  # no trigger record
            runner.engine.on_fill(r)
            if runner.emitted and self.busy is not None:
                self.free = max(self.free, runner.now)
            self._intents(runner, None)

    def _account(self, r) -> None:
        s = int(r["symbol_id"])
        oid = int(r["order_id"])
        order = self.orders.get(oid)
        et = int(r["exec_type"])
        side, qty = int(r["side"]), int(r["last_qty_e8"])
        if et == F.EX_TRADE and s < self.n:
            px, fee = int(r["last_px_e8"]), int(r["fee_e8"])
            signed = qty if side == O.BUY else -qty
            self.position[s] += signed
            self.cash[s] -= signed * px / E8 / E8 + fee / E8
            self.fees[s] += fee / E8
            self.trades[s] += 1
            risk = self.risk_of[s]
            risk_on_fill(risk.symbols, risk.account, s, side, px, qty, fee, int(r["recv_ns"]))
            on_done(risk.symbols, risk.account, s, side, qty)
        if order is None:
            return
        o = order[0]
        if et == F.EX_NEW:
            o["ack_ns"] = r["recv_ns"]
            o["venue_order_id"] = r["venue_order_id"]
        if et == F.EX_TRADE:
            o["filled_qty_e8"] += qty
        if et != F.EX_CANCEL_REJECTED:
            o["state"] = r["state"]
        if int(r["state"]) in F.TERMINAL_STATES and et != F.EX_CANCEL_REJECTED and int(o["verdict"]) == O.APPROVED:
            leaves = int(o["qty_e8"]) - int(o["filled_qty_e8"])
            if leaves > 0 and s < self.n:
                risk = self.risk_of[s]
                on_done(risk.symbols, risk.account, s, int(o["side"]), leaves)

    def _strategy(self, sp: int, horizon: int) -> int:
        """Feed md records from ``sp`` (at least that one) while their local time is below
        ``horizon``, and stop after the first record that makes any strategy act (its answers
        may come before the next record); returns the new position.

        Kernels run first on the whole span, speculatively (their ``state`` is saved): if one
        acts at record k, every kernel's state is put back and the span is cut after k. Python
        hooks then run record by record up to the cut, which they may cut shorter; kernels then
        run for real on the final span."""
        w = self.w
        busy = self.busy is not None
        if not busy:
            end = bisect_left(w.local_list, horizon, sp, min(len(w), sp + BATCH))
            end = max(end, sp + 1)
        else:
            # rule 6: the read batch (one read time, below the horizon): records published by
            # its read time, up to READ_BATCH; a batch already begun goes on where it was cut
            if w.base + sp >= self.batch_end:
                r = self._read_time(sp)
                hi = bisect_right(w.avail_list, r, sp, min(len(w), sp + READ_BATCH))
                self.batch_r, self.batch_end, self.free = r, w.base + hi, r
            end = self.batch_end - w.base
            cost, extra = self.record_cost, self.compute_extra
            start_free = self.free  # the clock before record sp: record i is handled by start_free + (i - sp + 1) x cost
            kernel_free = 0  # the clock after the kernels' last intent
            kernel_key = None  # (seq, recv) of the trigger of the kernels' last intent
        if w.local_list[sp] >= self.next_sample:
            self._marks(sp)
            self._sample(w.local_list[sp])
        kernels, hooks = self.kernels, self.hooks
        ran = 0  # kernels already run on [sp, end) for real
        if kernels:
            batch = w.records[sp:end]
            cut = end
            for runner in kernels:
                runner.saved[:] = runner.engine.state
                runner.n = runner.kernel(batch, runner.engine.state, runner.out)
                if runner.n:
                    k = sp + int(np.searchsorted(batch["seq"], runner.out[0]["trigger_seq"], side="left"))
                    cut = min(cut, k + 1)
            if cut < end or hooks:
                for runner in kernels:
                    if runner.n:
                        runner.out[: runner.n] = 0
                    runner.engine.state[:] = runner.saved
                end = cut
            else:
                ran = end
        if hooks:
            kinds, syms, local, records = w.cols[0], w.cols[1], w.local_list, w.records
            recvs, seqs = w.cols[8], w.cols[10]
            for i in range(sp, end):
                k, s = kinds[i], syms[i]
                acted = False
                for runner in hooks:
                    if not runner.wants[k] or s >= runner.last_id or not runner.mine[s]:
                        continue
                    runner.now = self.lat.compute(local[i], seqs[i], runner.engine.strategy_id)
                    if busy:
                        runner.now = max(runner.now, self.free + cost + extra)
                        runner.arm(seqs[i], recvs[i])
                    # what StrategyEngine.on_md does, from the window's lists: the trigger, then
                    # the hook of the record's kind
                    runner.engine.trigger = (seqs[i], recvs[i])
                    if k == M.QUOTE:
                        runner.strategy.on_quote(records[i])
                    elif k == M.TRADE or k == M.AGG_TRADE:
                        runner.strategy.on_trade(records[i])
                    else:
                        runner.strategy.on_book(records[i])
                    if runner.emitted:
                        acted = True
                        if busy:
                            self.free = max(self.free, runner.now - cost)  # (the record's cost comes below)
                        self._marks(i + 1)  # the risk check sees the mids up to the trigger
                        self._intents(runner, i)
                if busy:
                    self.free += cost
                if acted:
                    end = i + 1
                    break
        if kernels and not ran:
            batch = w.records[sp:end]
            for runner in kernels:
                runner.n = runner.kernel(batch, runner.engine.state, runner.out)
        for runner in kernels:
            n = runner.n
            if not n:
                continue
            outs = [runner.out[j: j + 1].copy() for j in range(n)]
            runner.out[:n] = 0
            runner.n = 0
            eng = runner.engine
            for rec in outs:
                k = sp + int(np.searchsorted(w.records["seq"][sp:end], rec[0]["trigger_seq"], side="left"))
                k = min(k, end - 1)
                self._marks(k + 1)
                runner.now = self.lat.compute(w.local_list[k], w.cols[10][k], runner.engine.strategy_id)
                if busy:
                    key = (runner.engine.strategy_id, w.cols[10][k], w.cols[8][k])
                    if key != kernel_key:
                        kernel_key = key
                        runner.arm(key[1], key[2])
                        runner.now = max(runner.now, start_free + (k - sp + 1) * cost + extra, kernel_free)
                    else:  # another intent of the same trigger: where the last one left the clock
                        runner.now = max(runner.now, kernel_free)
                eng._emit(rec)
                if busy:
                    kernel_free = runner.now
                self._intents(runner, k)
        if busy:
            self.free = max(self.free if hooks else start_free + (end - sp) * cost, kernel_free)
        self.records += end - sp
        return end

    def _marks(self, hi: int) -> None:
        """The mids of the QUOTE records the strategy has seen, up to window position ``hi``
        (the last per symbol), into the risk state and the equity marks. Lazy: called before a
        risk check, an equity row and a window refill."""
        lo = self.marked - self.w.base
        if hi > lo:
            self._new_marks(lo, hi)
        if self.unmarked and hi > 0:  # mids held back until the live risk worker's first mark
            now = self.w.local_list[min(hi, len(self.w)) - 1]
            for s, (mid, recv) in list(self.unmarked.items()):
                if now >= self.first_mark[s]:
                    del self.unmarked[s]
                    on_mid(self.risk_of[s].symbols, self.risk_of[s].account, s, mid, recv)

    def _new_marks(self, lo: int, hi: int) -> None:
        self.marked = self.w.base + hi
        recs = self.w.records[max(lo, 0):hi]
        q = recs[(recs["kind"] == M.QUOTE) & (recs["price_e8"] > 0) & (recs["price2_e8"] >= recs["price_e8"])]
        if not len(q):
            return
        sym = q["symbol_id"].astype(np.int64)
        for s in np.unique(sym):
            if s >= self.n:
                continue
            last = q[np.flatnonzero(sym == s)[-1]]
            mid = int(last["price_e8"]) + (int(last["price2_e8"]) - int(last["price_e8"])) // 2
            self.mid[s] = mid
            if int(last["recv_ns"]) < self.first_mark.get(int(s), 0):  # (the recorded model)
                self.unmarked[int(s)] = (mid, int(last["recv_ns"]))  # no reference price yet
                continue
            self.unmarked.pop(int(s), None)
            risk = self.risk_of[s]
            on_mid(risk.symbols, risk.account, int(s), mid, int(last["recv_ns"]))

    def _intents(self, runner: Runner, trigger_index) -> None:
        """The intents a strategy just emitted: risk check now, then off to the venue."""
        emitted, runner.emitted = runner.emitted, []
        for rec in emitted:
            o = rec[0]
            t = int(o["intent_ns"])
            v = t
            if self.verdict is not None and int(o["action"]) == O.NEW:  # rule 7
                v = self.last_verdict = max(self.verdict(t), self.last_verdict)
            s = int(o["symbol_id"])
            reason = (self.gate_of[s] if 0 <= s < self.n else self.gate).admit(rec, R.TS_ACTIVE, v)
            o["verdict_ns"] = v
            oid = int(o["order_id"])
            self.orders[oid] = rec
            self.order_list.append(oid)
            if reason:
                o["verdict"] = O.REJECTED
                o["reason"] = reason
                o["state"] = F.ST_REJECTED
                ghost = Resting(o, 0)
                out: list = []
                self.venue._report(out, ghost, F.EX_REJECTED, F.ST_REJECTED, 0, reason)
                out[0][0]["recv_ns"] = v
                self._seq += 1
                heapq.heappush(self.answers, (v, self._seq, out[0]))
                continue
            o["verdict"] = O.APPROVED
            o["sent_ns"] = v
            o["state"] = F.ST_NEW
            if self.failure is not None and int(o["action"]) == O.NEW:
                failed = self.failure(o)  # (answer time, reason, venue code): the recording's reject
                if failed is not None:
                    self._replayed_reject(o, *failed)
                    continue
            cancel = int(o["action"]) == O.CANCEL
            # never before a request sent earlier to the same venue (the entry latency is from
            # the intent: the time to the verdict is part of it)
            vi = self.venue_of[s] if 0 <= s < self.n else 0
            arrive = self.lat.entry(t, cancel)
            if cancel and self.cancel_floor is not None and int(o["cancel_id"]) in self.orders:
                arrive = max(arrive, self.cancel_floor(o, self.orders[int(o["cancel_id"])][0]))
            arrive = self.last_arrival[vi] = max(arrive, self.last_arrival[vi])
            if not cancel:
                self.tick_to_venue.append(arrive - int(o["trigger_recv_ns"]))
            self._seq += 1
            heapq.heappush(self.arrivals, (arrive, self._seq, rec))

    def _replayed_reject(self, o, at: int, reason: int, venue_code: int) -> None:
        """An approved order the recorded run saw rejected (a timeout, a rate limit, ...): the
        venue never has it; the strategy gets the reject at ``at``."""
        o["state"] = F.ST_REJECTED
        out: list = []
        self.venue._report(out, Resting(o, 0), F.EX_REJECTED, F.ST_REJECTED, 0, reason, venue_code)
        out[0][0]["recv_ns"] = at
        self._seq += 1
        heapq.heappush(self.answers, (at, self._seq, out[0]))

    # --- equity --------------------------------------------------------------------------------
    def _sample(self, now: int, final: bool = False) -> None:
        """Equity rows for every interval boundary up to ``now`` (local clock), with the state
        before the event at ``now``; ``final``: one more row, at ``now``, the state at the end."""
        if self.next_sample < 0:
            self.next_sample = now // self.interval * self.interval + self.interval
        while self.next_sample <= now:
            self._row(self.next_sample)
            self.next_sample += self.interval
        self.last_t = max(self.last_t, now)
        if final:
            self._row(now)

    def _row(self, t: int) -> None:
        for s in range(self.n):
            self.equity.append((t, s, int(self.mid[s]), int(self.position[s]), float(self.cash[s]),
                                float(self.fees[s]), int(self.trades[s])))
