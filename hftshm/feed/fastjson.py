"""Known frame shapes, matched and parsed in one compiled pass: the normalizers' fast path.

A venue's market-data frames come in a few fixed shapes: the same keys in the same order, no
blanks (the vendored captures are the wire truth). A template spells one shape out as literal
text with typed holes::

    {"stream":"<STR>","data":{"e":"bookTicker","u":<INT>,"s":"<STR>","b":"<DEC>",...}}

``Templates.match(frame)`` walks the frame's bytes once, in numba, against each template in
turn and returns the index of the one the *whole* frame matches, byte for byte, with the holes'
values in ``vals`` (and depth levels in ``levels``); -1 when none does. A frame that matches is
valid JSON whose decoded values are exactly the ones returned, so a normalizer may build its
records from them without orjson; one that does not match (another key order, a blank, an escape,
a sign, a value out of range) goes to the normalizer's general path, which decides and counts what
it is. The fast path therefore never changes what a frame means, only how fast a plain one is read.

Holes (each yields the ``vals`` slots named):

- ``<INT>``: a JSON integer 0 .. int64 max (no sign, no leading zero, no fraction or exponent):
  its value (1 slot).
- ``<DEC>``: the body of a JSON string that ``feed.e8.parse_e8`` accepts (ASCII digits,
  optionally ``.`` and 1 to 8 digits, at most int64 max in 1e-8 units): its e8 value (1 slot).
- ``<STR>``: the body of a JSON string of printable ASCII without ``\\`` or ``"`` (so its bytes
  are its decoded text): its (start, end) offsets in the frame (2 slots).
- ``<BOOL>``: ``true`` / ``false``: 1 / 0 (1 slot).
- ``<LEVELS>``: ``[]`` or ``[["<DEC>","<DEC>"],...]`` with every price non-zero: (first row,
  count) of its (price_e8, qty_e8) rows in ``levels`` (2 slots). A zero price (which the general
  path refuses, zero_values) or more rows than ``levels`` holds is no match.
"""

from __future__ import annotations

import re

import numpy as np
from numba import njit

from hftshm.layouts import md
from hftshm.ring.fast import entry_point

LIT, INT, DEC, STR, BOOL, LEVELS = 0, 1, 2, 3, 4, 5
_HOLES = {"<INT>": INT, "<DEC>": DEC, "<STR>": STR, "<BOOL>": BOOL, "<LEVELS>": LEVELS}
_SLOTS = {INT: 1, DEC: 1, STR: 2, BOOL: 1, LEVELS: 2}
_SPLIT = re.compile("(" + "|".join(re.escape(h) for h in _HOLES) + ")")
MAX_VALS = 32
_MAX = (1 << 63) - 1
_E8 = 100_000_000
_MAX_WHOLE = _MAX // _E8


@njit(cache=True, inline="always")
def _uint(buf, pos, n):
    """A JSON integer without sign at ``pos``: (value, end), end -1 if none or past int64."""
    if pos >= n:
        return 0, -1
    d = buf[pos] - 48
    if d < 0 or d > 9:
        return 0, -1
    if d == 0:  # JSON allows no leading zero: "0" alone
        if pos + 1 < n and 48 <= buf[pos + 1] <= 57:
            return 0, -1
        return 0, pos + 1
    v = 0
    while pos < n:
        d = buf[pos] - 48
        if d < 0 or d > 9:
            break
        if v > (_MAX - d) // 10:
            return 0, -1
        v = v * 10 + d
        pos += 1
    return v, pos


@njit(cache=True, inline="always")
def _dec(buf, pos, n):
    """parse_e8's grammar at ``pos`` (the string's body): (e8 value, end), end -1 if it fails."""
    whole = 0
    start = pos
    while pos < n:
        d = buf[pos] - 48
        if d < 0 or d > 9:
            break
        if whole > (_MAX - d) // 10:
            return 0, -1
        whole = whole * 10 + d
        pos += 1
    if pos == start or whole > _MAX_WHOLE:
        return 0, -1
    frac = 0
    scale = _E8
    if pos < n and buf[pos] == 46:  # "."
        pos += 1
        digits = 0
        while pos < n:
            d = buf[pos] - 48
            if d < 0 or d > 9:
                break
            digits += 1
            if digits > 8:
                return 0, -1
            frac = frac * 10 + d
            scale //= 10
            pos += 1
        if digits == 0:
            return 0, -1
    base = whole * _E8
    part = frac * scale
    if base > _MAX - part:
        return 0, -1
    return base + part, pos


md.check_words("feed.fastjson.md_record")
_WORDS = md.DTYPE.itemsize // 8


