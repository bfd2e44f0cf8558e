"""A seeded mutation fuzzer over the real capture: no published record is implausible, and every
frame the normalizer refuses is counted, exactly once.

Frames come in the capture's order (so the local book goes live and publishes levels), each
mutated with some probability: bytes cut or replaced with JSON junk, a number made negative, zero,
huge or past int64, a decimal made zero or larger, a bookTicker's bid and ask swapped, a depth
level's price zeroed. The book's snapshots come from a reference normalizer fed the clean frames
(its book is the venue's true state), sometimes mutated too. aggTrade frames are made from the
capture's trades (the capture has none).

Invariants of every published record (``check_record``):

* all: a known kind; our symbol id; the frame's recv_ns (or, after a snapshot, the buffered
  diff's); seq and publish_ns 0 (the ring's);
  every e8 field >= 0 and every float field finite and equal to its e8 / 1e8.
* TRADE, AGG_TRADE: exch_ns > 0 and txn_ns > 0; venue_id >= 0 (and venue_id2, aggTrade's
  first id, >= 0); price > 0; qty > 0; side BUY or SELL.
* bookTicker QUOTE: 0 < bid < ask; both quantities > 0; venue_id >= 0; exch_ns 0.
* book QUOTE (F_FROM_BOOK): venue_id >= 0; each side empty (0, 0) or with price and qty > 0;
  bid < ask when both sides are there.
* LEVEL: price > 0 (qty 0 is a deletion); side BID or ASK; venue ids >= 0; exch_ns > 0 for a
  diff, 0 for a snapshot level.
* the local book is never crossed.

Accounting of every frame (``check_accounted``): a frame publishes records or is refused, never
both; a refused frame moves exactly one refusal counter by exactly 1, unless the book took it
(buffered, applied, dropped as stale: the book's own state or counters say so).
"""

from __future__ import annotations

import math
import random
import re

import orjson
import pytest
from binance_reference import read_capture

from hftshm.venues.binance_spot import BinanceSpotNormalizer
from hftshm.layouts import md

SID = 7
KINDS = {md.TRADE, md.AGG_TRADE, md.QUOTE, md.LEVEL, md.BOOK_RESET}
E8_FIELDS = ("price_e8", "qty_e8", "price2_e8", "qty2_e8")
# A refused frame moves exactly one of these.
REFUSALS = ("malformed_json", "bad_fields", "unknown_events", "control_messages", "venue_errors",
            "unknown_symbols", "bad_times", "bad_ids", "zero_values", "crossed_quotes")
# The book took a depth event without publishing (buffered, dropped as stale, reset).
BOOK_TOOK = ("stale_depth_events", "depth_gaps", "straddle_misses", "crossed_books", "buffer_overflows")

_NUMBER = re.compile(rb'":(-?\d+)')  # an integer field's value (E, T, t, a, f, u, U)
_DECIMAL = re.compile(rb'"(\d+\.\d+)"')  # a price or quantity
_JUNK = [b"", b"0", b"-", b".", b"e", b'"', b"[", b"]", b"{", b"}", b",", b":", b"null", b"1e999"]
_NUMBERS = [b"0", b"-1", b"-%b", b"%b0", b"9223372036854775807", b"9223372036854775808",
            b"-9223372036854775808", b"4611686018427387904"]
_DECIMALS = [b"0.00000000", b"0", b"0.0", b"%b0", b"9%b"]


