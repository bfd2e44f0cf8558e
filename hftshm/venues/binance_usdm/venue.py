"""Binance USD-M's market-data descriptor (Binance derivatives docs, USDⓈ-M Futures: "Websocket
Market Streams" for the stream hosts, "WebSocket API General Info" for ``ws-fapi``)."""

from __future__ import annotations

from .. import Connection, MarketVenue, OrderVenue
from .normalize import BinanceUsdmNormalizer
from .protocol import UsdmProtocol, user_stream_url
from .urls import MAX_STREAMS, STREAMS, routed_urls


def connections(stream_url: str, symbols, kinds) -> list[Connection]:
    """One connection per routed path: ``/public`` (book data, trades) and ``/market``."""
    return [Connection(url, rest, names) for _, url, rest, names in routed_urls(stream_url, symbols, kinds)]


VENUE = MarketVenue(
    kind="binance_usdm",
    title="Binance USD-M",
    streams=STREAMS,
    depth_streams=("depth@0ms", "depth@100ms"),
    live_stream_url="wss://fstream.binance.com",
    live_api_url="wss://ws-fapi.binance.com/ws-fapi/v1",
    testnet_stream_url="wss://stream.binancefuture.com",
    testnet_api_url="wss://testnet.binancefuture.com/ws-fapi/v1",
    max_streams=MAX_STREAMS,
    normalizer=BinanceUsdmNormalizer,
    connections=connections,
    silent_hint=("USD-M serves bookTicker, depth and trade on /public and aggTrade, markPrice and "
                 "forceOrder on /market; a connection on the wrong path gets nothing"),
)

# Order entry: the futures WebSocket API ("WebSocket API General Info"); user data on a listenKey
# stream of its own ("User Data Streams")
ORDERS = OrderVenue(
    kind="binance_usdm",
    title="Binance USD-M",
    protocol=UsdmProtocol,
    live_api_url=VENUE.live_api_url,
    testnet_api_url=VENUE.testnet_api_url,
    user_stream_url=user_stream_url,
)
