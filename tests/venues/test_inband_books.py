"""The in-band books' compiled paths (venues/inband_arrays.py, okx/fastbook.py, Bybit's book and
ticker templates) against the reference: the same normalizer with every compiled reader switched
off, so each frame goes through orjson and the field checks. The documented edge cases, as
literal frames in the docs' key order (the shapes of tests/venues/test_bybit.py and test_okx.py,
which quote the docs), go to both; every record must be equal field by field, the counters too,
and the frames the fast path is for must take it.

Bybit: snapshot, deltas, a delete, u = 1 (a restart), a gap, a delta while no book is live, a
crossing delta, a quantity past 2**53 (its floats come from Python), depth-1 re-sends and
continuing snapshots, tickers. OKX: snapshot, updates with the checksum by OKX's rule, a
checksum mismatch, the idle heartbeat, a sequence reset, a prevSeqId gap, a level text longer
than the book keeps, a snapshot deeper than the arrays' first size, a crossing update (OKX
trades and bbo-tbt: test_okx_push.py).
"""

from __future__ import annotations

import random

import orjson
import pytest

from hftshm import venues
from hftshm.exchange.inband import InbandOptions, InbandSession
from hftshm.feed.e8 import parse_e8
from hftshm.layouts import md
from hftshm.venues.okx import fastbook
from hftshm.venues.okx.normalize import checksum

from .book_check import ConsumerBook, DictBook


def _pair(venue: str, symbols=None):
    fast = venues.get(venue).normalizer(symbols or {"BTCUSDT": 3})
    ref = venues.get(venue).normalizer(symbols or {"BTCUSDT": 3})
    ref._fmatch = lambda frame, prog, work: -1
    if venue == "okx":
        ref._fbook = lambda frame, vals, rows, toff: 0
        ref._fupdate = lambda *args: -5  # fastbook.OTHER
        ref._fpush = lambda *args: -5  # fastpush.OTHER
    else:
        ref._fticker = lambda *args: -5  # fastbook.OTHER
        ref._fdelta = lambda *args: -5  # fastbook.OTHER
        ref._ftrade = lambda *args: -5
    return fast, ref


def _same(fast, ref, frames):
    """Every frame through both; returns how many the fast path read (frames counted there
    without the general path)."""
    taken = 0
    for i, frame in enumerate(frames):
        general = fast._normalize
        hits = []
        fast._normalize = lambda f, r, _g=general: hits.append(1) or _g(f, r)
        try:
            got = fast.normalize(frame, 100 + i).copy()
        finally:
            fast._normalize = general
        taken += not hits
        want = ref.normalize(frame, 100 + i)
        assert len(got) == len(want), (i, frame[:160])
        for name in md.DTYPE.names:
            assert got[name].tolist() == want[name].tolist(), (i, name, frame[:160])
        assert fast.counters.as_dict() == ref.counters.as_dict(), (i, frame[:160])
    return taken


def _bybit(u, kind="delta", b=(), a=(), depth=50, ts=1672304484978):
    return orjson.dumps({"topic": f"orderbook.{depth}.BTCUSDT", "type": kind, "ts": ts,
                         "data": {"s": "BTCUSDT", "b": [list(x) for x in b], "a": [list(x) for x in a], "u": u,
                                  "seq": 7961638724 + u}, "cts": ts - 2})


def _ticker(kind, data, cs=24987956059):
    return orjson.dumps({"topic": "tickers.BTCUSDT", "type": kind, "data": {"symbol": "BTCUSDT", **data}, "cs": cs,
                         "ts": 1673272861686})


TICKER_SNAPSHOT = {"markPrice": "17217.33", "indexPrice": "17227.36", "fundingRate": "-0.000212",
                   "nextFundingTime": "1673280000000", "openInterest": "68744.761"}


def _trade(i="20f43950-d8dd-5b31-9112-a178eb6023af", side="Buy", v="0.001", p="16578.50", bt=False, ts=1672304486868):
    return orjson.dumps({"topic": "publicTrade.BTCUSDT", "type": "snapshot", "ts": ts,
                         "data": [{"T": ts - 3, "s": "BTCUSDT", "S": side, "v": v, "p": p, "L": "PlusTick", "i": i,
                                   "BT": bt, "seq": 1783284617}]})