def _mutate(rng: random.Random, frame: bytes) -> bytes:
    f = frame
    for _ in range(rng.randint(1, 3)):
        r = rng.random()
        if r < 0.25:  # bytes: a cut or JSON junk (structure, types)
            if not f:
                break
            b = bytearray(f)
            i = rng.randrange(len(b))
            if rng.random() < 0.3:
                del b[i:]
            else:
                b[i : i + rng.randint(1, 4)] = rng.choice(_JUNK)
            f = bytes(b)
        elif r < 0.55:  # an integer: negative, zero, huge
            hits = list(_NUMBER.finditer(f))
            if hits:
                m = rng.choice(hits)
                v = m.group(1)
                new = rng.choice(_NUMBERS)
                new = new % v.lstrip(b"-") if b"%" in new else new
                f = f[: m.start(1)] + new + f[m.end(1) :]
        elif r < 0.85:  # a decimal: zero or larger (crossing a quote)
            hits = list(_DECIMAL.finditer(f))
            if hits:
                m = rng.choice(hits)
                new = rng.choice(_DECIMALS)
                new = new % m.group(1) if b"%" in new else new
                f = f[: m.start(1)] + new + f[m.end(1) :]
        else:  # a bookTicker's bid and ask swapped, or a depth level's price zeroed
            b, a = re.search(rb'"b":"([^"]*)"', f), re.search(rb'"a":"([^"]*)"', f)
            if b and a and b.start() < a.start():
                f = (f[: b.start(1)] + a.group(1) + f[b.end(1) : a.start(1)] + b.group(1)
                     + f[a.end(1) :])
            else:
                levels = [*re.finditer(rb'\[\["(\d+\.\d+)"', f), *re.finditer(rb'\],\["(\d+\.\d+)"', f)]
                if levels:
                    m = rng.choice(levels)
                    f = f[: m.start(1)] + b"0.00000000" + f[m.end(1) :]
    return f


def _agg_from_trade(frame: bytes) -> bytes | None:
    msg = orjson.loads(frame)
    d = msg.get("data", msg)
    if d.get("e") != "trade":
        return None
    agg = {"e": "aggTrade", "E": d["E"], "s": d["s"], "a": d["t"], "p": d["p"], "q": d["q"],
           "f": d["t"], "l": d["t"], "T": d["T"], "m": d["m"], "M": d["M"]}
    return orjson.dumps({"stream": "btcusdt@aggTrade", "data": agg})


def _e8_text(v: int) -> str:
    return f"{v // md.E8}.{v % md.E8:08d}"


def _snapshot_of(ref: BinanceSpotNormalizer) -> bytes | None:
    """The reference book as a REST depth reply (the venue's true state), or None if not live."""
    book = ref.book("BTCUSDT")
    if not book.live:
        return None
    side = lambda s, rev: [[_e8_text(p), _e8_text(q)] for p, q in sorted(s.as_dict().items(), reverse=rev)]
    return orjson.dumps({"lastUpdateId": book.last_update_id, "bids": side(book.bids, True),
                         "asks": side(book.asks, False)})


def check_record(r, recv_ns: int, replayed: bool = False) -> None:
    """``replayed``: from a snapshot, after which buffered diffs go out with their own recv_ns."""
    kind, flags = int(r["kind"]), int(r["flags"])
    assert kind in KINDS, r
    assert int(r["symbol_id"]) == SID, r
    assert int(r["recv_ns"]) <= recv_ns if replayed else int(r["recv_ns"]) == recv_ns, r
    assert int(r["seq"]) == 0 and int(r["publish_ns"]) == 0, r
    for name in E8_FIELDS:
        v, f = int(r[name]), float(r[name[:-3]])
        assert v >= 0 and math.isfinite(f) and f == v / md.E8, (name, r)
    price, qty, price2, qty2 = (int(r[n]) for n in E8_FIELDS)
    exch, txn, vid, vid2 = int(r["exch_ns"]), int(r["txn_ns"]), int(r["venue_id"]), int(r["venue_id2"])
    if kind in (md.TRADE, md.AGG_TRADE):
        assert exch > 0 and txn > 0, ("time", r)
        assert vid >= 0 and vid2 >= 0, ("id", r)
        assert price > 0 and qty > 0, ("value", r)
        assert int(r["side"]) in (md.BUY, md.SELL), r
    elif kind == md.QUOTE and not flags & md.F_FROM_BOOK:
        assert 0 < price < price2, ("crossed or zero bookTicker", r)
        assert qty > 0 and qty2 > 0 and vid >= 0 and exch == 0, r
    elif kind == md.QUOTE:
        assert vid >= 0 and exch >= 0, r
        assert (price > 0) == (qty > 0) and (price2 > 0) == (qty2 > 0), ("half a level", r)
        assert not (price and price2) or price < price2, ("crossed book quote", r)
    elif kind == md.LEVEL:
        assert price > 0 and int(r["side"]) in (md.BID, md.ASK), r
        assert vid >= 0 and vid2 >= 0, r
        assert exch == 0 if flags & md.F_SNAPSHOT else exch > 0, ("time", r)


