"""The local order book's sync procedure on literal frames: buffering, snapshot requests, the
straddle rule, gaps, crossed books and the bounded buffer ("How to manage a local order book
correctly", binance-spot-api-docs web-socket-streams.md)."""

from __future__ import annotations

import json

import pytest
from binance_reference import as_dicts, record

from hftshm.venues.binance_spot import BinanceSpotNormalizer
from hftshm.layouts import md

SID = 9
SNAP, LAST = md.F_SNAPSHOT, md.F_LAST_IN_EVENT


def depth(first: int, final: int, bids=(), asks=(), E=1_000, symbol="BTCUSDT") -> bytes:
    data = {"e": "depthUpdate", "E": E, "s": symbol, "U": first, "u": final,
            "b": [[str(p), str(q)] for p, q in bids], "a": [[str(p), str(q)] for p, q in asks]}
    return json.dumps({"stream": "btcusdt@depth@100ms", "data": data}).encode()


def snapshot(last_update_id: int, bids=(), asks=()) -> dict:
    return {"lastUpdateId": last_update_id, "bids": [[str(p), str(q)] for p, q in bids],
            "asks": [[str(p), str(q)] for p, q in asks]}


def summary(out) -> list[tuple]:
    """Records as short tuples: ("reset",), ("level", side, price, qty, flags), ("quote", ...)."""
    rows = []
    for r in as_dicts(out):
        if r["kind"] == md.BOOK_RESET:
            rows.append(("reset",))
        elif r["kind"] == md.LEVEL:
            side = "bid" if r["side"] == md.BID else "ask"
            rows.append(("level", side, r["price"], r["qty"], r["flags"]))
        elif r["kind"] == md.QUOTE:
            assert r["flags"] == md.F_FROM_BOOK
            rows.append(("quote", r["price"], r["qty"], r["price2"], r["qty2"]))
        else:
            raise AssertionError(r)
    return rows


@pytest.fixture
def norm():
    return BinanceSpotNormalizer({"BTCUSDT": SID}, max_buffered=4)


def synced(norm, last_update_id=10) -> None:
    """A live book past its first event (rule 6 applies): bids 100 x1, 99 x2; asks 101 x3,
    102 x4; last id ``last_update_id``."""
    assert len(norm.normalize(depth(last_update_id - 1, last_update_id), 1)) == 0  # buffered
    snap = snapshot(last_update_id - 1, [(100, 1), (99, 2)], [(101, 3), (102, 4)])
    norm.apply_snapshot("BTCUSDT", snap, 2)
    book = norm.book("BTCUSDT")
    assert book.live and book.last_update_id == last_update_id and norm.snapshot_requests() == []


def test_no_snapshot_is_requested_before_a_diff_arrives(norm):
    assert norm.snapshot_requests() == []
    assert len(norm.normalize(depth(5, 7, bids=[(100, 1)]), 1)) == 0
    assert norm.snapshot_requests() == ["BTCUSDT"]
    assert norm.book("BTCUSDT").buffered == 1


def test_snapshot_publishes_reset_levels_quote_then_bridging_buffered_events(norm):
    norm.normalize(depth(1, 5, bids=[(98, 1)]), 1001)  # u <= lastUpdateId: dropped (rule 4)
    norm.normalize(depth(6, 10, asks=[(101, 7)]), 1002)  # straddles 8 = lastUpdateId + 1 (rule 5)
    norm.normalize(depth(11, 12, bids=[(99, 0)]), 1003)  # U == previous u + 1 (rule 6)
    out = norm.apply_snapshot("BTCUSDT", snapshot(7, [(100, 1), (99, 2)], [(101, 3)]), 2000)
    assert summary(out) == [
        ("reset",),
        ("level", "bid", 100.0, 1.0, SNAP), ("level", "bid", 99.0, 2.0, SNAP),
        ("level", "ask", 101.0, 3.0, SNAP | LAST),
        ("quote", 100.0, 1.0, 101.0, 3.0),
        ("level", "ask", 101.0, 7.0, LAST), ("quote", 100.0, 1.0, 101.0, 7.0),
        ("level", "bid", 99.0, 0.0, LAST),  # below the top: no quote
    ]
    recs = as_dicts(out)
    assert [r["recv_ns"] for r in recs] == [2000] * 5 + [1002, 1002, 1003]
    assert (recs[5]["venue_id"], recs[5]["venue_id2"], recs[5]["exch_ns"]) == (10, 6, 1_000_000_000)
    assert (recs[1]["venue_id"], recs[1]["venue_id2"], recs[1]["exch_ns"]) == (7, 0, 0)
    assert recs[4]["venue_id"] == 7 and recs[6]["venue_id"] == 10
    book = norm.book("BTCUSDT")
    assert (book.live, book.last_update_id, norm.snapshot_requests()) == (True, 12, [])
    assert book.bids.as_dict() == {100 * 10**8: 10**8}
    assert norm.counters.stale_depth_events == 1 and norm.counters.snapshots_applied == 1


