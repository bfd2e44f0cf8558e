"""OKX v5 public WebSocket: host, channels, instrument ids and the messages we send.

Facts from OKX's v5 API docs, "WebSocket" > "Overview" (public URL
``wss://ws.okx.com:8443/ws/v5/public``, demo ``wss://wspap.okx.com:8443/ws/v5/public``),
"Connect" (keepalive: the connection breaks after 30 s without data; when no message arrived
for N < 30 s, send the string ``ping`` and expect ``pong``), "Subscribe"
(``{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}``) and "Market Data" >
"WS / Order book channel", "WS / Trades channel".

Instruments: config symbols are letters and digits (``btcusdt``); the OKX instId splits the
quote asset off with a dash (``BTC-USDT``), and a trailing ``swap`` is the perpetual
(``btcusdtswap`` -> ``BTC-USDT-SWAP``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import orjson

PATH = "/ws/v5/public"
PING = b"ping"
PING_IDLE_S = 20.0  # "N < 30": ping after 20 s without a message
ARGS_PER_REQUEST = 20  # ours; OKX bounds a request's total length (4096 bytes), not its count
STREAMS = ("bbo-tbt", "books", "trades")
BOOKS = ("books",)
QUOTES = ("USDT", "USDC", "USD", "BTC", "ETH", "EUR")


def inst_id(symbol: str) -> str:
    """``BTCUSDT`` -> ``BTC-USDT``, ``BTCUSDTSWAP`` -> ``BTC-USDT-SWAP``; ValueError otherwise."""
    up = symbol.upper()
    tail = ""
    if up.endswith("SWAP"):
        up, tail = up[:-4], "-SWAP"
    for quote in QUOTES:
        if up.endswith(quote) and len(up) > len(quote):
            return f"{up[:-len(quote)]}-{quote}{tail}"
    raise ValueError(f"symbol {symbol!r}: no OKX quote currency ({', '.join(QUOTES)}) at its end")


def url_for(stream_url: str) -> str:
    if not stream_url.startswith(("ws://", "wss://")):
        raise ValueError(f"stream_url must start with ws:// or wss://, got {stream_url!r}")
    if urlsplit(stream_url).path.strip("/"):
        return stream_url
    return stream_url.rstrip("/") + PATH


def args(symbols, kinds) -> list[str]:
    """Stream names ``channel:instId`` (``books:BTC-USDT``), every symbol with every channel."""
    names = [f"{k}:{inst_id(s)}" for s in symbols for k in kinds]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate channels in {names}")
    return names


def _arg(name: str) -> dict:
    channel, _, inst = name.partition(":")
    return {"channel": channel, "instId": inst}


def subscribe_messages(names: list[str], op: str = "subscribe") -> list[bytes]:
    return [orjson.dumps({"op": op, "args": [_arg(n) for n in names[i:i + ARGS_PER_REQUEST]]})
            for i in range(0, len(names), ARGS_PER_REQUEST)]


def resync_messages(streams: list[str]):
    """symbols (``BTCUSDT``) -> unsubscribe + subscribe of their ``books`` channel: a new
    subscription starts with a snapshot ("Order book channel": the first push is the full
    book)."""
    books = [s for s in streams if s.startswith("books:")]

    def messages(symbols: list[str]) -> list[bytes]:
        mine = [n for n in books if n.partition(":")[2].replace("-", "") in symbols]
        if not mine:
            return []
        return subscribe_messages(mine, "unsubscribe") + subscribe_messages(mine)

    return messages
