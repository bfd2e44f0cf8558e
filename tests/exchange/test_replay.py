"""Playback of the real Binance capture (shared/data/binance) and of small literal ones."""

import asyncio
import math
from decimal import Decimal

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


def quote(t, bid, ask):
    return '{"stream":"xrpusdt@bookTicker","data":{"u":%d,"s":"XRPUSDT","b":"%s","B":"100.00000000","a":"%s","A":"50.00000000"}}' % (t, bid, ask)


def _filters(info, symbol="XRPUSDT"):
    (s,) = [s for s in info["result"]["symbols"] if s["symbol"] == symbol]
    return {f["filterType"]: f for f in s["filters"]}


def test_a_replayed_symbols_tick_is_its_finest_recorded_price_step(tmp_path):
    """xrpusdt is not in the simulator's table (tick 0.01 for unknown symbols), and its recorded
    prices have five decimals: exchangeInfo serves tick 0.00001, so that strategies round onto
    the prices the replayed book is on. A tick the config gives wins; coarse prices change nothing."""
    fine = write_capture(tmp_path / "fine.capture", [(1, quote(1, "0.52341000", "0.52342000")), (2, trade(2))])
    coarse = write_capture(tmp_path / "coarse.capture", [(1, quote(1, "0.52000000", "0.53000000")), (2, trade(2))])

    async def body(sim):
        async with await connect(sim, "/ws-api/v3") as ws:
            return await request(ws, "exchangeInfo", {})

    got = _filters(with_sim(ExchangeConfig(port=0, replay=fine), body))
    assert got["PRICE_FILTER"]["tickSize"] == "0.00001000"
    assert (Decimal(got["PRICE_FILTER"]["tickSize"]) * Decimal(got["LOT_SIZE"]["stepSize"])) % Decimal("1e-8") == 0
    assert Capture.load(fine).price_decimals("xrpusdt") == 5
    got = _filters(with_sim(ExchangeConfig(port=0, replay=coarse), body))
    assert got["PRICE_FILTER"]["tickSize"] == "0.01000000"  # 0.50, 0.52, 0.53: the table's tick fits
    got = _filters(with_sim(ExchangeConfig(port=0, replay=fine, symbols=("xrpusdt",), ticks=(("xrpusdt", "0.0001"),)), body))
    assert got["PRICE_FILTER"]["tickSize"] == "0.00010000"


def test_a_tick_finer_than_the_step_allows_lifts_the_step():
    """tick x step must be a multiple of 1e-8 (exact notionals): 1e-8 on BTCUSDT (step 0.00001)
    lifts the step to 1, and the minimum quantity with it."""
    from hftshm.exchange.config import _with_tick, symbol_spec

    spec = _with_tick(symbol_spec("btcusdt"), "0.00000001")
    assert (spec.tick_e8, spec.step_e8, spec.min_qty_e8) == (1, 100_000_000, 100_000_000)
    assert _with_tick(symbol_spec("btcusdt"), "0.1").step_e8 == symbol_spec("btcusdt").step_e8


def test_a_replay_funds_the_replayed_assets_and_reads_no_mark_price(tmp_path):
    """The account gets XRP (ten times maxQty) beside the default USDT, BTC and ETH, so a strategy
    may sell first; a mark price's 8 decimals (on no tick) do not make the tick 1e-8."""
    from hftshm.exchange.server import replay_balances, replay_ticks

    mark = '{"stream":"xrpusdt@markPrice@1s","data":{"e":"markPriceUpdate","s":"XRPUSDT","p":"0.52341234"}}'
    cap = write_capture(tmp_path / "x.capture", [(1, mark), (2, quote(2, "0.52341000", "0.52342000"))])
    cfg = ExchangeConfig(symbols=("xrpusdt",))
    assert Capture.load(cap).price_decimals("xrpusdt") == 5
    assert replay_ticks(cfg, Capture.load(cap)) == (("xrpusdt", "0.00001"),)
    assert dict(replay_balances(cfg)) == {"XRP": "90000.00000000"}
    assert replay_balances(ExchangeConfig(symbols=("btcusdt",))) == ()