def test_live_diff_records(norm):
    synced(norm)
    out = norm.normalize(depth(11, 13, bids=[(100, 0), (99, 5)], asks=[(100.5, 1)], E=7), 77)
    assert summary(out) == [
        ("level", "bid", 100.0, 0.0, 0), ("level", "bid", 99.0, 5.0, 0),
        ("level", "ask", 100.5, 1.0, LAST),
        ("quote", 99.0, 5.0, 100.5, 1.0),
    ]
    assert as_dicts(out)[0] == record(kind=md.LEVEL, side=md.BID, symbol_id=SID, exch_ns=7_000_000,
                                      recv_ns=77, venue_id=13, venue_id2=11, price_e8=100 * 10**8,
                                      price=100.0)
    assert as_dicts(out)[-1]["venue_id"] == 13


def test_removing_an_absent_level_is_normal(norm):
    synced(norm)
    out = norm.normalize(depth(11, 11, bids=[(50, 0)]), 1)
    assert summary(out) == [("level", "bid", 50.0, 0.0, LAST)]
    assert norm.counters.as_dict()["depth_gaps"] == 0 and norm.book("BTCUSDT").live


def test_an_event_without_levels_advances_the_book(norm):
    synced(norm)
    assert len(norm.normalize(depth(11, 15), 1)) == 0
    assert norm.book("BTCUSDT").last_update_id == 15
    assert len(norm.normalize(depth(16, 16, bids=[(1, 1)]), 1)) == 1


def test_gap_publishes_reset_and_requests_a_snapshot(norm):
    synced(norm)
    out = norm.normalize(depth(12, 14, bids=[(100, 9)], E=3), 55)  # U != 10 + 1
    assert as_dicts(out) == [record(kind=md.BOOK_RESET, symbol_id=SID, exch_ns=3_000_000, recv_ns=55)]
    book = norm.book("BTCUSDT")
    assert (book.live, book.buffered, len(book.bids), len(book.asks)) == (False, 1, 0, 0)
    assert norm.snapshot_requests() == ["BTCUSDT"]
    c = norm.counters
    assert (c.depth_gaps, c.book_resets) == (1, 2)  # the snapshot's reset, then the gap's
    # More diffs buffer quietly; a snapshot inside the gapped event resyncs.
    assert len(norm.normalize(depth(15, 15, asks=[(101, 1)]), 56)) == 0
    out = norm.apply_snapshot("BTCUSDT", snapshot(13, [(100, 2)], [(101, 3)]), 60)
    assert summary(out) == [
        ("reset",), ("level", "bid", 100.0, 2.0, SNAP), ("level", "ask", 101.0, 3.0, SNAP | LAST),
        ("quote", 100.0, 2.0, 101.0, 3.0),
        ("level", "bid", 100.0, 9.0, LAST), ("quote", 100.0, 9.0, 101.0, 3.0),
        ("level", "ask", 101.0, 1.0, LAST), ("quote", 100.0, 9.0, 101.0, 1.0),
    ]
    assert norm.snapshot_requests() == [] and book.last_update_id == 15


def test_duplicate_event_after_sync_is_a_gap(norm):
    synced(norm)
    norm.normalize(depth(11, 12, bids=[(100, 2)]), 1)
    assert summary(norm.normalize(depth(11, 12, bids=[(100, 2)]), 1)) == [("reset",)]
    assert norm.counters.depth_gaps == 1


def test_snapshot_older_than_the_buffer_is_discarded_and_requested_again(norm):
    norm.normalize(depth(20, 25, bids=[(100, 1)]), 1)
    out = norm.apply_snapshot("BTCUSDT", snapshot(15, [(99, 1)], [(101, 1)]), 2)  # 16 < U=20
    assert len(out) == 0
    assert norm.counters.straddle_misses == 1
    assert norm.snapshot_requests() == ["BTCUSDT"] and not norm.book("BTCUSDT").live
    assert norm.book("BTCUSDT").buffered == 1  # kept for the next snapshot
    out = norm.apply_snapshot("BTCUSDT", snapshot(22, [(99, 1)], [(101, 1)]), 3)
    assert summary(out)[-2:] == [("level", "bid", 100.0, 1.0, LAST), ("quote", 100.0, 1.0, 101.0, 1.0)]
    assert norm.book("BTCUSDT").last_update_id == 25


