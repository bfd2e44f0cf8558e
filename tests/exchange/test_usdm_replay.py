"""The simulator replaying Binance USD-M: the real capture on the routed paths (/public, /market),
the futures depth snapshot at /ws-fapi/v1, silence for a stream asked for on the wrong path, and
small literal USD-M captures with markPrice and forceOrder frames."""

import asyncio
import math

import orjson
import pytest
from websockets.exceptions import InvalidStatus

from hftshm.exchange import ExchangeConfig
from hftshm.exchange.loaded_capture import Capture
from hftshm.feed.capture import open_capture
from support import CAPTURE, USDM_CAPTURE

from ._helpers import connect, request, with_sim
from .test_replay import read_frames, write_capture

STREAMS = ("btcusdt@trade", "btcusdt@bookTicker", "btcusdt@depth@0ms")


def file_frames():
    out = []
    with open_capture(USDM_CAPTURE) as fh:
        for line in fh:
            raw = line.rstrip(b"\n").split(b" ", 1)[1]
            if raw.startswith(b'{"stream"'):
                out.append((orjson.loads(raw)["stream"], raw))
    return out


def test_usdm_capture_loads_as_usdm():
    cap = Capture.load(USDM_CAPTURE)
    kinds = [f.stream for f in cap.frames]
    assert (kinds.count(STREAMS[0]), kinds.count(STREAMS[1]), kinds.count(STREAMS[2])) == (21313, 66089, 6551)
    assert cap.venue == "binance_usdm" and Capture.load(CAPTURE).venue == "binance_spot"
    snap = cap.snapshots["btcusdt"]
    assert (snap["lastUpdateId"], snap["E"], snap["T"]) == (5123107852948, 1723161256501, 1723161256493)


def test_public_path_plays_the_file():
    expected = [raw for _, raw in file_frames()]

    async def body(sim):
        path = "/public/stream?streams=" + "/".join(STREAMS)
        return await asyncio.to_thread(read_frames, sim.port, path, len(expected))

    got = with_sim(ExchangeConfig(port=0, replay=USDM_CAPTURE, speed=math.inf), body, timeout=120)
    assert got == expected


def test_futures_depth_snapshot_and_paths():
    async def body(sim):
        async with await connect(sim, "/ws-fapi/v1") as ws:
            depth = await request(ws, "depth", {"symbol": "BTCUSDT", "limit": 5})
        with pytest.raises(InvalidStatus):  # Spot's API path is not USD-M's
            await connect(sim, "/ws-api/v3")
        # a /public stream on /market: accepted, never delivered (the venue's silence)
        async with await connect(sim, "/market/ws/btcusdt@bookTicker") as ws:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(ws.recv(), 1.0)
        async with await connect(sim, "/public/ws/btcusdt@bookTicker") as ws:
            first = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
        return depth, first

    depth, first = with_sim(ExchangeConfig(port=0, replay=USDM_CAPTURE), body, timeout=60)
    snap = Capture.load(USDM_CAPTURE).snapshots["btcusdt"]
    assert depth["result"] == {"lastUpdateId": 5123107852948, "E": 1723161256501, "T": 1723161256493,
                               "bids": snap["bids"][:5], "asks": snap["asks"][:5]}
    assert first["e"] == "bookTicker" and first["T"] and first["E"]


MARK = ('{"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":%d,"s":"BTCUSDT",'
        '"p":"61800.10000000","i":"61790.20000000","P":"61795.00000000","r":"0.00010000","T":1723190400000}}')
LIQ = ('{"stream":"btcusdt@forceOrder","data":{"e":"forceOrder","E":%d,"o":{"s":"BTCUSDT","S":"SELL",'
       '"o":"LIMIT","f":"IOC","q":"0.014","p":"61700.0","ap":"61710.5","X":"FILLED","l":"0.014","z":"0.014",'
       '"T":%d}}}')


def test_market_path_serves_mark_and_liquidation(tmp_path):
    cap = write_capture(tmp_path / "usdm.capture", [(1000 + i, MARK % (1723161256000 + i)) for i in range(5)]
                        + [(2000, LIQ % (1723161257000, 1723161256999))])

    async def body(sim):
        async with await connect(sim, "/market/stream?streams=btcusdt@markPrice@1s/btcusdt@forceOrder") as ws:
            got = [orjson.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(6)]
        async with await connect(sim, "/stream?streams=btcusdt@markPrice@1s") as ws:  # unrouted: /public only
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(ws.recv(), 1.0)
        return got

    got = with_sim(ExchangeConfig(port=0, replay=cap, speed=math.inf), body, timeout=60)
    assert [g["stream"] for g in got] == ["btcusdt@markPrice@1s"] * 5 + ["btcusdt@forceOrder"]
    assert got[5]["data"]["o"]["ap"] == "61710.5" and got[0]["data"]["E"] == 1723161256000
    assert Capture.load(cap).venue == "binance_usdm"
