"""The real USD-M capture (93,954 lines: trade, bookTicker, depth@0ms, one REST snapshot) through
the normalizer: every record against an independent json + Decimal reading, the futures book
after every diff against a brute-force rebuild, and a consumer's book from the records."""

from __future__ import annotations

import json

import pytest
from binance_reference import (NaiveBook, RecordBook, as_dicts, e8, e8_levels, expected_levels,
                               expected_snapshot_levels, fl, payload, read_capture, record)
from support import USDM_CAPTURE

from hftshm.layouts import md
from hftshm.venues.binance_usdm import BinanceUsdmNormalizer

SID = 5
MS = 1_000_000


def expected_trade(d, recv, sid):
    return record(kind=md.TRADE, side=md.SELL if d["m"] else md.BUY,
                  flags=0 if d["X"] == "MARKET" else md.F_NOT_MARKET, symbol_id=sid, exch_ns=d["E"] * MS,
                  txn_ns=d["T"] * MS, recv_ns=recv, venue_id=d["t"], price_e8=e8(d["p"]), qty_e8=e8(d["q"]),
                  price=fl(d["p"]), qty=fl(d["q"]))


def expected_book_ticker(d, recv, sid):
    return record(kind=md.QUOTE, symbol_id=sid, exch_ns=d["E"] * MS, txn_ns=d["T"] * MS, recv_ns=recv,
                  venue_id=d["u"], price_e8=e8(d["b"]), qty_e8=e8(d["B"]), price2_e8=e8(d["a"]),
                  qty2_e8=e8(d["A"]), price=fl(d["b"]), qty=fl(d["B"]), price2=fl(d["a"]), qty2=fl(d["A"]))


@pytest.fixture(scope="module")
def lines():
    return read_capture(USDM_CAPTURE)


def test_capture_field_by_field_and_book_after_every_diff(lines):
    norm = BinanceUsdmNormalizer({"BTCUSDT": SID})
    book = norm.book("BTCUSDT")
    naive = None  # the brute-force book: snapshot + every applied diff, plain dicts
    consumer = RecordBook()
    last_u = None
    counts = {"trade": 0, "bookTicker": 0, "depthUpdate": 0, "snapshot": 0, "applied": 0, "buffered": 0}
    buffered = []
    for recv, frame in lines:
        if frame.startswith(b'{"lastUpdateId"'):
            snap = json.loads(frame)
            out = as_dicts(norm.apply_snapshot("BTCUSDT", frame, recv))
            counts["snapshot"] += 1
            assert out[0] == record(kind=md.BOOK_RESET, symbol_id=SID, recv_ns=recv)
            n_levels = len(snap["bids"]) + len(snap["asks"])
            assert out[1:1 + n_levels] == expected_snapshot_levels(snap, recv, SID)
            naive = NaiveBook(e8_levels(snap["bids"]), e8_levels(snap["asks"]))
            last_u = snap["lastUpdateId"]
            # buffered diffs: drop u < lastUpdateId, the first kept straddles, then pu continuity
            for d in buffered:
                if d["u"] < last_u:
                    continue
                assert d["U"] <= last_u <= d["u"] or d["pu"] == last_u
                naive.apply(e8_levels(d["b"]), e8_levels(d["a"]))
                last_u = d["u"]
                counts["applied"] += 1
            for r in out:
                consumer.feed(r)
            assert book.live and book.last_update_id == last_u
            assert book.bids.as_dict() == naive.bids and book.asks.as_dict() == naive.asks
            continue
        d = payload(frame)
        out = as_dicts(norm.normalize(frame, recv))
        e = d["e"]
        counts[e] += 1
        if e == "trade":
            assert out == [expected_trade(d, recv, SID)]
        elif e == "bookTicker":
            assert out == [expected_book_ticker(d, recv, SID)]
        else:
            if naive is None:
                assert out == []
                buffered.append(d)
                counts["buffered"] += 1
                continue
            assert d["pu"] == last_u, "the capture has no gaps after the snapshot"
            naive.apply(e8_levels(d["b"]), e8_levels(d["a"]))
            last_u = d["u"]
            counts["applied"] += 1
            levels = expected_levels(d, recv, SID)
            assert out[:len(levels)] == levels
            rest = out[len(levels):]
            assert all(r["kind"] == md.QUOTE and r["flags"] == md.F_FROM_BOOK for r in rest) and len(rest) <= 1
            # the book after this diff, against the brute-force rebuild: every level the diff
            # touched, the sizes and the best prices; the whole book every 100 diffs and at the end
            for side, mine, ref in (("b", book.bids, naive.bids), ("a", book.asks, naive.asks)):
                for p, _ in e8_levels(d[side]):
                    assert mine.qty.get(p) == ref.get(p)
                assert len(mine) == len(ref)
            if counts["applied"] % 100 == 0:
                assert book.bids.qty == naive.bids and book.asks.qty == naive.asks
            assert not book.is_crossed()
            for r in out:
                consumer.feed(r)
            assert consumer.quote == book.bids.best() + book.asks.best()
            if counts["applied"] % 50 == 0:  # the consumer's whole book now and then (O(levels))
                assert consumer.bids == naive.bids and consumer.asks == naive.asks
    assert counts["trade"] == 21313 and counts["bookTicker"] == 66089 and counts["depthUpdate"] == 6551
    assert counts["snapshot"] == 1 and counts["applied"] + norm.counters.stale_depth_events == 6551
    c = norm.counters
    assert c.depth_gaps == 0 and c.crossed_books == 0 and c.straddle_misses == 0 and c.bad_fields == 0
    assert c.trade_id_gaps == 0 and c.snapshots_applied == 1 and c.unknown_events == 0
    assert consumer.bids == naive.bids and consumer.asks == naive.asks
    assert book.bids.qty == naive.bids and book.asks.qty == naive.asks
    assert book.bids.best()[0] < book.asks.best()[0]
