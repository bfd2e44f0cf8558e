"""USD-M stream names and routed URLs (Binance derivatives docs, USDⓈ-M Futures, "Websocket
Market Streams"; the routing follows the 2026-03 "Important WebSocket Change Notice").

``fstream.binance.com`` serves market streams on two routed paths: ``/public`` for high-frequency
book data and ``/market`` for regular market data (``/private`` is user data). A connection on
the wrong path, or on no routed path, gets nothing for streams of the other one, and no error:
it looks like a quiet market. So each connection here carries the streams of one path only, and
the feed reports a connection that opens and stays silent (docs/ingest.md).

Stream kinds served, and where:

==============  ========  ================================================================
kind            path      payload
==============  ========  ================================================================
bookTicker      /public   best bid/ask, with event time ``E`` and transaction time ``T``
depth@0ms       /public   diff depth as it happens (``U``, ``u``, ``pu``)
depth@100ms     /public   diff depth every 100 ms
trade           /public   every trade (``X``: MARKET, INSURANCE_FUND, ADL, NA)
aggTrade        /market   aggregated trades
markPrice@1s    /market   mark and index price, funding rate, next funding time (every 1 s)
markPrice       /market   the same every 3 s
forceOrder      /market   liquidation orders (the latest per symbol in each 1000 ms)
==============  ========  ================================================================
"""

from __future__ import annotations

from ..binance_spot.urls import combined_url, stream_names

MAX_STREAMS = 200  # per connection ("A single connection can listen to a maximum of 200 streams")
PUBLIC = ("bookTicker", "depth@0ms", "depth@100ms", "trade")
MARKET = ("aggTrade", "markPrice@1s", "markPrice", "forceOrder")
STREAMS = PUBLIC + MARKET
PATH_OF = {**{k: "/public" for k in PUBLIC}, **{k: "/market" for k in MARKET}}
ROUTES = ("/public", "/market")


def path_of(kind: str) -> str:
    """The routed path of a stream kind; ValueError naming what USD-M serves."""
    try:
        return PATH_OF[kind]
    except KeyError:
        raise ValueError(f"Binance USD-M does not serve stream {kind!r}; it serves {', '.join(STREAMS)}") from None


def base_of(stream_url: str) -> str:
    """The host part of ``stream_url``: a trailing routed path, ``/ws`` or ``/stream`` is
    dropped, so ``wss://fstream.binance.com/public`` and ``wss://fstream.binance.com`` both work."""
    root = stream_url.rstrip("/")
    for tail in ("/stream", "/ws", *ROUTES):
        if root.endswith(tail):
            root = root[: -len(tail)]
    return root


def routed_urls(stream_url: str, symbols, kinds) -> list[tuple[str, str, list[str], list[str]]]:
    """[(path, URL, streams to SUBSCRIBE, all streams)]: one combined-stream connection per
    routed path that has streams, ``/public`` first."""
    by_path: dict[str, list[str]] = {}
    for kind in kinds:
        by_path.setdefault(path_of(kind), []).append(kind)
    out = []
    base = base_of(stream_url)
    for path in ROUTES:
        if path not in by_path:
            continue
        names = stream_names(symbols, by_path[path])
        if len(names) > MAX_STREAMS:
            raise ValueError(f"{len(names)} {path} streams: Binance USD-M allows at most {MAX_STREAMS} a connection")
        url, rest = combined_url(base + path, names)
        out.append((path, url, rest, names))
    return out
