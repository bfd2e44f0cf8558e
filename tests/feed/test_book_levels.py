"""``levels.BookLevels`` (both sides of a Binance book in arrays, a diff applied in one compiled
pass) against the Python reference: ``BookSide`` (the dict + sorted list the books used before)
and plain dicts, on random diffs that make the arrays grow, shift from either end and cross,
and on every depth diff of the real Spot and USD-M captures, level by level."""

from __future__ import annotations

import random

import numpy as np
import orjson
import pytest
from binance_reference import e8_levels, read_capture
from support import CAPTURE, USDM_CAPTURE

from hftshm.venues.binance_spot.levels import BookLevels, BookSide


def _rows(bids, asks) -> np.ndarray:
    return np.array([v for level in bids + asks for v in level], np.int64)


def _reference_apply(ref: dict[str, dict[int, int]], bids, asks) -> None:
    for side, levels in (("b", bids), ("a", asks)):
        for p, q in levels:
            if q:
                ref[side][p] = q
            else:
                ref[side].pop(p, None)


def _check(book: BookLevels, ref: dict[str, dict[int, int]], crossed: bool, step) -> None:
    bids, asks = ref["b"], ref["a"]
    assert book.bids.as_dict() == bids and book.asks.as_dict() == asks, step
    assert book.bids == bids and book.asks.qty == asks, step  # the Mapping view compares too
    assert (len(book.bids), len(book.asks)) == (len(bids), len(asks)), step
    best_bid = (max(bids), bids[max(bids)]) if bids else (0, 0)
    best_ask = (min(asks), asks[min(asks)]) if asks else (0, 0)
    assert book.bids.best() == best_bid and book.asks.best() == best_ask, step
    assert tuple(book.top.tolist()) == best_bid + best_ask, step
    assert crossed == bool(bids and asks and best_bid[0] >= best_ask[0]), step


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_diffs_match_a_dict_book(seed):
    """Random diffs around a moving mid, with removals of present and absent levels, far levels
    at both ends (shifts from either end), a start capacity of 2 (many regrowths), crossings,
    and clears; every side, size, best level and the crossed flag checked after each diff."""
    rng = random.Random(seed)
    book = BookLevels(capacity=2)
    ref = {"b": {}, "a": {}}
    mid = 10_000
    for step in range(3000):
        if rng.random() < 0.003:
            book.clear()
            ref = {"b": {}, "a": {}}
            _check(book, ref, False, step)
            continue
        mid += rng.randint(-3, 3)
        sides = []
        for bid in (True, False):
            levels = []
            for _ in range(rng.randint(0, 12)):
                far = rng.random() < 0.2
                off = rng.randint(1, 400 if far else 15)
                # now and then a level on the other side of the mid: the book may cross
                off = -off if rng.random() < 0.02 else off
                price = (mid - off if bid else mid + off) * 10**6
                qty = 0 if rng.random() < 0.35 else rng.randint(1, 10**9)
                levels.append((price, qty))
            sides.append(levels)
        bids, asks = sides
        crossed = book.apply(_rows(bids, asks), len(bids))
        _reference_apply(ref, bids, asks)
        _check(book, ref, crossed, step)
        if crossed:  # as the book does: a crossed book is dropped
            book.clear()
            ref = {"b": {}, "a": {}}
    assert book.keys.shape[1] > 2  # it grew


def test_an_empty_diff_and_absent_removals_change_nothing():
    book = BookLevels(capacity=4)
    assert not book.apply(_rows([(100, 5), (99, 1)], [(101, 2)]), 2)
    assert not book.apply(np.zeros(0, np.int64), 0)
    assert not book.apply(_rows([(98, 0)], [(150, 0), (102, 0)]), 1)
    _check(book, {"b": {100: 5, 99: 1}, "a": {101: 2}}, False, "absent")
    assert book.bids.get(98) is None and 100 in book.bids and book.asks[101] == 2
    with pytest.raises(KeyError):
        book.asks["101"]
    assert book.apply(_rows([(101, 1)], []), 1)  # bid at the ask: crossed
    book.clear()
    _check(book, {"b": {}, "a": {}}, False, "cleared")


def _diffs(path):
    """(snapshot bids, asks), then each depth diff's (bids, asks) newer than it, as e8 pairs."""
    snap, diffs, last_id = None, [], None
    for _, frame in read_capture(path):
        if frame.startswith(b'{"lastUpdateId"'):
            d = orjson.loads(frame)
            snap, last_id = (e8_levels(d["bids"]), e8_levels(d["asks"])), d["lastUpdateId"]
        elif b"depthUpdate" in frame[:80] and snap is not None:
            d = orjson.loads(frame)["data"]
            if d["u"] > last_id:
                diffs.append((e8_levels(d["b"]), e8_levels(d["a"])))
    assert snap is not None and len(diffs) > 3000
    return snap, diffs


@pytest.mark.parametrize("path", [CAPTURE, USDM_CAPTURE], ids=["spot", "usdm"])
def test_real_capture_matches_book_side(path):
    """Every depth diff of the real capture (after its snapshot) into ``BookLevels`` and into a
    pair of ``BookSide`` (the Python reference): each touched level and both best levels after
    every diff, the whole sides every 200 diffs and at the end."""
    (snap_bids, snap_asks), diffs = _diffs(path)
    book = BookLevels()
    ref_bids, ref_asks = BookSide(bid=True), BookSide(bid=False)
    assert not book.apply(_rows(snap_bids, snap_asks), len(snap_bids))
    for p, q in snap_bids:
        ref_bids.set(p, q)
    for p, q in snap_asks:
        ref_asks.set(p, q)
    crossings = 0
    for i, (bids, asks) in enumerate(diffs):
        crossed = book.apply(_rows(bids, asks), len(bids))
        for p, q in bids:
            ref_bids.set(p, q)
        for p, q in asks:
            ref_asks.set(p, q)
        # the flag as the reference sees it (applied raw, across the Spot capture's gaps, the
        # diffs cross it for a while: a LocalBook would resync there; this compares the sides)
        assert crossed == (ref_bids.best()[0] >= ref_asks.best()[0]), i
        crossings += crossed
        for mine, ref, levels in ((book.bids, ref_bids, bids), (book.asks, ref_asks, asks)):
            for p, _ in levels:
                assert mine.get(p) == ref.qty.get(p), (i, p)
            assert len(mine) == len(ref) and mine.best() == ref.best(), i
        assert tuple(book.top.tolist()) == ref_bids.best() + ref_asks.best(), i
        if i % 200 == 0:
            assert book.bids.as_dict() == ref_bids.as_dict() and book.asks.as_dict() == ref_asks.as_dict(), i
    assert book.bids.as_dict() == ref_bids.as_dict() and book.asks.as_dict() == ref_asks.as_dict()
    assert len(book.bids) > 1000 and len(book.asks) > 1000
    if path == USDM_CAPTURE:  # no gap after its snapshot: never crossed
        assert crossings == 0
