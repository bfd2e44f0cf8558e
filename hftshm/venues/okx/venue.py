"""OKX v5's market-data descriptor (urls.py). Market data only."""

from __future__ import annotations

from .. import Connection, MarketVenue
from .normalize import OkxNormalizer
from .urls import BOOKS, PING, PING_IDLE_S, STREAMS, args, resync_messages, subscribe_messages, url_for

MAX_ARGS = 480  # ours: OKX limits subscriptions by request length and rate, not a count


def connections(stream_url: str, symbols, kinds) -> list[Connection]:
    names = args(symbols, kinds)
    if len(names) > MAX_ARGS:
        raise ValueError(f"{len(names)} channels: at most {MAX_ARGS} a connection here")
    return [Connection(url_for(stream_url), names, names, subscribe_messages=subscribe_messages,
                       app_ping=PING, app_ping_s=PING_IDLE_S, app_ping_idle=True,
                       resync_messages=resync_messages(names))]


VENUE = MarketVenue(
    kind="okx",
    title="OKX",
    streams=STREAMS,
    depth_streams=BOOKS,
    live_stream_url="wss://ws.okx.com:8443/ws/v5/public",
    live_api_url="",
    testnet_stream_url="wss://wspap.okx.com:8443/ws/v5/public",
    testnet_api_url="",
    max_streams=MAX_ARGS,
    normalizer=OkxNormalizer,
    connections=connections,
    silent_hint="OKX serves public channels on /ws/v5/public; check the symbols (BTCUSDT is BTC-USDT)",
    snapshots_over_api=False,
)