def test_snapshot_newer_than_the_buffer_waits_for_a_straddling_event(norm):
    norm.normalize(depth(1, 5, bids=[(100, 1)]), 1)
    out = norm.apply_snapshot("BTCUSDT", snapshot(30, [(99, 1)], [(101, 1)]), 2)
    assert summary(out)[0] == ("reset",) and norm.book("BTCUSDT").live
    assert norm.counters.stale_depth_events == 1
    assert len(norm.normalize(depth(20, 30, bids=[(98, 1)]), 3)) == 0  # u <= 30: dropped
    assert norm.counters.stale_depth_events == 2
    out = norm.normalize(depth(25, 33, bids=[(99, 4)]), 4)  # 25 <= 31 <= 33: first applied
    assert summary(out) == [("level", "bid", 99.0, 4.0, LAST), ("quote", 99.0, 4.0, 101.0, 1.0)]
    assert len(norm.normalize(depth(34, 34), 5)) == 0 and norm.counters.depth_gaps == 0


def test_first_event_not_straddling_after_the_snapshot_resets(norm):
    norm.normalize(depth(1, 5), 1)
    norm.apply_snapshot("BTCUSDT", snapshot(30, [(99, 1)], [(101, 1)]), 2)
    out = norm.normalize(depth(32, 33, bids=[(99, 4)]), 3)  # 32 > 31: an update was missed
    assert summary(out) == [("reset",)]
    assert norm.counters.straddle_misses == 1 and norm.snapshot_requests() == ["BTCUSDT"]


def test_crossing_event_is_rolled_back_reset_and_resynced(norm):
    synced(norm)
    out = norm.normalize(depth(11, 11, bids=[(98, 1), (101, 1)]), 5)  # bid 101 >= ask 101
    assert summary(out) == [("reset",)]  # none of the crossing event's levels escape
    book = norm.book("BTCUSDT")
    assert norm.counters.crossed_books == 1 and not book.live and book.buffered == 0
    assert norm.snapshot_requests() == ["BTCUSDT"]
    assert len(norm.normalize(depth(12, 12, bids=[(100, 1)]), 6)) == 0  # buffered
    out = norm.apply_snapshot("BTCUSDT", snapshot(11, [(100, 1)], [(101, 1)]), 7)
    assert summary(out)[0] == ("reset",) and book.live and not book.is_crossed()


def test_transiently_crossed_levels_inside_one_event_are_fine(norm):
    synced(norm)  # asks 101, 102
    out = norm.normalize(depth(11, 11, bids=[(101.5, 1)], asks=[(101, 0), (102, 0), (103, 1)]), 5)
    assert summary(out)[-1] == ("quote", 101.5, 1.0, 103.0, 1.0)
    assert norm.counters.crossed_books == 0


def test_crossed_snapshot_is_refused_and_still_requested(norm):
    norm.normalize(depth(5, 6), 1)
    out = norm.apply_snapshot("BTCUSDT", snapshot(5, [(102, 1)], [(101, 1)]), 2)
    assert len(out) == 0 and norm.counters.crossed_books == 1
    book = norm.book("BTCUSDT")
    assert not book.live and len(book.bids) == 0 and norm.snapshot_requests() == ["BTCUSDT"]
    assert len(norm.apply_snapshot("BTCUSDT", snapshot(5, [(100, 1)], [(101, 1)]), 3)) > 0
    assert book.live


def test_buffer_overflow_restarts_from_the_newest_event(norm):  # max_buffered=4
    for i in range(4):
        norm.normalize(depth(i * 10, i * 10 + 9), 1)
    assert norm.counters.buffer_overflows == 0 and norm.book("BTCUSDT").buffered == 4
    norm.normalize(depth(40, 49, bids=[(100, 1)]), 1)
    assert norm.counters.buffer_overflows == 1
    assert norm.book("BTCUSDT").buffered == 1 and norm.snapshot_requests() == ["BTCUSDT"]
    out = norm.apply_snapshot("BTCUSDT", snapshot(5, [(99, 1)], [(101, 1)]), 2)  # too old now
    assert len(out) == 0 and norm.counters.straddle_misses == 1
    out = norm.apply_snapshot("BTCUSDT", snapshot(45, [(99, 1)], [(101, 1)]), 2)
    assert summary(out)[-2] == ("level", "bid", 100.0, 1.0, LAST)


