"""The execution worker: orders ring -> pre-trade check -> Binance WebSocket API -> fills ring.

One asyncio loop, one WebSocket API connection (orders, cancels, queries and the user-data
subscription all on it). Per order, in ``_handle``: skip it if already handled (write-ahead
high-water mark, see trading/area_layout.py); drop it as STALE if its intent is older than
``[execution] max_order_age_ms``; run the pre-trade check inline on the risk state block,
acquire-loading the kill switch in the same compiled call (``risk.live``); write the order into
a free slot of the trading area; sign. Then, in ``_release``, with no await until the socket
write: read the clock (``sent_ns``), load the kill switch once more, and hand the frame to the
socket. An order that passes that last load was checked before any halt became visible, so its
``sent_ns`` is earlier than the time ``hftshm halt`` prints. Answers and executionReports go
through the sans-I/O ``trading.protocol``; the reports it returns are applied to the risk state
(position, PnL, open quantity) and published to the ``fills`` ring.

Protection (``risk.killswitch.ProtectionWatch``): every housekeeping tick (5 ms) execution reads
the heartbeats of the risk worker and, with the journal enabled, the journal worker; one older
than ``[risk] protection_timeout_ms``, or gone, halts trading (RISK_DOWN / JOURNAL_DOWN). Until
each has beaten once (still starting) orders wait in the ring.

Waiting for orders: after work, the loop polls the ring ``[execution] spins`` times between
event-loop iterations (``await asyncio.sleep(0)``: one non-blocking epoll each, ~2-5 us); then
it parks the reader (``wait.FdWake``: the ring's parked bit, then a re-check) and sleeps in the
event loop's own epoll, next to the venue socket, until a strategy's publish sends a datagram to
the wake socket. Cost: ~0 CPU while idle; a wake-up from parked is one process wake-up and one
``sendto`` in the strategy. With ``[workers.execution] wait = "busy-spin"`` the loop never parks
(one core at 100%).
"""

from __future__ import annotations

import asyncio
import logging
import time

import numpy as np
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from hftshm.exchange.config import symbol_spec
from hftshm.layouts import fill as F
from hftshm.layouts import order as O
from hftshm.risk import killswitch
from hftshm.risk import reasons as R
from hftshm.risk.fills import on_fill
from hftshm.risk.live import LiveGate
from hftshm.risk.orders import on_done
from hftshm.risk.state import RiskState
from hftshm.ring import BroadcastRing, ManyToOneRing
from hftshm.runtime.agent import Agent
from hftshm.trading import clientid, credentials
from hftshm.trading import area_layout
from hftshm.trading import config as trading_config
from hftshm.trading.area import TradingArea
from hftshm.trading.protocol import LiveOrder, Protocol
from hftshm.wait.fdwake import FdWake
from hftshm.wait.slice import request_slice

log = logging.getLogger("hftshm.execution")
COUNTER_MASK = (1 << O.STRATEGY_SHIFT) - 1
# _handle fills a trading-area slot with one tuple, in this field order
assert area_layout.SLOT_DTYPE.names == ("order_id", "symbol_id", "strategy_id", "side", "state", "qty_e8", "price_e8",
                                        "filled_e8", "sent_ns", "trigger_recv_ns", "venue_order_id")
HOUSEKEEPING_S = 0.005
PARK_TIMEOUT_S = 0.05  # a parked pump re-polls at least this often (a safety net, not the wake-up)


