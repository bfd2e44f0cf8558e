"""Price-level books: price_e8 -> qty_e8 per side.

``BookSide`` (one side, in Python: the in-band venues' books) and ``BookLevels`` (both sides in
arrays, a whole diff applied in one compiled pass: the Binance books; see its section below).

``BookSide``: a dict, with the prices also kept sorted.

The sorted list makes the best price O(1) after every change. Inserting or removing a price moves
at most a few thousand 8-byte pointers (one memmove, ~1 us at 5000 levels); recomputing the best
with max() over a dict after the top level is consumed, which happens every few events, would
cost ~100 us.
"""

from __future__ import annotations

import operator
from bisect import bisect_left
from collections.abc import Mapping

import numpy as np
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from hftshm.ring.fast import entry_point


class BookSide:
    __slots__ = ("qty", "_prices", "_bid")

    def __init__(self, bid: bool):
        self.qty: dict[int, int] = {}
        self._prices: list[int] = []  # ascending for both sides
        self._bid = bid

    def set(self, price: int, qty: int) -> None:
        """Absolute quantity for a level; 0 removes it (removing an absent level is normal:
        rule 9 of "How to manage a local order book correctly")."""
        levels = self.qty
        if qty:
            if price not in levels:
                prices = self._prices
                prices.insert(bisect_left(prices, price), price)
            levels[price] = qty
        elif price in levels:
            del levels[price]
            prices = self._prices
            del prices[bisect_left(prices, price)]

    def best(self) -> tuple[int, int]:
        """(price_e8, qty_e8) of the best level, (0, 0) when the side is empty."""
        prices = self._prices
        if not prices:
            return 0, 0
        price = prices[-1] if self._bid else prices[0]
        return price, self.qty[price]

    def clear(self) -> None:
        self.qty.clear()
        self._prices.clear()

    def __len__(self) -> int:
        return len(self._prices)

    def as_dict(self) -> dict[int, int]:
        return dict(self.qty)


# -- both sides of a book in arrays, a whole diff applied in one compiled pass -----------------
#
# The Binance books (``book.LocalBook``) apply depth diffs of ~70 levels, tens of thousands a
# minute on a busy symbol, to sides of ~5,000 levels; ``BookSide.set`` costs ~0.5 us a level in
# Python (dict, bisect, list insert), most of an event's time. ``BookLevels`` keeps each side as
# a sorted int64 key array with its quantities, the best level last (bids: key = price
# ascending; asks: key = -price ascending). A side's levels sit in the middle of its row with room
# on both ends, and an insert or removal memmoves the shorter part (on the USD-M capture ~370
# entries an insert or removal, ~6 us an event of ~70 levels, against ~50 us in Python).
#
#     keys  (2, cap) int64   row 0: bid prices ascending, row 1: -ask prices ascending
#     qtys  (2, cap) int64   the quantity of the key at the same place
#     n     (4,)     int64   levels held per side (bid, ask), then where each starts in its row
#     top   (4,)     int64   after apply: best bid, its qty, best ask, its qty (0, 0 if empty)


@intrinsic
def _move(typingctx, arr, dst, src, count):
    """``flat[dst:dst + count] = flat[src:src + count]`` within a C-contiguous int64 array (the
    ranges may overlap): one memmove, ~10x a loop over the entries."""
    if not (isinstance(arr, types.Array) and arr.dtype == types.int64 and arr.layout == "C"):
        return None
    sig = types.void(arr, types.intp, types.intp, types.intp)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        dst_ptr = builder.gep(ary.data, [args[1]])
        src_ptr = builder.gep(ary.data, [args[2]])
        cgutils.raw_memmove(builder, dst_ptr, src_ptr, args[3], 8)

    return sig, codegen


@njit(cache=True)
def _apply_rows(keys, qtys, n, rows, n_bids, top):
    """Apply ``rows`` (flat int64 (price_e8, qty_e8) pairs, the first ``n_bids`` bids, then asks):
    each quantity absolute, 0 removes the level, removing an absent level does nothing (rules 7-9).
    Then ``top`` <- the best levels. Returns 1 if the book is crossed (best bid >= best ask), 0 if
    not, -1 (nothing changed) if a side could outgrow its row: grow and call again."""
    count = len(rows) // 2
    cap = keys.shape[1]
    if n[0] + n_bids > cap or n[1] + (count - n_bids) > cap:
        return -1
    for i in range(count):
        s = 0 if i < n_bids else 1
        price = rows[2 * i]
        qty = rows[2 * i + 1]
        key = price if s == 0 else -price
        m = n[s]
        b = n[2 + s]
        lo = b
        hi = b + m
        while lo < hi:
            mid = (lo + hi) >> 1
            if keys[s, mid] < key:
                lo = mid + 1
            else:
                hi = mid
        end = b + m
        row = s * cap  # flat index of the row's first entry, for _move
        if lo < end and keys[s, lo] == key:
            if qty != 0:
                qtys[s, lo] = qty
            elif lo - b < end - lo:  # remove: close the gap from the nearer end
                _move(keys, row + b + 1, row + b, lo - b)
                _move(qtys, row + b + 1, row + b, lo - b)
                n[2 + s] = b + 1
                n[s] = m - 1
            else:
                _move(keys, row + lo, row + lo + 1, end - lo - 1)
                _move(qtys, row + lo, row + lo + 1, end - lo - 1)
                n[s] = m - 1
        elif qty != 0:  # insert before ``lo``: open the gap toward the nearer end with room
            if b > 0 and (lo - b < end - lo or end == cap):
                _move(keys, row + b - 1, row + b, lo - b)
                _move(qtys, row + b - 1, row + b, lo - b)
                lo -= 1
                n[2 + s] = b - 1
            else:
                _move(keys, row + lo + 1, row + lo, end - lo)
                _move(qtys, row + lo + 1, row + lo, end - lo)
            keys[s, lo] = key
            qtys[s, lo] = qty
            n[s] = m + 1
    nb = n[0]
    na = n[1]
    if nb:
        last = n[2] + nb - 1
        top[0] = keys[0, last]
        top[1] = qtys[0, last]
    else:
        top[0] = 0
        top[1] = 0
    if na:
        last = n[3] + na - 1
        top[2] = -keys[1, last]
        top[3] = qtys[1, last]
    else:
        top[2] = 0
        top[3] = 0
    return 1 if nb and na and top[0] >= top[2] else 0