def test_bybit_trade_edge_frames_fast_path_equals_reference():
    fast, ref = _pair("bybit_spot")
    good = [
        _trade(),  # the docs' linear trade: a UUID id (0)
        _trade(i="2290000000061666327", side="Sell"),  # a spot id
        _trade(i="9223372036854775807", bt=True),  # int64's largest id; a block trade
        _trade(i="9223372036854775808"),  # past int64: 0
        _trade(i="12345678901234567890"),  # 20 digits: 0
        _trade(i=""),
        _trade(i="007"),
    ]
    refused = [
        _trade(side="Sideways"),  # no such side: bad_fields
        _trade(p="0"),  # zero_values
        _trade(v="0.000000000"),  # more than 8 decimals: bad_fields
        _trade(ts=0),  # bad_times
    ]
    big = [_trade(p="100000000.5")]  # a price past 2**53 in e8: the template path packs its float in Python
    assert _same(fast, ref, good + refused + big) == len(good) + len(big)


def test_bybit_edge_frames_fast_path_equals_reference():
    fast, ref = _pair("bybit_linear")
    frames = [
        _bybit(18521288, "snapshot", b=[("16493.50", "0.006"), ("16493.00", "0.100")],
               a=[("16611.00", "0.029"), ("16612.00", "0.213")]),  # the docs' snapshot
        _bybit(18521289, b=[("16493.50", "0")], a=[("16611.00", "0.5")]),  # a delete, a change
        _bybit(18521290, b=[("16400.00", "1.5")]),  # a new level, top unchanged
        _bybit(18521291, a=[("16611.00", "100000000.5")]),  # a quantity past 2**53 (1e16 e8)
        _bybit(18521293, b=[("16490.00", "1")]),  # u skipped: a gap, reset
        _bybit(18521294, b=[("16490.00", "1")]),  # no live book: stale
        _bybit(1, "snapshot", b=[("16000.00", "1")], a=[("16001.00", "2")]),  # after the gap
        _bybit(2, a=[("16001.00", "0")]),
        _bybit(1, "snapshot", b=[("15000.00", "3")], a=[("15001.00", "4")]),  # u = 1 on a live book: restart
        _bybit(2, b=[("15002.00", "1")]),  # a bid above the best ask: crossed, reset
        _bybit(3, "snapshot", b=[("15000.00", "3")], a=[("15001.00", "4")]),
    ]
    depth1 = [
        _bybit(100, "snapshot", b=[("16493.50", "0.006")], a=[("16611.00", "0.029")], depth=1),
        _bybit(100, "snapshot", b=[("16493.50", "0.006")], a=[("16611.00", "0.029")], depth=1),  # re-sent
        _bybit(101, "snapshot", b=[("16493.00", "0.2")], a=[("16611.00", "0.029")], depth=1),  # continues
        _bybit(103, "snapshot", b=[("16493.00", "0.3")], a=[("16610.00", "0.029")], depth=1),  # a gap, repaired
    ]
    tickers = [
        _ticker("delta", {"markPrice": "17217.40"}),  # before any snapshot: stale
        _ticker("snapshot", TICKER_SNAPSHOT),
        _ticker("delta", {"markPrice": "17217.40"}),
        _ticker("delta", {"markPrice": "17217.40"}),  # unchanged: nothing
        _ticker("delta", {"markPrice": "0"}),  # zero: refused by the general path
        _ticker("delta", {"markPrice": "17217.5x"}),  # not a number: bad_fields
        _ticker("delta", {"markPrice": "17218"}),
        _ticker("delta", {"indexPrice": "17230.00"}),  # another MARK field
        _ticker("delta", {"markPrice": "17218.5"}),
    ]
    taken = _same(fast, ref, frames + tickers)
    c = fast.counters
    assert (c.venue_resets, c.depth_gaps, c.stale_depth_events, c.crossed_books) == (1, 1, 2, 1)
    assert c.zero_values == 1 and c.bad_fields == 1
    # every book frame has the template's shape; tickers: the five plain deltas on a state
    assert taken == len(frames) + 5, taken
    fast, ref = _pair("bybit_spot")  # depth 1 on its own book
    assert _same(fast, ref, depth1) == len(depth1)
    assert fast.counters.resends == 1 and fast.counters.depth_gaps == 1


