"""Every fault flag, observed by a client over loopback."""

import asyncio
import math
import time

import orjson
import pytest
from websockets.exceptions import ConnectionClosedError

from hftshm.exchange import Faults, ExchangeConfig
from support import CAPTURE

from ._helpers import connect, with_sim



def cfg(rate=2000.0, **faults):
    return ExchangeConfig(port=0, rate=rate, faults=Faults(**faults))


def test_drop_aborts_the_connection():
    async def body(sim):
        async with await connect(sim, "/ws/btcusdt@bookTicker") as ws:
            n = 0
            with pytest.raises(ConnectionClosedError):
                while True:
                    await ws.recv()
                    n += 1
            return n, ws.close_code

    n, code = with_sim(cfg(drop_every_s=0.3), body)
    assert n > 0
    assert code == 1006  # no closing handshake: the TCP connection just went away


def test_stall_holds_frames_then_flushes_them():
    async def body(sim):
        async with await connect(sim, "/ws/btcusdt@trade") as ws:
            lags, ids = [], []
            end = time.monotonic() + 0.9
            while time.monotonic() < end:
                m = orjson.loads(await ws.recv())
                lags.append(time.time() * 1000 - m["E"])
                ids.append(m["t"])
            return lags, ids

    lags, ids = with_sim(cfg(rate=4000.0, stall_every_s=0.4, stall_for_s=0.25), body)
    # Frames held during a stall arrive at least that much after they were made...
    assert max(lags) >= 150
    # ...and none is lost.
    assert ids == list(range(ids[0], ids[0] + len(ids)))


def test_malformed_frames_precede_every_nth_message():
    async def body(sim):
        async with await connect(sim, "/stream?streams=btcusdt@trade/btcusdt@bookTicker") as ws:
            return [await ws.recv() for _ in range(36)]

    frames = with_sim(cfg(malformed_every=5), body)
    kinds = []
    for f in frames:
        try:
            msg = orjson.loads(f)
        except orjson.JSONDecodeError:
            kinds.append("bad-json")
            continue
        kinds.append("no-s" if "s" not in msg["data"] else "ok")
    # four good messages, then a bad frame before the fifth: bad JSON and missing "s" alternate
    assert kinds[:12] == ["ok"] * 4 + ["bad-json"] + ["ok"] * 5 + ["no-s"] + ["ok"]
    assert kinds.count("bad-json") + kinds.count("no-s") == 6


def test_gaps_skip_trade_and_depth_ids():
    async def body(sim):
        async with await connect(sim, "/stream?streams=ethusdt@trade/ethusdt@depth@100ms") as ws:
            trades, depth = [], []
            while len(trades) < 12 or len(depth) < 6:
                m = orjson.loads(await ws.recv())
                (trades if m["stream"].endswith("trade") else depth).append(m["data"])
            return trades, depth

    trades, depth = with_sim(cfg(rate=3000.0, gap_every=3), body)
    assert [t["t"] for t in trades[:8]] == [1, 2, 4, 5, 7, 8, 10, 11]
    # Every third diff is dropped: U no longer follows the previous u.
    jumps = [b["U"] - a["u"] for a, b in zip(depth, depth[1:])]
    assert [j == 1 for j in jumps[:5]] == [True, False, True, False, True]


def test_gaps_in_replay():
    async def body(sim):
        async with await connect(sim, "/ws/btcusdt@trade") as ws:
            return [orjson.loads(await ws.recv())["t"] for _ in range(10)]

    ids = with_sim(ExchangeConfig(port=0, replay=CAPTURE, speed=math.inf, faults=Faults(gap_every=4)), body)
    steps = [b - a for a, b in zip(ids, ids[1:])]
    assert steps == [1, 1, 2, 1, 1, 2, 1, 1, 2]  # the recording itself has no gaps


def test_bursts_send_many_messages_at_once():
    async def body(sim):
        streams = "/".join(f"{s}@{k}" for s in ("btcusdt", "ethusdt") for k in ("trade", "aggTrade", "bookTicker"))
        async with await connect(sim, f"/stream?streams={streams}") as ws:
            by_time = {}
            end = time.monotonic() + 0.8
            while time.monotonic() < end:
                try:
                    m = orjson.loads(await asyncio.wait_for(ws.recv(), 0.2))
                except asyncio.TimeoutError:
                    continue
                if "E" in m["data"]:  # trades and aggregate trades carry the event time
                    key = (m["data"]["s"], m["data"]["E"])
                    by_time[key] = by_time.get(key, 0) + 1
            return by_time

    by_time = with_sim(cfg(rate=20.0, burst_every_s=0.3, burst_size=200), body)
    # At 20 messages a second nothing but a burst puts a hundred trades in one millisecond.
    assert max(by_time.values()) >= 50
