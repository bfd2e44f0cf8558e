"""The one-call path (``binance_spot.fastrecord``: a bookTicker or trade read, checked and written
in one compiled call) against the general path (orjson + field checks), field by field, over both
real captures and over frames changed at the edges the general path decides: an unknown symbol,
trade-id gaps (forward, repeated, backward, across paths and after a resume), bad times, values
at and past 2**53, past int64, reordered keys. Each test also says which path took each frame,
so an edge the kernel must leave is shown to be left, and the usual frame to be taken.

The reference is the same normalizer class with both fast paths switched off."""

from __future__ import annotations

import numpy as np
import pytest
from binance_reference import read_capture
from support import CAPTURE, USDM_CAPTURE

from hftshm.feed import fastjson
from hftshm.layouts import md
from hftshm.venues.binance_spot import BinanceSpotNormalizer, fastrecord
from hftshm.venues.binance_usdm import BinanceUsdmNormalizer

SYMBOLS = {"BTCUSDT": 3, "ETHUSDT": 4}
OTHER, QUOTE_OK, TRADE_OK, TRADE_GAP = fastrecord.OTHER, fastrecord.QUOTE_OK, fastrecord.TRADE_OK, fastrecord.TRADE_GAP


def _reference(norm):
    norm._fone = lambda frame, state, recv_ns: -1
    norm._fmatch = lambda frame, prog, work: -1
    return norm


def _templates_only(norm):
    norm._fone = lambda frame, state, recv_ns: -1
    return norm


class _Spy:
    """Wraps the kernel entry point: the codes it returned, in order."""

    def __init__(self, norm):
        self.codes = []
        kernel = norm._fone

        def spy(frame, state, recv_ns):
            code = kernel(frame, state, recv_ns)
            self.codes.append(code)
            return code

        norm._fone = spy


def _same(a: np.ndarray, b: np.ndarray, frame: bytes) -> None:
    assert a.dtype == b.dtype == md.DTYPE and len(a) == len(b), frame[:200]
    for name in md.DTYPE.names:  # field by field, then the bytes (a float's sign or NaN payload)
        assert a[name].tolist() == b[name].tolist(), (name, frame[:200])
    assert a.tobytes() == b.tobytes(), frame[:200]


def _run(cls, frames, symbols=SYMBOLS, prepare=None):
    """Feed the one-call normalizer and the references the same frames; compare every result.
    Returns the kernel's codes, one per stream frame."""
    fast, tmpl, ref = cls(symbols), _templates_only(cls(symbols)), _reference(cls(symbols))
    if prepare:
        for norm in (fast, tmpl, ref):
            prepare(norm)
    spy = _Spy(fast)
    for recv, frame in frames:
        if frame.startswith(b'{"lastUpdateId"'):
            results = [n.apply_snapshot("BTCUSDT", frame, recv).copy() for n in (fast, tmpl, ref)]
        else:
            results = [n.normalize(frame, recv).copy() for n in (fast, tmpl, ref)]
        _same(results[0], results[2], frame)
        _same(results[1], results[2], frame)
    assert fast.counters.as_dict() == tmpl.counters.as_dict() == ref.counters.as_dict()
    assert fast._last_trade.items() == ref._last_trade.items()
    return spy.codes, fast


@pytest.mark.parametrize("cls, path", [(BinanceSpotNormalizer, CAPTURE), (BinanceUsdmNormalizer, USDM_CAPTURE)],
                         ids=["spot", "usdm"])
def test_capture_field_by_field(cls, path):
    frames = read_capture(path)
    codes, fast = _run(cls, frames)
    quotes = sum(1 for _, f in frames if b'@bookTicker"' in f[:40])
    trades = sum(1 for _, f in frames if b'@trade"' in f[:40])
    # the capture is the wire's shape: the one call must take every bookTicker and trade in it
    assert codes.count(QUOTE_OK) == quotes > 20_000
    assert codes.count(TRADE_OK) + codes.count(TRADE_GAP) == trades > 9_000
    assert fast.counters.trade_id_gaps == codes.count(TRADE_GAP)


SPOT_QUOTE = (b'{"stream":"btcusdt@bookTicker","data":{"u":%d,"s":"%s","b":"%s","B":"%s","a":"%s",'
              b'"A":"%s"}}')
