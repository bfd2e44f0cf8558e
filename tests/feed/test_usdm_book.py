"""The futures book's sync procedure on literal frames (Binance USD-M "How to manage a local
order book correctly"): buffer, snapshot, drop u < lastUpdateId, the first event straddles
U <= lastUpdateId <= u, then pu == previous u; a gap, a stale diff and a crossed book are
counted and resynced, never published."""

from __future__ import annotations

import json

import pytest
from binance_reference import as_dicts

from hftshm.layouts import md
from hftshm.venues.binance_usdm import BinanceUsdmNormalizer

SID = 4


def depth(first: int, final: int, prev: int, bids=(), asks=(), E=1_000) -> bytes:
    data = {"e": "depthUpdate", "E": E, "T": E - 1, "s": "BTCUSDT", "U": first, "u": final, "pu": prev,
            "b": [[str(p), str(q)] for p, q in bids], "a": [[str(p), str(q)] for p, q in asks]}
    return json.dumps({"stream": "btcusdt@depth@0ms", "data": data}).encode()


def snapshot(last: int, bids=(), asks=()) -> bytes:
    return json.dumps({"lastUpdateId": last, "E": 5, "T": 4, "bids": [[str(p), str(q)] for p, q in bids],
                       "asks": [[str(p), str(q)] for p, q in asks]}).encode()


def kinds(out) -> list[int]:
    return [r["kind"] for r in as_dicts(out)]


@pytest.fixture
def norm():
    return BinanceUsdmNormalizer({"BTCUSDT": SID}, max_buffered=8)


def live(norm) -> None:
    """Diffs U=95..u=105 (pu 90) and 106..110 (pu 105) buffered; snapshot at 100 straddled by the
    first: U 95 <= 100 <= u 105 (Spot's rule would need lastUpdateId + 1 in range too)."""
    assert len(norm.normalize(depth(95, 105, 90, bids=[(100, 5)]), 1)) == 0
    assert len(norm.normalize(depth(106, 110, 105, asks=[(102, 1)]), 2)) == 0
    assert norm.snapshot_requests() == ["BTCUSDT"]
    out = as_dicts(norm.apply_snapshot("BTCUSDT", snapshot(100, [(100, 1), (99, 2)], [(101, 3)]), 3))
    assert [r["kind"] for r in out][:1] == [md.BOOK_RESET]
    book = norm.book("BTCUSDT")
    assert book.live and book.last_update_id == 110 and norm.snapshot_requests() == []
    assert book.bids.as_dict() == {100 * md.E8: 5 * md.E8, 99 * md.E8: 2 * md.E8}
    assert book.asks.as_dict() == {101 * md.E8: 3 * md.E8, 102 * md.E8: 1 * md.E8}


def test_snapshot_and_pu_continuity(norm):
    live(norm)
    out = as_dicts(norm.normalize(depth(111, 120, 110, bids=[(99, 0)], asks=[(101, 0)]), 9))
    assert [(r["kind"], r["price_e8"], r["qty_e8"]) for r in out] == [
        (md.LEVEL, 99 * md.E8, 0), (md.LEVEL, 101 * md.E8, 0), (md.QUOTE, 100 * md.E8, 5 * md.E8)]
    assert out[1]["venue_id"] == 120 and out[1]["venue_id2"] == 111 and out[1]["flags"] == md.F_LAST_IN_EVENT
    assert out[2]["price2_e8"] == 102 * md.E8
    # futures ids need not be contiguous: U may jump past u + 1 as long as pu matches
    assert len(norm.normalize(depth(500, 600, 120, bids=[(98, 1)]), 10)) == 1
    c = norm.counters
    assert c.depth_gaps == 0 and c.book_resets == 1 and c.snapshots_applied == 1


