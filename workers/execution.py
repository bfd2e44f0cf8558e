"""The execution worker: orders ring -> order router -> the venue's WebSocket API -> fills ring.

Wiring only: the sans-I/O ``trading.router.OrderRouter`` decides what to send and what an
answer means (write-ahead slots, the pre-trade gate, the protocol, reports applied to the risk
state, rate-limit backoff), and ``trading.order_session.OrderSession`` what a connection's life
asks for (reconciliation, the housekeeping tick, cancels on a halt and at stop, the reconnect
delay); ``trading.wiring`` builds both. This file keeps the asyncio loop, the venue sockets and
the wake-up: after work the pump polls the ring ``[execution] spins`` times between event-loop
iterations, then parks the reader (``wait.FdWake``) in the event loop's epoll next to the venue
socket until a strategy's publish wakes it (``wait = "busy-spin"``: never). Instrument rules are
refetched every ``[venue] instruments_refresh_s`` (trading/instruments.py). See docs/trading.md.
"""

from __future__ import annotations

import asyncio
import logging
import time

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from hftshm.runtime.agent import Agent
from hftshm.trading import instruments
from hftshm.trading.router import COUNTERS
from hftshm.trading.wiring import execution_router
from hftshm.wait.fdwake import FdWake
from hftshm.wait.slice import request_slice

log = logging.getLogger("hftshm.execution")
HOUSEKEEPING_S = 0.005
PARK_TIMEOUT_S = 0.05  # a parked pump re-polls at least this often (a safety net, not the wake-up)
CONNECT = {"compression": None, "max_size": 1 << 22, "ping_interval": 20}  # the API and user-data sockets


class ExecutionAgent(Agent):
    role = "execution"
    counter_names = COUNTERS + ("rules_ok", "rules_failed")  # instrument rules refreshes (trading.instruments)

    def on_start(self) -> None:
        self.wake = FdWake()
        self.w = execution_router(self.ctx, self.count, self.set, self.wake)  # rings, gate, protocol, router
        self.router, self.session = self.w.router, self.w.session
        if self.w.slice_us:
            request_slice(self.w.slice_us)  # an order's wake-up preempts a busy core (wait/slice.py)
        self.session.resume(self.w.published, self.w.recover, self.w.ring_trades, self.w.ended)

    async def run_async(self, stop: asyncio.Event) -> None:
        refresh = asyncio.create_task(instruments.refresh_loop(self.w.instruments, stop, self.count))
        try:
            await self._run_sessions(stop)
        finally:
            refresh.cancel()
            await asyncio.gather(refresh, return_exceptions=True)

    async def _run_sessions(self, stop: asyncio.Event) -> None:
        session = self.session
        while not stop.is_set():
            try:
                async with connect(self.ctx.config.venue.api_url, **CONNECT) as ws:
                    session.connected()
                    await self._session(ws, stop)
            except (OSError, ConnectionClosed, asyncio.TimeoutError) as exc:
                log.warning("venue connection lost (%s); reconnecting", type(exc).__name__)
            if stop.is_set():
                break
            try:
                await asyncio.wait_for(stop.wait(), session.lost(time.time_ns()))
            except asyncio.TimeoutError:
                pass
        session.stopped()

    async def _session(self, ws, stop: asyncio.Event) -> None:
        session = self.session
        await self._send(ws, session.opening(time.time_ns()))
        receive = asyncio.create_task(self._receive(ws))
        tasks = [receive, asyncio.create_task(self._pump(ws, stop)), asyncio.create_task(self._housekeeping(ws, stop))]
        if self.w.user_url is not None:
            tasks.append(asyncio.create_task(self._user_stream(ws, stop)))
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait(tasks + [stopper], return_when=asyncio.FIRST_COMPLETED)
        if stopper in done and (frames := session.stop_cancels(time.time_ns(), time.monotonic_ns())) is not None:
            await self._send(ws, frames)
            while session.stop_waiting(time.monotonic_ns()) and not receive.done():
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
        session, proto = self.session, self.router.proto
        while not stop.is_set() and not (key := session.user_key(time.monotonic_ns())):  # raises when none in time
            await asyncio.sleep(HOUSEKEEPING_S)
        if stop.is_set():
            return
        async with connect(self.w.user_url(self.ctx.config.venue.api_url, key), **CONNECT) as user:
            session.user_ready = True
            async for text in user:
                await self._send(ws, self.router.on_frame(text, time.time_ns()))
                if proto.listen_key != key:
                    break
        session.user_ready = False
        raise ConnectionError("user-data stream ended")

    async def _pump(self, ws, stop: asyncio.Event) -> None:
        wake, reader, router, session = self.wake, self.w.reader, self.router, self.session
        wake.attach(asyncio.get_running_loop())
        busy, spins, idle = self.w.wait_name == "busy-spin", self.w.spins, 0
        lat_sent, lat_t2t = router.lat["verdict_to_sent"].record, router.lat["tick_to_trade"].record
        while not stop.is_set():
            if session.holding:  # protecting workers starting, reconciling, no user data yet
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
        while not stop.is_set():
            await asyncio.sleep(HOUSEKEEPING_S)
            await self._send(ws, self.session.tick(time.time_ns()))

    def readers(self) -> list:
        return [self.w.reader]

    def on_close(self) -> None:
        w = getattr(self, "w", None)
        if w is not None:
            w.reader.close()
            w.publisher.close()
