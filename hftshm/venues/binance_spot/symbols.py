"""The symbol table a normalizer is built with: Binance symbol ("BTCUSDT") -> ``symbol_id``."""

from __future__ import annotations

import operator
from collections.abc import Mapping

_U32 = 2**32  # md.DTYPE symbol_id is <u4


def check_symbols(symbols: Mapping[str, int]) -> dict[str, int]:
    """A validated copy. Events carry ``"s"`` in upper case; ids must fit ``symbol_id`` and be
    unique, or two instruments' records would be indistinguishable downstream."""
    table: dict[str, int] = {}
    seen: dict[int, str] = {}
    for name, given in symbols.items():
        if not isinstance(name, str) or not name or name != name.upper():
            raise ValueError(f"symbol {name!r}: expected a non-empty upper-case Binance symbol like 'BTCUSDT'")
        try:  # numpy integers welcome; floats, strings and bools are not
            sid = None if isinstance(given, bool) else operator.index(given)
        except TypeError:
            sid = None
        if sid is None or not 0 <= sid < _U32:
            raise ValueError(f"symbol {name!r}: id {given!r} is not an int in [0, 2**32)")
        if sid in seen:
            raise ValueError(f"symbols {seen[sid]!r} and {name!r} share id {sid}")
        seen[sid] = name
        table[name] = sid
    return table
