"""Splitting a server's WebSocket byte stream into frames, sans-I/O (RFC 6455 section 5.2).

The ingest hot path: websockets' generator-based parser costs ~2-3 us a frame in Python, about
as much as decoding and normalizing the message. Server frames are never masked, and market
data comes as single-frame text messages (first byte 0x81: FIN, no RSV bits, opcode 1), so
those are cut out here with a few integer operations each. Any other frame (ping, pong, close,
binary, fragments, RSV bits, a masked or oversized frame) is handed back whole, so that
websockets' protocol, which only ever sees whole frames, stays at a frame boundary and answers
pings and closes as usual.
"""

from __future__ import annotations

_FAST = 0x81  # FIN + text, no RSV bits


class FrameSplitter:
    """Feed bytes with ``feed``; ``take`` returns what is complete.

    ``take()`` -> ``(texts, other)``: the payloads of the complete fast text frames at the head
    of the stream, then the first complete frame that is not one, raw with its header (or None
    when none is complete). Call it again until ``other`` is None. After a frame it cannot
    judge (masked, or larger than ``max_size``), ``other`` is everything left and the splitter
    passes all later bytes through unsplit: websockets will fail the connection.
    """

    __slots__ = ("_buf", "max_size", "passthrough")

    def __init__(self, max_size: int = 1 << 20):
        self._buf = b""
        self.max_size = max_size
        self.passthrough = False

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> None:
        self._buf = self._buf + data if self._buf else bytes(data)

    def take(self) -> tuple[list[bytes], bytes | None]:
        data = self._buf
        if self.passthrough:
            self._buf = b""
            return [], (data or None)
        n = len(data)
        pos = 0
        texts = []
        other = None
        max_size = self.max_size
        while n - pos >= 2:
            b0 = data[pos]
            b1 = data[pos + 1]
            size = b1 & 0x7F
            at = pos + 2
            if size == 126:
                if n - pos < 4:
                    break
                size = data[pos + 2] << 8 | data[pos + 3]
                at = pos + 4
            elif size == 127:
                if n - pos < 10:
                    break
                size = int.from_bytes(data[pos + 2:pos + 10], "big")
                at = pos + 10
            if b1 & 0x80 or size > max_size:  # masked by a server, or too large: not ours to judge
                self.passthrough = True
                other = data[pos:]
                pos = n
                break
            end = at + size
            if end > n:
                break
            if b0 == _FAST:
                texts.append(data[at:end])
            else:
                other = data[pos:end]
                pos = end
                break
            pos = end
        self._buf = data[pos:] if pos < n else b""
        return texts, other
