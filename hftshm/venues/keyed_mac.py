"""HMAC-SHA256 keyed once (RFC 2104), for the signers of order requests (Binance, Bybit).

The key's two padded blocks are hashed once; a signature copies the two SHA-256 states and
hashes the message and the inner digest. It uses CPython's own SHA-256 (``_sha2`` from 3.12,
``_sha256`` before) where there is one, rather than OpenSSL's through ``hmac``: the same
result, and less code between a wake-up and the socket write. Measured in the execution worker
on the 2-vCPU VM right after a wake-up (``hftshm bench trading``), a Binance order's signature
took 18 us p50 this way against 36 us with ``hmac.new(...).copy()``; warm, both take ~1 us.
The secret is not kept (only the hashed pads); ``repr`` shows nothing of them.
"""

from __future__ import annotations

import hashlib

try:
    from _sha2 import sha256 as _new  # CPython >= 3.12
except ImportError:  # pragma: no cover - depends on the interpreter
    try:
        from _sha256 import sha256 as _new  # CPython 3.11
    except ImportError:
        _new = hashlib.sha256

BLOCK = 64  # SHA-256's block size in bytes


class KeyedMac:
    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes):
        if len(key) > BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(BLOCK, b"\0")
        self._inner = _new(bytes(b ^ 0x36 for b in key))
        self._outer = _new(bytes(b ^ 0x5C for b in key))

    def hexdigest(self, message: bytes) -> str:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    def __repr__(self) -> str:
        return "KeyedMac(<hidden>)"
