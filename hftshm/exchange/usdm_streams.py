"""The synthetic market in Binance USD-M's shape: payloads rendered from the same rows and depth
diffs as Spot's (``streams.py``), plus the mark price and liquidation streams, which have no rows.

Shapes follow the Binance derivatives docs, USDⓈ-M Futures, "Websocket Market Streams", and the
vendored capture (tests/data/btcusdt_usdm_20240808), the wire truth where they differ:

* ``<symbol>@trade``      ``{"e":"trade","E":..,"T":..,"s":"BTCUSDT","t":..,"p":"..","q":"..","X":"MARKET","m":..}``
* ``<symbol>@aggTrade``   ``{"e":"aggTrade","E":..,"a":..,"s":..,"p":..,"q":..,"f":..,"l":..,"T":..,"m":..}``
* ``<symbol>@bookTicker`` ``{"e":"bookTicker","u":..,"s":..,"b":..,"B":..,"a":..,"A":..,"T":..,"E":..}``
* ``<symbol>@depth@0ms`` (here: what changed in each step of the market, about 1 ms) and ``<symbol>@depth@100ms``
  ``{"e":"depthUpdate","E":..,"T":..,"s":..,"U":..,"u":..,"pu":..,"b":[..],"a":[..]}``; ``pu`` is the
  ``u`` of the stream's previous event (the futures continuity rule)
* ``<symbol>@markPrice@1s`` (each second) and ``<symbol>@markPrice`` (each 3 s), "Mark Price Stream":
  ``{"e":"markPriceUpdate","E":..,"s":..,"p":mark,"i":index,"P":settle,"r":funding rate,"T":next funding}``.
  The simulator has no index: mark = index = estimated settle price = the book's mid, the mark
  its futures ledger values positions and pays funding at (``futures.py``); ``r`` is the
  configured funding rate and ``T`` the next multiple of the funding interval, the times the
  ledger pays at.
* ``<symbol>@forceOrder``, "Liquidation Order Streams": ``{"e":"forceOrder","E":..,"o":{"s","S",
  "o":"LIMIT","f":"IOC","q","p","ap","X":"FILLED","l","z","T"}}``. "Only the latest one liquidation
  order within 1000ms will be pushed as the snapshot": liquidations arrive at random (Poisson,
  ``liquidations_per_s`` a symbol) and at each whole second the latest of each symbol in the
  second before goes out, stamped ``E`` = that second; a second with none sends nothing. A
  liquidation is an IOC order beyond the touch (SELL: a long closed below the bid; BUY: above
  the ask), filled whole at the touch (``ap``); it is shown on this stream only and does not
  trade against the simulated book.

Prices and quantities are decimal strings with 8 decimals, times in ms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hftshm.feed.e8 import parse_e8
from hftshm.layouts.md import format_e8

from . import rows as R
from .config import ExchangeConfig, SymbolSpec
from .depth import DepthDiff
from .order_book import ASK, BID
from .streams import Renderer
from .wsframe import envelope_prefix

MARK_STREAMS = (("markPrice@1s", 1000), ("markPrice", 3000))
LIQUIDATION_STREAM = "forceOrder"
LIQUIDATION_PUSH_MS = 1000  # the latest liquidation per symbol, at most once in this long
LIQUIDATION_TICKS = 10  # a liquidation's limit price is 1..this many ticks beyond the touch


@dataclass(frozen=True)
class StreamMessage:
    """One rendered payload of ``stream`` ("btcusdt@markPrice@1s"): a stream with no rows."""

    stream: str
    payload: bytes


class UsdmRenderer(Renderer):
    """Payload text for one symbol's messages, in USD-M's shape (the module docstring)."""

    def __init__(self, spec: SymbolSpec):
        super().__init__(spec)
        sym = spec.symbol.encode()
        s = spec.stream_symbol
        trade = b'{"e":"trade","E":%d,"T":%d,"s":"' + sym + b'","t":%d,"p":"%b","q":"%b","X":"MARKET","m":%b}'
        agg = (b'{"e":"aggTrade","E":%d,"a":%d,"s":"' + sym
               + b'","p":"%b","q":"%b","f":%d,"l":%d,"T":%d,"m":%b}')
        book = b'{"e":"bookTicker","u":%d,"s":"' + sym + b'","b":"%b","B":"%b","a":"%b","A":"%b","T":%d,"E":%d}'
        self._templates = {
            False: (trade, agg, book),
            True: tuple(envelope_prefix(f"{s}@{name}") + t + b"}"
                        for name, t in (("trade", trade), ("aggTrade", agg), ("bookTicker", book))),
        }
        self._depth = (b'{"e":"depthUpdate","E":%d,"T":%d,"s":"' + sym
                       + b'","U":%d,"u":%d,"pu":%d,"b":[%b],"a":[%b]}')
        self._mark = (b'{"e":"markPriceUpdate","E":%d,"s":"' + sym
                      + b'","p":"%b","i":"%b","P":"%b","r":"%b","T":%d}')
        self._liq = (b'{"e":"forceOrder","E":%d,"o":{"s":"' + sym + b'","S":"%b","o":"LIMIT","f":"IOC",'
                     b'"q":"%b","p":"%b","ap":"%b","X":"FILLED","l":"%b","z":"%b","T":%d}}')

    def rows(self, rows: np.ndarray, kinds: frozenset[int], combined: bool = False
             ) -> tuple[list[str], list[bytes]]:
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
            ms = r[1] // 1_000_000
            if k == R.BOOK:
                add(book % (r[6], pget(r[2]) or price(r[2]), qget(r[3]) or qty(r[3]),
                            pget(r[4]) or price(r[4]), qget(r[5]) or qty(r[5]), ms, ms))
            elif k == R.TRADE:
                add(trade % (ms, ms, r[6], pget(r[2]) or price(r[2]), qget(r[3]) or qty(r[3]),
                             true if r[4] else false))
            else:
                add(agg % (ms, r[6], pget(r[2]) or price(r[2]), qget(r[3]) or qty(r[3]), r[7], r[8],
                           ms, true if r[4] else false))
            add_stream(stream_of[k])
        return streams, payloads

    def depth(self, diff: DepthDiff) -> bytes:
        px, qty = self.price, self.qty
        bids = b",".join(b'["%b","%b"]' % (px(p), qty(q)) for p, q in diff.bids)
        asks = b",".join(b'["%b","%b"]' % (px(p), qty(q)) for p, q in diff.asks)
        return self._depth % (diff.event_ms, diff.event_ms, diff.first_id, diff.last_id, diff.prev_id, bids, asks)

    def mark(self, event_ms: int, mark_e8: int, rate: bytes, next_funding_ms: int) -> bytes:
        text = format_e8(mark_e8).encode()
        return self._mark % (event_ms, text, text, text, rate, next_funding_ms)

    def liquidation(self, event_ms: int, liq: "Liquidation") -> bytes:
        q = self.qty(liq.lots)
        return self._liq % (event_ms, b"BUY" if liq.buy else b"SELL", q, self.price(liq.px), self.price(liq.avg_px),
                            q, q, liq.time_ms)


@dataclass(frozen=True)
class Liquidation:
    time_ms: int
    buy: bool  # BUY: a short closed (above the ask); SELL: a long closed (below the bid)
    px: int  # the order's limit price, ticks
    avg_px: int  # its average fill price (the touch), ticks
    lots: int


def mid_e8(market) -> int:
    """The book's mid in e8, as ``FuturesApi.mark_e8`` values positions."""
    return (int(market.px[BID, 0]) + int(market.px[ASK, 0])) * market.spec.tick_e8 // 2


