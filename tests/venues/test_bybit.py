"""Bybit v5 public frames through ``BybitNormalizer``.

Fixtures: the literal response examples of Bybit's v5 docs, "WebSocket Stream" > "Public" >
"Orderbook" (snapshot and delta), "Trade" (linear, UUID trade id), "Ticker" (linear snapshot and
delta), and "Connect" (subscribe/pong replies; the refused-subscription reply's shape). Frames
marked "derived" change one field of a doc example (a ``u``, a quantity) to make the case.
"""

from __future__ import annotations

import orjson
import pytest

from hftshm import venues
from hftshm.feed.e8 import parse_e8
from hftshm.layouts import md

from .book_check import ConsumerBook, DictBook

# "Orderbook" > Response Example (snapshot, depth 50)
SNAPSHOT = {"topic": "orderbook.50.BTCUSDT", "type": "snapshot", "ts": 1672304484978,
            "data": {"s": "BTCUSDT", "b": [["16493.50", "0.006"], ["16493.00", "0.100"]],
                     "a": [["16611.00", "0.029"], ["16612.00", "0.213"]], "u": 18521288, "seq": 7961638724},
            "cts": 1672304484976}
# "Orderbook" > Response Example (delta)
DELTA = {"topic": "orderbook.50.BTCUSDT", "type": "delta", "ts": 1687940967466,
         "data": {"s": "BTCUSDT", "b": [["30247.20", "30.028"], ["30245.40", "0.224"], ["30242.70", "1.593"],
                                         ["30240.30", "1.305"], ["30240.00", "0"]],
                  "a": [["30248.70", "0"], ["30249.30", "0.892"], ["30249.50", "1.778"], ["30249.60", "0"],
                        ["30251.90", "2.947"], ["30252.20", "0.659"], ["30252.50", "4.591"]],
                  "u": 177400507, "seq": 66544703342}, "cts": 1687940967464}
# "Trade" > Response Example (linear: the trade id is a UUID string)
TRADE = {"topic": "publicTrade.BTCUSDT", "type": "snapshot", "ts": 1672304486868,
         "data": [{"T": 1672304486865, "s": "BTCUSDT", "S": "Buy", "v": "0.001", "p": "16578.50", "L": "PlusTick",
                   "i": "20f43950-d8dd-5b31-9112-a178eb6023af", "BT": False, "seq": 1783284617}]}
# "Ticker" > Response Example (linear snapshot), and a delta of the kind that follows it
TICKER = {"topic": "tickers.BTCUSDT", "type": "snapshot",
          "data": {"symbol": "BTCUSDT", "tickDirection": "PlusTick", "price24hPcnt": "0.017103",
                   "lastPrice": "17216.00", "prevPrice24h": "16926.50", "highPrice24h": "17281.50",
                   "lowPrice24h": "16915.00", "prevPrice1h": "17238.00", "markPrice": "17217.33",
                   "indexPrice": "17227.36", "openInterest": "68744.761", "openInterestValue": "1183601235.91",
                   "turnover24h": "1570383121.943499", "volume24h": "91705.276", "nextFundingTime": "1673280000000",
                   "fundingRate": "-0.000212", "bid1Price": "17215.50", "bid1Size": "84.489", "ask1Price": "17216.00",
                   "ask1Size": "83.020"}, "cs": 24987956059, "ts": 1673272861686}
TICKER_DELTA = {"topic": "tickers.BTCUSDT", "type": "delta",
                "data": {"symbol": "BTCUSDT", "markPrice": "17218.10", "lastPrice": "17216.50"},
                "cs": 24987956060, "ts": 1673272861786}
# "Connect": replies
SUBSCRIBED = {"success": True, "ret_msg": "", "conn_id": "cejreaspqfh3sjdnldmg-p", "req_id": "", "op": "subscribe"}
PONG_SPOT = {"success": True, "ret_msg": "pong", "conn_id": "0970e817-426e-429a-a679-ff7f55e0b16a", "op": "ping"}
PONG_LINEAR = {"req_id": "test", "op": "pong", "args": ["1675418560633"], "conn_id": "cfcb4ocsvfriu23r3er0-1b"}
REFUSED = {"success": False, "ret_msg": "error:handler not found,topic:orderbook.40.BTCUSDT",
           "conn_id": "cejreaspqfh3sjdnldmg-p", "req_id": "", "op": "subscribe"}


def _norm():
    return venues.get("bybit_linear").normalizer({"BTCUSDT": 3})


def _f(obj) -> bytes:
    return orjson.dumps(obj)


def _book(u, kind="delta", b=(), a=(), topic="orderbook.50.BTCUSDT", ts=1672304484978):
    return _f({"topic": topic, "type": kind, "ts": ts,
               "data": {"s": "BTCUSDT", "b": [list(x) for x in b], "a": [list(x) for x in a], "u": u, "seq": u * 10}})


