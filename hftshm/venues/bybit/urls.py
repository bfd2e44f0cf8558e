"""Bybit v5 public WebSocket: hosts, topics and the messages we send.

Facts from Bybit's v5 API docs, "WebSocket Stream" > "Connect" (hosts, "How to Send the
Heartbeat Packet", "How to Subscribe to Topics") and "Public" > "Orderbook", "Trade", "Ticker":

* hosts: ``wss://stream.bybit.com/v5/public/spot`` and ``/v5/public/linear`` (testnet:
  ``stream-testnet.bybit.com``), one path per product; a URL with no path gets the product's.
* subscribe: ``{"op":"subscribe","args":["orderbook.50.BTCUSDT",..],"req_id":".."}``; spot takes
  at most 10 args per request (we send at most 10 for both products).
* heartbeat: ``{"req_id":"..","op":"ping"}`` every 20 s, as Bybit recommends.
* topics: ``orderbook.{1,50}.<SYMBOL>``, ``publicTrade.<SYMBOL>``, ``tickers.<SYMBOL>`` (linear).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import orjson

ARGS_PER_REQUEST = 10  # "Connect": spot allows up to 10 args per subscription request
PING_S = 20.0  # "How to Send the Heartbeat Packet": every 20 seconds
PING = b'{"req_id":"hb","op":"ping"}'
BOOKS = ("orderbook.1", "orderbook.50")
SPOT_STREAMS = (*BOOKS, "publicTrade")
LINEAR_STREAMS = (*BOOKS, "publicTrade", "tickers")
PATHS = {"spot": "/v5/public/spot", "linear": "/v5/public/linear"}


def url_for(stream_url: str, product: str) -> str:
    """``stream_url`` as given if it has a path, else with the product's path appended (so the
    simulator's bare ``ws://127.0.0.1:PORT`` works for both products)."""
    if not stream_url.startswith(("ws://", "wss://")):
        raise ValueError(f"stream_url must start with ws:// or wss://, got {stream_url!r}")
    if urlsplit(stream_url).path.strip("/"):
        return stream_url
    return stream_url.rstrip("/") + PATHS[product]


def topics(symbols, kinds) -> list[str]:
    """``["orderbook.50.BTCUSDT", ..]``: every symbol (upper case) with every stream kind; one
    book depth per symbol (the md ring holds one book a symbol)."""
    if sum(k in BOOKS for k in kinds) > 1:
        raise ValueError(f"streams {list(kinds)}: Bybit books come at one depth per symbol, pick "
                         f"one of {', '.join(BOOKS)}")
    names = [f"{k}.{s.upper()}" for s in symbols for k in kinds]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate topics in {names}")
    return names


def subscribe_messages(names: list[str], op: str = "subscribe") -> list[bytes]:
    return [orjson.dumps({"op": op, "args": names[i:i + ARGS_PER_REQUEST], "req_id": f"{op[:5]}{k}"})
            for k, i in enumerate(range(0, len(names), ARGS_PER_REQUEST))]


def resync_messages(streams: list[str]):
    """symbols -> unsubscribe + subscribe of their book topic on this connection: Bybit answers
    a new subscription with a fresh snapshot ("Orderbook": "Once you have subscribed
    successfully, you will receive a snapshot")."""
    books = [s for s in streams if s.startswith("orderbook.")]

    def messages(symbols: list[str]) -> list[bytes]:
        mine = [t for t in books if t.rsplit(".", 1)[1] in symbols]
        if not mine:
            return []
        return subscribe_messages(mine, "unsubscribe") + subscribe_messages(mine)

    return messages


# --- orders (protocol.py): the trade API's host gives the private stream's and the REST host ---
# "WebSocket Trade" > "Guideline" and "WebSocket Stream" > "Connect": wss://stream.bybit.com/v5/trade
# and /v5/private (testnet: stream-testnet.bybit.com); "Integration Guidance": REST on
# https://api.bybit.com (testnet: api-testnet.bybit.com)
TRADE_PATH = "/v5/trade"
PRIVATE_PATH = "/v5/private"
REST_HOSTS = {"stream.bybit.com": "https://api.bybit.com", "stream-testnet.bybit.com": "https://api-testnet.bybit.com"}


def private_stream_url(api_url: str) -> str:
    """The private stream next to a trade API URL (the simulator's serves both on one port)."""
    parts = urlsplit(api_url)
    return f"{parts.scheme}://{parts.netloc}{PRIVATE_PATH}"


def rest_url(api_url: str) -> str:
    """The REST base for a trade API URL: Bybit's API host, or the simulator's own (http)."""
    parts = urlsplit(api_url)
    host = REST_HOSTS.get(parts.hostname or "")
    if host is not None:
        return host
    return f"{'https' if parts.scheme == 'wss' else 'http'}://{parts.netloc}"
