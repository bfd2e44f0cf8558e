"""The mutable risk state: one contiguous block (see layout.py) and its numpy views.

``RiskState(n_symbols)`` formats a fresh block in private memory; ``RiskState(n_symbols, buf)``
formats one in a caller's buffer (a shared-memory segment's ``buf``, say), and
``RiskState.attach(buf)`` opens a block some other code formatted. The numba functions take the
views: ``symbols`` (shape (n_symbols,) of SYMBOL_DTYPE) and ``account`` (shape (1,) of
ACCOUNT_DTYPE).
"""

from __future__ import annotations

import numpy as np

from .. import preamble
from ..errors import SegmentCorrupt
from . import layout as L


class RiskState:
    def __init__(self, n_symbols: int, buffer=None):
        """Format a new block for symbol ids ``0 .. n_symbols-1``: zero it, write the header,
        then the magic last. Without ``buffer`` the block lives in private, 64-byte aligned memory."""
        if isinstance(n_symbols, bool) or not isinstance(n_symbols, (int, np.integer)) or n_symbols < 1:
            raise ValueError(f"n_symbols must be a positive integer, got {n_symbols!r}")
        size = L.block_size(int(n_symbols))
        raw = _aligned_zeros(size) if buffer is None else _bytes_of(buffer, size)
        raw[:] = 0
        header = raw[: L.HEADER_LENGTH].view(np.int64)
        header[L.W_VERSION] = L.VERSION
        header[L.W_N_SYMBOLS] = n_symbols
        header[L.W_BLOCK_SIZE] = size
        header[L.W_SYMBOL_SIZE] = L.SYMBOL_LENGTH
        header[L.W_ACCOUNT_SIZE] = L.ACCOUNT_LENGTH
        preamble.publish(header, L.W_MAGIC, L.MAGIC)  # the magic goes last
        self._bind(raw)

    @classmethod
    def attach(cls, buffer) -> "RiskState":
        """Open a block formatted elsewhere; refuses anything but a complete block of this version."""
        raw = _bytes_of(buffer, L.HEADER_LENGTH)
        header = raw[: L.HEADER_LENGTH].view(np.int64)
        preamble.check_magic(header, L.W_MAGIC, L.MAGIC, "risk state",
                             "not a risk block, or its creator has not finished")
        found = {name: int(header[w]) for name, w in (("version", L.W_VERSION), ("symbol size", L.W_SYMBOL_SIZE),
                                                       ("account size", L.W_ACCOUNT_SIZE))}
        expected = {"version": L.VERSION, "symbol size": L.SYMBOL_LENGTH, "account size": L.ACCOUNT_LENGTH}
        for name, value in found.items():
            if value != expected[name]:
                raise SegmentCorrupt(f"risk state: {name} {value}, expected {expected[name]}")
        n = int(header[L.W_N_SYMBOLS])
        size = L.block_size(n)
        if int(header[L.W_BLOCK_SIZE]) != size:
            raise SegmentCorrupt(f"risk state: block size {int(header[L.W_BLOCK_SIZE])} does not match "
                                 f"{n} symbols ({size} B)")
        self = cls.__new__(cls)
        self._bind(_bytes_of(buffer, size))
        return self

    def _bind(self, raw: np.ndarray) -> None:
        self.raw = raw
        self.header = raw[: L.HEADER_LENGTH].view(np.int64)
        self.n_symbols = int(self.header[L.W_N_SYMBOLS])
        self.account = raw[L.ACCOUNT_OFFSET: L.ACCOUNT_OFFSET + L.ACCOUNT_LENGTH].view(L.ACCOUNT_DTYPE)
        end = L.SYMBOLS_OFFSET + self.n_symbols * L.SYMBOL_LENGTH
        self.symbols = raw[L.SYMBOLS_OFFSET: end].view(L.SYMBOL_DTYPE)

    @staticmethod
    def size(n_symbols: int) -> int:
        return L.block_size(n_symbols)

    def __repr__(self) -> str:
        return f"RiskState({self.n_symbols} symbols, {self.raw.nbytes} B)"


def _aligned_zeros(size: int) -> np.ndarray:
    """``size`` zero bytes starting on a cache line (as a shared-memory mapping would)."""
    spare = np.zeros(size + L.CACHE_LINE, np.uint8)
    skip = -spare.__array_interface__["data"][0] % L.CACHE_LINE
    return spare[skip: skip + size]


def _bytes_of(buffer, size: int) -> np.ndarray:
    """The first ``size`` bytes of a writable buffer as uint8, checked for size and alignment."""
    try:
        raw = np.frombuffer(buffer, np.uint8)
    except (TypeError, ValueError) as e:
        raise TypeError(f"risk state: buffer must support the buffer protocol ({e})") from None
    if raw.nbytes < size:
        raise ValueError(f"risk state: buffer of {raw.nbytes} B is too small, needs {size} B")
    if not raw.flags.writeable:
        raise ValueError("risk state: buffer is read-only")
    if raw.__array_interface__["data"][0] % L.WORD:
        raise ValueError("risk state: buffer must start on an 8-byte boundary")
    return raw[:size]
