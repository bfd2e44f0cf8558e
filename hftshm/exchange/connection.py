"""One client connection, both directions, and the server's counters.

``Connection`` counts what a market-stream client sends against Binance's 5 messages a second
(web-socket-streams.md "Websocket Limits": text, ping and pong frames all count) and closes it
with 1008 "Too many requests" past that. ``Peer`` is the outgoing side: ready frames are written
straight to the transport (``wsframe.py``), or queued while it is full; a stall fault holds them
and flushes them later, a drop fault aborts the TCP connection, and a connection with more than
``max_buffer`` bytes waiting is aborted as too slow.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass

import orjson
from websockets.asyncio.server import ServerConnection
from websockets.frames import Opcode
from websockets.protocol import State

from . import stream_control
from .config import Faults, ExchangeConfig
from .faults import Malformer
from .wsapi import ApiSession
from .wsframe import text_frame

log = logging.getLogger("hftshm.exchange")
_COUNTED = (Opcode.TEXT, Opcode.BINARY, Opcode.PING, Opcode.PONG)


@dataclass
class Stats:
    messages: int = 0  # market messages rendered (each once, however many connections get it)
    frames: int = 0  # frames written, all connections
    bytes: int = 0
    connections: int = 0


class Connection(ServerConnection):
    """Counts incoming frames of market-stream connections (``incoming_limit`` per second)."""

    route: tuple = ()  # set by the server's handshake routing: ("api", ..) or ("market", ..)
    incoming_limit = 0  # 0: not counted (the WebSocket API has request weights instead)
    _window = -1
    _seen = 0
    _closing = False

    def process_event(self, event) -> None:
        super().process_event(event)
        if self.incoming_limit and getattr(event, "opcode", None) in _COUNTED:
            second = int(time.monotonic())
            if second != self._window:
                self._window, self._seen = second, 0
            self._seen += 1
            if self._seen > self.incoming_limit and not self._closing:
                self._closing = True
                self.loop.create_task(self.close(1008, "Too many requests"))


class Peer:
    """One client connection's outgoing side.

    Frames go straight to the transport while it takes them. Once it is above its high-water
    mark (``write_limit``), or for a write of more than ``CHUNK`` bytes, frames wait in
    ``backlog`` and a flusher task hands them over in ``CHUNK`` writes as the transport drains:
    asyncio's own buffer moves everything it holds on every partial send, so it is kept small.
    More than ``max_buffer`` waiting: the client cannot keep up and the connection is aborted."""

    CHUNK = 1 << 20

    def __init__(self, conn: ServerConnection, stats: Stats, max_buffer: int):
        self.conn = conn
        self.stats = stats
        self.max_buffer = max_buffer
        self.held: list[bytes] | None = None  # a stall fault's frames
        self.backlog: deque[bytes] = deque()  # frames
        self.backlog_bytes = 0
        self.tasks: list[asyncio.Task] = []
        self._flusher: asyncio.Task | None = None

    def write(self, frames: list[bytes]) -> None:
        """Send whole frames, in order. Writes only ever end at a frame boundary, so the frames
        websockets sends itself (pongs, close) never land inside one of ours."""
        if not frames:
            return
        if self.held is not None:
            self.held.extend(frames)
            return
        if self.conn.state is not State.OPEN:
            return
        size = sum(map(len, frames))
        self.stats.frames += len(frames)
        self.stats.bytes += size
        if not self.backlog and not self.conn.paused and size <= self.CHUNK:
            self.conn.transport.write(b"".join(frames))
            return
        self.backlog.extend(frames)
        self.backlog_bytes += size
        if self.backlog_bytes > self.max_buffer:
            log.warning("dropping %s: more than %d bytes unsent", self.conn.remote_address, self.max_buffer)
            self.backlog.clear()
            self.conn.transport.abort()
        elif self._flusher is None:
            self._flusher = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        try:
            while self.backlog:
                await self.conn.drain()  # until the transport is below its low-water mark
                if self.conn.state is not State.OPEN:
                    break
                chunk, n = [], 0
                while self.backlog and n < self.CHUNK:
                    chunk.append(self.backlog.popleft())
                    n += len(chunk[-1])
                self.backlog_bytes -= n
                self.conn.transport.write(b"".join(chunk))
        except Exception:  # the connection went away while waiting
            pass
        finally:
            self.backlog.clear()
            self.backlog_bytes = 0
            self._flusher = None

    async def drain(self) -> None:
        """Until everything written so far has been handed to a transport that is not full."""
        if self._flusher is not None:
            await asyncio.shield(self._flusher)
        await self.conn.drain()

    def send_json(self, obj) -> None:
        self.write([text_frame(orjson.dumps(obj))])

    async def stall(self, every: float, hold_for: float) -> None:
        while True:
            await asyncio.sleep(every - hold_for)
            self.held = []
            await asyncio.sleep(hold_for)
            held, self.held = self.held, None
            self.write(held)

    async def drop_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self.conn.transport.abort()

    def start_faults(self, f: Faults) -> None:
        if f.drop_every_s:
            self.tasks.append(asyncio.create_task(self.drop_after(f.drop_every_s)))
        if f.stall_every_s:
            self.tasks.append(asyncio.create_task(self.stall(f.stall_every_s, f.stall_for_s)))

    def stop(self) -> None:
        for t in self.tasks:
            t.cancel()
        if self._flusher is not None:
            self._flusher.cancel()


class MarketPeer(Peer):
    def __init__(self, conn, stats: Stats, cfg: ExchangeConfig, combined: bool, streams: list[str]):
        super().__init__(conn, stats, cfg.max_buffer)
        self.session = stream_control.StreamSession(combined, dict.fromkeys(streams))
        every = cfg.faults.malformed_every
        self.malformer = Malformer(every) if every else None
        self.playing = False


class ApiPeer(Peer):
    def __init__(self, conn, stats: Stats, cfg: ExchangeConfig, session: ApiSession):
        super().__init__(conn, stats, cfg.max_buffer)
        self.session = session
