"""A reusable output buffer of ``layouts.md`` records that normalizers write into with one
``struct.pack_into`` per record.

Setting numpy record fields one at a time from Python costs about 100 ns per field (19 fields);
one ``pack_into`` on the buffer's memoryview writes the whole 128 bytes in about 200 ns, and a
``sparse_record`` that pads the always-zero fields in less. The struct format below mirrors
``md.DTYPE``; the import-time check refuses a layout that moved.

``view()`` returns a numpy view of the records written since ``clear()``: valid until the next
``clear()`` (the next normalize call), since the same memory is rewritten. Copy it to keep it.
"""

from __future__ import annotations

import struct

import numpy as np
from numba import njit

from hftshm.layouts import md
from hftshm.ring.fast import entry_point

# Field order and struct codes, by offset. seq, publish_ns and venue are written 0: the ring
# stamps them (venue as a pad byte: no normalizer passes it).
_FIELDS = (
    ("seq", "<i8", "q"), ("kind", "|u1", "B"), ("side", "|u1", "B"), ("flags", "|u1", "B"), ("venue", "|u1", "x"),
    ("symbol_id", "<u4", "I"), ("exch_ns", "<i8", "q"), ("txn_ns", "<i8", "q"),
    ("recv_ns", "<i8", "q"), ("publish_ns", "<i8", "q"), ("venue_id", "<i8", "q"),
    ("venue_id2", "<i8", "q"), ("price_e8", "<i8", "q"), ("qty_e8", "<i8", "q"),
    ("price2_e8", "<i8", "q"), ("qty2_e8", "<i8", "q"), ("price", "<f8", "d"),
    ("qty", "<f8", "d"), ("price2", "<f8", "d"), ("qty2", "<f8", "d"),
)
RECORD = struct.Struct("<" + "".join(code for _, _, code in _FIELDS))


def _check_layout() -> None:
    by_offset = sorted(md.DTYPE.names, key=lambda n: md.DTYPE.fields[n][1])
    found = [(n, md.DTYPE.fields[n][0].str) for n in by_offset]
    expected = [(n, t) for n, t, _ in _FIELDS]
    if found != expected or RECORD.size != md.DTYPE.itemsize:
        raise ImportError(f"md.DTYPE changed: found {found} ({md.DTYPE.itemsize} B), "
                          f"this writer packs {expected} ({RECORD.size} B)")


_check_layout()


def sparse_record(*names: str) -> struct.Struct:
    """A struct writing only ``names``; every other field is a pad byte, which ``pack_into``
    writes as zero. Fewer arguments: a TRADE packs 12 values instead of 19, ~60 ns less."""
    unknown = set(names) - {n for n, _, _ in _FIELDS}
    if unknown:
        raise ValueError(f"not md.DTYPE fields: {sorted(unknown)}")
    fmt = "".join(code if n in names else f"{struct.calcsize(code)}x" for n, _, code in _FIELDS)
    return struct.Struct("<" + fmt)


_SIZE = RECORD.size
E8 = md.E8  # floats are e8 / E8: int / int true division is correctly rounded for every int64
_LEVEL = md.LEVEL
_BID, _ASK, _LAST_IN_EVENT = md.BID, md.ASK, md.F_LAST_IN_EVENT
_pack_full = RECORD.pack_into
_pack_level = sparse_record("kind", "side", "flags", "symbol_id", "exch_ns", "recv_ns", "venue_id",
                            "venue_id2", "price_e8", "qty_e8", "price", "qty").pack_into


_EXACT = 1 << 53  # below this an int64 converts to float64 exactly: v / E8 in numba == Python's


@njit(cache=True)
def _write_diff(arr, n, rows, n_bids, symbol_id, exch_ns, recv_ns, venue_id, venue_id2):
    """LEVELs of one depth diff from ``rows`` (flat int64: (price_e8, qty_e8) pairs, bids then
    asks) at ``arr[n:]``, F_LAST_IN_EVENT on the last; what ``put_levels`` writes. -1 (nothing
    written) if a value is 2**53 or more: its float must be Python's correctly rounded int / int."""
    count = len(rows) // 2
    for i in range(len(rows)):
        if rows[i] >= _EXACT or rows[i] <= -_EXACT:
            return -1
    for i in range(count):
        r = arr[n + i]
        price = rows[2 * i]
        qty = rows[2 * i + 1]
        r.seq = 0
        r.kind = _LEVEL
        r.side = _BID if i < n_bids else _ASK
        r.flags = _LAST_IN_EVENT if i == count - 1 else 0
        r.symbol_id = symbol_id
        r.exch_ns = exch_ns
        r.txn_ns = 0
        r.recv_ns = recv_ns
        r.publish_ns = 0
        r.venue_id = venue_id
        r.venue_id2 = venue_id2
        r.price_e8 = price
        r.qty_e8 = qty
        r.price2_e8 = 0
        r.qty2_e8 = 0
        r.price = np.float64(price) / E8
        r.qty = np.float64(qty) / E8
        r.price2 = 0.0
        r.qty2 = 0.0
    return count


