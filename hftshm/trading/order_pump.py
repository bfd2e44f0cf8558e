"""Execution's pump: the orders ring -> the router -> the order socket, on execution's asyncio
loop (``workers/execution.py`` runs it with each venue session).

``run`` reads the ring (a round of the strategies with ``host = "execution"`` first,
``hosted_strategies``), polls it ``[execution] spins`` times after work, then parks in the
loop's epoll (``wait.FdWake``) until a publish wakes it. The order that wakes a parked pump is
handled in the wake-up's own callback (``now``, ``FdWake.on_ready``): resuming the pump's task
costs another round of the loop, about 50 us between the callback and the task on the
development VM (measured at 10,000 msgs/s; docs/benchmarks.md). Not with hosted strategies:
there the same callback (and the hosted feed's nudge), running a round of them before each read,
measured no better at 10,000 msgs/s and a worse p99, so their orders stay with the task.
"""

from __future__ import annotations

import asyncio

from websockets.protocol import State

from .hosted_strategies import HostedStrategies

BATCH = 64  # records per read of the ring, and the most one wake-up's callback handles (``now``)
HOLD_S = 0.005  # while the session holds orders, the pump looks again this often
SOCKET_BUSY_S = 0.0005  # a new order waits this long per look for bytes queued before it


class OrderPump:
    def __init__(self, w, wake, count):
        """``w``: execution's parts (``wiring.Execution``: the orders reader, router, session, the
        wait and its spins, the longest park); ``wake``: its FdWake; ``count``: its counters'."""
        self.reader, self.router, self.session = w.reader, w.router, w.session
        self.busy, self.spins, self.park_s = w.wait_name == "busy-spin", w.spins, w.park_s
        self.wake, self.count = wake, count

    async def run(self, ws, stop: asyncio.Event) -> None:
        """Orders into ``ws`` (this session's order socket) until ``stop``."""
        wake, reader, router, session = self.wake, self.reader, self.router, self.session
        wake.attach(asyncio.get_running_loop())
        idle = 0
        if not isinstance(reader, HostedStrategies):  # (see above)
            wake.on_ready = lambda: self.now(ws, stop)
        try:
            while not stop.is_set():
                if session.holding:  # protecting workers starting, reconciling, venue links not ready
                    await asyncio.sleep(HOLD_S)
                    continue
                batch = reader.read_batch(BATCH)
                for i in range(batch.shape[0]):
                    frame = router.handle(batch[i: i + 1])
                    if new := router.pending is not None:  # a new order (else a cancel): wait before its last check
                        transport = ws.transport  # (ws.send writes to the transport before its first await)
                        while transport.get_write_buffer_size() and not transport.is_closing():
                            await asyncio.sleep(SOCKET_BUSY_S)  # the frame would wait behind those bytes
                        frame = router.release(frame)
                    if frame is not None:
                        await ws.send(frame, text=True)  # JSON: a text frame (the bytes go out as they are)
                        if new:
                            router.sent()  # its latencies
                if batch.shape[0] or self.busy or idle < self.spins:
                    idle = 0 if batch.shape[0] else idle + 1
                    await asyncio.sleep(0)
                    continue
                self.count("parks")  # idle stays at spins: a wake that brings no order (a timeout, md) parks again
                await wake.wait_async(self.park_s)
        finally:
            wake.on_ready = None

    def now(self, ws, stop: asyncio.Event) -> bool:
        """The orders that woke the parked pump, handled and written in the wake-up's callback.
        Every step is ``run``'s, without its awaits: each record is read only when its frame can
        be written at once (the connection open, nothing queued in the transport), and the frame
        is written as ``ws.send`` writes it (``protocol.send_text``, then ``send_data``;
        websockets >= 13). At most ``BATCH`` records, as ``run`` reads a batch before the loop's next
        turn: the venue's answers, the heartbeat and the pings wait for this callback. True: the
        ring is empty; False: ``run`` goes on (something to wait for, or more records)."""
        transport, reader, router, session = ws.transport, self.reader, self.router, self.session
        for _ in range(BATCH):
            if (stop.is_set() or session.holding or ws.protocol.state is not State.OPEN
                    or transport.is_closing() or transport.get_write_buffer_size()):
                return False
            rec = reader.read_batch(1)
            if not rec.shape[0]:
                return True
            self.count("wake_orders")
            frame = router.handle(rec)
            new = router.pending is not None
            if new:
                frame = router.release(frame)
            if frame is not None:
                ws.protocol.send_text(frame.encode() if isinstance(frame, str) else frame)
                ws.send_data()
                if new:
                    router.sent()
        return False
