"""The real capture (41,249 Binance Spot frames, one REST snapshot) through the normalizer: every
record checked field by field against an independent json + Decimal reading, and the local book
checked against a naive rebuild and against the book a consumer rebuilds from the records."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from binance_reference import (
    NaiveBook, RecordBook, as_dicts, e8, e8_levels, expected_book_ticker, expected_levels,
    expected_snapshot_levels, expected_trade, payload, read_capture, record,
)

from hftshm.venues.binance_spot import BinanceSpotNormalizer
from hftshm.layouts import md

SID = 7
CHECK_EVERY = 100  # depth events between book checkpoints



@dataclass
class Replay:
    lines: list[tuple[int, bytes]]
    outputs: list[list[dict]] = field(default_factory=list)  # each call's records
    snapshot_line: int = -1
    requests_at_snapshot: list[str] = field(default_factory=list)
    crossed: list[int] = field(default_factory=list)  # lines after which the book was crossed
    checkpoints: list[tuple[int, dict, dict]] = field(default_factory=list)  # line, bids, asks
    norm: BinanceSpotNormalizer | None = None


@pytest.fixture(scope="module")
def replay() -> Replay:
    r = Replay(read_capture())
    norm = r.norm = BinanceSpotNormalizer({"BTCUSDT": SID})
    book = norm.book("BTCUSDT")
    depth_seen = 0
    for i, (recv, frame) in enumerate(r.lines):
        if frame.startswith(b'{"lastUpdateId"'):
            r.snapshot_line = i
            r.requests_at_snapshot = norm.snapshot_requests()
            r.outputs.append(as_dicts(norm.apply_snapshot("BTCUSDT", frame, recv)))
            continue
        r.outputs.append(as_dicts(norm.normalize(frame, recv)))
        if b'"depthUpdate"' in frame:
            depth_seen += 1
            if book.is_crossed():
                r.crossed.append(i)
            if depth_seen % CHECK_EVERY == 0:
                r.checkpoints.append((i, book.bids.as_dict(), book.asks.as_dict()))
    r.checkpoints.append((len(r.lines) - 1, book.bids.as_dict(), book.asks.as_dict()))
    return r


def _lines_of(r: Replay, needle: bytes):
    for i, (recv, frame) in enumerate(r.lines):
        if needle in frame[:48]:
            yield i, recv, payload(frame)


def test_capture_has_the_advertised_contents(replay):
    kinds = [json.loads(f).get("data", {}).get("e", "bookTicker") for _, f in replay.lines
             if not f.startswith(b'{"lastUpdateId"')]
    assert len(replay.lines) == 41_249
    assert (kinds.count("trade"), kinds.count("bookTicker"), kinds.count("depthUpdate")) == (9757, 28040, 3451)


def test_every_trade_matches_its_json(replay):
    n = 0
    for i, recv, d in _lines_of(replay, b"@trade"):
        assert replay.outputs[i] == [expected_trade(d, recv, SID)], replay.lines[i]
        n += 1
    assert n == 9757


def test_every_book_ticker_matches_its_json(replay):
    n = 0
    for i, recv, d in _lines_of(replay, b"@bookTicker"):
        assert replay.outputs[i] == [expected_book_ticker(d, recv, SID)], replay.lines[i]
        n += 1
    assert n == 28040


def test_every_depth_update_matches_its_json(replay):
    snap = json.loads(replay.lines[replay.snapshot_line][1])
    by_u: dict[int, list[dict]] = {}
    for out in replay.outputs:
        for rec in out:
            if rec["kind"] == md.LEVEL and not rec["flags"] & md.F_SNAPSHOT:
                by_u.setdefault(rec["venue_id"], []).append(rec)
    applied = dropped = 0
    for i, recv, d in _lines_of(replay, b"@depth"):
        if d["u"] <= snap["lastUpdateId"]:  # rule 4: dropped, never published
            assert d["u"] not in by_u
            dropped += 1
        else:
            assert by_u.pop(d["u"]) == expected_levels(d, recv, SID), replay.lines[i]
            applied += 1
    assert not by_u, "LEVEL records for no depth event"
    assert applied + dropped == 3451 and dropped == replay.norm.counters.stale_depth_events


def test_snapshot_publishes_reset_then_its_levels(replay):
    recv, frame = replay.lines[replay.snapshot_line]
    snap = json.loads(frame)
    out = replay.outputs[replay.snapshot_line]
    n = len(snap["bids"]) + len(snap["asks"])
    assert out[0] == record(kind=md.BOOK_RESET, symbol_id=SID, recv_ns=recv)
    assert out[1 : 1 + n] == expected_snapshot_levels(snap, recv, SID)
    bid, ask = snap["bids"][0], snap["asks"][0]
    assert out[1 + n] == record(
        kind=md.QUOTE, flags=md.F_FROM_BOOK, symbol_id=SID, recv_ns=recv,
        venue_id=snap["lastUpdateId"], price_e8=e8(bid[0]), qty_e8=e8(bid[1]),
        price2_e8=e8(ask[0]), qty2_e8=e8(ask[1]), price=float(bid[0]), qty=float(bid[1]),
        price2=float(ask[0]), qty2=float(ask[1]),
    )


def test_snapshot_was_requested_and_satisfied(replay):
    assert replay.requests_at_snapshot == ["BTCUSDT"]
    assert replay.norm.snapshot_requests() == []
    assert replay.norm.book("BTCUSDT").live


def test_counters_show_a_clean_run(replay):
    c = replay.norm.counters.as_dict()
    assert c["frames"] == 41_248
    assert c["snapshots_applied"] == 1 and c["book_resets"] == 1
    assert c["stale_depth_events"] >= 1
    quiet = {k: v for k, v in c.items() if k not in ("frames", "snapshots_applied", "book_resets",
                                                     "stale_depth_events")}
    assert quiet == dict.fromkeys(quiet, 0)


def test_book_is_never_crossed(replay):
    assert replay.crossed == []


def test_book_equals_naive_rebuild_at_checkpoints(replay):
    snap = json.loads(replay.lines[replay.snapshot_line][1])
    snap_bids, snap_asks = e8_levels(snap["bids"]), e8_levels(snap["asks"])
    diffs = [(i, e8_levels(d["b"]), e8_levels(d["a"])) for i, _, d in _lines_of(replay, b"@depth")
             if d["u"] > snap["lastUpdateId"]]
    assert len(replay.checkpoints) >= 30
    for line, bids, asks in replay.checkpoints:
        naive = NaiveBook(snap_bids, snap_asks)
        for i, b, a in diffs:
            if i > line:
                break
            naive.apply(b, a)
        assert (bids, asks) == (naive.bids, naive.asks), f"at line {line}"


def test_book_equals_the_one_rebuilt_from_records(replay):
    consumer = RecordBook()
    checkpoints = iter(replay.checkpoints)
    line, bids, asks = next(checkpoints)
    for i, out in enumerate(replay.outputs):
        for rec in out:
            consumer.feed(rec)
        if i == line:
            assert (consumer.bids, consumer.asks) == (bids, asks), f"at line {line}"
            line, bids, asks = next(checkpoints, (None, None, None))
    assert line is None, "not every checkpoint was compared"


def test_book_quotes_follow_the_top_of_book(replay):
    consumer = RecordBook()
    quotes = 0
    for out in replay.outputs:
        for rec in out:
            consumer.feed(rec)
            if rec["kind"] == md.QUOTE and rec["flags"] & md.F_FROM_BOOK:
                quotes += 1
                assert consumer.quote == consumer.top()
                assert (rec["price"], rec["qty"], rec["price2"], rec["qty2"]) == tuple(
                    v / 1e8 for v in consumer.quote)
        if any(rec["kind"] == md.LEVEL for rec in out):  # no top change went unpublished
            assert consumer.quote == consumer.top()
    assert quotes > 100