def test_bybit_ticker_delta_shapes_fast_path_equals_reference():
    """Ticker deltas of the documented field sets (Bybit v5 docs, WebSocket Stream > Public >
    Ticker: only the changed fields, in the snapshot's key order), and the edges of each."""
    fast, ref = _pair("bybit_linear")
    book = {"bid1Price": "17215.50", "bid1Size": "84.489", "ask1Price": "17216.00", "ask1Size": "83.020"}
    trade = {"tickDirection": "ZeroPlusTick", "lastPrice": "17216.00", "turnover24h": "1570383121.943499",
             "volume24h": "91705.276", "price24hPcnt": "0.017103"}
    taken_ok = [
        _ticker("snapshot", {"bid1Price": "17215.00"}),  # a snapshot without a mark price: general
        _ticker("delta", book),  # no MARK field: counted, nothing out
        _ticker("delta", {"markPrice": "17217.33"}),  # the state has no mark price yet: general
        _ticker("snapshot", {**TICKER_SNAPSHOT, **book, **trade}),
        _ticker("delta", book),
        _ticker("delta", trade),
        _ticker("delta", {"bid1Size": "0.001"}),
        _ticker("delta", {"markPrice": "17217.40", "indexPrice": "17227.50", "openInterestValue": "1183601.91"}),
        _ticker("delta", {"markPrice": "17217.40", "indexPrice": "17227.50"}),  # unchanged: nothing
        _ticker("delta", {**book, "lastPrice": "17215.50", "markPrice": "17216.90"}),
        _ticker("delta", {"openInterest": "68750.1", "openInterestValue": "1183700000.00"}),
        _ticker("delta", {"fundingRate": "0.0001"}),  # a sign change
        _ticker("delta", {"nextFundingTime": "1673308800000", "fundingRate": "-0.000015"}),
        _ticker("delta", {"indexPrice": "", "openInterest": ""}),  # empty: 0, as the general path
        _ticker("delta", {"fundingRate": "-0", "nextFundingTime": "0"}),
        _ticker("delta", {"openInterest": "100000000.5"}),  # past 2**53 in e8: an int, exact
    ]
    general = [
        _ticker("delta", {"markPrice": "0"}),  # zero_values
        _ticker("delta", {"fundingRate": "abc"}),  # bad_fields
        _ticker("delta", {"fundingRate": "--1"}),  # bad_fields
        _ticker("delta", {"nextFundingTime": "00"}),  # ms 0: bad_times
        _ticker("delta", {"nextFundingTime": "-1"}),  # bad_fields
        _ticker("delta", book, cs=-1),  # a signed cs: no MARK, nothing out either way
        _ticker("delta", {"markPrice": "17300"}, cs=-1),  # a bad cs on a MARK: bad ids
        orjson.dumps({"topic": "tickers.BTCUSDT", "type": "delta", "data": {"symbol": "BTCUSDT", "bid1Size": 84.4},
                      "cs": 1, "ts": 1673272861686}),  # a number, not a string
        b'{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","markPrice":"17301",'
        b'"markPrice":"17302"},"cs":1,"ts":1673272861686}',  # twice: JSON's last one wins
        _ticker("delta", {"lastPrice": "17216.\\u0030"}),  # an escape (a backslash)
        orjson.dumps({"topic": "tickers.ETHUSDT", "type": "delta", "data": {"symbol": "ETHUSDT", **book},
                      "cs": 1, "ts": 1673272861686}),  # unknown_symbols
        orjson.dumps({"topic": "tickers.BTCUSDT", "type": "delta", "data": {"symbol": "BTCUSDT", **book},
                      "cs": 1, "ts": 0}),  # bad_times
    ]
    taken = _same(fast, ref, taken_ok + general)
    assert taken == len(taken_ok) - 3, taken  # all but the two snapshots and the mark over no mark
    c = fast.counters
    assert (c.zero_values, c.bad_fields, c.bad_times, c.unknown_symbols) == (1, 3, 2, 1), c.as_dict()
    fast, ref = _pair("bybit_linear")
    assert _same(fast, ref, [_ticker("delta", book)]) == 0 and fast.counters.stale_depth_events == 1


def _okx_snap(seq, bids, asks, cs=None, inst="BTC-USDT"):
    if cs is None:
        cs = checksum([tuple(x[:2]) for x in bids[:25]], [tuple(x[:2]) for x in asks[:25]])
    return orjson.dumps({"arg": {"channel": "books", "instId": inst}, "action": "snapshot",
                         "data": [{"asks": asks, "bids": bids, "ts": "1597026383085", "checksum": cs,
                                   "prevSeqId": -1, "seqId": seq}]})


