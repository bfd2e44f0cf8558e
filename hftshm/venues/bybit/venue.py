"""Bybit v5's market-data descriptors: spot and linear (USDT perpetuals) are separate hosts
paths with their own topics (urls.py)."""

from __future__ import annotations

from functools import partial

from .. import Connection, MarketVenue, OrderVenue
from .normalize import BybitNormalizer
from .protocol import BybitProtocol
from .urls import private_stream_url, rest_url
from .urls import BOOKS, LINEAR_STREAMS, PING, PING_S, SPOT_STREAMS, resync_messages, subscribe_messages, topics, url_for

MAX_TOPICS = 500  # ours: args are also bounded by Bybit's 21,000-character total per connection


def connections(product: str, stream_url: str, symbols, kinds) -> list[Connection]:
    """One connection; every topic is subscribed after the open, 10 per request."""
    names = topics(symbols, kinds)
    if len(names) > MAX_TOPICS:
        raise ValueError(f"{len(names)} topics: at most {MAX_TOPICS} a connection here")
    return [Connection(url_for(stream_url, product), names, names, subscribe_messages=subscribe_messages,
                       app_ping=PING, app_ping_s=PING_S, resync_messages=resync_messages(names))]


_HINT = "Bybit serves spot on /v5/public/spot and linear on /v5/public/linear; check the symbols"

SPOT = MarketVenue(
    kind="bybit_spot",
    title="Bybit Spot",
    streams=SPOT_STREAMS,
    depth_streams=BOOKS,
    live_stream_url="wss://stream.bybit.com/v5/public/spot",
    live_api_url="",
    testnet_stream_url="wss://stream-testnet.bybit.com/v5/public/spot",
    testnet_api_url="",
    max_streams=MAX_TOPICS,
    normalizer=BybitNormalizer,
    connections=partial(connections, "spot"),
    silent_hint=_HINT,
    snapshots_over_api=False,
)

LINEAR = MarketVenue(
    kind="bybit_linear",
    title="Bybit linear",
    streams=LINEAR_STREAMS,
    depth_streams=BOOKS,
    live_stream_url="wss://stream.bybit.com/v5/public/linear",
    live_api_url="",
    testnet_stream_url="wss://stream-testnet.bybit.com/v5/public/linear",
    testnet_api_url="",
    max_streams=MAX_TOPICS,
    normalizer=BybitNormalizer,
    connections=partial(connections, "linear"),
    silent_hint=_HINT,
    snapshots_over_api=False,
)

# Order entry, linear only: the WebSocket trade API ("WebSocket Trade" > "Guideline"), reports on
# the private stream ("WebSocket Stream" > "Private"), order queries over REST (protocol.py)
LINEAR_ORDERS = OrderVenue(
    kind="bybit_linear",
    title="Bybit linear",
    protocol=BybitProtocol,
    live_api_url="wss://stream.bybit.com/v5/trade",
    testnet_api_url="wss://stream-testnet.bybit.com/v5/trade",
    private_stream_url=private_stream_url,
    rest_url=rest_url,
)
