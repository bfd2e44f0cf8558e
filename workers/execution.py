"""The execution worker: orders ring -> order router -> the venue's sockets -> fills ring.

Wiring only (``trading.wiring`` builds the parts): the sans-I/O ``OrderRouter`` decides what to
send and what an answer means, ``OrderSession`` what a connection's life asks for, and
``order_links`` what else the venue needs (USD-M's user-data stream, Bybit's private stream,
REST queries and pings). This file keeps the asyncio loop, the sockets and the wake-up
(``wait.FdWake``); ``trading.order_pump`` reads the orders ring into the order socket, parked in
the loop's epoll between publishes. With ``[feed] host = "execution"`` the feed runs here too
(``trading.hosted_feed``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import suppress

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from hftshm.runtime.agent import Agent
from hftshm.trading import instruments
from hftshm.trading.order_pump import OrderPump
from hftshm.trading.router import COUNTERS
from hftshm.trading.wiring import execution_router
from hftshm.wait.fdwake import FdWake

log = logging.getLogger("hftshm.execution")
HOUSEKEEPING_S = 0.005
CONNECT = {"compression": None, "max_size": 1 << 22, "ping_interval": 20}  # every venue socket


class ExecutionAgent(Agent):
    role = "execution"
    # instrument rules refreshes (trading.instruments); orders handled in a wake-up's callback (order_pump)
    counter_names = COUNTERS + ("rules_ok", "rules_failed", "wake_orders")

    def on_start(self) -> None:
        self.wake = FdWake()
        self.w = execution_router(self.ctx, self.count, self.set, self.wake)  # rings, gate, protocol, router
        self.router, self.session, self.links = self.w.router, self.w.session, self.w.links
        self.pump = OrderPump(self.w, self.wake, self.count)  # orders ring -> router -> the order socket
        self.side_ws = self.rest = None  # per session: the report stream's socket, the REST calls
        self.session.resume(self.w.published, self.w.recover, self.w.ring_trades, self.w.ended)

    async def run_async(self, stop: asyncio.Event) -> None:
        refresh = asyncio.create_task(instruments.refresh_loop(self.w.instruments, stop, self.count))
        async with self.w.hosted_feed(stop):  # [feed] host = "execution": each one's end ends the other
            while not stop.is_set():
                try:
                    async with connect(self.ctx.config.venue.api_url, **CONNECT) as ws:
                        self.session.connected()
                        await self._session(ws, stop)
                except (OSError, ConnectionClosed, asyncio.TimeoutError) as exc:
                    log.warning("venue connection lost (%s: %s); reconnecting", type(exc).__name__, exc)
                if not stop.is_set():
                    with suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.session.lost(time.time_ns()))
            self.session.stopped()
            refresh.cancel()
            await asyncio.gather(refresh, return_exceptions=True)

    async def _session(self, ws, stop: asyncio.Event) -> None:
        self.rest = self.links.rest_calls(lambda text: self._send(ws, self.router.on_frame(text, time.time_ns())))
        await self._send(ws, self.session.opening(time.time_ns()))
        receive = asyncio.create_task(self._receive(ws, ws))
        tasks = [receive, asyncio.create_task(self.pump.run(ws, stop)), asyncio.create_task(self._housekeeping(ws, stop))]
        if self.links.side is not None:
            tasks.append(asyncio.create_task(self._side_stream(ws, stop)))
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait(tasks + [stopper], return_when=asyncio.FIRST_COMPLETED)
        while stopper in done and not receive.done() and (
                frames := self.session.stop_step(time.time_ns(), time.monotonic_ns())) is not None:
            await self._send(ws, frames)  # cancels at stop, then questions; the receive task applies the answers
            await asyncio.sleep(HOUSEKEEPING_S)
        for t in tasks + [stopper]:
            t.cancel()
        await asyncio.gather(*tasks, stopper, self.rest.close(), return_exceptions=True)
        for t in done:
            if t is not stopper and t.exception() is not None:
                raise t.exception()

    async def _send(self, ws, frames) -> None:
        for frame in self.rest.split(frames):  # REST questions (Bybit's order queries) start there
            await ws.send(frame, text=True)

    async def _receive(self, source, ws) -> None:
        """Frames of ``source`` (the API socket or the report stream) into the router; what it
        sends back goes out on the API socket ``ws``."""
        side = self.links.side if source is not ws else None
        async for text in source:
            await self._send(ws, self.router.on_frame(text, time.time_ns()))
            if side is not None and not side.current():
                break

    async def _side_stream(self, ws, stop: asyncio.Event) -> None:
        """The venue's report stream of its own (order_links), once its URL is known; its end
        ends the session (the reconnect resyncs)."""
        side = self.links.side
        while not stop.is_set() and not (url := side.url(time.monotonic_ns())):  # raises when none in time
            await asyncio.sleep(HOUSEKEEPING_S)
        if stop.is_set():
            return
        try:
            async with connect(url, **CONNECT) as self.side_ws:
                await self._send(self.side_ws, side.opened(time.time_ns()))
                await self._receive(self.side_ws, ws)
        finally:
            self.side_ws = None
            side.closed()
        raise ConnectionError("the report stream ended")

    async def _housekeeping(self, ws, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.sleep(HOUSEKEEPING_S)
            await self._send(ws, self.session.tick(time.time_ns()))
            if pings := self.links.pings(time.monotonic_ns()):  # the venue's application pings
                for sock in filter(None, (ws, self.side_ws)):
                    await self._send(sock, pings)

    def on_close(self) -> None:
        if (w := getattr(self, "w", None)) is not None:
            w.close()  # the hosted feed, the orders reader, the fills publisher