def _okx_upd(prev, seq, bids=(), asks=(), cs=0):
    return orjson.dumps({"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": "update",
                         "data": [{"asks": [[p, q, "0", "1"] for p, q in asks],
                                   "bids": [[p, q, "0", "1"] for p, q in bids],
                                   "ts": "1597026383185", "checksum": cs, "prevSeqId": prev, "seqId": seq}]})


class _TextBook:
    """OKX's book as the frames describe it, texts kept: the reference for each checksum."""

    def __init__(self, bids, asks):
        self.b = {parse_e8(p): (p, q) for p, q, *_ in bids if parse_e8(q)}
        self.a = {parse_e8(p): (p, q) for p, q, *_ in asks if parse_e8(q)}

    def update(self, bids, asks) -> int:
        for side, levels in ((self.b, bids), (self.a, asks)):
            for p, q in levels:
                if parse_e8(q):
                    side[parse_e8(p)] = (p, q)
                else:
                    side.pop(parse_e8(p), None)
        return checksum([self.b[p] for p in sorted(self.b, reverse=True)[:25]],
                        [self.a[p] for p in sorted(self.a)[:25]])


def test_okx_edge_frames_fast_path_equals_reference():
    fast, ref = _pair("okx")
    bids = [[f"{8400 - i}.5", f"{i + 1}", "0", "1"] for i in range(90)]  # deeper than the first 64 slots
    asks = [[f"{8401 + i}", f"0.{i + 1:02d}0", "0", "2"] for i in range(90)]
    book = _TextBook(bids, asks)
    up1 = [("8400.5", "7.25")], [("8401", "0")]  # a change at the top, a deleted best ask
    cs1 = book.update(*up1)
    up2 = [("8399.75", "1")], []  # a new best bid
    cs2 = book.update(*up2)
    frames = [
        _okx_snap(100, bids, asks),
        _okx_upd(100, 104, *up1, cs=cs1),
        _okx_upd(104, 104),  # the idle heartbeat: seqId == prevSeqId, no levels
        _okx_upd(104, 3, *up2, cs=cs2),  # a sequence reset after maintenance: applies
        _okx_upd(3, 5, asks=[("8450", "100000000.5")]),  # a size past 2**53 (1e16 e8), checksum 0
        _okx_upd(5, 9, bids=[("8399.75", "2")], cs=cs2),  # a checksum mismatch: reset
        _okx_upd(9, 10, bids=[("8399.75", "2")]),  # no live book: stale
        _okx_snap(20, bids, asks),
        _okx_upd(21, 22, bids=[("8399", "1")]),  # prevSeqId 21 != 20: a gap
        _okx_snap(30, bids, asks),
        _okx_upd(30, 31, bids=[("0" * 70 + "1", "1")]),  # a text longer than the book keeps
        _okx_upd(30, 31, bids=[("8402", "1")]),  # above the best ask: crossed
        _okx_snap(40, bids, asks, cs=12345),  # a snapshot whose checksum does not match
    ]
    taken = _same(fast, ref, frames)
    c = fast.counters
    hot = fast.book("BTCUSDT")  # grown past its first 64 levels: update_by reads its arrays now
    assert hot.sides.shape[1] > 64 and fast._bctx[fastbook.CTX_SIDES] == hot.sides.ctypes.data
    assert fast._bctx[fastbook.CTX_TEXTS] == hot.texts.ctypes.data and fast._bctx[fastbook.CTX_CAP] == hot.sides.shape[1]
    assert (c.idle_books, c.venue_resets, c.checksum_errors, c.stale_depth_events, c.crossed_books) == (1, 1, 2, 1, 1)
    assert c.depth_gaps == 3 and c.bad_fields == 1 and c.snapshots_applied == 4
    assert taken == len(frames), taken


@pytest.mark.parametrize("seed", [1, 2])
def test_okx_checksums_hold_over_the_simulators_stream(seed):
    """The simulator computes each push's checksum from its own book: a normalizer whose text
    book drifted from it would count checksum errors. Restarts and idle books included."""
    opts = InbandOptions(seed=seed, reset_every=301, idle_every=20, levels=40)  # 301: not on an idle one
    session = InbandSession("okx", opts, {"BTCUSDT"})
    (conn,) = venues.get("okx").connections("ws://x", ["btcusdt"], ["books"])
    (msg,) = conn.subscribe_messages(conn.subscribe)
    session.handle(msg)
    frames = session.next_messages(3000)
    n = venues.get("okx").normalizer({"BTCUSDT": 0})
    consumer = ConsumerBook()
    for i, frame in enumerate(frames):
        consumer.feed(n.normalize(frame, i).copy())
    c = n.counters
    assert c.checksum_errors == 0 and c.depth_gaps == 0 and c.bad_fields == 0
    assert c.venue_resets >= 5 and c.idle_books >= 50 and n.book("BTCUSDT").live
    book = n.book("BTCUSDT")
    assert consumer.bids == book.bids.as_dict() and consumer.asks == book.asks.as_dict()
    sim = session.markets["BTCUSDT"]  # the simulator's own book after its last push
    assert book.bids.as_dict() == {parse_e8(sim.px(p)): parse_e8(sim.qty(q)) for p, q in sim.bids.items()}
    assert book.asks.as_dict() == {parse_e8(sim.px(p)): parse_e8(sim.qty(q)) for p, q in sim.asks.items()}


