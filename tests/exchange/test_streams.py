"""Stream payloads from literal rows, compared byte for byte, and against the real capture."""

import numpy as np
import orjson
import pytest

from hftshm.exchange import rows as R
from hftshm.exchange.config import symbol_spec
from hftshm.exchange.depth import DepthDiff
from hftshm.exchange.loaded_capture import Capture
from hftshm.exchange.streams import Renderer, parse_stream
from hftshm.exchange.wsframe import header, text_frame
from support import CAPTURE

T_NS = 1723161255342_000_000


def row(*values):
    r = np.zeros((1, R.WIDTH), np.int64)
    r[0, : len(values)] = values
    return r


ALL = frozenset((R.TRADE, R.AGG, R.BOOK))


def test_trade():
    rows = row(R.TRADE, T_NS + 123_456, 6183763, 2000, 1, -1, 3735683259)
    streams, payloads = Renderer(symbol_spec("btcusdt")).rows(rows, ALL)
    assert streams == ["btcusdt@trade"]
    assert payloads == [
        b'{"e":"trade","E":1723161255342,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000",'
        b'"q":"0.02000000","T":1723161255342,"m":true,"M":true}'
    ]


def test_agg_trade_and_book_ticker():
    rows = np.concatenate([
        row(R.AGG, T_NS, 6183764, 154698, 0, 2, 77, 100, 101),
        row(R.BOOK, T_NS, 6183763, 378826, 6183764, 154698, 50093239212),
    ])
    streams, payloads = Renderer(symbol_spec("btcusdt")).rows(rows, ALL)
    assert streams == ["btcusdt@aggTrade", "btcusdt@bookTicker"]
    assert payloads[0] == (
        b'{"e":"aggTrade","E":1723161255342,"s":"BTCUSDT","a":77,"p":"61837.64000000",'
        b'"q":"1.54698000","f":100,"l":101,"T":1723161255342,"m":false,"M":true}'
    )
    # The capture's third line, field for field.
    assert payloads[1] == (
        b'{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000",'
        b'"a":"61837.64000000","A":"1.54698000"}'
    )


def test_combined_envelope_and_kind_filter():
    rows = np.concatenate([
        row(R.TRADE, T_NS, 265000, 10000, 0, -1, 5),
        row(R.BOOK, T_NS, 264999, 3, 265000, 4, 9),
    ])
    streams, payloads = Renderer(symbol_spec("ethusdt")).rows(rows, frozenset((R.BOOK,)), combined=True)
    assert streams == ["ethusdt@bookTicker"]
    assert payloads == [
        b'{"stream":"ethusdt@bookTicker","data":{"u":9,"s":"ETHUSDT","b":"2649.99000000",'
        b'"B":"0.00030000","a":"2650.00000000","A":"0.00040000"}}'
    ]


def test_depth_update():
    diff = DepthDiff("btcusdt", "depth@100ms", 1723161255308, 50093239203, 50093239207,
                     bids=[(5565387, 0)], asks=[(6183804, 32332), (6184430, 40163)])
    assert Renderer(symbol_spec("btcusdt")).depth(diff) == (
        b'{"e":"depthUpdate","E":1723161255308,"s":"BTCUSDT","U":50093239203,"u":50093239207,'
        b'"b":[["55653.87000000","0.00000000"]],"a":[["61838.04000000","0.32332000"],'
        b'["61844.30000000","0.40163000"]]}'
    )


def test_same_shape_as_the_capture():
    """Key order and value types of every rendered kind equal Binance's recorded frames."""
    cap = Capture.load(CAPTURE)
    real = {}
    for f in cap.frames:
        real.setdefault(f.stream.partition("@")[2], orjson.loads(f.data))
    r = Renderer(symbol_spec("btcusdt"))
    rows = np.concatenate([
        row(R.TRADE, T_NS, 6183763, 2000, 1, -1, 1),
        row(R.BOOK, T_NS, 6183763, 1, 6183764, 1, 2),
    ])
    _, payloads = r.rows(rows, ALL)
    depth = r.depth(DepthDiff("btcusdt", "depth@100ms", 1, 2, 3, [(1, 1)], [(2, 2)]))
    for kind, mine in (("trade", payloads[0]), ("bookTicker", payloads[1]), ("depth@100ms", depth)):
        mine = orjson.loads(mine)
        assert list(mine) == list(real[kind]), kind
        assert [type(v) for v in mine.values()] == [type(v) for v in real[kind].values()], kind


def test_frame_headers():
    assert header(0) == b"\x81\x00"
    assert header(125) == b"\x81\x7d"
    assert header(126) == b"\x81\x7e\x00\x7e"
    assert header(65535) == b"\x81\x7e\xff\xff"
    assert header(65536) == b"\x81\x7f" + (65536).to_bytes(8, "big")
    assert text_frame(b"hi") == b"\x81\x02hi"


@pytest.mark.parametrize("name, expected", [
    ("btcusdt@trade", ("btcusdt", "trade")),
    ("ethusdt@depth@100ms", ("ethusdt", "depth@100ms")),
    ("btcusdt@depth", ("btcusdt", "depth")),
])
def test_parse_stream(name, expected):
    assert parse_stream(name) == expected


@pytest.mark.parametrize("name, problem", [
    ("BTCUSDT@trade", "lower-case"),
    ("btcusdt@kline_1m", "unknown kind"),
    ("btcusdt", "'<symbol>@<kind>'"),
    ("@trade", "'<symbol>@<kind>'"),
])
def test_parse_stream_rejects(name, problem):
    with pytest.raises(ValueError, match=problem):
        parse_stream(name)
