"""Bybit's and OKX's compiled fast path (``feed.fastjson`` templates) against their general path
(orjson + field checks): the simulator's synthetic streams of every topic (with its restarts,
re-sends, gaps, idle books), clean and with seeded byte mutations, go to both; the records must
be the same, byte for byte, and the counters too. The reference is the same normalizer with its
compiled readers switched off (templates, Bybit's one-call paths, OKX's books reader and its
trades/bbo-tbt call): the code before the fast path. Frames come from hftshm/exchange/inband.py,
which follows the docs' examples (no recording of either venue exists)."""

from __future__ import annotations

import random
import zlib

import pytest

from hftshm import venues
from hftshm.exchange.inband import InbandOptions, InbandSession

CASES = [("bybit_linear", "publicTrade"), ("bybit_linear", "orderbook.50"), ("bybit_linear", "tickers"),
         ("bybit_spot", "orderbook.1"),
         ("bybit_spot", "publicTrade"), ("okx", "trades"), ("okx", "bbo-tbt"), ("okx", "books")]
_JUNK = [b"-", b"0", b" ", b"\\", b'"', b".", b"9", b"e5", b"99999999999999999999", b"", b"1.123456789",
         b"\\u0041", b"true", b"null", b"]", b"[", b",", b"{", b"}", b"0.0", b"x"]


def _frames(venue: str, kind: str, n: int) -> list[bytes]:
    session = InbandSession(venue, InbandOptions(), {"BTCUSDT"})
    (conn,) = venues.get(venue).connections("ws://x", ["btcusdt"], [kind])
    (msg,) = conn.subscribe_messages(conn.subscribe)
    session.handle(msg)
    return session.next_messages(n)


def _mutate(frame: bytes, rng: random.Random) -> bytes:
    i = rng.randrange(len(frame))
    return frame[:i] + rng.choice(_JUNK) + frame[min(len(frame), i + rng.choice((0, 1, 1, 3))):]


@pytest.mark.parametrize("venue, kind", CASES, ids=[f"{v}-{k}" for v, k in CASES])
def test_same_records_and_counts_as_the_general_path(venue, kind):
    rng = random.Random(zlib.crc32(f"{venue}:{kind}".encode()))
    clean = _frames(venue, kind, 3000)
    frames = clean + [_mutate(f, rng) if rng.random() < 0.5 else f for f in clean]
    fast = venues.get(venue).normalizer({"BTCUSDT": 0})
    slow = venues.get(venue).normalizer({"BTCUSDT": 0})
    slow._fmatch = lambda frame, prog, work: -1
    if venue == "okx":  # OKX: its own compiled readers (okx/fastbook.py, okx/fastpush.py)
        slow._fbook = lambda frame, vals, rows, toff: 0
        slow._fupdate = lambda *args: -5  # fastbook.OTHER
        slow._fpush = lambda *args: -5  # fastpush.OTHER
    else:  # Bybit tickers: their own template set
        slow._fticker = lambda *args: -5  # fastbook.OTHER
        slow._fdelta = lambda *args: -5  # fastbook.OTHER
        slow._ftrade = lambda *args: -5
    matched = 0
    general = fast._normalize
    hits = []
    one_call = kind == "tickers" or venue == "okx" and kind != "books"
    if one_call:  # the frames the compiled path took: those that never reach the general path
        fast._normalize = lambda f, r: hits.append(1) or general(f, r)
    for i, frame in enumerate(frames):
        if kind == "books":
            matched += i < len(clean) and fast._fbook(frame, fast._bvals, fast._brows, fast._btoff) == 1
        elif one_call:
            before = len(hits)
            got = fast.normalize(frame, i).tobytes()
            matched += i < len(clean) and len(hits) == before
            assert got == slow.normalize(frame, i).tobytes(), frame[:200]
            continue
        else:
            matched += i < len(clean) and fast._fmatch(frame, fast._fprog, fast._fwork) >= 0
        assert fast.normalize(frame, i).tobytes() == slow.normalize(frame, i).tobytes(), frame[:200]
    assert fast.counters.as_dict() == slow.counters.as_dict()
    assert matched >= 0.9 * len(clean), matched


# Bybit v5 docs, WebSocket Stream > Public > Ticker: the linear snapshot's fields (its example)
_TICKER_FIELDS = {"symbol", "tickDirection", "price24hPcnt", "lastPrice", "prevPrice24h", "highPrice24h",
                  "lowPrice24h", "prevPrice1h", "markPrice", "indexPrice", "openInterest", "openInterestValue",
                  "turnover24h", "volume24h", "nextFundingTime", "fundingRate", "bid1Price", "bid1Size",
                  "ask1Price", "ask1Size"}