class ExecutionAgent(Agent):
    role = "execution"
    counter_names = ("orders_in", "sent", "acked", "fills", "filled", "canceled", "expired", "rejected",
                     "risk_rejects", "venue_rejects", "cancels_sent", "cancel_rejects", "timeouts",
                     "resolved", "duplicates", "reconnects", "open", "parks", "stale", "prot_trips",
                     "protection")

    def on_start(self) -> None:
        ctx = self.ctx
        cfg = ctx.config
        self.symbols = [s.upper() for s in cfg.venue.symbols]
        control = ctx.control
        buf = control.risk_buffer()
        self.risk = RiskState.attach(buf)
        self.area = TradingArea(buf)
        limits = trading_config.limits(cfg.risk, [s.lower() for s in self.symbols])
        self.gate = LiveGate(self.risk, limits, control.words, control.trading_word_index())
        self.orders_ring = ManyToOneRing.attach(ctx.instance, "orders", O.LAYOUT)
        self.fills_ring = BroadcastRing.attach(ctx.instance, "fills", F.LAYOUT)
        self.wait_name = cfg.worker(ctx.name).wait
        self.wake = FdWake()
        self.reader = self.orders_ring.reader("execution", gating=True, start="oldest", wait=self.wake)
        self.publisher = self.fills_ring.publisher()
        ex = cfg.execution or trading_config.DEFAULT_EXECUTION
        self.spins = int(ex.get("spins", 200))
        self.max_age_ns = int(ex.get("max_order_age_ms", trading_config.DEFAULT_EXECUTION["max_order_age_ms"])) * 1_000_000
        risk_cfg = cfg.risk or trading_config.DEFAULT_RISK
        timeout_ms = int(risk_cfg.get("protection_timeout_ms", trading_config.DEFAULT_RISK["protection_timeout_ms"]))
        self.watch = killswitch.ProtectionWatch(control, timeout_ms * 1_000_000, bool(cfg.journal.enabled))
        self.protection = -1  # the watch's last cause, as published in the control block
        self.holding = True  # orders wait in the ring until the watch has seen risk (and journal) beat
        self._pending = None  # (order, record, state before the gate): signed, awaiting _release
        if int(ex.get("slice_us", 0)):
            request_slice(int(ex["slice_us"]))  # an order's wake-up preempts a busy core (wait/slice.py)
        signer = credentials.load(cfg.venue.kind, ex.get("key_file", ""))
        assets = []
        for s in self.symbols:
            spec = symbol_spec(s.lower())
            assets.append((spec.base, spec.quote))
        self.prefix = clientid.tag(self.area.run_tag)
        self.proto = Protocol(signer, self.symbols, assets, self.prefix, int(ex.get("recv_window_ms", 5000)),
                              int(ex.get("timeout_ms", 2000)))
        book = ctx.latency
        self.lat = {name: book.recorder(name, add=True) for name in
                    ("intent_to_verdict", "verdict_to_sent", "sent_to_ack", "tick_to_trade", "risk_check")}
        self.free = [i for i in range(self.area.slots.shape[0]) if self.area.slots[i]["order_id"] == 0][::-1]
        self._adopt()
        self.ws = None
        self.trading_changes = -1

    def _adopt(self) -> None:
        """Orders an earlier execution process sent and did not see end: resolve each with the venue."""
        for i in self.area.live():
            s = self.area.slots[i]
            o = LiveOrder()
            for name in ("order_id", "symbol_id", "strategy_id", "side", "qty_e8", "price_e8", "filled_e8",
                         "sent_ns", "trigger_recv_ns", "venue_order_id"):
                setattr(o, name, int(s[name]))
            o.state = int(s["state"]) or F.ST_NEW
            o.slot = i
            self.proto.adopt(o)
        if self.proto.orders:
            log.info("resolving %d orders left in flight by an earlier execution process", len(self.proto.orders))

    # --- the loop ---------------------------------------------------------------------------------
    async def run_async(self, stop: asyncio.Event) -> None:
        url = self.ctx.config.venue.api_url
        delay = 0.1
        while not stop.is_set():
            try:
                async with connect(url, compression=None, max_size=1 << 22, ping_interval=20) as ws:
                    self.ws = ws
                    delay = 0.1
                    await self._session(ws, stop)
            except (OSError, ConnectionClosed, asyncio.TimeoutError) as exc:
                log.warning("venue connection lost (%s); reconnecting", type(exc).__name__)
            finally:
                self.ws = None
            if stop.is_set():
                break
            self._protect(time.time_ns())  # no orders go out while disconnected; keep the verdict current
            self.count("reconnects")
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except asyncio.TimeoutError:
                pass
            delay = min(delay * 2, 5.0)

    async def _session(self, ws, stop: asyncio.Event) -> None:
        now = time.time_ns()
        self._protect(now)  # before the pump starts: it must not send on an old verdict
        await ws.send(self.proto.subscribe(now), text=True)
        for frame in self.proto.resync(now):
            await ws.send(frame, text=True)
        tasks = [asyncio.create_task(self._receive(ws)), asyncio.create_task(self._pump(ws, stop)),
                 asyncio.create_task(self._housekeeping(ws, stop))]
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait(tasks + [stopper], return_when=asyncio.FIRST_COMPLETED)
        for t in tasks + [stopper]:
            t.cancel()
        await asyncio.gather(*tasks, stopper, return_exceptions=True)
        for t in done:
            if t is not stopper and t.exception() is not None:
                raise t.exception()

    async def _receive(self, ws) -> None:
        async for text in ws:
            reports, frames = self.proto.on_frame(text, time.time_ns())
            if reports:
                self._apply(reports)
            for frame in frames:
                await ws.send(frame, text=True)

    async def _pump(self, ws, stop: asyncio.Event) -> None:
        wake = self.wake
        wake.attach(asyncio.get_running_loop())
        busy = self.wait_name == "busy-spin"
        spins = self.spins
        idle = 0
        while not stop.is_set():
            if self.holding:  # a protecting worker is still starting: its orders wait (and may go stale)
                await asyncio.sleep(HOUSEKEEPING_S)
                continue
            n = await self._drain(ws)
            if n or busy or idle < spins:
                idle = 0 if n else idle + 1
                await asyncio.sleep(0)
                continue
            idle = 0
            self.count("parks")
            await wake.wait_async(PARK_TIMEOUT_S)

    async def _housekeeping(self, ws, stop: asyncio.Event) -> None:
        control = self.ctx.control
        while not stop.is_set():
            await asyncio.sleep(HOUSEKEEPING_S)
            now = time.time_ns()
            self._protect(now)
            for frame in self.proto.expired(now):
                self.count("timeouts")
                await ws.send(frame, text=True)
            changes = control.trading_changes
            if changes != self.trading_changes:
                self.trading_changes = changes
                if control.trading_state == R.TS_HALTED and control.cancel_open:
                    await self._cancel_all(ws, now)
            self.set("open", len(self.proto.orders))

    def _protect(self, now: int) -> None:
        """The protection watch: publish its verdict, halt while a protecting worker is down,
        hold orders back while one is still starting."""
        cause, starting = self.watch.check(now)
        control = self.ctx.control
        if cause != self.protection:
            self.protection = cause
            control.set_protection(cause, now)
            self.set("protection", cause)
            if cause:
                log.error("protection lost: %s (%s)", R.name(cause), R.message(cause))
            else:
                log.info("protection: no protecting worker down (%s)", ", ".join(r for r, _ in self.watch.watched))
        if cause and killswitch.trip(control, cause).written:
            self.count("prot_trips")
            log.error("kill switch: trading halted (%s)", R.name(cause))
        self.holding = starting and not cause

    async def _cancel_all(self, ws, now: int) -> None:
        for o in list(self.proto.orders.values()):
            if o.done or o.cancel_pending or o.final:
                continue
            frame, reports = self.proto.cancel(o.order_id, o.order_id, now)
            if reports:
                self._apply(reports)
            if frame is not None:
                self.count("cancels_sent")
                await ws.send(frame, text=True)

    # --- orders -----------------------------------------------------------------------------------
    async def _drain(self, ws) -> int:
        n = 0
        lat_sent, lat_t2t = self.lat["verdict_to_sent"].record, self.lat["tick_to_trade"].record
        while True:
            batch = self.reader.read_batch(64)
            k = batch.shape[0]
            if not k:
                return n
            for i in range(k):
                frame = self._handle(batch[i: i + 1])
                if frame is None:
                    continue
                if self._pending is None:  # a cancel
                    await ws.send(frame, text=True)
                    continue
                # a new order: any wait comes before its last kill-switch check, none after it
                # (ws.send writes to the transport before its first await)
                transport = ws.transport
                while transport.get_write_buffer_size() and not transport.is_closing():
                    await asyncio.sleep(0.0005)  # bytes queued in user space: the frame would wait behind them
                frame = self._release(frame)
                if frame is not None:
                    await ws.send(frame, text=True)  # JSON: a text frame (the bytes go out as they are)
                    wire, (verdict_ns, trigger_ns) = self._wire_ns, self._stamps
                    lat_sent(wire - verdict_ns)
                    lat_t2t(wire - trigger_ns)
            n += k

    def _handle(self, rec: np.ndarray):
        """The frame to send for one order record (None if it is not sent). For a new order
        ``_pending`` is set and the caller passes the frame through ``_release`` at once, which
        stamps ``sent_ns``; ``_stamps`` is (verdict ns, trigger recv ns) of a new order, (0, 0)
        for a cancel."""
        r = rec[0]
        self._stamps = (0, 0)
        self.count("orders_in")
        oid = int(r["order_id"])
        sid = int(r["strategy_id"]) & 63
        counter = oid & COUNTER_MASK
        hwm = self.area.hwm
        if counter <= hwm[sid]:
            self.count("duplicates")
            return None
        hwm[sid] = counter  # write-ahead: a restart never handles it again
        if int(r["action"]) == O.CANCEL:
            frame, reports = self.proto.cancel(oid, int(r["cancel_id"]), time.time_ns())
            if reports:
                self._apply(reports)
            if frame is not None:
                self.count("cancels_sent")
            return frame
        t0 = time.time_ns()
        age = t0 - int(r["intent_ns"])
        if age > self.max_age_ns or age < -self.max_age_ns:  # waited too long (or dated by a bad clock)
            return self._reject(r, R.STALE, "stale")
        if not self.free:
            return self._reject(r, R.RATE_LIMIT)  # 256 orders open: refuse more (counted as a rate limit)
        before = self.gate.trading_state()
        reason = self.gate.admit(rec, t0)
        verdict_ns = time.time_ns()
        self.lat["risk_check"].record(verdict_ns - t0)
        self.lat["intent_to_verdict"].record(verdict_ns - int(r["intent_ns"]))
        if reason:
            return self._reject(r, reason)
        o = LiveOrder(r)
        slot = o.slot = self.free.pop()
        sent = o.sent_ns = time.time_ns()  # the signature's timestamp; _release restamps it later
        slots = self.area.slots
        # one structured store (SLOT_DTYPE order) with order_id 0, then order_id last: the slot is
        # live from there
        slots[slot] = (0, o.symbol_id, o.strategy_id, o.side, F.ST_NEW, o.qty_e8, o.price_e8, 0, sent,
                       o.trigger_recv_ns, 0)
        slots[slot]["order_id"] = oid
        frame = self.proto.place(o, sent)
        self._stamps = (verdict_ns, o.trigger_recv_ns)
        self._pending = (o, r, before)
        return frame

    def _release(self, frame):
        """The last check of a signed new order, right before the socket write: the frame, or
        None if the kill switch closed since the gate (the order is undone and rejected).

        The clock is read *before* the kill-switch load and becomes ``sent_ns``: if the load
        still sees the order allowed, the load (and so the clock read) came before a halt was
        visible, i.e. before the time ``hftshm halt`` prints. Any trading state but ACTIVE and
        REDUCE_ONLY refuses (unset or unknown: HALTED); a move from ACTIVE to REDUCE_ONLY since
        the gate refuses too (the gate did not check the order as reduce-only)."""
        o, r, before = self._pending
        self._pending = None
        wire = time.time_ns()
        if wire - int(r["intent_ns"]) > self.max_age_ns:  # it waited for the socket until it went stale
            self.proto.forget(o)
            self._undo(o)
            return self._reject(r, R.STALE, "stale")
        state = self.gate.trading_state()
        if state != R.TS_ACTIVE and not (state == R.TS_REDUCE_ONLY and before == R.TS_REDUCE_ONLY):
            self.proto.forget(o)
            self._undo(o)
            return self._reject(r, R.REDUCE_ONLY if state == R.TS_REDUCE_ONLY else R.HALTED)
        # sent_ns: later than the signature's timestamp, so "never sent" waits at least as long
        o.sent_ns = wire
        self.area.slots[o.slot]["sent_ns"] = wire
        self._wire_ns = wire
        self.count("sent")
        return frame

    def _undo(self, o: LiveOrder) -> None:
        on_done(self.risk.symbols, self.risk.account, o.symbol_id, o.side, o.qty_e8)
        self._free(o)

    def _free(self, o: LiveOrder) -> None:
        if o.slot >= 0:
            self.area.slots[o.slot]["order_id"] = 0
            self.free.append(o.slot)
            o.slot = -1

    def _reject(self, r, reason: int, counter: str = "risk_rejects"):
        """Refuse an order before it reaches the venue: a REJECTED report on the fills ring."""
        o = LiveOrder(r)
        rec = _risk_reject(o, reason)
        self.area.rejects[reason] += 1
        self.area.ended[F.ST_REJECTED] += 1
        self.count(counter)
        self.count("rejected")
        self.publisher.publish(rec)
        return None

    # --- reports ----------------------------------------------------------------------------------
    def _apply(self, reports) -> None:
        risk = self.risk
        for o, rec in reports:
            r = rec[0]
            et = int(r["exec_type"])
            if et == F.EX_TRADE:
                qty = int(r["last_qty_e8"])
                on_fill(risk.symbols, risk.account, o.symbol_id, o.side, int(r["last_px_e8"]), qty,
                        int(r["fee_e8"]), int(r["recv_ns"]))
                if o.slot >= 0:
                    on_done(risk.symbols, risk.account, o.symbol_id, o.side, qty)
                self.count("fills")
            elif et == F.EX_NEW:
                self.count("acked")
                self.lat["sent_to_ack"].record(int(r["recv_ns"]) - o.sent_ns)
            elif et == F.EX_CANCEL_REJECTED:
                self.count("cancel_rejects")
                self.area.rejects[int(r["reason"])] += 1
            self.publisher.publish(rec)
            if o.slot >= 0:
                s = self.area.slots[o.slot]
                s["filled_e8"] = o.filled_e8
                s["state"] = o.state
                s["venue_order_id"] = o.venue_order_id
            if o.done and o.slot >= 0:
                leaves = o.qty_e8 - o.filled_e8
                if leaves > 0:
                    on_done(risk.symbols, risk.account, o.symbol_id, o.side, leaves)
                self._ended(o, r)
                self._free(o)

    def _ended(self, o: LiveOrder, r) -> None:
        state = o.state
        self.area.ended[state] += 1
        name = {F.ST_FILLED: "filled", F.ST_CANCELED: "canceled", F.ST_EXPIRED: "expired",
                F.ST_REJECTED: "rejected"}.get(state)
        if name:
            self.count(name)
        if state == F.ST_REJECTED:
            reason = int(r["reason"])
            self.area.rejects[reason] += 1
            if reason == R.NOT_SENT or int(r["exec_type"]) == F.EX_RESOLVED:
                self.count("resolved")
            else:
                self.count("venue_rejects")
        elif int(r["exec_type"]) == F.EX_RESOLVED:
            self.count("resolved")

    def readers(self) -> list:
        return [self.reader]

    def on_close(self) -> None:
        for obj in ("reader", "publisher"):
            x = getattr(self, obj, None)
            if x is not None:
                x.close()


def _risk_reject(o: LiveOrder, reason: int) -> np.ndarray:
    from hftshm.trading.protocol import report

    o.state = F.ST_REJECTED
    return report(o, F.EX_REJECTED, F.ST_REJECTED, reason, recv_ns=time.time_ns())