def test_a_deep_bybit_book_grows_and_equals_a_dict_book():
    """orderbook.200 with up to 300 levels a side (past the arrays' first size), random deltas
    through the fast path: after each, the book, the consumer's rebuild and a dict book agree."""
    rng = random.Random(11)
    n = venues.get("bybit_linear").normalizer({"BTCUSDT": 0})
    ref, consumer = DictBook(), ConsumerBook()
    bid_p = [f"{20000 - i}.5" for i in range(300)]
    ask_p = [f"{20001 + i}.5" for i in range(300)]
    b = [(p, f"{rng.randint(1, 9)}.{rng.randint(0, 99)}") for p in bid_p]
    a = [(p, f"{rng.randint(1, 9)}") for p in ask_p]
    frames = [_bybit(1000, "snapshot", b=b, a=a, depth=200)]
    ref.snapshot(b, a)
    refs = [(dict(ref.bids), dict(ref.asks))]
    for u in range(1001, 1600):
        def some(prices):
            return [(rng.choice(prices), "0" if rng.random() < 0.3 else f"{rng.randint(1, 9)}")
                    for _ in range(rng.randint(0, 3))]

        db, da = some(bid_p), some(ask_p)
        frames.append(_bybit(u, b=db, a=da, depth=200))
        ref.delta(db, da)
        refs.append((dict(ref.bids), dict(ref.asks)))
    for i, (frame, (rb, ra)) in enumerate(zip(frames, refs)):
        consumer.feed(n.normalize(frame, i).copy())
        book = n.book("BTCUSDT")
        assert book.bids.as_dict() == rb and book.asks.as_dict() == ra, i
        assert consumer.bids == rb and consumer.asks == ra and consumer.top == consumer.best(), i
    assert n.counters.depth_gaps == 0 and n.counters.crossed_books == 0
    assert n.book("BTCUSDT").sides.shape[1] >= 300


def test_continuing_snapshot_differences_and_resends_equal_a_dict_computation():
    """``InbandBook.load(reset=False)`` (Bybit depth 1) publishes what the dict rule says: per
    side, the book's levels the snapshot lacks with qty 0, then the snapshot's levels whose
    quantity differs (a repeated price at its first place with its last quantity, a listed zero
    always); ``same_as`` is ``dict(levels) == side``. Random snapshots with repeats and zeros."""
    from hftshm.feed.scratch import MdScratch
    from hftshm.venues.inband import InbandBook, InbandCounters

    rng = random.Random(5)
    book = InbandBook("BTCUSDT", 7, InbandCounters())
    out = MdScratch()
    bid_p, ask_p = [100 + i for i in range(6)], [200 + i for i in range(6)]
    book.load([(100, 5)], [(200, 5)], 1, 0, 1, 2, out, True)
    for u in range(2, 800):
        bids = [(rng.choice(bid_p), rng.choice((0, 1, 2, 3))) for _ in range(rng.randint(0, 4))]
        asks = [(rng.choice(ask_p), rng.choice((0, 1, 2, 3))) for _ in range(rng.randint(0, 4))]
        cur_b, cur_a = book.bids.as_dict(), book.asks.as_dict()
        assert book.same_as(bids, asks) == (len(bids) == len(cur_b) and len(asks) == len(cur_a)
                                            and dict(bids) == cur_b and dict(asks) == cur_a)
        want = []
        for cur, new, side in ((cur_b, dict(bids), md.BID), (cur_a, dict(asks), md.ASK)):
            want += [(side, p, 0) for p in cur if p not in new]
            want += [(side, p, q) for p, q in new.items() if cur.get(p) != q]
        out.clear()
        book.load(bids, asks, u, 0, 1, 2, out, False)
        recs = out.view()
        got = [(int(r["side"]), int(r["price_e8"]), int(r["qty_e8"])) for r in recs if r["kind"] == md.LEVEL]
        assert got == want, u
        flags = [int(r["flags"]) for r in recs if r["kind"] == md.LEVEL]
        assert flags == [0] * (len(want) - 1) + [md.F_LAST_IN_EVENT] * bool(want), u
        assert book.bids.as_dict() == {p: q for p, q in dict(bids).items() if q}, u
        assert book.asks.as_dict() == {p: q for p, q in dict(asks).items() if q}, u
        assert book.last_id == u and book.live
    out.clear()
    book.load([(100, 1), (101, 1)], [(200, 1)], 900, 0, 1, 2, out, True)
    assert book.same_as([(101, 1), (100, 1)], [(200, 1)])
    assert not book.same_as([(100, 1), (100, 1)], [(200, 1)])  # two rows, but one level of the two


