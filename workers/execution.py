"""The execution worker: orders ring -> order router -> Binance WebSocket API -> fills ring.

Wiring only: what to send and what an answer means is decided by the sans-I/O
``trading.router.OrderRouter`` (write-ahead slots, the pre-trade gate, the protocol, reports
applied to the risk state, backing off on rate limits), built by ``trading.wiring``; this file
keeps the asyncio loop, the venue socket and the wake-up. See docs/trading.md "Execution".

Waiting for orders: after work, the pump polls the ring ``[execution] spins`` times between
event-loop iterations (``await asyncio.sleep(0)``), then parks the reader (``wait.FdWake``) and
sleeps in the event loop's epoll next to the venue socket until a strategy's publish wakes it
(``wait = "busy-spin"``: it never parks). Every housekeeping tick (5 ms) runs the protection
watch (``trading.protection``) and asks about overdue answers. The first session reconciles the
venue's open orders with ours before any new order goes out, and resolves the orders of an
earlier run the persisted state did not see end (their fills while the instance was down). On a normal stop, with
``[execution] cancel_on_stop`` (the default), open orders are cancelled first; ``stop_canceled``
and ``stop_left`` count what was cancelled and what stayed open, for the summary. The venue's
instrument rules are refetched every ``[venue] instruments_refresh_s`` (``rules_ok``,
``rules_failed``; trading/instruments.py).
"""

from __future__ import annotations

import asyncio
import logging
import time

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from hftshm.risk import reasons as R
from hftshm.runtime.agent import Agent
from hftshm.trading import instruments
from hftshm.trading.router import COUNTERS
from hftshm.trading.wiring import execution_router
from hftshm.venues import order_venue_of
from hftshm.wait.fdwake import FdWake
from hftshm.wait.slice import request_slice

log = logging.getLogger("hftshm.execution")
HOUSEKEEPING_S = 0.005
PARK_TIMEOUT_S = 0.05  # a parked pump re-polls at least this often (a safety net, not the wake-up)
STOP_CANCEL_S = 3.0  # at most this long waiting for the venue to confirm the cancels at stop
RECONCILE_S = 10.0  # the venue's open orders must be matched within this (else RECONCILE_FAILED)