def next_funding_ms(now_ms: int, interval_s: float) -> int:
    """The next multiple of the funding interval after ``now_ms`` (``FuturesApi.tick``'s times)."""
    step = max(1, int(interval_s * 1000))
    return (now_ms // step + 1) * step


class FuturesFeed:
    """The mark price and liquidation streams of the synthetic USD-M market. Sans-I/O: ``tick``
    is called with the time and returns the messages due, as ``StreamMessage`` items in order."""

    def __init__(self, cfg: ExchangeConfig, markets: dict, renderers: dict[str, UsdmRenderer]):
        self.cfg = cfg
        self.markets = markets
        self.renderers = renderers
        self.rate = _signed_text(cfg.funding_rate)
        self.rng = np.random.default_rng([cfg.seed, 0xF0CE])  # a stream of its own: the flow's is unchanged
        self._last_ms: int | None = None  # the last whole second handled

    def tick(self, now_ns: int) -> list[StreamMessage]:
        now_ms = now_ns // 1_000_000
        second = now_ms // 1000 * 1000
        if self._last_ms is None:
            self._last_ms = second
            return []
        if second <= self._last_ms:
            return []
        # seconds missed (a stalled loop) are not made up: their marks and liquidations would be stale
        span_ms = min(second - self._last_ms, LIQUIDATION_PUSH_MS)
        self._last_ms = second
        out: list[StreamMessage] = []
        funding_ms = next_funding_ms(second, self.cfg.funding_interval_s)
        for s, market in self.markets.items():
            r = self.renderers[s]
            for stream, period in MARK_STREAMS:
                if second % period == 0:
                    out.append(StreamMessage(f"{s}@{stream}", r.mark(second, mid_e8(market), self.rate, funding_ms)))
            liq = self._liquidation(market, second, span_ms)
            if liq is not None:
                out.append(StreamMessage(f"{s}@{LIQUIDATION_STREAM}", r.liquidation(second, liq)))
        return out

    def _liquidation(self, market, end_ms: int, span_ms: int) -> Liquidation | None:
        """The latest of the liquidations in (end - span, end], or None (Poisson arrivals)."""
        n = int(self.rng.poisson(self.cfg.liquidations_per_s * span_ms / 1000.0))
        if n == 0:
            return None
        at = end_ms - int(span_ms * (1.0 - self.rng.random(n).max()))
        buy = bool(self.rng.random() < 0.5)
        beyond = 1 + int(self.rng.integers(LIQUIDATION_TICKS))
        touch = int(market.px[ASK, 0] if buy else market.px[BID, 0])
        px = touch + beyond if buy else max(1, touch - beyond)
        mean = market.spec.trade_qty_e8 / market.spec.step_e8
        lots = 1 + int(self.rng.exponential(mean))
        return Liquidation(at, buy, px, touch, lots)


def _signed_text(text: str) -> bytes:
    """A signed decimal as 8-decimal text: "-0.0001" -> b"-0.00010000"."""
    neg = text.startswith("-")
    value = parse_e8(text[1:] if neg else text)
    return format_e8(-value if neg else value).encode()


__all__ = ["FuturesFeed", "LIQUIDATION_STREAM", "Liquidation", "MARK_STREAMS", "StreamMessage",
           "UsdmRenderer", "mid_e8", "next_funding_ms"]