def test_bybit_ticker_texts_read_by_the_compiled_path_reach_the_general_one():
    """The compiled tickers path keeps where each MARK field's text was; the general path takes
    those texts into its merged state when it next reads it: a MARK the general path makes
    (a mark price past 2**53 in e8, its floats from Python) carries every field the compiled
    path read before it, and the compiled path goes on from the general path's values."""
    fast, ref = _pair("bybit_linear")
    frames = [
        _ticker("snapshot", TICKER_SNAPSHOT),
        _ticker("delta", {"indexPrice": "17228.01", "bid1Size": "1.5"}),
        _ticker("delta", {"fundingRate": "-0.000300", "openInterest": "70000.25"}),
        _ticker("delta", {"nextFundingTime": "01673308800000"}),  # leading zeros: int() reads them
        _ticker("delta", {"markPrice": "17219.10", "indexPrice": "17229.02"}),
        _ticker("delta", {"markPrice": "99999999.00000001"}),  # past 2**53: the general path
        _ticker("delta", {"openInterest": "70001.5"}),  # over that mark: its float from Python too
        _ticker("delta", {"markPrice": "17219.20"}),
        _ticker("delta", {"fundingRate": ""}),  # empty: 0
        _ticker("delta", {"markPrice": "17219.30"}, cs=-1),  # the general path (bad id), its state kept
        _ticker("delta", {"indexPrice": "17229.03"}),
        _ticker("delta", {"markPrice": "99999999.00000002"}),
    ]
    taken = _same(fast, ref, frames)
    assert taken == len(frames) - 5, taken  # the snapshot, the three past 2**53, the bad cs
    assert fast.counters.bad_ids == 1, fast.counters.as_dict()


# -- OKX books' one-call update (okx/fastbook.py ``update``) --------------------------------------


def _okx_spy(norm) -> list:
    """The codes ``fastbook.update`` answers ``norm`` (>= 0: applied in the one call)."""
    codes = []
    inner = norm._fupdate

    def spy(*args):
        w = inner(*args)
        codes.append(w)
        return w

    norm._fupdate = spy
    return codes


def _okx_stream(opts, symbols=("btcusdt",), n=3000):
    session = InbandSession("okx", opts, {s.upper() for s in symbols})
    (conn,) = venues.get("okx").connections("ws://x", list(symbols), ["books"])
    for msg in conn.subscribe_messages(conn.subscribe):
        session.handle(msg)
    return session.next_messages(n)


