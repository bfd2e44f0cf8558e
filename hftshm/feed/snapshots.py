"""Depth snapshots over the WebSocket API (web-socket-api.md "Order book": method ``depth``).

One API connection, opened when the first snapshot is wanted and reopened after it drops.
Requests ``{"id","method":"depth","params":{"symbol","limit"}}``; each reply (raw bytes, with
its receive time) goes to ``on_reply(symbol, raw, recv_ns)``. A symbol is requested at most once
every ``min_interval_s`` (a snapshot too old to bridge is asked for again, but a venue that keeps
answering stale or failing is not hammered: each request costs weight 5-250 of 6000 a minute).
"""

from __future__ import annotations

import asyncio
import logging
import time

import orjson
import websockets

log = logging.getLogger("hftshm.feed")
REPLY_TIMEOUT_S = 10.0


class SnapshotFetcher:
    def __init__(self, api_url: str, on_reply, limit: int = 1000, min_interval_s: float = 1.0,
                 open_timeout: float = 10.0, on_error=None, on_request=None):
        self.api_url = api_url
        self.on_reply = on_reply
        self.on_error = on_error or (lambda what: None)
        self.on_request = on_request or (lambda symbol: None)
        self.limit = limit
        self.min_interval_s = min_interval_s
        self.open_timeout = open_timeout
        self.requested = 0
        self._conn = None
        self._reader: asyncio.Task | None = None
        self._opening: asyncio.Task | None = None
        self._pending: dict[int, tuple[str, float]] = {}  # request id -> (symbol, sent at)
        self._last: dict[str, float] = {}  # symbol -> monotonic time of its last request
        self._next_id = 1

    def poll(self, wanted: list[str]) -> None:
        """Request a snapshot for each symbol in ``wanted`` that is not in flight or too recent."""
        if not wanted:
            return
        now = time.monotonic()
        for rid, (_, at) in list(self._pending.items()):
            if now - at > REPLY_TIMEOUT_S:  # never answered: ask again
                del self._pending[rid]
        busy = {s for s, _ in self._pending.values()}
        due = [s for s in wanted if s not in busy and now - self._last.get(s, -1e9) >= self.min_interval_s]
        if not due:
            return
        if self._conn is None:
            if self._opening is None or self._opening.done():
                self._opening = asyncio.ensure_future(self._open())
            return
        for symbol in due:
            rid = self._next_id
            self._next_id += 1
            self._pending[rid] = (symbol, now)
            self._last[symbol] = now
            self.requested += 1
            self.on_request(symbol)
            msg = {"id": rid, "method": "depth", "params": {"symbol": symbol, "limit": self.limit}}
            asyncio.ensure_future(self._send(orjson.dumps(msg).decode()))

    async def _send(self, text: str) -> None:
        conn = self._conn
        try:
            await conn.send(text)
        except Exception:  # the reader sees the close and resets; requests are retried by poll
            self.on_error("send")

    async def _open(self) -> None:
        try:
            self._conn = await websockets.connect(self.api_url, compression=None, max_size=None,
                                                  open_timeout=self.open_timeout, ping_interval=20,
                                                  ping_timeout=20)
        except Exception as exc:  # OSError, handshake, timeout: retried on a later poll
            log.warning("depth API %s: %s", self.api_url, exc)
            self.on_error("connect")
            await asyncio.sleep(self.min_interval_s)
            return
        self._reader = asyncio.ensure_future(self._read(self._conn))

    async def _read(self, conn) -> None:
        try:
            async for raw in conn:
                recv_ns = time.time_ns()
                try:
                    reply = orjson.loads(raw)
                    symbol, _ = self._pending.pop(reply.get("id"), (None, 0))
                except (orjson.JSONDecodeError, AttributeError, TypeError):
                    self.on_error("reply")
                    continue
                if symbol is None:
                    continue
                if reply.get("status") != 200:
                    log.warning("depth %s: %s", symbol, reply.get("error"))
                    self.on_error("status")
                    continue
                self.on_reply(symbol, raw, recv_ns)
        except websockets.ConnectionClosed:
            pass
        finally:
            if self._conn is conn:
                self._conn = None
                self._pending.clear()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if self._opening is not None:
            self._opening.cancel()
        if conn is not None:
            try:
                await asyncio.wait_for(conn.close(), 2.0)
            except Exception:
                conn.transport.abort()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