def _state(norm) -> tuple:
    book = norm.book("BTCUSDT")
    return norm.counters.as_dict(), (book.live, book.buffered, book.last_update_id, book.wants_snapshot)


def check_accounted(before, after, published: int, frame: bytes) -> None:
    (c0, b0), (c1, b1) = before, after
    moved = {k: c1[k] - c0[k] for k in REFUSALS if c1[k] != c0[k]}
    if published:
        assert not moved, (f"published {published} records and refused", moved, frame)
        return
    if b1 != b0 or any(c1[k] != c0[k] for k in BOOK_TOOK):
        assert not moved, ("the book took it and it was refused", moved, frame)
        return
    assert list(moved.values()) == [1], ("a refusal not counted exactly once", moved, frame)


def fuzz(frames_wanted: int, seed: int, p_mutate: float = 0.35) -> dict:
    rng = random.Random(seed)
    lines = read_capture()
    stream = []
    for recv, frame in lines:
        stream.append((recv, frame))
        if rng.random() < 0.1:
            agg = _agg_from_trade(frame) if not frame.startswith(b'{"lastUpdateId"') else None
            if agg is not None:
                stream.append((recv, agg))
    norm = BinanceSpotNormalizer({"BTCUSDT": SID})
    ref = None
    fed = 0
    published = 0
    while fed < frames_wanted:
        ref = BinanceSpotNormalizer({"BTCUSDT": SID})  # each pass over the capture starts afresh
        for recv, frame in stream:
            if fed >= frames_wanted:
                break
            if frame.startswith(b'{"lastUpdateId"'):
                ref.apply_snapshot("BTCUSDT", frame, recv)
                continue
            ref.normalize(frame, recv)
            fed += 1
            if rng.random() < p_mutate:
                frame = _mutate(rng, frame)
            before = _state(norm)
            out = norm.normalize(frame, recv)
            for r in out:
                check_record(r, recv)
            assert not norm.book("BTCUSDT").is_crossed()
            check_accounted(before, _state(norm), len(out), frame)
            published += len(out)
            if norm.wants_snapshot() and rng.random() < 0.05:
                snap = _snapshot_of(ref)
                if snap is not None:
                    if rng.random() < 0.2:
                        snap = _mutate(rng, snap)
                    for r in norm.apply_snapshot("BTCUSDT", snap, recv):
                        check_record(r, recv, replayed=True)
                    assert not norm.book("BTCUSDT").is_crossed()
    c = norm.counters.as_dict()
    assert c["frames"] == fed
    return {"published": published, **c}


@pytest.mark.parametrize("frames", [12_000, pytest.param(45_000, marks=pytest.mark.stress)])
def test_the_clean_capture_refuses_nothing(frames):
    """No false alarms: the real frames pass every check and none is refused (the whole capture,
    and more, in the stress run)."""
    c = fuzz(frames, seed=1, p_mutate=0.0)
    assert all(c[k] == 0 for k in REFUSALS), c
    assert c["published"] > frames * 0.9 and c["snapshots_applied"] >= 1, c


def test_mutated_frames_publish_nothing_implausible_and_every_refusal_is_counted():
    c = fuzz(4000, seed=20240808)
    # the fuzzer reaches every kind of refusal and still publishes plenty
    assert all(c[k] > 0 for k in ("bad_times", "bad_ids", "zero_values", "crossed_quotes",
                                  "bad_fields", "malformed_json")), c
    assert c["published"] > 2000 and c["snapshots_applied"] >= 2, c


@pytest.mark.stress
@pytest.mark.parametrize("seed", [1, 2])
def test_mutated_frames_stress(seed):
    c = fuzz(200_000, seed=seed)
    assert all(c[k] > 0 for k in ("bad_times", "bad_ids", "zero_values", "crossed_quotes")), c