def test_okx_one_call_update_equals_reference_with_resets_gaps_and_idle_books():
    """The simulator's books stream with sequence resets (every 301st update: not on an idle
    one), idle heartbeats and lost updates (gaps, then the resubscription's snapshot), then the
    docs' snapshot (tests/venues/test_okx.py quotes it), its levels, and updates: byte-identical
    records and counters with the reference, and the one call takes the chained updates."""
    from .test_okx import SNAPSHOT

    fast, ref = _pair("okx")
    codes = _okx_spy(fast)
    session = InbandSession("okx", InbandOptions(seed=5, reset_every=301, idle_every=20, gap_every=97, levels=40),
                            {"BTCUSDT"})
    (conn,) = venues.get("okx").connections("ws://x", ["btcusdt"], ["books"])
    (msg,) = conn.subscribe_messages(conn.subscribe)
    session.handle(msg)
    taken = 0
    frames = []
    for _ in range(3000):  # one at a time: a gap's resubscription (as the session sends it) brings a snapshot
        frame = session.next_messages(1)
        taken += _same(fast, ref, frame)
        frames += frame
        wanted = fast.snapshot_requests()
        if wanted:
            assert wanted == ref.snapshot_requests()
            for m in conn.resync_messages(wanted):
                replies = session.handle(m)
                taken += _same(fast, ref, replies)
                frames += replies
    doc = SNAPSHOT["data"][0]
    book = _TextBook(doc["bids"], doc["asks"])
    up1 = [("8476.97", "250")], [("8476.98", "0")]  # the best bid's size, the best ask deleted
    up2 = [], [("8476.99", "3")]  # a new best ask
    # the docs' literal snapshot: its checksum does not match its (shortened) levels, a reset;
    # then the same levels with the checksum derived from them
    doc_frames = [orjson.dumps(SNAPSHOT), _okx_snap(123456, doc["bids"], doc["asks"]),
                  _okx_upd(123456, 123460, *up1, cs=book.update(*up1)),
                  _okx_upd(123460, 123460), _okx_upd(123460, 123461, *up2, cs=book.update(*up2))]
    taken += _same(fast, ref, doc_frames)
    frames += doc_frames
    c = fast.counters
    assert c.venue_resets >= 5 and c.idle_books >= 50 and c.depth_gaps >= 10, c.as_dict()
    assert c.checksum_errors == 1 and c.bad_fields == 0 and fast.book("BTCUSDT").live
    applied = sum(w >= 0 for w in codes)
    assert applied >= 0.8 * (len(frames) - c.idle_books - c.depth_gaps - c.snapshots_applied), (applied, c.as_dict())
    assert taken >= 0.95 * len(frames), taken
    assert codes[-3:] == [codes[-3], fastbook.IDLE, codes[-1]] and codes[-3] >= 0 and codes[-1] >= 0


def test_okx_two_instruments_switch_the_hot_book():
    """Two instruments' books on one connection, interleaved: each push is its own book's (the
    hot instrument's head is matched, not assumed), the same as the reference."""
    symbols = {"BTCUSDT": 3, "ETHUSDT": 4}
    fast, ref = _pair("okx", symbols)
    codes = _okx_spy(fast)
    frames = _okx_stream(InbandOptions(seed=3, reset_every=301, idle_every=20), ("btcusdt", "ethusdt"), 2000)
    assert {f[36:44] for f in frames} == {b"BTC-USDT", b"ETH-USDT"}
    assert _same(fast, ref, frames) >= 0.95 * len(frames)
    assert fast.book("BTCUSDT").live and fast.book("ETHUSDT").live
    assert sum(w >= 0 for w in codes) > 0.8 * len(frames), codes[:50]


def test_okx_odd_books_frames_take_the_fallback():
    """Valid frames in another shape than the docs' (blanks, another key order, an escaped
    instId, no checksum, a seqId as a string): the one call answers OTHER (MISS for the escaped
    instId: not the hot instrument's head), or is not reached, and the general path decides, the
    same as the reference; the next frame in the docs' shape takes the one call again."""
    fast, ref = _pair("okx")
    codes = _okx_spy(fast)
    bids = [[f"{8400 - i}.5", f"{i + 1}", "0", "1"] for i in range(30)]
    asks = [[f"{8401 + i}", f"0.{i + 1:02d}0", "0", "2"] for i in range(30)]
    book = _TextBook(bids, asks)
    _same(fast, ref, [_okx_snap(100, bids, asks)])

    def upd(prev, seq, b=(), a=()):
        cs = book.update(b, a)
        return {"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": "update",
                "data": [{"asks": [[p, q, "0", "1"] for p, q in a], "bids": [[p, q, "0", "1"] for p, q in b],
                          "ts": "1597026383185", "checksum": cs, "prevSeqId": prev, "seqId": seq}]}

    blanks = orjson.dumps(upd(100, 101, [("8400.5", "3")]), option=orjson.OPT_INDENT_2)
    d = upd(101, 102, [("8399.5", "4")])
    reordered = orjson.dumps({"data": d["data"], "action": "update", "arg": d["arg"]})
    escaped = orjson.dumps(upd(102, 103, [], [("8401", "5")])).replace(b'"BTC-USDT"', b'"BTC\\u002dUSDT"')
    d = upd(103, 104, [("8400.5", "6")])
    del d["data"][0]["checksum"]
    no_checksum = orjson.dumps(d)
    d = upd(104, 105, [("8400.5", "7")])
    d["data"][0]["seqId"] = "105"
    string_seq = orjson.dumps(d)  # the general path refuses it (bad_fields), nothing changes
    book.update([("8400.5", "6")], [])  # the refused frame did not change the book
    for frame in (blanks, reordered, escaped, no_checksum, string_seq):
        before = len(codes)
        assert _same(fast, ref, [frame]) == 0, frame[:120]  # the general path read it
        want = fastbook.MISS if frame is escaped else fastbook.OTHER
        assert all(w == want for w in codes[before:]), (codes[before:], frame[:120])
    c = fast.counters
    assert c.bad_fields == 1 and c.checksum_errors == 0 and c.depth_gaps == 0 and fast.book("BTCUSDT").live
    assert fast.book("BTCUSDT").last_id == 104
    assert _same(fast, ref, [orjson.dumps(upd(104, 106, [("8399", "1")]))]) == 1 and codes[-1] >= 0