def test_gap_is_counted_reset_and_resynced(norm):
    live(norm)
    # U == u + 1 as Spot wants, but pu != previous u: a gap by the futures rule
    out = kinds(norm.normalize(depth(111, 120, 109, bids=[(98, 1)]), 9))
    assert out == [md.BOOK_RESET]
    c = norm.counters
    assert c.depth_gaps == 1 and c.book_resets == 2 and norm.snapshot_requests() == ["BTCUSDT"]
    assert not norm.book("BTCUSDT").live
    # resync: the gap's event is buffered; a snapshot at 115 and the next diff (pu 120) bridge it
    assert len(norm.normalize(depth(121, 130, 120, asks=[(103, 7)]), 10)) == 0
    out = as_dicts(norm.apply_snapshot("BTCUSDT", snapshot(115, [(97, 1)], [(103, 2)]), 11))
    assert out[0]["kind"] == md.BOOK_RESET
    book = norm.book("BTCUSDT")
    assert book.live and book.last_update_id == 130
    assert book.bids.as_dict() == {97 * md.E8: md.E8, 98 * md.E8: md.E8}
    assert book.asks.as_dict() == {103 * md.E8: 7 * md.E8}


def test_stale_diff_dropped(norm):
    """Buffered u < lastUpdateId goes (rule 3); u == lastUpdateId is kept (the futures rule
    4 lets the first event end at lastUpdateId)."""
    norm.normalize(depth(80, 90, 70, bids=[(50, 1)]), 1)
    norm.normalize(depth(91, 100, 90, bids=[(100, 4)]), 2)
    norm.apply_snapshot("BTCUSDT", snapshot(100, [(100, 1)], [(101, 1)]), 3)
    book = norm.book("BTCUSDT")
    assert norm.counters.stale_depth_events == 1 and book.live
    assert book.bids.as_dict() == {100 * md.E8: 4 * md.E8}  # the u == 100 event applied
    # after the snapshot, before bridging: a diff wholly older than the book is dropped too
    norm2 = BinanceUsdmNormalizer({"BTCUSDT": SID})
    norm2.normalize(depth(200, 210, 199), 1)
    norm2.apply_snapshot("BTCUSDT", snapshot(190, [(1, 1)], [(2, 1)]), 2)  # too old: 200 > 190
    assert norm2.counters.straddle_misses == 1 and not norm2.book("BTCUSDT").live


def test_snapshot_too_old_keeps_the_request(norm):
    norm.normalize(depth(120, 130, 110), 1)
    assert len(norm.apply_snapshot("BTCUSDT", snapshot(100, [(1, 1)], [(2, 1)]), 2)) == 0
    assert norm.counters.straddle_misses == 1 and norm.snapshot_requests() == ["BTCUSDT"]
    assert len(norm.apply_snapshot("BTCUSDT", snapshot(125, [(1, 1)], [(2, 1)]), 3)) > 0
    assert norm.book("BTCUSDT").live and norm.book("BTCUSDT").last_update_id == 130


def test_crossed_book_is_never_published(norm):
    live(norm)
    out = kinds(norm.normalize(depth(111, 120, 110, bids=[(101, 1)]), 9))  # bid 101 >= ask 101
    assert out == [md.BOOK_RESET]
    assert norm.counters.crossed_books == 1 and norm.snapshot_requests() == ["BTCUSDT"]
    assert not norm.book("BTCUSDT").live
    # a crossed snapshot is refused too, and the request stays up
    norm.normalize(depth(121, 130, 120), 10)
    assert len(norm.apply_snapshot("BTCUSDT", snapshot(125, [(105, 1)], [(104, 1)]), 11)) == 0
    assert norm.counters.crossed_books == 2 and norm.snapshot_requests() == ["BTCUSDT"]


def test_depth_without_pu_is_a_bad_field(norm):
    frame = json.loads(depth(1, 2, 0))
    del frame["data"]["pu"]
    assert len(norm.normalize(json.dumps(frame), 1)) == 0 and norm.counters.bad_fields == 1