def test_snapshot_then_delta_from_the_docs():
    n = _norm()
    recs = n.normalize(_f(SNAPSHOT), 5).copy()
    kinds = [md.KIND_NAMES[int(k)] for k in recs["kind"]]
    assert kinds == ["reset", "level", "level", "level", "level", "quote"]
    lv = recs[1:5]
    assert list(lv["side"]) == [md.BID, md.BID, md.ASK, md.ASK]
    assert all(int(f) & md.F_SNAPSHOT for f in lv["flags"]) and int(lv[-1]["flags"]) & md.F_LAST_IN_EVENT
    assert set(lv["venue_id"]) == {18521288} and set(lv["venue_id2"]) == {7961638724}
    assert int(recs[0]["exch_ns"]) == 1672304484978 * 1_000_000 and int(recs[0]["recv_ns"]) == 5
    q = recs[-1]
    assert (int(q["price_e8"]), int(q["qty_e8"]), int(q["price2_e8"]), int(q["qty2_e8"])) == (
        parse_e8("16493.50"), parse_e8("0.006"), parse_e8("16611.00"), parse_e8("0.029"))
    assert int(q["symbol_id"]) == 3 and int(q["flags"]) == md.F_FROM_BOOK
    # a delta continuing u: levels set and deleted, the top follows
    recs = n.normalize(_book(18521289, b=[("16493.50", "0")], a=[("16600.00", "1.5")]), 6)
    assert [md.KIND_NAMES[int(k)] for k in recs["kind"]] == ["level", "level", "quote"]
    assert int(recs[0]["qty_e8"]) == 0 and int(recs[1]["flags"]) == md.F_LAST_IN_EVENT
    book = n.book("BTCUSDT")
    assert book.bids.best() == (parse_e8("16493.00"), parse_e8("0.100"))
    assert book.asks.best() == (parse_e8("16600.00"), parse_e8("1.5"))
    assert n.counters.depth_gaps == 0 and n.counters.snapshots_applied == 1


def test_the_docs_delta_applies_on_its_own_snapshot():
    """The docs' delta (u 177400507) after a snapshot with u 177400506 built from its levels."""
    n = _norm()
    snap = _book(177400506, "snapshot", b=[("30247.20", "1"), ("30240.00", "2")],
                 a=[("30248.70", "3"), ("30249.60", "4"), ("30260.00", "5")])
    n.normalize(snap, 1)
    recs = n.normalize(_f(DELTA), 2)
    assert int((recs["kind"] == md.LEVEL).sum()) == 12
    book = n.book("BTCUSDT")
    assert parse_e8("30240.00") not in book.bids.qty and parse_e8("30248.70") not in book.asks.qty
    assert book.bids.best() == (parse_e8("30247.20"), parse_e8("30.028"))
    assert book.asks.best() == (parse_e8("30249.30"), parse_e8("0.892"))


def test_u_equal_1_resets_the_book_from_that_snapshot():
    n = _norm()
    n.normalize(_f(SNAPSHOT), 1)
    n.normalize(_book(18521289, a=[("16611.00", "0")]), 2)
    recs = n.normalize(_book(1, "snapshot", b=[("16000.00", "1")], a=[("16001.00", "2")]), 3)
    assert int(recs[0]["kind"]) == md.BOOK_RESET and int(recs[1]["flags"]) & md.F_SNAPSHOT
    assert n.counters.venue_resets == 1 and n.counters.depth_gaps == 0
    book = n.book("BTCUSDT")
    assert book.bids.as_dict() == {parse_e8("16000.00"): parse_e8("1")}
    assert book.asks.as_dict() == {parse_e8("16001.00"): parse_e8("2")}
    n.normalize(_book(2, b=[("16000.50", "1")]), 4)  # deltas go on from u = 1
    assert n.counters.depth_gaps == 0 and book.last_id == 2


def test_depth_1_resends_publish_nothing_and_new_snapshots_publish_the_difference():
    n = _norm()
    topic = "orderbook.1.BTCUSDT"
    first = _book(100, "snapshot", b=[("16493.50", "0.006")], a=[("16611.00", "0.029")], topic=topic)
    assert len(n.normalize(first, 1)) == 4  # reset, bid, ask, quote
    assert len(n.normalize(first, 2)) == 0  # the same u, unchanged: re-sent after 3 s
    assert n.counters.resends == 1
    moved = _book(101, "snapshot", b=[("16493.00", "0.2")], a=[("16611.00", "0.029")], topic=topic)
    recs = n.normalize(moved, 3)
    assert md.BOOK_RESET not in set(recs["kind"])  # continues the book: a diff, not a reset
    got = {(int(r["price_e8"]), int(r["qty_e8"])) for r in recs if int(r["kind"]) == md.LEVEL}
    assert got == {(parse_e8("16493.50"), 0), (parse_e8("16493.00"), parse_e8("0.2"))}
    assert n.book("BTCUSDT").bids.as_dict() == {parse_e8("16493.00"): parse_e8("0.2")}
    assert n.counters.book_resets == 1 and n.counters.depth_gaps == 0