def test_okx_compiled_checksum_equals_zlib_over_random_texts():
    """``fastbook.checksum_top`` (CRC-32 over the kept texts rows, read as words) against
    ``checksum`` (zlib over the joined text), on rows of every length up to the widest a book
    keeps, with stale bytes after each text, sides of 0..40 levels."""
    import numpy as np

    from hftshm.venues import inband_arrays as A

    rng = random.Random(7)
    for trial in range(300):
        counts = (rng.randrange(0, 41), rng.randrange(0, 41))
        sides = np.zeros((5, 64), np.int64)
        texts = np.frombuffer(rng.randbytes(2 * 64 * A.TEXT_WIDTH), np.uint8).reshape(2, 64, A.TEXT_WIDTH).copy()
        sides[A.STATE, 0:2] = counts
        levels: list[list] = [[], []]
        for s in range(2):
            for idx in range(counts[s]):  # best last, as the book keeps them
                width = rng.randrange(3, A.TEXT_WIDTH - 1)  # "p:q", up to TEXT_WIDTH - 2 bytes
                cut = rng.randrange(1, width - 1)
                text = "".join(rng.choice("0123456789.") for _ in range(width))
                p, q = text[:cut], text[cut + 1:]
                raw = f"{p}:{q}".encode()
                texts[s, idx, 0] = len(raw)
                texts[s, idx, 1:1 + len(raw)] = np.frombuffer(raw, np.uint8)
                levels[s].append((p, q))
        want = checksum(levels[0][::-1][:25], levels[1][::-1][:25])
        assert fastbook.checksum_top_at(sides, texts, 25) == want, trial


def test_okx_number_scanners_read_what_fastjson_reads():
    """okx/fastbook.py's division-free _dec/_uint against feed.fastjson's: on random digit runs
    (dots, leading zeros, junk, up to 30 characters) every value they accept is fastjson's; they
    refuse only runs of more than 18 significant digits (the general path reads those)."""
    import numpy as np
    from numba import njit

    from hftshm.feed import fastjson

    @njit
    def both(buf):
        n = len(buf)
        return fastjson._dec(buf, 0, n), fastbook._dec(buf, 0, n), fastjson._uint(buf, 0, n), fastbook._uint(buf, 0, n)

    rng = random.Random(3)
    seen = 0
    for case in range(20000):
        pool = rng.choice(("0123456789", "0123456789.", "00000000001.", '0123456789."x-'))
        text = "".join(rng.choice(pool) for _ in range(rng.randrange(1, 31))) + '"'
        d_ref, d_got, u_ref, u_got = both(np.frombuffer(text.encode(), np.uint8))
        body = text.split(".")[0].split('"')[0].lstrip("0")
        for ref, got in ((d_ref, d_got), (u_ref, u_got)):
            if got[1] >= 0:
                assert got == ref, (text, got, ref)
                seen += 1
            else:
                assert ref[1] < 0 or len(body) > 18, (text, ref)
    assert seen > 5000


def test_okx_default_stream_restarts_its_sequence():
    """With the simulator's defaults (a reset every 3,000 updates, an idle heartbeat every 40th:
    3,000 is a multiple of 40) the sequence reset still comes, and the normalizer counts it."""
    frames = _okx_stream(InbandOptions(), n=3100)
    norm = venues.get("okx").normalizer({"BTCUSDT": 0})
    for f in frames:
        norm.normalize(f, 0)
    assert norm.counters.venue_resets >= 1, norm.counters.as_dict()
    assert norm.counters.idle_books >= 70, norm.counters.as_dict()