@njit(cache=True, inline="always")
def md_record(words, at, kind, side, flags, sid, exch_ns, txn_ns, recv_ns, id1, id2, price, qty, price2, qty2):
    """Every field of md record ``at`` of ``words`` (the records as int64 words, at
    md.WORD_OFFSETS, which md.check_words pins); seq, publish_ns and venue 0: the ring stamps them. The
    floats are e8 / 1e8, as Python's int / int, for values below 2**53 (callers refuse larger)."""
    o = at * _WORDS
    words[o] = 0
    words[o + 1] = kind | (side << 8) | (flags << 16) | (sid << 32)
    words[o + 2] = exch_ns
    words[o + 3] = txn_ns
    words[o + 4] = recv_ns
    words[o + 5] = 0
    words[o + 6] = id1
    words[o + 7] = id2
    words[o + 8] = price
    words[o + 9] = qty
    words[o + 10] = price2
    words[o + 11] = qty2
    f = words.view(np.float64)
    f[o + 12] = np.float64(price) / 100_000_000
    f[o + 13] = np.float64(qty) / 100_000_000
    f[o + 14] = np.float64(price2) / 100_000_000
    f[o + 15] = np.float64(qty2) / 100_000_000


@njit(cache=True, inline="always")
def expect(buf, pos, n, lit):
    """``lit`` (a uint8 array) at ``pos``: the offset after it, -1 if absent (or ``pos`` is -1)."""
    m = len(lit)
    if pos < 0 or pos + m > n:
        return -1
    for j in range(m):
        if buf[pos + j] != lit[j]:
            return -1
    return pos + m


@njit(cache=True, inline="always")
def string_end(buf, pos, n):
    """A plain string body at ``pos`` (printable ASCII, no backslash): its closing quote's offset,
    -1 if a byte it refuses or the frame's end comes first."""
    if pos < 0:
        return -1
    while pos < n:
        c = buf[pos]
        if c == 34:
            return pos
        if c < 32 or c > 126 or c == 92:
            return -1
        pos += 1
    return -1


@njit(cache=True, inline="always")
def uint_or_fail(buf, pos, n):
    """``_uint`` that passes on a failure before it: (0, -1) when ``pos`` is -1."""
    if pos < 0:
        return 0, -1
    return _uint(buf, pos, n)


@njit(cache=True, inline="always")
def _lit(buf, pos, n, prog, off, ln):
    if pos + ln > n:
        return -1
    for j in range(ln):
        if buf[pos + j] != prog[off + j]:
            return -1
    return pos + ln


@njit(cache=True, inline="always")
def _levels(buf, pos, n, work, row, rows):
    """``[["p","q"],...]`` at ``pos`` into work's level rows from ``row``: (end, rows after)."""
    if pos >= n or buf[pos] != 91:  # "["
        return -1, row
    pos += 1
    if pos < n and buf[pos] == 93:  # "]": no levels
        return pos + 1, row
    base = MAX_VALS
    while True:
        if row >= rows or pos + 2 > n or buf[pos] != 91 or buf[pos + 1] != 34:  # ["
            return -1, row
        price, pos = _dec(buf, pos + 2, n)
        if pos < 0 or price == 0 or pos + 3 > n or buf[pos] != 34 or buf[pos + 1] != 44 or buf[pos + 2] != 34:
            return -1, row
        qty, pos = _dec(buf, pos + 3, n)
        if pos < 0 or pos + 3 > n or buf[pos] != 34 or buf[pos + 1] != 93:  # "]
            return -1, row
        work[base + 2 * row] = price
        work[base + 2 * row + 1] = qty
        row += 1
        pos += 2
        c = buf[pos]
        if c == 93:  # "]"
            return pos + 1, row
        if c != 44:  # ","
            return -1, row
        pos += 1


@njit(cache=True)
def match(buf, prog, work):
    """The index of the template ``buf`` matches whole, its values in ``work``; -1 if none.

    ``prog``: int64, [count, then per template (first op, op count)], ops as (kind, offset,
    length) triples, literal bytes one per word. ``work``: MAX_VALS value slots, then level rows
    (price_e8, qty_e8)."""
    n = len(buf)
    rows = (len(work) - MAX_VALS) // 2
    for t in range(prog[0]):
        k = prog[1 + 2 * t]
        end = k + 3 * prog[2 + 2 * t]
        pos = 0
        vi = 0
        row = 0
        while k < end and pos >= 0:
            op = prog[k]
            if op == LIT:
                pos = _lit(buf, pos, n, prog, prog[k + 1], prog[k + 2])
            elif op == INT:
                v, pos = _uint(buf, pos, n)
                work[vi] = v
                vi += 1
            elif op == DEC:
                v, pos = _dec(buf, pos, n)
                work[vi] = v
                vi += 1
            elif op == STR:
                work[vi] = pos
                while pos < n:
                    c = buf[pos]
                    if c < 32 or c > 126 or c == 34 or c == 92:
                        break
                    pos += 1
                work[vi + 1] = pos  # the closing quote: the next literal's first byte
                vi += 2
            elif op == BOOL:
                if pos + 4 <= n and buf[pos] == 116 and buf[pos + 1] == 114 and buf[pos + 2] == 117 \
                        and buf[pos + 3] == 101:
                    work[vi] = 1
                    pos += 4
                elif pos + 5 <= n and buf[pos] == 102 and buf[pos + 1] == 97 and buf[pos + 2] == 108 \
                        and buf[pos + 3] == 115 and buf[pos + 4] == 101:
                    work[vi] = 0
                    pos += 5
                else:
                    pos = -1
                vi += 1
            else:  # LEVELS
                first = row
                pos, row = _levels(buf, pos, n, work, row, rows)
                work[vi] = first
                work[vi + 1] = row - first
                vi += 2
            k += 3
        if pos == n:
            return t
    return -1