def test_gap_while_replaying_the_buffer_buffers_the_rest(norm):
    for first, final in ((1, 10), (11, 12), (14, 15), (16, 16)):
        norm.normalize(depth(first, final, bids=[(100, final)]), final)
    out = norm.apply_snapshot("BTCUSDT", snapshot(5, [(99, 1)], [(101, 1)]), 2)
    rows = summary(out)
    assert rows[0] == ("reset",) and rows[-1] == ("reset",)  # applied 1-10, 11-12; gap at 14
    book = norm.book("BTCUSDT")
    assert (book.live, book.buffered, norm.counters.depth_gaps) == (False, 2, 1)
    assert norm.snapshot_requests() == ["BTCUSDT"]


def test_unwanted_snapshot_is_ignored(norm):
    assert len(norm.apply_snapshot("BTCUSDT", snapshot(5), 1)) == 0
    assert norm.counters.unwanted_snapshots == 1
    synced(norm)
    assert len(norm.apply_snapshot("BTCUSDT", snapshot(5), 1)) == 0
    assert norm.counters.unwanted_snapshots == 2 and norm.book("BTCUSDT").live


@pytest.mark.parametrize("bad", [b"nope", b"[]", "{}", {"lastUpdateId": "5", "bids": [], "asks": []},
                                 {"lastUpdateId": 5, "bids": [["1"]], "asks": []},
                                 {"lastUpdateId": 5, "bids": [], "asks": [["1", "1e3"]]},
                                 {"lastUpdateId": 5, "asks": []}])
def test_bad_snapshot_is_counted_and_still_requested(norm, bad):
    norm.normalize(depth(5, 6), 1)
    assert len(norm.apply_snapshot("BTCUSDT", bad, 2)) == 0
    assert norm.counters.bad_snapshots == 1 and norm.snapshot_requests() == ["BTCUSDT"]


def test_snapshot_as_bytes_or_websocket_api_reply(norm):
    norm.normalize(depth(5, 6), 1)
    reply = {"id": "x", "status": 200, "result": snapshot(5, [(100, 1)], [(101, 1)])}
    assert summary(norm.apply_snapshot("BTCUSDT", json.dumps(reply).encode(), 2))[0] == ("reset",)
    assert norm.book("BTCUSDT").live


def test_apply_snapshot_for_an_unknown_symbol_is_misuse(norm):
    with pytest.raises(KeyError, match="ETHUSDT"):
        norm.apply_snapshot("ETHUSDT", snapshot(1), 1)


@pytest.mark.parametrize("data,counter", [
    ({"U": "5"}, "bad_fields"), ({"u": 1.5}, "bad_fields"), ({"E": "1"}, "bad_fields"),
    ({"b": {}}, "bad_fields"), ({"a": [["1"]]}, "bad_fields"), ({"a": [["1", "2", "3"]]}, "bad_fields"),
    ({"b": [["1", 2]]}, "bad_fields"), ({"b": [["1e3", "1"]]}, "bad_fields"), ({"b": ["12"]}, "bad_fields"),
    ({"U": 5, "u": 4}, "bad_ids"), ({"U": -1}, "bad_ids"), ({"U": -3, "u": -2}, "bad_ids"),
    ({"u": 2**63}, "bad_ids"),
    ({"E": 0}, "bad_times"), ({"E": -1723161255208}, "bad_times"), ({"E": 2**62}, "bad_times"),
    ({"b": [["0.00000000", "1.00000000"]]}, "zero_values"), ({"a": [["0", "5"]]}, "zero_values"),
])
def test_malformed_depth_events_are_counted_and_leave_the_book_alone(norm, data, counter):
    synced(norm)
    good = json.loads(depth(11, 11, bids=[(100, 5)]))
    good["data"].update(data)
    assert len(norm.normalize(json.dumps(good), 1)) == 0
    setup = ("frames", "snapshots_applied", "book_resets")
    assert {k: v for k, v in norm.counters.as_dict().items() if v and k not in setup} == {counter: 1}
    book = norm.book("BTCUSDT")
    assert book.live and book.bids.as_dict() == {100 * 10**8: 10**8, 99 * 10**8: 2 * 10**8}


def test_books_are_per_symbol():
    norm = BinanceSpotNormalizer({"BTCUSDT": 1, "ETHBTC": 2})
    norm.normalize(depth(1, 1, symbol="ETHBTC"), 1)
    assert norm.snapshot_requests() == ["ETHBTC"]
    norm.normalize(depth(1, 1), 1)
    assert norm.snapshot_requests() == ["BTCUSDT", "ETHBTC"]
    out = norm.apply_snapshot("ETHBTC", snapshot(1, [(1, 1)], [(2, 1)]), 1)
    assert set(out["symbol_id"].tolist()) == {2}
    assert norm.snapshot_requests() == ["BTCUSDT"]


def test_max_buffered_must_be_positive():
    with pytest.raises(ValueError):
        BinanceSpotNormalizer({"BTCUSDT": 1}, max_buffered=0)
