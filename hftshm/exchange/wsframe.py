"""Server-to-client WebSocket text frames, encoded here so many can be written at once.

RFC 6455 section 5.2: a server frame is unmasked; ``FIN | opcode`` (0x81 for a final text frame)
then the payload length in 7 bits, or 126 and 16 bits, or 127 and 64 bits, then the payload.
The server writes these whole frames straight to the connection's transport, between (never
inside) the frames websockets writes itself, so the two never interleave mid-frame.
"""

from __future__ import annotations

FIN_TEXT = 0x81
LEN16 = 126
LEN64 = 127
_HEADERS = [bytes((FIN_TEXT, n)) for n in range(LEN16)] + [
    bytes((FIN_TEXT, LEN16)) + n.to_bytes(2, "big") for n in range(LEN16, 4096)
]


def header(n: int) -> bytes:
    """The header of a final text frame carrying ``n`` payload bytes."""
    if n < 4096:
        return _HEADERS[n]
    if n < 1 << 16:
        return bytes((FIN_TEXT, LEN16)) + n.to_bytes(2, "big")
    return bytes((FIN_TEXT, LEN64)) + n.to_bytes(8, "big")


def text_frame(payload: bytes) -> bytes:
    return header(len(payload)) + payload


def envelope_prefix(stream: str) -> bytes:
    """Combined streams wrap a payload as ``{"stream":"<name>","data":<payload>}``
    (web-socket-streams.md "General WSS information")."""
    return b'{"stream":"' + stream.encode() + b'","data":'
