"""Bybit's and OKX's compiled fast path (``feed.fastjson`` templates) against their general path
(orjson + field checks): the simulator's synthetic streams of every topic (with its restarts,
re-sends, gaps, idle books), clean and with seeded byte mutations, go to both; the records must
be the same, byte for byte, and the counters too. The reference is the same normalizer with its
compiled readers switched off (templates, Bybit's one-call book path, OKX's books reader): the
code before the fast path. Frames come from hftshm/exchange/inband.py,
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
    if venue == "okx":  # OKX books: its own compiled reader (okx/fastbook.py)
        slow._fbook = lambda frame, vals, rows, toff: 0
        slow._fupdate = lambda *args: -5  # fastbook.OTHER
    else:  # Bybit tickers: their own template set
        slow._tmatch = lambda frame, prog, work: -1
        slow._fdelta = lambda *args: -5  # fastbook.OTHER
        slow._ftrade = lambda *args: -5
    matched = 0
    for i, frame in enumerate(frames):
        if kind == "books":
            matched += i < len(clean) and fast._fbook(frame, fast._bvals, fast._brows, fast._btoff) == 1
        elif kind == "tickers":
            matched += i < len(clean) and fast._tmatch(frame, fast._tprog, fast._twork) == 0
        else:
            matched += i < len(clean) and fast._fmatch(frame, fast._fprog, fast._fwork) >= 0
        assert fast.normalize(frame, i).tobytes() == slow.normalize(frame, i).tobytes(), frame[:200]
    assert fast.counters.as_dict() == slow.counters.as_dict()
    assert matched >= 0.9 * len(clean), matched