def test_bybit_tickers_stream_mixes_the_documented_delta_shapes():
    """The simulator's tickers deltas carry only changed fields, of several documented sets,
    with values that agree with each other once merged (bid below ask, the volume growing)."""
    import orjson

    from hftshm.feed.e8 import parse_e8

    frames = [orjson.loads(f) for f in _frames("bybit_linear", "tickers", 3000)]
    assert frames[0]["type"] == "snapshot" and set(frames[0]["data"]) == _TICKER_FIELDS
    state = dict(frames[0]["data"])
    seen = {"book": 0, "markPrice": 0, "volume24h": 0, "openInterest": 0, "fundingRate": 0, "none": 0}
    for msg in frames[1:]:
        data = msg["data"]
        assert msg["type"] == "delta" and set(data) <= _TICKER_FIELDS and len(data) > 1, data
        assert all(type(v) is str for v in data.values()), data
        changed = {k: v for k, v in data.items() if k != "symbol"}
        assert all(state[k] != v for k, v in changed.items()), data  # only what changed
        volume = parse_e8(state["volume24h"])
        state.update(changed)
        assert parse_e8(state["bid1Price"]) < parse_e8(state["ask1Price"]), state
        assert parse_e8(state["volume24h"]) >= volume
        assert parse_e8(state["lowPrice24h"]) <= parse_e8(state["lastPrice"]) <= parse_e8(state["highPrice24h"])
        for key in seen:
            seen[key] += key in data
        seen["book"] += bool(set(data) & {"bid1Price", "bid1Size", "ask1Price", "ask1Size"})
        seen["none"] += not set(data) & {"markPrice", "indexPrice", "fundingRate", "nextFundingTime", "openInterest"}
    n = len(frames) - 1
    assert seen["book"] > 0.6 * n and seen["none"] > 0.4 * n, seen  # most change the book's top, many only it
    assert 0.1 * n < seen["markPrice"] < 0.5 * n and seen["volume24h"] > 0.1 * n, seen
    assert 0 < seen["openInterest"] < 0.1 * n and 0 < seen["fundingRate"] < 0.05 * n, seen


def _symbol_frames(venue: str, kind: str, symbol: str, n: int) -> list[bytes]:
    session = InbandSession(venue, InbandOptions(), {symbol.upper()})
    (conn,) = venues.get(venue).connections("ws://x", [symbol], [kind])
    (msg,) = conn.subscribe_messages(conn.subscribe)
    session.handle(msg)
    return session.next_messages(n)


@pytest.mark.parametrize("venue, depths", [("bybit_linear", ("50", "50")), ("bybit_spot", ("1", "50"))])
def test_bybit_books_of_several_symbols_interleaved(venue, depths):
    """The compiled book path reads the last book it read (its topic checked in the kernel) and
    switches book when another book topic comes: two symbols' books (spot: one of depth 1, its
    continuing snapshots and re-sends), interleaved at random, give the general path's records
    and counts, and every frame but the snapshots takes the compiled path."""
    rng = random.Random(7)
    streams = [_symbol_frames(venue, f"orderbook.{depths[0]}", "btcusdt", 1500),
               _symbol_frames(venue, f"orderbook.{depths[1]}", "ethusdt", 1500)]
    frames, pos = [], [0] * len(streams)
    while any(p < len(s) for p, s in zip(pos, streams)):
        k = rng.choice([i for i, s in enumerate(streams) if pos[i] < len(s)])
        frames.append(streams[k][pos[k]])
        pos[k] += 1
    fast = venues.get(venue).normalizer({"BTCUSDT": 0, "ETHUSDT": 1})
    slow = venues.get(venue).normalizer({"BTCUSDT": 0, "ETHUSDT": 1})
    slow._fmatch = lambda frame, prog, work: -1
    slow._fdelta = lambda *args: -5  # fastbook.OTHER
    general, set_hot = fast._normalize, fast._set_hot
    hits, switches = [], []
    fast._normalize = lambda f, r: hits.append(1) or general(f, r)
    fast._set_hot = lambda i: switches.append(i) or set_hot(i)
    for i, frame in enumerate(frames):
        assert fast.normalize(frame, i).tobytes() == slow.normalize(frame, i).tobytes(), frame[:200]
    assert fast.counters.as_dict() == slow.counters.as_dict()
    assert len(set(switches)) == len(streams) and len(switches) > 0.3 * len(frames), len(switches)
    snapshots = sum(b'"type":"snapshot"' in f for f in frames)
    assert len(hits) <= snapshots + 0.01 * len(frames), (len(hits), snapshots)
