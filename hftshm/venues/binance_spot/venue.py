"""Binance Spot's market-data descriptor (web-socket-streams.md "General WSS information")."""

from __future__ import annotations

from .. import Connection, MarketVenue, OrderVenue
from .normalize import BinanceSpotNormalizer
from .protocol import Protocol
from .urls import MAX_STREAMS, combined_url, stream_names

STREAMS = ("trade", "aggTrade", "bookTicker", "depth@100ms", "depth")


def connections(stream_url: str, symbols, kinds) -> list[Connection]:
    """Spot serves every stream on one path: one connection."""
    names = stream_names(symbols, kinds)
    url, rest = combined_url(stream_url, names)
    return [Connection(url, rest, names)]


VENUE = MarketVenue(
    kind="binance_spot",
    title="Binance Spot",
    streams=STREAMS,
    depth_streams=("depth@100ms", "depth"),
    live_stream_url="wss://stream.binance.com:9443",
    live_api_url="wss://ws-api.binance.com:443/ws-api/v3",
    testnet_stream_url="wss://stream.testnet.binance.vision",
    testnet_api_url="wss://ws-api.testnet.binance.vision/ws-api/v3",
    max_streams=MAX_STREAMS,
    normalizer=BinanceSpotNormalizer,
    connections=connections,
    silent_hint="check the symbols and that stream_url is a Binance Spot stream host",
)

# Order entry: the WebSocket API (web-socket-api.md), user data on the same connection
# (userDataStream.subscribe.signature)
ORDERS = OrderVenue(
    kind="binance_spot",
    title="Binance Spot",
    protocol=Protocol,
    live_api_url=VENUE.live_api_url,
    testnet_api_url=VENUE.testnet_api_url,
)
