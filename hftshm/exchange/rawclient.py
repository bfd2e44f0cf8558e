"""A minimal blocking WebSocket client that reads frames without decoding them.

For the streaming benchmark and for tests that look at the wire itself (server pings, frame
counts): it does the opening handshake (RFC 6455 section 4.1), then splits the byte stream into
``(opcode, payload)`` frames. It reads fast enough to count a few hundred thousand frames a
second in Python, which a full client library cannot.
"""

from __future__ import annotations

import base64
import os
import socket
import struct
import time

import numpy as np
from numba import njit


@njit(cache=True)
def _scan(buf):
    """(complete frames, bytes consumed, payload bytes) at the start of ``buf``."""
    pos = 0
    frames = 0
    payload = 0
    n = buf.shape[0]
    while n - pos >= 2:
        size = buf[pos + 1] & 0x7F
        at = pos + 2
        if size == 126:
            if n - pos < 4:
                break
            size = (np.int64(buf[pos + 2]) << 8) | buf[pos + 3]
            at = pos + 4
        elif size == 127:
            if n - pos < 10:
                break
            size = 0
            for i in range(8):
                size = (size << 8) | np.int64(buf[pos + 2 + i])
            at = pos + 10
        if at + size > n:
            break
        frames += 1
        payload += size
        pos = at + size
    return frames, pos, payload


def _first_payload(buf: bytearray) -> bytes:
    """The payload of the (complete, under 64 KiB) first frame in ``buf``."""
    size, at = buf[1] & 0x7F, 2
    if size == 126:
        size, at = buf[2] << 8 | buf[3], 4
    return bytes(buf[at:at + size])


class RawClient:
    def __init__(self, host: str, port: int, path: str, timeout: float = 10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        self.buf = bytearray()
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            self.buf += chunk
        head, _, rest = bytes(self.buf).partition(b"\r\n\r\n")
        self.status = int(head.split(b" ", 2)[1])
        self.response = head.decode("latin-1")
        self.buf = bytearray(rest)
        if self.status != 101:
            raise ConnectionError(f"handshake refused: {self.response.splitlines()[0]}")

    def _fill(self) -> bool:
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            return False
        self.buf += chunk
        return True

    def frames(self, max_frames: int | None = None):
        """Yield ``(opcode, payload)`` until the connection ends (or ``max_frames``)."""
        n = 0
        while max_frames is None or n < max_frames:
            frame = self._next()
            if frame is None:
                return
            n += 1
            yield frame

    def _next(self):
        while True:
            buf = self.buf
            if len(buf) >= 2:
                opcode, size = buf[0] & 0x0F, buf[1] & 0x7F
                at = 2
                if size == 126:
                    at, size = 4, (buf[2] << 8 | buf[3]) if len(buf) >= 4 else -1
                elif size == 127:
                    at, size = 10, struct.unpack_from(">Q", buf, 2)[0] if len(buf) >= 10 else -1
                if size >= 0 and len(buf) >= at + size:
                    payload = bytes(buf[at:at + size])
                    del buf[:at + size]
                    return opcode, payload
            if not self._fill():
                return None

    def count(self, seconds: float, sample_every: int = 0, on_sample=None) -> tuple[int, int]:
        """Count frames and payload bytes for ``seconds``; every ``sample_every``-th payload
        (roughly) is passed to ``on_sample``. Headers are scanned by a numba loop, so counting
        costs little next to the socket reads."""
        end = time.monotonic() + seconds
        frames = nbytes = 0
        buf = self.buf
        while time.monotonic() < end:
            if not self._fill():
                break
            view = np.frombuffer(buf, np.uint8)
            n, pos, size = _scan(view)
            del view  # a live view would pin the bytearray's size
            if sample_every and on_sample and n and (frames + n) // sample_every > frames // sample_every:
                on_sample(_first_payload(buf))  # the first frame of this read stands in
            frames += n
            nbytes += size
            del buf[:pos]
        return frames, nbytes

    def send_text(self, text: str) -> None:
        """A masked client text frame (RFC 6455 section 5.3)."""
        self._send(0x81, text.encode())

    def send_pong(self, payload: bytes) -> None:
        self._send(0x8A, payload)

    def _send(self, first: int, data: bytes) -> None:
        mask = os.urandom(4)
        n = len(data)
        head = bytes((first, 0x80 | n)) if n < 126 else bytes((first, 0x80 | 126)) + n.to_bytes(2, "big")
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.sock.sendall(head + mask + masked)

    def close(self) -> None:
        self.sock.close()