class MdScratch:
    """Grow-only array of ``md.DTYPE`` records plus a write cursor ``n``."""

    __slots__ = ("array", "mv", "n", "one", "empty")

    def __init__(self, capacity: int = 64):
        self._alloc(max(1, capacity))
        self.n = 0

    def _alloc(self, capacity: int) -> None:
        old = getattr(self, "array", None)
        self.array = np.zeros(capacity, md.DTYPE)
        if old is not None:
            self.array[: len(old)] = old
        self.mv = memoryview(self.array.view(np.uint8))
        # Prebuilt views: slicing a numpy array costs ~100 ns, a third of a bookTicker's budget.
        self.one = self.array[:1]
        self.empty = self.array[:0]

    def clear(self) -> None:
        self.n = 0

    def truncate(self, n: int) -> None:
        """Forget records written after the first ``n`` (a rolled-back event)."""
        self.n = n

    def view(self) -> np.ndarray:
        n = self.n
        if n == 1:
            return self.one
        if n == 0:
            return self.empty
        return self.array[:n]

    def put(self, kind, side, flags, symbol_id, exch_ns, txn_ns, recv_ns, venue_id, venue_id2,
            price_e8, qty_e8, price2_e8=0, qty2_e8=0) -> None:
        """Append one record; float fields are derived from the e8 fields."""
        n = self.n
        if n == len(self.array):
            self._alloc(2 * n)
        _pack_full(self.mv, n * _SIZE, 0, kind, side, flags, symbol_id, exch_ns, txn_ns, recv_ns,
                   0, venue_id, venue_id2, price_e8, qty_e8, price2_e8, qty2_e8,
                   price_e8 / E8, qty_e8 / E8, price2_e8 / E8, qty2_e8 / E8)
        self.n = n + 1

    def reserve(self, extra: int) -> None:
        """Room for ``extra`` more records without growing mid-batch."""
        need = self.n + extra
        if need > len(self.array):
            self._alloc(max(need, 2 * len(self.array)))

    def put_levels(self, side: int, flags: int, last_flags: int, symbol_id: int, exch_ns: int,
                   recv_ns: int, venue_id: int, venue_id2: int, levels: list[tuple[int, int]]) -> None:
        """One LEVEL per ``(price_e8, qty_e8)``, all with ``flags`` but the last, which gets
        ``last_flags``. A batch: a depth event or snapshot carries up to thousands of levels."""
        count = len(levels)
        if not count:
            return
        self.reserve(count)
        mv, pack, off = self.mv, _pack_level, self.n * _SIZE
        for price, qty in levels:
            pack(mv, off, _LEVEL, side, flags, symbol_id, exch_ns, recv_ns, venue_id, venue_id2,
                 price, qty, price / E8, qty / E8)
            off += _SIZE
        if last_flags != flags:
            price, qty = levels[-1]
            pack(mv, off - _SIZE, _LEVEL, side, last_flags, symbol_id, exch_ns, recv_ns, venue_id,
                 venue_id2, price, qty, price / E8, qty / E8)
        self.n += count

    def put_diff_rows(self, rows: np.ndarray, n_bids: int, symbol_id: int, exch_ns: int, recv_ns: int,
                      venue_id: int, venue_id2: int) -> bool:
        """A depth diff's LEVELs in one compiled pass (``put_levels`` for the bids then the asks,
        flags 0, F_LAST_IN_EVENT on the last): ``rows`` is int64 (price_e8, qty_e8) pairs, flat.
        False (nothing written) for a value of 2**53 or more: use ``put_levels``."""
        count = len(rows) // 2
        if not count:
            return True
        self.reserve(count)
        if _write_diff_at(self.array, self.n, rows, n_bids, symbol_id, exch_ns, recv_ns, venue_id, venue_id2) < 0:
            return False
        self.n += count
        return True

    def single(self, kind, side, flags, symbol_id, exch_ns, txn_ns, recv_ns, venue_id, venue_id2,
               price_e8, qty_e8, price2_e8, qty2_e8) -> np.ndarray:
        """Replace the contents with one record and return its view (the trade/quote fast path)."""
        _pack_full(self.mv, 0, 0, kind, side, flags, symbol_id, exch_ns, txn_ns, recv_ns,
                   0, venue_id, venue_id2, price_e8, qty_e8, price2_e8, qty2_e8,
                   price_e8 / E8, qty_e8 / E8, price2_e8 / E8, qty2_e8 / E8)
        self.n = 1
        return self.one


_write_diff_at = entry_point(_write_diff, np.zeros(1, md.DTYPE), 0, np.zeros(2, np.int64), 0, 0, 0, 0, 0, 0)
