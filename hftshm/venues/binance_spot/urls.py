"""Combined-stream URLs and SUBSCRIBE messages (web-socket-streams.md "General WSS information",
"Live Subscribing/Unsubscribing to streams")."""

from __future__ import annotations

import orjson

MAX_STREAMS = 1024  # per connection
MAX_URL = 4000  # past this, streams go in SUBSCRIBE messages: servers cap request lines (~8 KiB)
SUBSCRIBE_CHUNK = 200  # streams per SUBSCRIBE message


def stream_names(symbols, kinds) -> list[str]:
    """``["btcusdt@trade", ...]``: every symbol (any case) with every stream kind."""
    names = [f"{s.lower()}@{k}" for s in symbols for k in kinds]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate streams in {names}")
    if len(names) > MAX_STREAMS:
        raise ValueError(f"{len(names)} streams: Binance allows at most {MAX_STREAMS} per connection")
    return names


def combined_url(base: str, names: list[str], max_url: int = MAX_URL) -> tuple[str, list[str]]:
    """(URL, streams left to SUBSCRIBE). ``base`` is ``wss://stream.binance.com:9443`` (a
    trailing ``/stream`` is accepted); the URL carries as many streams as fit in ``max_url``."""
    if not base.startswith(("ws://", "wss://")):
        raise ValueError(f"stream_url must start with ws:// or wss://, got {base!r}")
    root = base.rstrip("/")
    if root.endswith("/stream"):
        root = root[: -len("/stream")]
    url = f"{root}/stream?streams="
    taken = 0
    for i, name in enumerate(names):
        extra = len(name) + (1 if i else 0)
        if taken and len(url) + extra > max_url:
            break
        url += ("/" if i else "") + name
        taken += 1
    return url, names[taken:]


def subscribe_messages(names: list[str], first_id: int = 1, chunk: int = SUBSCRIBE_CHUNK) -> list[bytes]:
    return [orjson.dumps({"method": "SUBSCRIBE", "params": names[i:i + chunk], "id": first_id + k})
            for k, i in enumerate(range(0, len(names), chunk))]
