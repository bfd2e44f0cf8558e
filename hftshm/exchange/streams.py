"""Binance Spot market-stream payloads, rendered from rows (``rows.py``) and depth diffs.

Shapes follow web-socket-streams.md and the recorded capture (shared/data/binance), which is
the wire truth where the two differ: the trade stream no longer carries buyer/seller order ids.

* ``<symbol>@trade``      ``{"e":"trade","E":..,"s":"BTCUSDT","t":..,"p":"..","q":"..","T":..,"m":..,"M":true}``
* ``<symbol>@aggTrade``   ``{"e":"aggTrade","E":..,"s":..,"a":..,"p":..,"q":..,"f":..,"l":..,"T":..,"m":..,"M":true}``
* ``<symbol>@bookTicker`` ``{"u":..,"s":..,"b":..,"B":..,"a":..,"A":..}``
* ``<symbol>@depth@100ms`` and ``<symbol>@depth`` (1000 ms)
  ``{"e":"depthUpdate","E":..,"s":..,"U":..,"u":..,"b":[["p","q"],..],"a":[..]}``

Prices and quantities are decimal strings with 8 decimals (``"61837.63000000"``), times in ms.
Rendering is the hot path at high rates: one ``bytes %`` template per message and a cache of
the decimal text of recent prices and quantities.
"""

from __future__ import annotations

import numpy as np

from hftshm.layouts.md import E8

from . import rows as R
from .config import SymbolSpec
from .depth import DepthDiff
from .wsframe import envelope_prefix

KINDS = ("trade", "aggTrade", "bookTicker", "depth", "depth@100ms")
# What a replayed USD-M capture may hold (hftshm.venues.binance_usdm.urls); the synthetic market
# renders Spot's kinds only.
USDM_KINDS = ("trade", "aggTrade", "bookTicker", "depth@0ms", "depth@100ms", "markPrice@1s", "markPrice",
              "forceOrder")
_CACHE_LIMIT = 1 << 16


def parse_stream(name: str, kinds: tuple[str, ...] = KINDS) -> tuple[str, str]:
    """``"btcusdt@depth@100ms"`` -> ``("btcusdt", "depth@100ms")``; ValueError naming the
    problem otherwise. Symbols must be lower case (web-socket-streams.md)."""
    if not isinstance(name, str):
        raise ValueError(f"stream name must be a string, got {type(name).__name__}")
    symbol, at, kind = name.partition("@")
    if not at or not symbol:
        raise ValueError(f"stream {name!r} is not '<symbol>@<kind>'")
    if not (symbol.isascii() and symbol.isalnum() and symbol == symbol.lower()):
        raise ValueError(f"stream {name!r}: the symbol must be lower-case letters and digits")
    if kind not in kinds:
        raise ValueError(f"stream {name!r}: unknown kind {kind!r}, expected one of {', '.join(kinds)}")
    return symbol, kind


class Renderer:
    """Payload text for one symbol's messages."""

    def __init__(self, spec: SymbolSpec):
        self.spec = spec
        sym = spec.symbol.encode()
        s = spec.stream_symbol
        self.stream_of_kind = {k: f"{s}@{name}" for k, name in R.KIND_STREAM.items()}
        trade = b'{"e":"trade","E":%d,"s":"' + sym + b'","t":%d,"p":"%b","q":"%b","T":%d,"m":%b,"M":true}'
        agg = (b'{"e":"aggTrade","E":%d,"s":"' + sym
               + b'","a":%d,"p":"%b","q":"%b","f":%d,"l":%d,"T":%d,"m":%b,"M":true}')
        book = b'{"u":%d,"s":"' + sym + b'","b":"%b","B":"%b","a":"%b","A":"%b"}'
        # Templates per kind, raw and wrapped in the combined-stream envelope.
        self._templates = {
            False: (trade, agg, book),
            True: tuple(envelope_prefix(f"{s}@{name}") + t + b"}"
                        for name, t in (("trade", trade), ("aggTrade", agg), ("bookTicker", book))),
        }
        self._depth = b'{"e":"depthUpdate","E":%d,"s":"' + sym + b'","U":%d,"u":%d,"b":[%b],"a":[%b]}'
        self._px: dict[int, bytes] = {}
        self._qty: dict[int, bytes] = {}

    def price(self, px: int) -> bytes:
        text = self._px.get(px)
        if text is None:
            if len(self._px) >= _CACHE_LIMIT:
                self._px.clear()
            text = self._px[px] = b"%d.%08d" % divmod(px * self.spec.tick_e8, E8)
        return text

    def qty(self, lots: int) -> bytes:
        text = self._qty.get(lots)
        if text is None:
            if len(self._qty) >= _CACHE_LIMIT:
                self._qty.clear()
            text = self._qty[lots] = b"%d.%08d" % divmod(lots * self.spec.step_e8, E8)
        return text

    def rows(self, rows: np.ndarray, kinds: frozenset[int], combined: bool = False
             ) -> tuple[list[str], list[bytes]]:
        """(stream names, payloads) of the rows whose kind is in ``kinds``, in row order;
        ``combined`` wraps each payload in its ``{"stream":..,"data":..}`` envelope."""
        streams: list[str] = []
        payloads: list[bytes] = []
        add_stream, add = streams.append, payloads.append
        stream_of = self.stream_of_kind
        trade, agg, book = self._templates[combined]
        pget, qget = self._px.get, self._qty.get
        price, qty = self.price, self.qty
        true, false = b"true", b"false"
        for r in rows.tolist():
            k = r[0]
            if k not in kinds:
                continue
            if k == R.BOOK:
                add(book % (r[6], pget(r[2]) or price(r[2]), qget(r[3]) or qty(r[3]),
                            pget(r[4]) or price(r[4]), qget(r[5]) or qty(r[5])))
            elif k == R.TRADE:
                ms = r[1] // 1_000_000
                add(trade % (ms, r[6], pget(r[2]) or price(r[2]), qget(r[3]) or qty(r[3]), ms,
                             true if r[4] else false))
            else:
                ms = r[1] // 1_000_000
                add(agg % (ms, r[6], pget(r[2]) or price(r[2]), qget(r[3]) or qty(r[3]), r[7], r[8],
                           ms, true if r[4] else false))
            add_stream(stream_of[k])
        return streams, payloads

    def depth(self, diff: DepthDiff) -> bytes:
        px, qty = self.price, self.qty
        bids = b",".join(b'["%b","%b"]' % (px(p), qty(q)) for p, q in diff.bids)
        asks = b",".join(b'["%b","%b"]' % (px(p), qty(q)) for p, q in diff.asks)
        return self._depth % (diff.event_ms, diff.first_id, diff.last_id, bids, asks)