class ExecutionAgent(Agent):
    role = "execution"
    counter_names = COUNTERS + ("rules_ok", "rules_failed")  # instrument rules refreshes (trading.instruments)

    def on_start(self) -> None:
        self.wake = FdWake()
        self.w = execution_router(self.ctx, self.count, self.set, self.wake)  # rings, gate, protocol, router
        self.router, self.protection, self.trading_changes = self.w.router, self.w.protection, -1
        self.reconciled = False
        self.user_url = order_venue_of(self.ctx.config).user_stream_url  # USD-M: user data on its own stream
        self.user_ready = self.user_url is None
        if self.w.slice_us:
            request_slice(self.w.slice_us)  # an order's wake-up preempts a busy core (wait/slice.py)
        if self.router.adopt(self.w.published):
            log.info("resolving %d orders left in flight by an earlier execution process", self.router.open)
        n = self.router.recover(self.w.recover, self.w.ring_trades, self.w.ended)
        if n:
            log.info("recovering %d orders of an earlier run the persisted state did not see end: their "
                     "fills while the instance was down are fetched before trading", n)

    async def run_async(self, stop: asyncio.Event) -> None:
        refresh = asyncio.create_task(instruments.refresh_loop(self.w.instruments, stop, self.count))
        try:
            await self._run_sessions(stop)
        finally:
            refresh.cancel()
            await asyncio.gather(refresh, return_exceptions=True)

    async def _run_sessions(self, stop: asyncio.Event) -> None:
        delay = 0.1
        while not stop.is_set():
            try:
                async with connect(self.ctx.config.venue.api_url, compression=None, max_size=1 << 22,
                                   ping_interval=20) as ws:
                    delay = 0.1
                    await self._session(ws, stop)
            except (OSError, ConnectionClosed, asyncio.TimeoutError) as exc:
                log.warning("venue connection lost (%s); reconnecting", type(exc).__name__)
            if stop.is_set():
                break
            self.protection.check(time.time_ns())  # no orders go out while disconnected; keep the verdict current
            self.count("reconnects")
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except asyncio.TimeoutError:
                delay = min(delay * 2, 5.0)
        self.set("stop_left", self.router.open)
        if self.router.open:
            log.warning("stopping with %d orders open at the venue: %s", self.router.open,
                        ", ".join(f"{oid:#x}" for oid in self.router.proto.orders))

    async def _session(self, ws, stop: asyncio.Event) -> None:
        now = time.time_ns()
        self.protection.check(now)  # before the pump starts: it must not send on an old verdict
        frames = [self.router.proto.subscribe(now), *self.router.proto.resync(now)]
        if not self.reconciled:  # the first session: match the venue's open orders before trading
            self.reconciled = True
            frames += self.router.reconcile_start(now, RECONCILE_S * 1_000_000_000)
        await self._send(ws, frames)
        receive = asyncio.create_task(self._receive(ws))
        tasks = [receive, asyncio.create_task(self._pump(ws, stop)), asyncio.create_task(self._housekeeping(ws, stop))]
        if self.user_url is not None:
            self.user_ready = False
            tasks.append(asyncio.create_task(self._user_stream(ws, stop)))
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait(tasks + [stopper], return_when=asyncio.FIRST_COMPLETED)
        if stopper in done and self.w.cancel_on_stop and self.router.open:
            await self._send(ws, self.router.cancel_open_orders(time.time_ns(), at_stop=True))
            log.info("stopping: cancelling %d open orders ([execution] cancel_on_stop)", self.router.open)
            deadline = time.monotonic() + STOP_CANCEL_S
            while self.router.open and time.monotonic() < deadline and not receive.done():
                await asyncio.sleep(HOUSEKEEPING_S)  # the receive task applies the answers
                await self._send(ws, self.router.expired(time.time_ns()))
        for t in tasks + [stopper]:
            t.cancel()
        await asyncio.gather(*tasks, stopper, return_exceptions=True)
        for t in done:
            if t is not stopper and t.exception() is not None:
                raise t.exception()

    @staticmethod
    async def _send(ws, frames) -> None:
        for frame in frames:
            await ws.send(frame, text=True)

    async def _receive(self, ws) -> None:
        async for text in ws:
            await self._send(ws, self.router.on_frame(text, time.time_ns()))

    async def _user_stream(self, ws, stop: asyncio.Event) -> None:
        """USD-M: read the listenKey user-data stream into the router; no new orders go out
        until it is open. A lost stream or a new key ends the session (the reconnect resyncs)."""
        proto, deadline = self.router.proto, time.monotonic() + RECONCILE_S
        while not proto.listen_key:
            if stop.is_set():
                return
            if time.monotonic() > deadline:
                raise ConnectionError("no listenKey from userDataStream.start")  # reconnect, counted
            await asyncio.sleep(HOUSEKEEPING_S)
        key = proto.listen_key
        async with connect(self.user_url(self.ctx.config.venue.api_url, key), compression=None, max_size=1 << 22,
                           ping_interval=20) as user:
            self.user_ready = True
            async for text in user:
                await self._send(ws, self.router.on_frame(text, time.time_ns()))
                if proto.listen_key != key:
                    break
        self.user_ready = False
        raise ConnectionError("user-data stream ended")

    async def _pump(self, ws, stop: asyncio.Event) -> None:
        wake, reader, router = self.wake, self.w.reader, self.router
        wake.attach(asyncio.get_running_loop())
        busy, spins, idle = self.w.wait_name == "busy-spin", self.w.spins, 0
        lat_sent, lat_t2t = router.lat["verdict_to_sent"].record, router.lat["tick_to_trade"].record
        while not stop.is_set():
            if self.protection.holding or router.reconciling or not self.user_ready:  # starting, reconciling, no user data
                await asyncio.sleep(HOUSEKEEPING_S)
                continue
            batch = reader.read_batch(64)
            for i in range(batch.shape[0]):
                frame = router.handle(batch[i: i + 1])
                if frame is not None and router.pending is not None:  # a new order: wait before its last check
                    transport = ws.transport  # (ws.send writes to the transport before its first await)
                    while transport.get_write_buffer_size() and not transport.is_closing():
                        await asyncio.sleep(0.0005)  # bytes queued in user space: the frame would wait behind them
                    frame = router.release(frame)
                    if frame is not None:
                        await ws.send(frame, text=True)  # JSON: a text frame (the bytes go out as they are)
                        lat_sent(router.wire_ns - router.stamps[0])
                        lat_t2t(router.wire_ns - router.stamps[1])
                elif frame is not None:
                    await ws.send(frame, text=True)  # a cancel
            if batch.shape[0] or busy or idle < spins:
                idle = 0 if batch.shape[0] else idle + 1
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
            self.protection.check(now)
            self.router.reconcile_check(now)
            frames = self.router.expired(now)
            if control.trading_changes != self.trading_changes:
                self.trading_changes = control.trading_changes
                if control.trading_state == R.TS_HALTED and control.cancel_open:
                    frames += self.router.cancel_open_orders(now)
            await self._send(ws, frames)
            self.set("open", self.router.open)

    def readers(self) -> list:
        return [self.w.reader]

    def on_close(self) -> None:
        w = getattr(self, "w", None)
        if w is not None:
            w.reader.close()
            w.publisher.close()
