"""Shared helpers for the exchange tests: signed params, a simulator around a coroutine, and
literal books."""

from __future__ import annotations

import asyncio
import time

import orjson
import websockets

from hftshm.exchange import ExchangeSimulator, ExchangeConfig
from hftshm.exchange.order_book import ASK, BID
from hftshm.exchange.config import DEFAULT_API_KEY, DEFAULT_API_SECRET
from hftshm.exchange.signing import sign
from hftshm.feed.e8 import parse_e8


def signed(params: dict, secret: str = DEFAULT_API_SECRET, key: str = DEFAULT_API_KEY,
           timestamp: int | None = None) -> dict:
    p = dict(params)
    p["apiKey"] = key
    p["timestamp"] = int(time.time() * 1000) if timestamp is None else timestamp
    p["signature"] = sign(secret, p)
    return p


def with_sim(cfg: ExchangeConfig, body, timeout: float = 20.0):
    """Run ``await body(sim)`` against a started simulator; returns its result."""
    async def main():
        async with ExchangeSimulator(cfg) as sim:
            return await asyncio.wait_for(body(sim), timeout)
    return asyncio.run(main())


async def request(ws, method: str, params: dict | None = None, req_id=1) -> dict:
    """Send one WS API request and return its response (skipping user-data events)."""
    msg = {"id": req_id, "method": method}
    if params is not None:
        msg["params"] = params
    await ws.send(orjson.dumps(msg).decode())
    while True:
        resp = orjson.loads(await ws.recv())
        if "subscriptionId" not in resp:
            return resp


async def connect(sim, path: str):
    # An unbounded receive queue: a client that stops reading would otherwise stop reading the
    # socket too, and its closing handshake would wait behind unread market data.
    return await websockets.connect(sim.url(path), max_size=None, max_queue=None)


def set_book(market, bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> None:
    """Put literal top levels (decimal text) on a market's book; deeper levels keep going
    one tick apart with quantity 1 step, so every side still has N levels."""
    spec = market.spec
    n = market.levels
    for side, levels, step in ((BID, bids, -1), (ASK, asks, 1)):
        px = [parse_e8(p) // spec.tick_e8 for p, _ in levels]
        qty = [parse_e8(q) // spec.step_e8 for _, q in levels]
        while len(px) < n:
            px.append(px[-1] + step)
            qty.append(1)
        market.px[side] = px
        market.qty[side] = qty