SPOT_TRADE = (b'{"stream":"btcusdt@trade","data":{"e":"trade","E":%d,"s":"%s","t":%d,"p":"%s","q":"%s",'
              b'"T":%d,"m":%s,"M":%s}}')
USDM_QUOTE = (b'{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":%d,"s":"%s","b":"%s","B":"%s",'
              b'"a":"%s","A":"%s","T":%d,"E":%d}}')
USDM_TRADE = (b'{"stream":"btcusdt@trade","data":{"e":"trade","E":%d,"T":%d,"s":"%s","t":%d,"p":"%s",'
              b'"q":"%s","X":"%s","m":%s}}')
MAX_MS = ((1 << 63) - 1) // 1_000_000
E53 = b"90071992.54740992"  # 2**53 in e8: its float is not float64(v) / 1e8's to trust: left
BELOW_E53 = b"90071992.54740991"


def _spot_quote(u=1, s=b"BTCUSDT", b=b"61837.63", bq=b"3.788", a=b"61837.64", aq=b"1.5"):
    return SPOT_QUOTE % (u, s, b, bq, a, aq)


def _spot_trade(t, E=1723161255343, s=b"BTCUSDT", p=b"61837.63", q=b"0.02", T=1723161255342, m=b"true",
                M=b"true"):
    return SPOT_TRADE % (E, s, t, p, q, T, m, M)


def _usdm_quote(u=1, s=b"BTCUSDT", b=b"61800.20", bq=b"2.507", a=b"61800.30", aq=b"2.510", T=1723161256313,
                E=1723161256313):
    return USDM_QUOTE % (u, s, b, bq, a, aq, T, E)


def _usdm_trade(t, E=1723161256322, T=1723161256322, s=b"BTCUSDT", p=b"61800.30", q=b"0.006", X=b"MARKET",
                m=b"false"):
    return USDM_TRADE % (E, T, s, t, p, q, X, m)


def test_literals_are_the_templates_shapes():
    """The kernels read exactly TEMPLATES [0] and [1]: a frame built from each is matched by both."""
    for cls, frames in ((BinanceSpotNormalizer, [_spot_quote(), _spot_trade(1)]),
                        (BinanceUsdmNormalizer, [_usdm_quote(), _usdm_trade(1)])):
        t = fastjson.Templates(cls.TEMPLATES)
        norm = cls(SYMBOLS)
        for i, frame in enumerate(frames):
            assert t.match(frame) == i, frame
            assert norm._fone(frame, norm._farray, 1) in (QUOTE_OK, TRADE_OK), frame


SPOT_EDGES = [
    (_spot_quote(), QUOTE_OK),
    (_spot_quote(s=b"DOGEUSDT"), OTHER),  # unknown symbol
    (_spot_quote(s=b"BTCUSD"), OTHER),  # a known symbol's prefix
    (_spot_quote(s=b"BTCUSDTX"), OTHER),
    (_spot_quote(s=b"BTC\\u0055SDT"), OTHER),  # an escape: the same symbol to orjson
    (_spot_quote(b=b"61837.64"), OTHER),  # crossed
    (_spot_quote(bq=b"0"), OTHER),  # zero quantity
    (_spot_quote(b=b"0.00000000"), OTHER),  # zero bid
    (_spot_quote(u=(1 << 63) - 1), QUOTE_OK),
    (_spot_quote(u=1 << 63), OTHER),  # past int64
    (_spot_quote(a=E53, b=b"1"), OTHER),  # ask at 2**53: the template path packs it
    (_spot_quote(a=BELOW_E53, b=b"1", aq=BELOW_E53), QUOTE_OK),
    (_spot_quote(aq=E53), OTHER),
    (_spot_quote(aq=b"92233720368.54775807"), OTHER),
    (_spot_quote().replace(b'"b":"61837.63","B":"3.788"', b'"B":"3.788","b":"61837.63"'), OTHER),  # reordered
    (_spot_quote().replace(b'"u":1,', b'"u": 1,'), OTHER),  # a blank
    (_spot_trade(100), TRADE_OK),
    (_spot_trade(101, m=b"false", M=b"false"), TRADE_OK),
    (_spot_trade(105), TRADE_GAP),  # 3 missed
    (_spot_trade(105), TRADE_GAP),  # a repeat
    (_spot_trade(104), TRADE_GAP),  # a step back
    (_spot_trade(105, s=b"ETHUSDT"), TRADE_OK),  # another symbol's first: no gap
    (_spot_trade(106, s=b"DOGEUSDT"), OTHER),  # unknown: the id state untouched
    (_spot_trade(105), TRADE_OK),
    (_spot_trade(106, p=E53), OTHER),  # price at 2**53: the template path, which keeps the same ids
    (_spot_trade(107, q=BELOW_E53), TRADE_OK),
    (_spot_trade(109, E=0), OTHER),  # bad time: refused, ids untouched
    (_spot_trade(109, T=MAX_MS + 1), OTHER),
    (_spot_trade(109, T=MAX_MS, E=MAX_MS), TRADE_GAP),
    (_spot_trade(110, p=b"0"), OTHER),  # zero price
    (_spot_trade(111, q=b"0.0"), OTHER),
    (_spot_trade((1 << 63) - 1), TRADE_GAP),
    (_spot_trade(1 << 63), OTHER),
    (_spot_trade(7, m=b"1"), OTHER),
    (_spot_trade(7).replace(b'"p":"61837.63","q":"0.02"', b'"q":"0.02","p":"61837.63"'), OTHER),  # reordered
    (_spot_trade(8).replace(b'"M":true', b'"M":true,"Z":1'), OTHER),  # an extra key
    (_spot_trade(8)[:-1], OTHER),  # cut short
    (_spot_trade(8) + b" ", OTHER),
    (_usdm_quote(), OTHER),  # the other venue's shape
]

