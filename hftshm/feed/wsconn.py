"""A websockets client connection that stamps each socket read and hands text messages to a
sink in the read callback itself: no receive queue, no ``await recv()`` per message.

``data_received`` is where asyncio hands over the bytes of one ``recv()`` on the socket; the
receive time is taken first thing there, and every message completed by those bytes carries it.
The sink (``sink(messages, recv_ns)``, messages as ``bytes``) runs synchronously, so a slow sink
slows the reads and TCP pushes back on the sender: there is no unbounded buffer.

``fast=True`` (the default) splits frames with ``FrameSplitter`` once the handshake is done and
gives websockets only the other frames (pings, close, fragments); ``fast=False`` lets websockets
parse every frame (``process_event``), for comparison. Handshake, pings, pongs and the closing
handshake are websockets' either way.
"""

from __future__ import annotations

import time

from websockets.asyncio.client import ClientConnection
from websockets.frames import Opcode

from .wsframes import FrameSplitter

_now = time.time_ns
_HEAD_END = b"\r\n\r\n"


class FeedConnection(ClientConnection):
    """Build through ``factory(sink, fast)``, passed to ``websockets.connect(create_connection=)``."""

    sink = None
    fast = True
    max_message = 1 << 20

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.recv_ns = 0  # time of the latest socket read
        self.last_message_ns = 0  # time of the latest read that completed a message
        self.bytes_received = 0
        self._head = b""  # handshake bytes until the response is complete
        self._splitter: FrameSplitter | None = None
        self._batch: list | None = None
        self._fragments: list[bytes] | None = None

    def data_received(self, data: bytes) -> None:
        recv_ns = _now()
        self.recv_ns = recv_ns
        self.bytes_received += len(data)
        splitter = self._splitter
        if splitter is None:
            if self.fast and self.response is None:
                data = self._handshake_bytes(data)
                if not data:
                    return
                splitter = self._splitter
            if splitter is None:
                self._slow(data, recv_ns)
                return
        splitter.feed(data)
        sink = self.sink
        while True:
            texts, other = splitter.take()
            if texts:
                self.last_message_ns = recv_ns
                sink(texts, recv_ns)
            if other is None:
                return
            self._slow(other, recv_ns)

    def _handshake_bytes(self, data: bytes) -> bytes:
        """Give websockets exactly the HTTP response; returns the bytes after it (frames)."""
        head = self._head + data
        end = head.find(_HEAD_END)
        if end < 0:
            self._head = head
            return b""
        end += len(_HEAD_END)
        self._head = b""
        if head.startswith((b"HTTP/1.1 101 ", b"HTTP/1.0 101 ")):
            self._splitter = FrameSplitter(self.max_message)
            super().data_received(head[:end])
            return head[end:]
        # refused (no 101): websockets reads the body and fails the handshake
        self.fast = False
        super().data_received(head)
        return b""

    def _slow(self, data: bytes, recv_ns: int) -> None:
        """websockets parses ``data``; text messages come back through ``process_event``."""
        self._batch = batch = []
        super().data_received(data)
        self._batch = None
        if batch:
            self.last_message_ns = recv_ns
            self.sink(batch, recv_ns)

    def process_event(self, event) -> None:
        if self.response is None or self._batch is None:
            super().process_event(event)
            return
        op = event.opcode
        if op is Opcode.TEXT:
            if event.fin:
                self._batch.append(event.data)
            else:
                self._fragments = [event.data]
        elif op is Opcode.CONT:
            if self._fragments is not None:  # else the rest of a binary message
                self._fragments.append(event.data)
                if event.fin:
                    self._batch.append(b"".join(self._fragments))
                    self._fragments = None
        elif op is Opcode.BINARY:
            pass  # Binance sends text only; binary is dropped (nothing to decode)
        else:
            super().process_event(event)


def factory(sink, fast: bool = True, max_message: int = 1 << 20):
    """A ``create_connection`` for ``websockets.connect`` whose connections call ``sink``."""

    def make(*args, **kwargs) -> FeedConnection:
        conn = FeedConnection(*args, **kwargs)
        conn.sink = sink
        conn.fast = fast
        conn.max_message = max_message
        return conn

    return make
