"""The normalizers' compiled fast path (``feed.fastjson`` templates) against their general path
(orjson + field checks), which it must never contradict: over the real Spot and USD-M captures,
and over seeded byte mutations of their frames (signs, blanks, escapes, leading zeros, extra
decimals, overflow, zero prices, reordered keys...), both normalizers get the same frames in the
same order and must return the same records, byte for byte, and end with the same counters.

The reference is the same normalizer class with its matcher switched off (every frame takes the
general path, the code before the fast path existed)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from binance_reference import read_capture
from support import CAPTURE, USDM_CAPTURE

from hftshm.feed import fastjson
from hftshm.feed.e8 import parse_e8
from hftshm.venues.binance_spot import BinanceSpotNormalizer
from hftshm.venues.binance_usdm import BinanceUsdmNormalizer

SYMBOLS = {"BTCUSDT": 3, "ETHUSDT": 4}


def _general_only(norm):
    norm._fone = lambda frame, state, recv_ns: -1  # the one-call path (fastrecord) off
    norm._fmatch = lambda frame, prog, work: -1
    return norm


def _pair(cls):
    return cls(SYMBOLS), _general_only(cls(SYMBOLS))


def _feed_both(fast, slow, frames) -> int:
    """Feed both; every result compared as it comes. Returns how many frames the fast path read."""
    matched = 0
    for recv, frame in frames:
        if frame.startswith(b'{"lastUpdateId"'):
            a = fast.apply_snapshot("BTCUSDT", frame, recv).tobytes()
            b = slow.apply_snapshot("BTCUSDT", frame, recv).tobytes()
        else:
            matched += fast._fmatch(frame, fast._fprog, fast._fwork) >= 0
            a = fast.normalize(frame, recv).tobytes()
            b = slow.normalize(frame, recv).tobytes()
        assert a == b, frame[:200]
    assert fast.counters.as_dict() == slow.counters.as_dict()
    return matched


@pytest.mark.parametrize("cls, path", [(BinanceSpotNormalizer, CAPTURE), (BinanceUsdmNormalizer, USDM_CAPTURE)],
                         ids=["spot", "usdm"])
def test_capture_same_records_as_the_general_path(cls, path):
    frames = read_capture(path)
    fast, slow = _pair(cls)
    matched = _feed_both(fast, slow, frames)
    stream = sum(1 for _, f in frames if not f.startswith(b'{"lastUpdateId"'))
    # the capture is the wire's shape: the fast path must read (nearly) all of it, or it is dead code
    assert matched >= 0.99 * stream, (matched, stream)
    assert fast.counters.frames == stream


_JUNK = [b"-", b"0", b"00", b" ", b"\\", b'"', b".", b"9", b"e5", b"99999999999999999999", b"",
         b"1.123456789", b"\\u0041", b"true", b"null", b"]", b"[", b",", b"{", b"}", b"0.0", b"ETHUSDT"]


def _mutate(frame: bytes, rng: random.Random) -> bytes:
    roll = rng.random()
    if roll < 0.5:
        i = rng.randrange(len(frame))
        j = min(len(frame), i + rng.choice((0, 1, 1, 2, 5)))
        return frame[:i] + rng.choice(_JUNK) + frame[j:]
    if roll < 0.6:  # a decimal made zero, or a number changed, at a random value position
        spots = [i for i in range(len(frame) - 1) if frame[i:i + 2] in (b':"', b'["', b',"', b'":')]
        if spots:
            i = rng.choice(spots) + 2
            return frame[:i] + rng.choice((b"0.00", b"0", b"-1", b"00", b"1e3", b"9" * 19)) + frame[i:]
    if roll < 0.7:  # keys swapped (another order)
        return frame.replace(b'"b":', b'"X1":', 1).replace(b'"a":', b'"b":', 1).replace(b'"X1":', b'"a":', 1)
    if roll < 0.8:  # whitespace after a separator
        i = frame.find(b",", rng.randrange(len(frame)))
        return frame if i < 0 else frame[:i + 1] + b" " + frame[i + 1:]
    return frame


@pytest.mark.parametrize("cls, path", [(BinanceSpotNormalizer, CAPTURE), (BinanceUsdmNormalizer, USDM_CAPTURE)],
                         ids=["spot", "usdm"])
def test_mutated_frames_same_records_and_counts(cls, path):
    rng = random.Random(20261206)
    frames = read_capture(path)
    # the first 6,000 lines (both captures' snapshots come early) and their mutations, in order
    mutated = []
    for recv, frame in frames[:6000]:
        if not frame.startswith(b'{"lastUpdateId"') and rng.random() < 0.5:
            frame = _mutate(frame, rng)
        mutated.append((recv, frame))
    fast, slow = _pair(cls)
    _feed_both(fast, slow, mutated)
    c = slow.counters
    assert c.bad_fields + c.malformed_json + c.zero_values > 100  # the mutations reached every path


LITERAL = [
    # USD-M shapes with one value each at an edge the general path decides
    b'{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":0,"s":"BTCUSDT","b":"1.5","B":"2","a":"1.6",'
    b'"A":"0.00000001","T":1,"E":1}}',
    b'{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":1,"s":"BTCUSDT","b":"1.6","B":"2","a":"1.6",'
    b'"A":"1","T":1,"E":1}}',  # crossed
    b'{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":1,"s":"BTCUSDT","b":"0","B":"2","a":"1.6",'
    b'"A":"1","T":1,"E":1}}',  # zero bid
    b'{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":9223372036854775807,"s":"BTCUSDT",'
    b'"b":"92233720368.54775806","B":"1","a":"92233720368.54775807","A":"1","T":9223372036854,'
    b'"E":9223372036854}}',
    b'{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":9223372036854775808,"s":"BTCUSDT",'
    b'"b":"1","B":"1","a":"2","A":"1","T":1,"E":1}}',  # u past int64
    b'{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":1,"s":"BTCUSDT","b":"92233720368.54775808",'
    b'"B":"1","a":"92233720369","A":"1","T":1,"E":1}}',  # bid past int64
    b'{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":1,"s":"BTCUSDT","b":"1","B":"1","a":"2",'
    b'"A":"1","T":9223372036855,"E":1}}',  # T past int64 ns
    b'{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":1,"s":"BTC\\u0055SDT","b":"1","B":"1",'
    b'"a":"2","A":"1","T":1,"E":1}}',  # an escape: the same symbol to orjson
    b'{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":1,"s":"DOGEUSDT","b":"1","B":"1",'
    b'"a":"2","A":"1","T":1,"E":1}}',  # unknown symbol
    b'{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":01,"s":"BTCUSDT","b":"1","B":"1",'
    b'"a":"2","A":"1","T":1,"E":1}}',  # a leading zero: not JSON
    b'{"stream":"btcusdt@trade","data":{"e":"trade","E":5,"T":5,"s":"BTCUSDT","t":7,"p":"1.","q":"1",'
    b'"X":"MARKET","m":true}}',
    b'{"stream":"btcusdt@trade","data":{"e":"trade","E":5,"T":5,"s":"BTCUSDT","t":9,"p":"1.123456789",'
    b'"q":"1","X":"MARKET","m":true}}',
    b'{"stream":"btcusdt@trade","data":{"e":"trade","E":5,"T":5,"s":"ETHUSDT","t":9,"p":"0001.1","q":"1",'
    b'"X":"INSURANCE_FUND","m":false}}',
    b'{"stream":"btcusdt@trade","data":{"e":"trade","E":0,"T":5,"s":"ETHUSDT","t":10,"p":"1","q":"1",'
    b'"X":"MARKET","m":false}}',
    b'{"stream":"btcusdt@trade","data":{"e":"trade","E":5,"T":5,"s":"ETHUSDT","t":12,"p":"1","q":"0",'
    b'"X":"MARKET","m":false}}',  # zero quantity
    b'{"stream":"btcusdt@trade","data":{"e":"trade","E":5,"T":5,"s":"ETHUSDT","t":14,"p":"1","q":"2",'
    b'"X":"MARKET","m":false}}',  # a gap after 9
    b'{"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1,"T":1,"s":"BTCUSDT","U":5,"u":4,"pu":1,'
    b'"b":[],"a":[]}}',  # U > u
    b'{"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1,"T":1,"s":"BTCUSDT","U":5,"u":6,"pu":1,'
    b'"b":[["0","1"]],"a":[]}}',  # zero price
    b'{"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1,"T":1,"s":"BTCUSDT","U":5,"u":6,"pu":1,'
    b'"b":[["1","1","2"]],"a":[]}}',  # three items
    b'{"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1,"T":1,"s":"BTCUSDT","U":5,"u":6,"pu":1,'
    b'"b":[["1","1"]],"a":[["2","0"]]}} ',  # a trailing blank
]


def test_literal_edges_same_as_the_general_path():
    fast, slow = _pair(BinanceUsdmNormalizer)
    _feed_both(fast, slow, [(i + 1, f) for i, f in enumerate(LITERAL)])
    c = slow.counters
    assert c.crossed_quotes == 1 and c.unknown_symbols == 1 and c.malformed_json == 1
    assert fast.counters.trade_id_gaps == slow.counters.trade_id_gaps > 0


DECIMALS = ["0", "1", "0.1", "61800.20", "0.00000001", "007.5", "92233720368.54775807", "92233720368.54775808",
            "92233720369", "1.", ".5", "1.123456789", "1e5", "-1", "+1", "1_0", " 1", "1 ", "", "１",
            "99999999999999999999", "00000000000000000000001.5", "1.00000000"]


def test_dec_hole_agrees_with_parse_e8():
    rng = random.Random(7)
    texts = DECIMALS + ["".join(rng.choice("0123456789.") for _ in range(rng.randrange(1, 22)))
                        for _ in range(3000)]
    t = fastjson.Templates(['["<DEC>"]'])
    for text in texts:
        try:
            want = parse_e8(text)
        except ValueError:
            want = None
        raw = text.encode()
        got = t.views[0].tolist()[0] if t.match(b'["' + raw + b'"]') == 0 else None
        # what the hole reads, parse_e8 reads the same; what it leaves, the general path decides
        # (parse_e8 also takes ".12345678", 8 decimals without a whole part: left to it)
        assert got == want or (got is None and text.startswith(".")), text


def test_int_str_bool_levels_holes():
    t = fastjson.Templates(['{"a":<INT>,"s":"<STR>","f":<BOOL>,"b":<LEVELS>,"c":<LEVELS>}'], max_levels=3)
    assert t.match(b'{"a":0,"s":"xy","f":true,"b":[["1","2"],["3.5","0"]],"c":[]}') == 0
    assert t.views[0].tolist() == [0, 12, 14, 1, 0, 2, 2, 0]
    assert t.pairs(0, 2) == [(100_000_000, 200_000_000), (350_000_000, 0)]
    for bad in (b'{"a":-1,"s":"xy","f":true,"b":[],"c":[]}', b'{"a":1.0,"s":"xy","f":true,"b":[],"c":[]}',
                b'{"a":1,"s":"x\\"y","f":true,"b":[],"c":[]}', b'{"a":1,"s":"xy","f":1,"b":[],"c":[]}',
                b'{"a":1,"s":"xy","f":true,"b":[["1","2"],["3","4"]],"c":[["5","6"],["7","8"]]}',  # 4 rows > 3
                b'{"a":1,"s":"xy","f":true,"b":[],"c":[]}x', b'{"a":1,"s":"xy","f":true,"b":[],"c":[]'):
        assert t.match(bad) == -1, bad
    with pytest.raises(TypeError):
        t.match("not bytes")
    assert np.all(t.prog[1:3] >= 0)