USDM_EDGES = [
    (_usdm_quote(), QUOTE_OK),
    (_usdm_quote(s=b"DOGEUSDT"), OTHER),
    (_usdm_quote(s=b"ETHUSDT"), QUOTE_OK),
    (_usdm_quote(b=b"61800.30"), OTHER),  # crossed
    (_usdm_quote(aq=b"0.000"), OTHER),
    (_usdm_quote(E=0), OTHER),
    (_usdm_quote(T=MAX_MS + 1), OTHER),
    (_usdm_quote(T=MAX_MS, E=MAX_MS), QUOTE_OK),
    (_usdm_quote(E=1 << 63), OTHER),
    (_usdm_quote(b=b"1", a=E53), OTHER),
    (_usdm_quote(b=b"1", a=BELOW_E53, bq=BELOW_E53), QUOTE_OK),
    (_usdm_quote().replace(b'"T":1723161256313,"E":1723161256313', b'"E":1723161256313,"T":1723161256313'),
     OTHER),  # reordered
    (_usdm_trade(5000), TRADE_OK),
    (_usdm_trade(5001, X=b"INSURANCE_FUND", m=b"true"), TRADE_OK),
    (_usdm_trade(5002, X=b"MARKE"), TRADE_OK),
    (_usdm_trade(5003, X=b"MARKETS"), TRADE_OK),
    (_usdm_trade(5004, X=b""), TRADE_OK),
    (_usdm_trade(5010), TRADE_GAP),
    (_usdm_trade(5011, s=b"DOGEUSDT"), OTHER),
    (_usdm_trade(5011, E=0), OTHER),
    (_usdm_trade(5011, T=MAX_MS + 1), OTHER),
    (_usdm_trade(5011, p=E53), OTHER),  # the template path: id continuity shared
    (_usdm_trade(5012), TRADE_OK),
    (_usdm_trade(5012), TRADE_GAP),
    (_usdm_trade(3), TRADE_GAP),
    (_usdm_trade(4, X=b"MAR\\u004bET"), OTHER),  # an escape
    (_usdm_trade(5, m=b"null"), OTHER),
    (_usdm_trade(6).replace(b'"E":1723161256322,"T":1723161256322', b'"T":1723161256322,"E":1723161256322'),
     OTHER),  # reordered
    (_usdm_trade(7).replace(b'"stream":"btcusdt@trade",', b''), OTHER),  # no envelope
    (_spot_trade(8), OTHER),  # the other venue's shape
]


@pytest.mark.parametrize("cls, edges", [(BinanceSpotNormalizer, SPOT_EDGES), (BinanceUsdmNormalizer, USDM_EDGES)],
                         ids=["spot", "usdm"])
def test_edges_same_as_the_general_path_and_left_where_they_must_be(cls, edges):
    frames = [(1_000 + i, frame) for i, (frame, _) in enumerate(edges)]
    codes, fast = _run(cls, frames)
    assert codes == [code for _, code in edges]
    c = fast.counters
    assert c.trade_id_gaps > 2 and c.trade_ids_missed > 3 and c.unknown_symbols >= 2