def test_a_delta_gap_resets_and_asks_for_a_resync():
    n = _norm()
    n.normalize(_f(SNAPSHOT), 1)
    recs = n.normalize(_book(18521290, b=[("16493.50", "5")]), 2)  # u skipped 18521289
    assert list(recs["kind"]) == [md.BOOK_RESET]
    assert n.counters.depth_gaps == 1 and n.wants_snapshot() and n.snapshot_requests() == ["BTCUSDT"]
    assert len(n.normalize(_book(18521291), 3)) == 0 and n.counters.stale_depth_events == 1
    (conn,) = venues.get("bybit_linear").connections("wss://stream.bybit.com", ["btcusdt"],
                                                     ["orderbook.50", "publicTrade"])
    msgs = [orjson.loads(m) for m in conn.resync_messages(["BTCUSDT"])]
    assert [(m["op"], m["args"]) for m in msgs] == [("unsubscribe", ["orderbook.50.BTCUSDT"]),
                                                   ("subscribe", ["orderbook.50.BTCUSDT"])]
    n.normalize(_book(18521300, "snapshot", b=[("1.0", "1")], a=[("2.0", "1")]), 4)
    assert not n.wants_snapshot() and n.book("BTCUSDT").live


def test_trade_from_the_docs():
    recs = _norm().normalize(_f(TRADE), 7)
    (r,) = recs
    assert int(r["kind"]) == md.TRADE and int(r["side"]) == md.BUY and int(r["flags"]) == 0
    assert int(r["price_e8"]) == parse_e8("16578.50") and int(r["qty_e8"]) == parse_e8("0.001")
    assert int(r["venue_id"]) == 0  # a UUID: no numeric id
    assert int(r["venue_id2"]) == 1783284617  # the cross sequence, kept
    assert int(r["exch_ns"]) == 1672304486868 * 1_000_000 and int(r["txn_ns"]) == 1672304486865 * 1_000_000


def test_spot_trade_ids_are_numeric_and_block_trades_are_marked():
    n = venues.get("bybit_spot").normalizer({"BTCUSDT": 0})
    t = dict(TRADE, data=[dict(TRADE["data"][0], i="2290000000061666327", S="Sell", BT=True)])
    (r,) = n.normalize(_f(t), 1)
    assert int(r["venue_id"]) == 2290000000061666327 and int(r["side"]) == md.SELL
    assert int(r["flags"]) == md.F_NOT_MARKET


def test_ticker_snapshot_and_delta_into_mark():
    n = _norm()
    (r,) = n.normalize(_f(TICKER), 1)
    assert int(r["kind"]) == md.MARK
    assert int(r["price_e8"]) == parse_e8("17217.33") and int(r["price2_e8"]) == parse_e8("17227.36")
    assert int(r["qty_e8"]) == -parse_e8("0.000212") and int(r["txn_ns"]) == 1673280000000 * 1_000_000
    assert int(r["venue_id2"]) == parse_e8("68744.761") and int(r["venue_id"]) == 24987956059
    (r,) = n.normalize(_f(TICKER_DELTA), 2)  # merged: the rest is the snapshot's
    assert int(r["price_e8"]) == parse_e8("17218.10") and int(r["price2_e8"]) == parse_e8("17227.36")
    last = dict(TICKER_DELTA, data={"symbol": "BTCUSDT", "lastPrice": "17217.00"})
    assert len(n.normalize(_f(last), 3)) == 0  # nothing of the mark changed


def test_replies_errors_and_unknown_topics_are_counted():
    n = _norm()
    for frame in (SUBSCRIBED, PONG_SPOT, PONG_LINEAR, REFUSED):
        assert len(n.normalize(_f(frame), 1)) == 0
    c = n.counters
    assert c.control_messages == 3 and c.pongs == 2 and c.venue_errors == 1 and c.refused_subscriptions == 1
    assert len(n.normalize(_f(dict(TRADE, topic="kline.1.BTCUSDT")), 1)) == 0 and c.unknown_events == 1
    assert len(n.normalize(_f(dict(TRADE, topic="publicTrade.ETHUSDT")), 1)) == 0 and c.unknown_symbols == 1
    assert len(n.normalize(b"{not json", 1)) == 0 and c.malformed_json == 1
    bad = dict(TRADE, data=[dict(TRADE["data"][0], p="abc")])
    assert len(n.normalize(_f(bad), 1)) == 0 and c.bad_fields == 1
    zero = dict(TRADE, data=[dict(TRADE["data"][0], v="0")])
    assert len(n.normalize(_f(zero), 1)) == 0 and c.zero_values == 1
    bad_ts = dict(TRADE, ts=-1)
    assert len(n.normalize(_f(bad_ts), 1)) == 0 and c.bad_times == 1
    # a malformed delta changes nothing in the book
    n.normalize(_f(SNAPSHOT), 1)
    before = n.book("BTCUSDT").bids.as_dict()
    assert len(n.normalize(_book(18521289, b=[("16493.50", "x")]), 2)) == 0
    assert n.book("BTCUSDT").bids.as_dict() == before and n.book("BTCUSDT").last_id == 18521288


