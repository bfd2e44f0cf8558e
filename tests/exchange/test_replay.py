"""Playback of the real Binance capture (shared/data/binance) and of small literal ones."""

import asyncio
import math

import orjson
import pytest

from hftshm.exchange import ExchangeConfig
from hftshm.exchange.rawclient import RawClient
from hftshm.exchange.loaded_capture import Capture
from hftshm.feed.capture import open_capture
from support import CAPTURE

from ._helpers import connect, request, signed, with_sim

STREAMS = ("btcusdt@trade", "btcusdt@bookTicker", "btcusdt@depth@100ms")


def file_frames():
    """(stream, raw frame) of every streamed line of the capture, in file order."""
    out = []
    with open_capture(CAPTURE) as fh:
        for line in fh:
            raw = line.rstrip(b"\n").split(b" ", 1)[1]
            if raw.startswith(b'{"stream"'):
                out.append((orjson.loads(raw)["stream"], raw))
    return out


def test_capture_loads():
    cap = Capture.load(CAPTURE)
    kinds = [f.stream for f in cap.frames]
    assert (kinds.count(STREAMS[0]), kinds.count(STREAMS[1]), kinds.count(STREAMS[2])) == (9757, 28040, 3451)
    assert cap.snapshots["btcusdt"]["lastUpdateId"] == 50093239218
    assert cap.frames[0].data.startswith(b'{"e":"depthUpdate","E":1723161255208,')


def read_frames(port, path, n):
    client = RawClient("127.0.0.1", port, path)
    try:
        return [payload for opcode, payload in client.frames(n) if opcode == 0x1]
    finally:
        client.close()


def test_combined_playback_equals_the_file():
    expected = [raw for _, raw in file_frames()]

    async def body(sim):
        path = "/stream?streams=" + "/".join(STREAMS)
        return await asyncio.to_thread(read_frames, sim.port, path, len(expected))

    got = with_sim(ExchangeConfig(port=0, replay=CAPTURE, speed=math.inf), body, timeout=60)
    assert got == expected


def test_raw_playback_gets_the_data_of_one_stream():
    expected = [orjson.loads(raw)["data"] for stream, raw in file_frames() if stream == "btcusdt@trade"]

    async def body(sim):
        return await asyncio.to_thread(read_frames, sim.port, "/ws/btcusdt@trade", len(expected))

    got = with_sim(ExchangeConfig(port=0, replay=CAPTURE, speed=math.inf), body, timeout=60)
    assert [orjson.loads(g) for g in got] == expected
    assert all(g.startswith(b'{"e":"trade"') for g in got)


def test_snapshot_is_served_as_depth_and_orders_are_refused():
    async def body(sim):
        async with await connect(sim, "/ws-api/v3") as ws:
            depth = await request(ws, "depth", {"symbol": "BTCUSDT", "limit": 5})
            info = await request(ws, "exchangeInfo", {}, 2)
            order = await request(ws, "order.place", signed(
                {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}), 3)
            return depth, info, order

    depth, info, order = with_sim(ExchangeConfig(port=0, replay=CAPTURE), body)
    snap = Capture.load(CAPTURE).snapshots["btcusdt"]
    assert depth["result"] == {"lastUpdateId": 50093239218, "bids": snap["bids"][:5], "asks": snap["asks"][:5]}
    assert depth["result"]["bids"][0] == ["61837.63000000", "3.78826000"]
    assert [s["symbol"] for s in info["result"]["symbols"]] == ["BTCUSDT"]
    assert order["error"] == {"code": -2010, "msg": "Market is closed."}


def write_capture(path, lines):
    path.write_text("".join(f"{ns} {frame}\n" for ns, frame in lines))
    return path


def trade(t):
    return '{"stream":"xrpusdt@trade","data":{"e":"trade","E":%d,"s":"XRPUSDT","t":%d,"p":"0.50000000","q":"1.00000000","T":%d,"m":true,"M":true}}' % (t, t, t)


def test_paced_playback_each_connection_from_the_start(tmp_path):
    cap = write_capture(tmp_path / "small.capture", [(1_000_000_000 + i * 20_000_000, trade(i)) for i in range(10)])

    async def body(sim):
        async def one():
            async with await connect(sim, "/ws") as ws:
                await ws.send('{"method":"SUBSCRIBE","params":["xrpusdt@trade"],"id":1}')
                assert orjson.loads(await ws.recv()) == {"result": None, "id": 1}
                return [orjson.loads(await ws.recv())["t"] for _ in range(10)]
        first = await one()
        second = await one()
        return first, second

    first, second = with_sim(ExchangeConfig(port=0, replay=cap, speed=4.0), body)
    assert first == second == list(range(10))


def test_count_limits_playback(tmp_path):
    cap = write_capture(tmp_path / "small.capture", [(1000 + i, trade(i)) for i in range(50)])

    async def body(sim):
        async with await connect(sim, "/ws/xrpusdt@trade") as ws:
            got = [orjson.loads(await ws.recv())["t"] for _ in range(7)]
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(ws.recv(), 0.3)
            return got

    assert with_sim(ExchangeConfig(port=0, replay=cap, speed=math.inf, count=7), body) == list(range(7))


@pytest.mark.parametrize("line, problem", [
    ("garbage", "expected '<recv_ns> <frame>'"),
    ('12 {"e":"trade"}', "expected a combined-stream envelope"),
    ('12 {"stream":"xrpusdt@kline_1m","data":{}}', "unknown kind"),
    ('12 {"lastUpdateId": 5}', "needs lastUpdateId, bids and asks"),
])
def test_bad_capture_lines_are_named(tmp_path, line, problem):
    path = tmp_path / "bad.capture"
    path.write_text(f"1 {trade(1)}\n{line}\n")
    with pytest.raises(ValueError, match=problem) as e:
        Capture.load(path)
    assert "bad.capture:2" in str(e.value)