@pytest.mark.parametrize("cls, path", [(BinanceSpotNormalizer, CAPTURE), (BinanceUsdmNormalizer, USDM_CAPTURE)],
                         ids=["spot", "usdm"])
def test_capture_trade_ids_changed_same_gaps(cls, path):
    """The capture's trades with ids skipped, repeated and stepped back, some priced past 2**53
    (the template path) or with an unknown symbol, in between: the same gaps and records."""
    rng = np.random.default_rng(12)
    frames = []
    for recv, frame in read_capture(path)[:20_000]:
        if b'@trade"' in frame[:40]:
            roll = rng.random()
            at = frame.index(b'"t":') + 4
            end = frame.index(b",", at)
            tid = int(frame[at:end])
            if roll < 0.05:
                frame = frame[:at] + b"%d" % (tid + int(rng.integers(2, 50))) + frame[end:]
            elif roll < 0.08:
                frame = frame[:at] + b"%d" % (tid - int(rng.integers(0, 5))) + frame[end:]
            elif roll < 0.1:
                frame = frame.replace(b'"p":"', b'"p":"999', 1)  # past 2**53 in e8: the template path
            elif roll < 0.12:
                frame = frame.replace(b'"s":"BTCUSDT"', b'"s":"BTCUSDC"')
        frames.append((recv, frame))
    codes, fast = _run(cls, frames)
    c = fast.counters
    assert c.trade_id_gaps > 100 and c.unknown_symbols > 10
    assert codes.count(TRADE_GAP) > 50 and codes.count(TRADE_OK) > 1000


@pytest.mark.parametrize("cls, quote, trade", [(BinanceSpotNormalizer, _spot_quote, _spot_trade),
                                               (BinanceUsdmNormalizer, _usdm_quote, _usdm_trade)],
                         ids=["spot", "usdm"])
def test_many_symbols_and_ids_at_the_edges(cls, quote, trade):
    """300 symbols (the table's collisions), ids up to 2**32 - 1, prefixes of each other."""
    names = [f"S{i}USDT" for i in range(300)] + ["A", "AB", "ABC"]
    symbols = {name: (2**32 - 1 - i if i % 2 else i * 7) for i, name in enumerate(names)}
    frames = []
    for i, name in enumerate(names + ["ABCD", "S300USDT", "S1USD"]):
        frames.append((i, quote(u=i, s=name.encode())))
        frames.append((i, trade(i * 2, s=name.encode())))
        frames.append((i, trade(i * 2 + 2, s=name.encode())))
    codes, fast = _run(cls, frames, symbols)
    assert codes.count(QUOTE_OK) == len(names) and codes.count(OTHER) == 9
    assert codes.count(TRADE_GAP) == len(names)
    assert fast._last_trade.items() == [(symbols[n], i * 2 + 2) for i, n in enumerate(names)]
    rec = fast.normalize(quote(u=5, s=b"S1USDT"), 9)
    assert rec["symbol_id"].tolist() == [2**32 - 2]


@pytest.mark.parametrize("cls, trade", [(BinanceSpotNormalizer, _spot_trade), (BinanceUsdmNormalizer, _usdm_trade)],
                         ids=["spot", "usdm"])
def test_resume_continues_in_the_one_call_path(cls, trade):
    def resumed(norm):
        norm.resume({3: 41, 4: -1}, {})

    frames = [(1, trade(42)), (2, trade(50)), (3, trade(7, s=b"ETHUSDT")), (4, trade(8, s=b"ETHUSDT"))]
    codes, fast = _run(cls, frames, prepare=resumed)
    assert codes == [TRADE_OK, TRADE_GAP, TRADE_OK, TRADE_OK]
    assert (fast.counters.trade_id_gaps, fast.counters.trade_ids_missed) == (1, 7)


def test_trade_ids_refuse_what_the_dict_never_held():
    norm = BinanceSpotNormalizer(SYMBOLS)
    ids = norm._last_trade
    assert ids.get(3) is None and ids.items() == []
    ids[3] = 5
    assert ids.get(3) == 5 and ids.items() == [(3, 5)]
    with pytest.raises(ValueError):
        ids[3] = -1
    with pytest.raises(KeyError):
        ids[99] = 1
    with pytest.raises(KeyError):
        norm.resume({99: 1}, {})