_I64 = np.zeros(0, np.int64)
_MAX = (1 << 63) - 1
_apply_rows_at = entry_point(_apply_rows, np.zeros((2, 1), np.int64), np.zeros((2, 1), np.int64), _I64, _I64,
                             0, _I64)


class BookLevels:
    """Both sides of one book (the layout above). ``bids`` / ``asks`` read a side as ``BookSide``
    does (``best``, ``qty``, ``as_dict``, ``len``); only ``apply`` and ``clear`` change it."""

    __slots__ = ("keys", "qtys", "n", "top", "bids", "asks")

    def __init__(self, capacity: int = 4096):
        cap = max(2, capacity)
        self.keys = np.zeros((2, cap), np.int64)
        self.qtys = np.zeros_like(self.keys)
        self.n = np.array([0, 0, cap // 2, cap // 2], np.int64)
        self.top = np.zeros(4, np.int64)
        self.bids = LevelsSide(self, 0)
        self.asks = LevelsSide(self, 1)

    def apply(self, rows: np.ndarray, n_bids: int) -> bool:
        """Apply one diff's (or snapshot's) levels (``_apply_rows``); True if the book is now
        crossed. ``top`` holds the best levels after it."""
        crossed = _apply_rows_at(self.keys, self.qtys, self.n, rows, n_bids, self.top)
        if crossed < 0:
            self._grow(len(rows) // 2)
            crossed = _apply_rows_at(self.keys, self.qtys, self.n, rows, n_bids, self.top)
        return crossed == 1

    def _grow(self, extra: int) -> None:
        """Rows of at least twice the room, each side re-centred."""
        n = self.n
        cap = max(2 * self.keys.shape[1], 2 * (int(max(n[0], n[1])) + extra))
        keys = np.zeros((2, cap), np.int64)
        qtys = np.zeros_like(keys)
        for s in (0, 1):
            m, b = int(n[s]), int(n[2 + s])
            start = (cap - m) // 2
            keys[s, start:start + m] = self.keys[s, b:b + m]
            qtys[s, start:start + m] = self.qtys[s, b:b + m]
            n[2 + s] = start
        self.keys, self.qtys = keys, qtys

    def clear(self) -> None:
        cap = self.keys.shape[1]
        self.n[:] = (0, 0, cap // 2, cap // 2)
        self.top[:] = 0


class LevelsSide(Mapping):
    """A read-only view of one side of a ``BookLevels``: a mapping price_e8 -> qty_e8 (so
    ``side.qty`` is the side itself, as ``BookSide.qty`` is its dict), with ``best()``."""

    __slots__ = ("_book", "_s")

    def __init__(self, book: BookLevels, side: int):
        self._book = book
        self._s = side

    def _arrays(self):
        book, s = self._book, self._s
        m, b = int(book.n[s]), int(book.n[2 + s])
        return book.keys[s, b:b + m], book.qtys[s, b:b + m]

    @property
    def qty(self) -> LevelsSide:
        return self

    def __len__(self) -> int:
        return int(self._book.n[self._s])

    def __getitem__(self, price: int) -> int:
        try:
            key = operator.index(price)
        except TypeError:
            raise KeyError(price) from None
        if not -_MAX <= key <= _MAX:
            raise KeyError(price)
        keys, qtys = self._arrays()
        key = key if self._s == 0 else -key
        i = int(np.searchsorted(keys, key))
        if i < len(keys) and keys[i] == key:
            return int(qtys[i])
        raise KeyError(price)

    def __iter__(self):
        keys, _ = self._arrays()
        return iter(keys.tolist() if self._s == 0 else (-keys).tolist())

    def best(self) -> tuple[int, int]:
        """(price_e8, qty_e8) of the best level, (0, 0) when the side is empty."""
        keys, qtys = self._arrays()
        if not len(keys):
            return 0, 0
        key = int(keys[-1])
        return (key if self._s == 0 else -key), int(qtys[-1])

    def as_dict(self) -> dict[int, int]:
        keys, qtys = self._arrays()
        prices = keys.tolist() if self._s == 0 else (-keys).tolist()
        return dict(zip(prices, qtys.tolist()))
