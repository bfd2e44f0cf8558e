"""Exact decimal text <-> int64 in units of 1e-8, the ``*_e8`` fields of ``layouts.md``.

Binance sends prices and quantities as decimal strings with at most 8 decimals
(``"61837.63000000"``); ``parse_e8`` turns one into ``6183763000000`` without going through a
float, so the integer is the exact value. Accepted: ASCII digits, optionally one ``.`` followed by
1 to 8 digits, at most ``92233720368.54775807`` (int64 max). Rejected with a ``ValueError`` naming
the text: signs, exponents (``"1e5"``), blanks, underscores, non-ASCII digits, ``"1."``, ``".5"``,
more than 8 decimals (rounding would silently change the venue's number) and overflow.

``E8Memo`` caches parses: a venue repeats the same few hundred price and quantity strings, and a
dict lookup is about 10x cheaper than parsing again.
"""

from __future__ import annotations

from collections import deque

from hftshm.layouts import md

E8 = md.E8
INT64_MAX = 2**63 - 1
_MAX_WHOLE_DIGITS = len(str(INT64_MAX // E8))  # 11: more significant digits than that overflows
_SCALE = tuple(10 ** (8 - n) for n in range(9))  # "5" after the dot is 5 * 10**7 units


def _reject(text: object, why: str) -> ValueError:
    shown = repr(text) if len(repr(text)) <= 60 else repr(text)[:57] + "..."
    return ValueError(f"{shown} is not an exact 1e-8 decimal: {why}")


def parse_e8(text: str) -> int:
    """``"61837.63000000"`` -> ``6183763000000``; ``ValueError`` naming ``text`` for anything else."""
    # Fast path, Binance's own form: exactly 8 decimals. isascii() is O(1) on str and, with
    # isdigit(), shuts out what int() would also take: signs, "_", blanks, non-ASCII digits.
    if type(text) is str and text[-9:-8] == "." and text.isascii():
        digits = text.replace(".", "")
        if len(digits) == len(text) - 1 and digits.isdigit():
            value = int(digits)
            if value <= INT64_MAX:
                return value
    return _parse_short(text)


def _parse_short(text) -> int:
    """1 to 7 decimals (USD-M futures write "58123.40", "0.002"): the digits without the dot,
    scaled; anything else goes to ``_parse_general``, which decides and names the fault. The same
    checks as there (ASCII digits, a whole part, 1..8 decimals, int64) in fewer steps."""
    if type(text) is str and text.isascii():
        whole, _, frac = text.partition(".")
        n = len(frac)
        if whole and 0 < n <= 8 and whole.isdigit() and frac.isdigit():
            value = int(whole + frac) * _SCALE[n]
            if value <= INT64_MAX:
                return value
    return _parse_general(text)


def _parse_general(text: str) -> int:
    if type(text) is not str:
        raise _reject(text, f"expected a str, got {type(text).__name__}")
    whole, dot, frac = text.partition(".")
    # isdigit() alone admits non-ASCII digits ("٣") and int() admits "+", "_" and blanks: check both.
    if not (whole.isdigit() and whole.isascii()):
        raise _reject(text, "expected ASCII digits with an optional '.' and up to 8 decimals")
    if dot and not (frac.isdigit() and frac.isascii()):
        raise _reject(text, "expected digits after the '.'")
    if len(frac) > 8:
        raise _reject(text, f"{len(frac)} decimals, at most 8 are exact in 1e-8 units")
    if len(whole.lstrip("0")) > _MAX_WHOLE_DIGITS:
        raise _reject(text, "overflows int64 in 1e-8 units")
    value = int(whole) * E8 + (int(frac) * _SCALE[len(frac)] if frac else 0)
    if value > INT64_MAX:
        raise _reject(text, "overflows int64 in 1e-8 units")
    return value


def format_e8(value: int) -> str:
    """``6183763000000`` -> ``"61837.63000000"`` (8 decimals, as Binance writes them)."""
    return md.format_e8(value)


class E8Memo:
    """A bounded cache in front of ``parse_e8``.

    Hot paths call ``get`` (a bound ``dict.get``, no Python frame) and fall back to ``parse`` on a
    miss. Past ``limit`` entries the oldest one goes (FIFO): emptying the whole dict at once would
    stall one frame for ~1.5 ms freeing 65k strings, and true LRU would cost every hit a move.
    Keep ``limit`` small all the same: under churn a dict rebuilds its table every few thousand
    inserts, O(limit) at once (~0.1 ms at 4096 entries, ~1-3 ms at 65536, measured on the capture
    with ``hftshm.bench.normalize_frame --memo-limit``). Prices repeat (95% hits on the capture) and fit;
    quantities mostly do not, whatever the size.
    """

    __slots__ = ("_map", "_order", "get", "limit")

    def __init__(self, limit: int = 4096):
        if limit < 1:
            raise ValueError(f"E8Memo limit must be >= 1, got {limit}")
        self._map: dict[str, int] = {}
        self._order: deque[str] = deque()  # keys in insertion order, each once
        self.get = self._map.get
        self.limit = limit

    def parse(self, text: str) -> int:
        """``parse_e8(text)``, remembered. The fast path is repeated here: a miss is a third of the
        time a bookTicker takes, and the extra call would add a sixth to that."""
        if type(text) is str and text[-9:-8] == "." and text.isascii():
            digits = text.replace(".", "")
            if len(digits) == len(text) - 1 and digits.isdigit():
                value = int(digits)
                if value > INT64_MAX:
                    value = _parse_general(text)  # raises
            else:
                value = _parse_general(text)
        else:
            value = _parse_short(text)
        known = self._map
        if text not in known:
            if len(known) >= self.limit:
                del known[self._order.popleft()]
            self._order.append(text)
        known[text] = value
        return value

    def __len__(self) -> int:
        return len(self._map)