def test_subscriptions_stay_within_ten_args_and_pick_one_depth():
    (conn,) = venues.get("bybit_spot").connections("wss://stream.bybit.com/v5/public/spot",
                                                   [f"coin{i}usdt" for i in range(7)], ["orderbook.50", "publicTrade"])
    msgs = [orjson.loads(m) for m in conn.subscribe_messages(conn.subscribe)]
    assert [len(m["args"]) for m in msgs] == [10, 4] and all(m["op"] == "subscribe" for m in msgs)
    assert conn.url == "wss://stream.bybit.com/v5/public/spot"
    assert orjson.loads(conn.app_ping)["op"] == "ping" and conn.app_ping_s == 20.0
    (lin,) = venues.get("bybit_linear").connections("ws://127.0.0.1:9", ["btcusdt"], ["tickers"])
    assert lin.url == "ws://127.0.0.1:9/v5/public/linear"
    with pytest.raises(ValueError, match="one depth"):
        venues.get("bybit_linear").connections("ws://x", ["btcusdt"], ["orderbook.1", "orderbook.50"])
    with pytest.raises(ValueError, match="does not serve stream 'tickers'"):
        venues.get("bybit_spot").check_streams(["tickers"])


def test_book_after_each_message_equals_a_brute_force_rebuild():
    """A generated stream with gaps, u = 1 restarts and re-sent snapshots: after every message
    the normalizer's book and the consumer's rebuild from the records equal a dict book built
    from the frames, whenever the book is live."""
    import random

    rng = random.Random(7)
    n = _norm()
    ref, consumer = DictBook(), ConsumerBook()
    u = 50
    live = False
    prices = [f"{16000 + i}.50" for i in range(40)]
    for step in range(3000):
        r = rng.random()
        if not live or r < 0.02:
            u = 1 if live and r < 0.01 else u + 1
            half = rng.randint(5, 35)
            b = [(p, f"{rng.randint(1, 9)}.0") for p in prices[:half] if rng.random() < 0.7]
            a = [(p, f"{rng.randint(1, 9)}.0") for p in prices[half:] if rng.random() < 0.7]
            frame = _book(u, "snapshot", b=b, a=a)
            ref.snapshot(b, a)
            live = True
        else:
            if r < 0.04:
                u += 1  # a lost message
                live = False
            u += 1
            best_ask = min(ref.asks) if ref.asks else None
            best_bid = max(ref.bids) if ref.bids else None
            b, a = [], []
            for _ in range(rng.randint(1, 4)):
                p = rng.choice(prices)
                q = "0" if rng.random() < 0.3 else f"{rng.randint(1, 9)}.{rng.randint(0, 9)}"
                pe = parse_e8(p)
                if (best_ask is None or pe < best_ask) and (best_bid is None or pe <= best_bid or rng.random() < 0.5):
                    b.append((p, q))
                elif best_bid is None or pe > best_bid:
                    a.append((p, q))
            frame = _book(u, b=b, a=a)
            if live:
                ref.delta(b, a)
        consumer.feed(n.normalize(frame, step).copy())
        book = n.book("BTCUSDT")
        if live and book.live:
            assert book.bids.as_dict() == ref.bids and book.asks.as_dict() == ref.asks, step
            assert consumer.bids == ref.bids and consumer.asks == ref.asks, step
            assert consumer.top == consumer.best(), step
        elif not book.live:
            assert consumer.bids == {} and consumer.asks == {}, step
    c = n.counters
    assert c.depth_gaps > 10 and c.venue_resets > 5 and c.crossed_books == 0


def test_a_crossing_delta_is_rolled_back_reset_and_resynced():
    n = _norm()
    n.normalize(_f(SNAPSHOT), 1)
    recs = n.normalize(_book(18521289, b=[("16700.00", "1")]), 2)  # a bid above the best ask
    assert list(recs["kind"]) == [md.BOOK_RESET]
    assert n.counters.crossed_books == 1 and n.snapshot_requests() == ["BTCUSDT"]
    assert not n.book("BTCUSDT").live and len(n.book("BTCUSDT").bids) == 0