def _compile(templates) -> tuple[np.ndarray, list[int]]:
    """The program ``match`` runs, and each template's count of value slots."""
    ops, lits = [], bytearray()
    heads, slots_of = [], []
    for text in templates:
        first, count, slots = len(ops), 0, 0
        for part in _SPLIT.split(text):
            if not part:
                continue
            kind = _HOLES.get(part, LIT)
            if kind == LIT:
                raw = part.encode("ascii")
                ops.append((LIT, len(lits), len(raw)))
                lits += raw
            else:
                ops.append((kind, 0, 0))
                slots += _SLOTS[kind]
            count += 1
        if slots > MAX_VALS:
            raise ValueError(f"template has {slots} value slots, at most {MAX_VALS}: {text}")
        heads.append((first, count))
        slots_of.append(slots)
    op_base = 1 + 2 * len(heads)
    lit_base = op_base + 3 * len(ops)
    prog = np.zeros(lit_base + len(lits), np.int64)
    prog[0] = len(heads)
    for i, (first, count) in enumerate(heads):
        prog[1 + 2 * i] = op_base + 3 * first
        prog[2 + 2 * i] = count
    for i, (kind, off, ln) in enumerate(ops):
        prog[op_base + 3 * i: op_base + 3 * i + 3] = (kind, lit_base + off if kind == LIT else 0, ln)
    prog[lit_base:] = np.frombuffer(bytes(lits), np.uint8)
    return prog, slots_of


class Templates:
    """A compiled set of frame templates and the work buffer of one matcher (one per normalizer).

    ``entry(frame, prog, work)`` (the compiled entry point: ``frame`` must be ``bytes``) ->
    template index or -1; ``views[t].tolist()`` is then template ``t``'s hole values in order,
    and ``pairs(first, count)`` a ``<LEVELS>`` hole's rows as ``(price_e8, qty_e8)`` tuples."""

    __slots__ = ("prog", "work", "entry", "views", "_levels", "texts")

    def __init__(self, templates, max_levels: int = 4096):
        self.texts = tuple(templates)
        self.prog, slots = _compile(self.texts)
        self.work = np.zeros(MAX_VALS + 2 * max_levels, np.int64)
        self.views = tuple(self.work[:n] for n in slots)  # prebuilt: a slice costs ~100 ns
        self._levels = self.work[MAX_VALS:]
        self.entry = entry_point(match, b"{}", self.prog, self.work)

    def match(self, frame: bytes) -> int:
        if type(frame) is not bytes:
            raise TypeError(f"match takes bytes, got {type(frame).__name__}")
        return self.entry(frame, self.prog, self.work)

    def pairs(self, first: int, count: int) -> list[tuple[int, int]]:
        flat = self._levels[2 * first: 2 * (first + count)].tolist()
        return list(zip(flat[0::2], flat[1::2]))

    def sides(self, first: int, n_bids: int, n_asks: int):
        """Two ``<LEVELS>`` holes in a row (bids from row ``first``, then asks): a copy of their
        rows as flat int64 pairs, and each side as ``(price_e8, qty_e8)`` tuples."""
        rows = self._levels[2 * first: 2 * (first + n_bids + n_asks)].copy()
        flat = rows.tolist()
        nb = 2 * n_bids
        return rows, list(zip(flat[0:nb:2], flat[1:nb:2])), list(zip(flat[nb::2], flat[nb + 1::2]))

    def rows(self, first: int, count: int) -> np.ndarray:
        """A copy of ``count`` rows from row ``first`` (``<LEVELS>`` holes in a row, e.g. bids
        then asks) as flat int64 (price_e8, qty_e8) pairs: no Python object per level."""
        return self._levels[2 * first: 2 * (first + count)].copy()
