"""The order router, without I/O: order records in, frames to send out; venue frames in, reports
applied to the risk state and published.

What execution decides lives here; ``workers/execution.py`` only moves frames between this
object, the orders ring's wake-up and the venue socket. Per new order, in ``handle``: skip it
if already handled (write-ahead high-water mark, see area_layout.py); drop it as STALE if its
intent is older than ``max_age_ns``; refuse it (BACKOFF) while the venue's rate limit holds us
back (``rate_backoff.py``); run the pre-trade check inline on the risk state block, acquire-loading
the kill switch in the same compiled call (``risk.live_gate``); write the order into a free slot of
the trading area; sign. Then, in ``release``, with no await until the socket write: read the
clock (``sent_ns``), load the kill switch once more, and hand the frame back to be written. An
order that passes that last load was checked before any halt became visible, so its ``sent_ns``
is earlier than the time ``hftshm halt`` prints. Answers and executionReports go through the
sans-I/O ``protocol.Protocol``; the reports it returns are applied to the risk state
(position, PnL, open quantity), mirrored into the slot, and published (``publish``), each as one
transaction of the trading area's undo record (``undo.py``): all of it or none of it survives a
``kill -9``, so a fill is counted in the risk state once.

Wiring it takes: ``risk`` (RiskState), ``area`` (TradingArea), ``gate`` (LiveGate, or anything
with ``admit(rec, now) -> reason`` and ``trading_state() -> TS_*``), ``proto`` (Protocol),
``publish(record)``, ``count(name, n=1)`` over execution's counters, ``lat`` (stage name ->
recorder with ``record(ns)``), ``halt(cause)``, a ``clock``, and ``cursor`` (an int64 array and
a word index: the fills ring header's count of published reports; without it the router counts
its own publishes, for tests). Tests pass literal venue answers and fakes for the rest.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from ..layouts import exec_report as F
from ..layouts import order as O
from ..risk import reasons as R
from ..risk.fills import on_fill
from ..risk.marks import on_funding
from ..risk.orders import on_done
from ..venues import clientid
from ..venues.orders import LiveOrder, report
from . import area_layout
from .funding_record import FundingRecord
from .rate_backoff import RateBackoff
from .undo import UndoLog

log = logging.getLogger("hftshm.execution")
COUNTER_MASK = (1 << O.STRATEGY_SHIFT) - 1
# handle fills a trading-area slot with one tuple, in this field order
assert area_layout.SLOT_DTYPE.names == ("order_id", "symbol_id", "strategy_id", "side", "state", "qty_e8", "price_e8",
                                        "filled_e8", "sent_ns", "trigger_recv_ns", "venue_order_id")
# execution's counters (the worker's ``counter_names``): the router counts most of them
COUNTERS = ("orders_in", "sent", "acked", "fills", "filled", "canceled", "expired", "rejected", "risk_rejects",
            "venue_rejects", "cancels_sent", "cancel_rejects", "timeouts", "resolved", "duplicates", "reconnects",
            "open", "parks", "stale", "prot_trips", "protection", "rate_limited", "backoffs", "backoff_rejects",
            "rate_halts", "stop_canceled", "stop_left", "reconciled", "recovered", "recovered_fills",
            "funding",  # funding: futures funding payments applied (usdm, bybit)
            "auth_refused",  # the venue refused a connection's authentication (Bybit; order_session.py)
            "funding_errors")  # a failed query for funding the stream missed (Bybit), asked again
# (36 of the 36 counters with the worker's three: runtime/control_layout.COUNTERS)
ENDED_COUNTER = {F.ST_FILLED: "filled", F.ST_CANCELED: "canceled", F.ST_EXPIRED: "expired",
                 F.ST_REJECTED: "rejected"}


class OrderRouter:
    def __init__(self, risk, area, gate, proto, publish, count, lat: dict, halt, max_age_ns: int,
                 backoff: RateBackoff | None = None, clock=time.time_ns, cursor: tuple | None = None):
        self.risk = risk
        self.area = area
        self.gate = gate
        self.proto = proto
        if cursor is None:  # no ring: count our own publishes
            words = np.zeros(1, np.int64)
            cursor = (words, 0)

            def counted(rec, publish=publish, words=words):
                publish(rec)
                words[0] += 1

            publish = counted
        self.publish = publish
        self.undo = UndoLog(area, risk, *cursor)
        self.funding = FundingRecord(area)  # funding applied, per symbol and funding time (Bybit)
        self.funding_by_time = bool(getattr(proto, "funding_by_time", False))
        self.count = count
        self.lat = lat
        self.halt = halt
        self.max_age_ns = max_age_ns
        self.backoff = backoff or RateBackoff()
        self.clock = clock
        self.free = [i for i in range(area.slots.shape[0]) if area.slots[i]["order_id"] == 0][::-1]
        self.pending = None  # (order, record, trading state before the gate): signed, awaiting release
        self.stamps = (0, 0)  # (verdict ns, trigger recv ns) of the last new order; (0, 0) for a cancel
        self.wire_ns = 0  # sent_ns of the last released order
        self.stop_cancels: set[int] = set()  # order ids cancelled by cancel_open_orders at stop
        self.reconciling = False  # new orders wait while the venue's open orders are matched
        self.reconcile_deadline = 0

    # --- restart ----------------------------------------------------------------------------------
    def adopt(self, published: dict | None = None) -> int:
        """Orders an earlier execution process sent and did not see end: each gets resolved with
        the venue (``proto.resync`` after connecting asks its status). Returns how many.

        Call ``undo.recover`` first: a report applied midway is then either complete and
        published or entirely undone, so a slot's ``filled_e8`` is what the risk state has
        applied and the fills ring has. ``published``: order id -> filled quantity its reports on
        the fills ring add up to; a slot ahead of it (which the undo record rules out) would have
        its fill fetched from the venue and published, without being applied twice."""
        for i in self.area.live():
            s = self.area.slots[i]
            o = LiveOrder()
            for name in ("order_id", "symbol_id", "strategy_id", "side", "qty_e8", "price_e8", "filled_e8",
                         "sent_ns", "trigger_recv_ns", "venue_order_id"):
                setattr(o, name, int(s[name]))
            o.applied_e8 = o.filled_e8
            if published is not None:
                o.filled_e8 = min(o.applied_e8, published.get(o.order_id, 0))
            o.state = int(s["state"]) or F.ST_NEW
            o.slot = i
            self.proto.adopt(o)
        return len(self.proto.orders)

    def recover(self, orders, ring_trades: dict | None = None, ended=()) -> int:
        """Orders of earlier runs the persisted state did not see end (``state.store.unfinished``):
        each is resolved with the venue like an adopted one, but matched by its own run's client
        id and its fills by venue trade id, so a fill it got while the whole instance was down is
        fetched (``myTrades``), applied to the risk state and published once. ``ring_trades``
        (order id -> {trade id: qty}) and ``ended`` (order ids): what this run's fills ring
        already holds for them (an execution restarted while it recovered). Returns how many."""
        ring_trades = ring_trades or {}
        n = 0
        for u in orders:
            if u.order_id in ended or u.order_id in self.proto.orders:
                continue
            o = LiveOrder()
            o.order_id, o.symbol_id = u.order_id, self.proto.symbols.index(u.symbol) if u.symbol in self.proto.symbols else -1
            if o.symbol_id < 0:
                log.warning("order %#x of an earlier run is for %s, no longer configured: not recovered",
                            u.order_id, u.symbol)
                continue
            o.strategy_id, o.side, o.type, o.qty_e8, o.price_e8 = u.strategy_id, u.side, u.type, u.qty_e8, u.price_e8
            o.sent_ns, o.venue_order_id = u.intent_ns, u.venue_order_id
            o.known = {**u.trades, **ring_trades.get(u.order_id, {})}
            o.filled_e8 = o.applied_e8 = sum(o.known.values())  # the risk state holds these already
            # acknowledged or not, its sending is long past: no EX_NEW (nor a sent-to-ack latency)
            o.state = F.ST_PARTIAL if o.filled_e8 else F.ST_ACKED
            self.proto.recover(o, clientid.order_cid(clientid.tag(u.run_tag), u.order_id))
            n += 1
        self.count("recovered", n)
        return n

    @property
    def open(self) -> int:
        return len(self.proto.orders)

    # --- orders -----------------------------------------------------------------------------------
    def handle(self, rec: np.ndarray):
        """The frame to send for one order record (a 1-record slice), or None. For a new order
        ``pending`` is set and the caller passes the frame through ``release`` at once; for a
        cancel ``pending`` stays None and the frame goes out as it is."""
        r = rec[0]
        self.stamps = (0, 0)
        self.count("orders_in")
        oid = int(r["order_id"])
        sid = int(r["strategy_id"]) & 63
        counter = oid & COUNTER_MASK
        hwm = self.area.hwm
        if counter <= hwm[sid]:
            self.count("duplicates")
            return None
        hwm[sid] = counter  # write-ahead: a restart never handles it again
        clock = self.clock
        if int(r["action"]) == O.CANCEL:
            frame, reports = self.proto.cancel(oid, int(r["cancel_id"]), clock())
            if reports:
                self.apply(reports)
            if frame is not None:
                self.count("cancels_sent")
            return frame
        t0 = clock()
        age = t0 - int(r["intent_ns"])
        if age > self.max_age_ns or age < -self.max_age_ns:  # waited too long (or dated by a bad clock)
            return self._reject(r, R.STALE, "stale")
        if self.backoff.blocked(t0):
            return self._reject(r, R.BACKOFF, "backoff_rejects")
        if not self.free:
            return self._reject(r, R.RATE_LIMIT)  # 256 orders open: refuse more (counted as a rate limit)
        before = self.gate.trading_state()
        reason = self.gate.admit(rec, t0)
        verdict_ns = clock()
        self.lat["risk_check"].record(verdict_ns - t0)
        self.lat["intent_to_verdict"].record(verdict_ns - int(r["intent_ns"]))
        if reason:
            return self._reject(r, reason)
        o = LiveOrder(r)
        slot = o.slot = self.free.pop()
        sent = o.sent_ns = clock()  # the signature's timestamp; release restamps it later
        slots = self.area.slots
        # one structured store (SLOT_DTYPE order) with order_id 0, then order_id last: the slot is
        # live from there
        slots[slot] = (0, o.symbol_id, o.strategy_id, o.side, F.ST_NEW, o.qty_e8, o.price_e8, 0, sent,
                       o.trigger_recv_ns, 0)
        slots[slot]["order_id"] = oid
        frame = self.proto.place(o, sent)
        self.stamps = (verdict_ns, o.trigger_recv_ns)
        self.pending = (o, r, before)
        return frame

    def release(self, frame):
        """The last check of a signed new order, right before the socket write: the frame, or
        None if the kill switch closed since the gate (the order is undone and rejected).

        The clock is read *before* the kill-switch load and becomes ``sent_ns``: if the load
        still sees the order allowed, the load (and so the clock read) came before a halt was
        visible, i.e. before the time ``hftshm halt`` prints. Any trading state but ACTIVE and
        REDUCE_ONLY refuses (unset or unknown: HALTED); a move from ACTIVE to REDUCE_ONLY since
        the gate refuses too (the gate did not check the order as reduce-only)."""
        o, r, before = self.pending
        self.pending = None
        wire = self.clock()
        if wire - int(r["intent_ns"]) > self.max_age_ns:  # it waited for the socket until it went stale
            return self._reject(r, R.STALE, "stale", unsend=o)
        state = self.gate.trading_state()
        if state != R.TS_ACTIVE and not (state == R.TS_REDUCE_ONLY and before == R.TS_REDUCE_ONLY):
            return self._reject(r, R.REDUCE_ONLY if state == R.TS_REDUCE_ONLY else R.HALTED, unsend=o)
        # sent_ns: later than the signature's timestamp, so "never sent" waits at least as long
        o.sent_ns = wire
        self.area.slots[o.slot]["sent_ns"] = wire
        self.wire_ns = wire
        self.count("sent")
        return frame

    def sent(self) -> None:
        """The released order's frame is written: its verdict-to-sent and tick-to-trade latencies."""
        self.lat["verdict_to_sent"].record(self.wire_ns - self.stamps[0])
        self.lat["tick_to_trade"].record(self.wire_ns - self.stamps[1])

    def cancel_open_orders(self, now_ns: int, at_stop: bool = False) -> list[bytes]:
        """Cancel frames for every open order without a cancel on the way (a halt with
        cancel_open, or ``[execution] cancel_on_stop``: then the ids go in ``stop_cancels``)."""
        frames = []
        for o in list(self.proto.orders.values()):
            if o.done or o.cancel_pending or o.final:
                continue
            frame, reports = self.proto.cancel(o.order_id, o.order_id, now_ns)
            if reports:
                self.apply(reports)
            if frame is not None:
                self.count("cancels_sent")
                if at_stop:
                    self.stop_cancels.add(o.order_id)
                frames.append(frame)
        return frames

    def _unsend(self, o: LiveOrder) -> None:
        self.proto.forget(o)
        on_done(self.risk.symbols, self.risk.account, o.symbol_id, o.side, o.qty_e8)
        self._free(o)

    def _free(self, o: LiveOrder) -> None:
        if o.slot >= 0:
            self.area.slots[o.slot]["order_id"] = 0
            self.free.append(o.slot)
            o.slot = -1

    def _reject(self, r, reason: int, counter: str = "risk_rejects", unsend: LiveOrder | None = None):
        """Refuse an order before it reaches the venue: a REJECTED report on the fills ring. With
        ``unsend``, the order the gate counted as open and wrote into a slot is undone first, in
        the same transaction (see apply)."""
        o = LiveOrder(r)
        o.state = F.ST_REJECTED
        rec = report(o, F.EX_REJECTED, F.ST_REJECTED, reason, recv_ns=self.clock())
        undo = self.undo
        undo.begin(o.order_id, o.symbol_id, -1 if unsend is None else unsend.slot, F.ST_REJECTED, reason)
        if unsend is not None:
            self._unsend(unsend)
        self.area.rejects[reason] += 1
        self.area.ended[F.ST_REJECTED] += 1
        self.count(counter)
        self.count("rejected")
        self.publish(rec)
        undo.end()
        return None

    # --- start-up reconciliation ------------------------------------------------------------------
    def reconcile_start(self, now_ns: int, timeout_ns: int) -> list[bytes]:
        """Ask the venue for its order history (orders the state never stored, see
        ``Protocol.set_history``), then its open orders, before any new order goes out
        (``reconciling``)."""
        self.reconciling = True
        self.reconcile_deadline = now_ns + timeout_ns
        return self.proto.reconcile_requests(now_ns)

    def reconcile_check(self, now_ns: int) -> None:
        """Done once the venue answered, the cancels it called for were answered and every order
        of an earlier run (``recover``) is resolved, its missed fills reported; an error, or not
        all of that by the deadline, halts trading (RECONCILE_FAILED): fail closed."""
        if not self.reconciling:
            return
        got = self.proto.reconcile
        waiting = any(o is None and k in ("a", "o", "x") for k, o in self.proto.requests.values())
        waiting = waiting or bool(self.proto.recovering)  # an earlier run's orders still being resolved
        failed = got is not None and got[0] == "failed"
        if not failed and got is not None and not waiting:
            self.reconciling = False
            known, cancelled, foreign = got
            self.count("reconciled", cancelled)
            self.count("recovered", self.proto.swept)
            log.info("reconciled with the venue: %d open orders of ours known, %d of an earlier run cancelled, "
                     "%d not ours left alone; %d orders of an earlier run found at the venue and not in the state",
                     known, cancelled, foreign, self.proto.swept)
        elif failed or now_ns > self.reconcile_deadline:
            self.reconciling = False
            left = len(self.proto.recovering)
            why = (f"error {got[1]}: {got[2]}" if failed else
                   f"{left} orders of an earlier run not resolved in time" if left else "no answer in time")
            log.error("reconciliation with the venue failed (%s): trading halted (RECONCILE_FAILED)", why)
            self.halt(R.RECONCILE_FAILED)

    # --- the venue --------------------------------------------------------------------------------
    def on_frame(self, text, now_ns: int) -> list[bytes]:
        """One text frame from the venue: its reports applied, the frames to send back."""
        reports, frames = self.proto.on_frame(text, now_ns)
        if self.proto.rate_answer is not None:
            self._pushback(self.proto.rate_answer, now_ns)
            self.proto.rate_answer = None
        if reports:
            self.apply(reports)
        take = getattr(self.proto, "take_account", None)  # futures: funding from the user-data stream
        if take is not None:
            self._account(take())
        return frames

    def _account(self, updates) -> None:
        """Funding payments into the risk state. One the venue did not attribute to a symbol
        (cross margin) goes to the symbol with the largest position (all of them when there is
        one: the usual case); the venue's own position figures are not applied (fills are)."""
        symbols = self.risk.symbols
        for u in updates:
            if u[0] == "funding_error":
                self.count("funding_errors")
                log.warning("funding query failed (%s: %s): asked again shortly; nothing of it applied", u[1], u[2])
                continue
            if u[0] == "funding_recovered":
                if u[1]:
                    log.info("funding query %d-%d ms: %d payments the stream had not brought", u[2], u[3], u[1])
                continue
            if u[0] != "funding":
                continue
            sid = u[1]
            if sid >= 0 and self.funding_by_time and u[3] > 0:  # once per symbol and funding time, across restarts
                if not self.funding.apply(symbols, self.risk.account, sid, u[2], u[3] // 1_000_000):
                    log.info("funding on symbol %d at %d ms: applied already, not again", sid, u[3] // 1_000_000)
                    continue
            else:
                if sid < 0:
                    sid = max(range(symbols.shape[0]), key=lambda i: abs(int(symbols[i]["position_e8"])))
                on_funding(symbols, self.risk.account, sid, u[2])
            self.count("funding")
            log.info("funding %+.8f on symbol %d", u[2] / 1e8, sid)
        if self.funding_by_time:  # after the payments it covers: a crash before it only asks again
            self.funding.set_from(self.proto.funding_from_ms)

    def _pushback(self, answer, now_ns: int) -> None:
        status, code, retry_after_ms, limits = answer
        b = self.backoff
        hits, pauses = b.hits, b.pauses
        cause = b.on_answer(status, code, retry_after_ms, limits, now_ns)
        if b.hits != hits:
            self.count("rate_limited")
        if b.pauses != pauses:
            self.count("backoffs")
            log.warning("venue rate limit (status %d, code %d, retryAfter %d): no new orders for %.3f s",
                        status, code, retry_after_ms, (b.until_ns - now_ns) / 1e9)
        if cause:
            if self.halt(cause):
                self.count("rate_halts")
                log.error("kill switch: trading halted (%s: %d rate-limit answers in the last minute)",
                          R.name(cause), len(b.recent))

    def expired(self, now_ns: int) -> list[bytes]:
        """Overdue answers: a status question each (never a resend)."""
        frames = self.proto.expired(now_ns)
        if frames:
            self.count("timeouts", len(frames))
            log.info("no answer in time for %d requests: asking the venue (%s)", len(frames),
                     ", ".join(f"{o.order_id:#x}" for o in self.proto.orders.values()
                               if o.deadline_ns and o.deadline_ns > now_ns)[:200])
        due = getattr(self.proto, "funding_due", None)  # Bybit: a failed funding query, asked again
        if due is not None:
            frames += due(now_ns)
            self._account(self.proto.take_account())  # (no answer in time: its error)
        return frames

    def apply(self, reports) -> None:
        """Each report: applied to the risk state, its slot and the tallies, then published, as
        one transaction of the undo record: ``begin`` saves every word it may change, the
        publish commits it (a restart's ``undo.recover`` keeps it once the fills ring has the
        report, and undoes it otherwise), ``end`` closes it. So everything an ended order
        changes (open quantity left, tallies, its slot freed) happens before its publish."""
        risk = self.risk
        area = self.area
        undo = self.undo
        for o, rec in reports:
            r = rec[0]
            et = int(r["exec_type"])
            undo.begin(o.order_id, o.symbol_id, o.slot, o.state, int(r["reason"]))
            if et == F.EX_TRADE:
                qty = int(r["last_qty_e8"])
                if o.known is not None:
                    self.count("recovered_fills")
                # the part of this fill the risk state has not applied yet (all of it, except
                # after a restart that found a fill applied but not published: see adopt)
                cum = int(r["cum_qty_e8"])
                new = cum - max(o.applied_e8, cum - qty)
                if new > 0:
                    on_fill(risk.symbols, risk.account, o.symbol_id, o.side, int(r["last_px_e8"]), new,
                            int(r["fee_e8"]) * new // qty, int(r["recv_ns"]))
                    if o.slot >= 0:
                        on_done(risk.symbols, risk.account, o.symbol_id, o.side, new)
                    o.applied_e8 = cum
                self.count("fills")
            elif et == F.EX_NEW:
                self.count("acked")
                self.lat["sent_to_ack"].record(int(r["recv_ns"]) - o.sent_ns)
            elif et == F.EX_CANCEL_REJECTED:
                self.count("cancel_rejects")
                area.rejects[int(r["reason"])] += 1
            if o.slot >= 0:  # the slot before the report: see adopt
                s = area.slots[o.slot]
                s["filled_e8"] = max(o.applied_e8, o.filled_e8)
                s["state"] = o.state
                s["venue_order_id"] = o.venue_order_id
                if o.done:
                    leaves = o.qty_e8 - max(o.applied_e8, o.filled_e8)
                    if leaves > 0:
                        on_done(risk.symbols, risk.account, o.symbol_id, o.side, leaves)
                    self._ended(o, r)
                    self._free(o)
            self.publish(rec)  # the commit point
            undo.end()

    def _ended(self, o: LiveOrder, r) -> None:
        state = o.state
        self.area.ended[state] += 1
        name = ENDED_COUNTER.get(state)
        if name:
            self.count(name)
        if state == F.ST_CANCELED and o.order_id in self.stop_cancels:
            self.count("stop_canceled")
        if state == F.ST_REJECTED:
            reason = int(r["reason"])
            self.area.rejects[reason] += 1
            if reason == R.NOT_SENT or int(r["exec_type"]) == F.EX_RESOLVED:
                self.count("resolved")
            else:
                self.count("venue_rejects")
        elif int(r["exec_type"]) == F.EX_RESOLVED:
            self.count("resolved")
