"""OKX v5 public frames through ``OkxNormalizer``.

Fixtures: the literal push-data examples of OKX's v5 docs, "Market Data" > "WS / Order book
channel" (a ``books`` snapshot, a ``bbo-tbt`` push), "WS / Trades channel", "WebSocket" >
"Subscribe" (the subscribe and error replies) and the order book channel's sequence example
(10 -> 15, an empty update 15 -> 15, a reset 15 -> 3, then 3 -> 5). The docs' snapshot carries a
checksum that does not match its own levels; frames here that keep the levels carry the checksum
computed by OKX's rule (marked "derived"), or 0, which is not checked.
"""

from __future__ import annotations

import zlib

import orjson

from hftshm import venues
from hftshm.feed.e8 import parse_e8
from hftshm.layouts import md
from hftshm.venues.okx.normalize import checksum
from hftshm.venues.okx.urls import inst_id

from .book_check import ConsumerBook, DictBook

ASKS = [["8476.98", "415", "0", "13"], ["8477", "7", "0", "2"], ["8477.34", "85", "0", "1"],
        ["8477.56", "1", "0", "1"], ["8505.84", "8", "0", "1"], ["8506.37", "85", "0", "1"],
        ["8506.49", "2", "0", "1"], ["8506.96", "100", "0", "2"]]
BIDS = [["8476.97", "256", "0", "12"], ["8475.55", "101", "0", "1"], ["8475.54", "100", "0", "1"],
        ["8475.3", "1", "0", "1"], ["8447.32", "6", "0", "1"], ["8447.02", "246", "0", "1"],
        ["8446.83", "24", "0", "1"], ["8446", "95", "0", "3"]]
SNAPSHOT = {"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": "snapshot",
            "data": [{"asks": ASKS, "bids": BIDS, "ts": "1597026383085", "checksum": -855196043,
                      "prevSeqId": -1, "seqId": 123456}]}
BBO = {"arg": {"channel": "bbo-tbt", "instId": "BCH-USDT-SWAP"},
       "data": [{"asks": [["111.06", "55154", "0", "2"]], "bids": [["111.05", "57745", "0", "2"]],
                 "ts": "1670324386802", "seqId": 363996337}]}
TRADES = {"arg": {"channel": "trades", "instId": "BTC-USDT"},
          "data": [{"instId": "BTC-USDT", "tradeId": "130639474", "px": "42219.9", "sz": "0.12060306",
                    "side": "buy", "ts": "1630048897897", "count": "3", "source": "0", "seqId": 1234}]}
SUBSCRIBED = {"id": "1512", "event": "subscribe", "arg": {"channel": "books", "instId": "BTC-USDT"},
              "connId": "a4d3ae55"}
ERROR = {"id": "1512", "event": "error", "code": "60012",
         "msg": "Invalid request: {\"op\": \"subscribe\", \"argss\":[{ \"channel\" : \"books\", \"instId\" : \"BTC-USDT\"}]}",
         "connId": "a4d3ae55"}


def _norm(**symbols):
    return venues.get("okx").normalizer(symbols or {"BTCUSDT": 2, "BCHUSDTSWAP": 4})


def _f(obj) -> bytes:
    return orjson.dumps(obj)


def _snap(seq=123456, bids=BIDS, asks=ASKS, cs=0):
    return _f({"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": "snapshot",
               "data": [{"asks": asks, "bids": bids, "ts": "1597026383085", "checksum": cs,
                         "prevSeqId": -1, "seqId": seq}]})


def _upd(prev, seq, bids=(), asks=(), cs=0):
    return _f({"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": "update",
               "data": [{"asks": [[p, q, "0", "1"] for p, q in asks], "bids": [[p, q, "0", "1"] for p, q in bids],
                         "ts": "1597026383185", "checksum": cs, "prevSeqId": prev, "seqId": seq}]})


def test_checksum_follows_the_docs_string():
    """"Checksum" in the order book channel: bid and ask levels interleaved, price:size, CRC32
    as a signed 32-bit integer; the docs' worked string for two levels a side."""
    want = zlib.crc32(b"3366.1:7:3366.8:9:3366:6:3368:8")
    want = want - (1 << 32) if want >= 1 << 31 else want
    assert checksum([("3366.1", "7"), ("3366", "6")], [("3366.8", "9"), ("3368", "8")]) == want
    # one side longer: the rest of it follows alone
    assert checksum([("1", "2")], [("3", "4"), ("5", "6")]) == _signed(zlib.crc32(b"1:2:3:4:5:6"))


def _signed(v):
    return v - (1 << 32) if v >= 1 << 31 else v


def test_snapshot_from_the_docs():
    n = _norm()
    recs = n.normalize(_snap(), 9)  # the docs' levels, checksum 0 (not checked)
    kinds = [md.KIND_NAMES[int(k)] for k in recs["kind"]]
    assert kinds == ["reset"] + ["level"] * 16 + ["quote"]
    assert set(recs[1:17]["venue_id"]) == {123456} and int(recs[0]["exch_ns"]) == 1597026383085 * 1_000_000
    q = recs[-1]
    assert (int(q["price_e8"]), int(q["qty_e8"]), int(q["price2_e8"]), int(q["qty2_e8"])) == (
        parse_e8("8476.97"), parse_e8("256"), parse_e8("8476.98"), parse_e8("415"))
    assert int(q["symbol_id"]) == 2 and n.counters.snapshots_applied == 1


def test_the_docs_checksum_is_checked_and_a_mismatch_resyncs():
    n = _norm()
    good = checksum([tuple(b[:2]) for b in BIDS], [tuple(a[:2]) for a in ASKS])  # derived
    assert n.normalize(_snap(cs=good), 1)[0]["kind"] == md.BOOK_RESET and n.book("BTCUSDT").live
    recs = n.normalize(_f(SNAPSHOT), 2)  # the docs' literal checksum does not match its levels
    assert md.BOOK_RESET in set(recs["kind"]) and not n.book("BTCUSDT").live
    assert n.counters.checksum_errors == 1 and n.counters.depth_gaps == 1 and n.wants_snapshot()


def test_the_docs_sequence_example_update_idle_reset():
    n = _norm()
    n.normalize(_snap(seq=10), 1)
    assert len(n.normalize(_upd(10, 15, bids=[("8476.50", "3")]), 2)) >= 1  # 10 -> 15
    assert len(n.normalize(_upd(15, 15), 3)) == 0 and n.counters.idle_books == 1  # idle: 15 -> 15
    recs = n.normalize(_upd(15, 3, asks=[("8476.98", "0")]), 4)  # maintenance: 15 -> 3
    assert n.counters.venue_resets == 1 and md.BOOK_RESET not in set(recs["kind"])
    assert parse_e8("8476.98") not in n.book("BTCUSDT").asks.qty
    n.normalize(_upd(3, 5, bids=[("8476.60", "1")]), 5)  # 3 -> 5: the usual rule again
    c = n.counters
    assert c.depth_gaps == 0 and n.book("BTCUSDT").last_id == 5 and n.book("BTCUSDT").live


def test_a_prev_seq_id_gap_resets_and_resubscribes():
    n = _norm()
    n.normalize(_snap(seq=10), 1)
    recs = n.normalize(_upd(12, 20, bids=[("8476.50", "3")]), 2)  # prevSeqId 12 != last 10
    assert list(recs["kind"]) == [md.BOOK_RESET] and n.counters.depth_gaps == 1
    assert n.snapshot_requests() == ["BTCUSDT"]
    assert len(n.normalize(_upd(20, 25, bids=[("8476.50", "3")]), 3)) == 0
    assert n.counters.stale_depth_events == 1
    (conn,) = venues.get("okx").connections("wss://ws.okx.com:8443/ws/v5/public", ["btcusdt"], ["books", "trades"])
    msgs = [orjson.loads(m) for m in conn.resync_messages(["BTCUSDT"])]
    assert msgs == [{"op": "unsubscribe", "args": [{"channel": "books", "instId": "BTC-USDT"}]},
                    {"op": "subscribe", "args": [{"channel": "books", "instId": "BTC-USDT"}]}]
    n.normalize(_snap(seq=30), 4)
    assert not n.wants_snapshot()


def test_bbo_and_trades_from_the_docs():
    n = _norm()
    (q,) = n.normalize(_f(BBO), 1)
    assert int(q["kind"]) == md.QUOTE and int(q["symbol_id"]) == 4 and int(q["flags"]) == 0
    assert (int(q["price_e8"]), int(q["qty_e8"]), int(q["price2_e8"]), int(q["qty2_e8"])) == (
        parse_e8("111.05"), parse_e8("57745"), parse_e8("111.06"), parse_e8("55154"))
    assert int(q["venue_id"]) == 363996337 and int(q["exch_ns"]) == 1670324386802 * 1_000_000
    (t,) = n.normalize(_f(TRADES), 2)
    assert int(t["kind"]) == md.TRADE and int(t["side"]) == md.BUY
    assert int(t["price_e8"]) == parse_e8("42219.9") and int(t["qty_e8"]) == parse_e8("0.12060306")
    assert int(t["venue_id"]) == 130639474 and int(t["venue_id2"]) == 1234
    crossed = dict(BBO, data=[dict(BBO["data"][0], bids=[["111.07", "1", "0", "1"]])])
    assert len(n.normalize(_f(crossed), 3)) == 0 and n.counters.crossed_quotes == 1


def test_replies_errors_unknown_channels_and_pong():
    n = _norm()
    assert len(n.normalize(_f(SUBSCRIBED), 1)) == 0 and n.counters.control_messages == 1
    assert len(n.normalize(_f(ERROR), 1)) == 0
    assert n.counters.venue_errors == 1 and n.counters.refused_subscriptions == 1
    assert len(n.normalize(b"pong", 1)) == 0 and n.counters.pongs == 1
    other = dict(TRADES, arg={"channel": "candle1m", "instId": "BTC-USDT"})
    assert len(n.normalize(_f(other), 1)) == 0 and n.counters.unknown_events == 1
    eth = dict(TRADES, arg={"channel": "trades", "instId": "ETH-USDT"})
    assert len(n.normalize(_f(eth), 1)) == 0 and n.counters.unknown_symbols == 1
    bad = dict(TRADES, data=[dict(TRADES["data"][0], side="up")])
    assert len(n.normalize(_f(bad), 1)) == 0 and n.counters.bad_fields == 1
    assert len(n.normalize(b"[1,2", 1)) == 0 and n.counters.malformed_json == 1


def test_instrument_ids_and_the_keepalive():
    assert inst_id("btcusdt") == "BTC-USDT" and inst_id("BTCUSDTSWAP") == "BTC-USDT-SWAP"
    (conn,) = venues.get("okx").connections("ws://127.0.0.1:5", ["btcusdt", "ethusdt"], ["bbo-tbt"])
    assert conn.url == "ws://127.0.0.1:5/ws/v5/public"
    assert conn.app_ping == b"ping" and conn.app_ping_idle and conn.app_ping_s < 30
    (msg,) = [orjson.loads(m) for m in conn.subscribe_messages(conn.subscribe)]
    assert msg == {"op": "subscribe", "args": [{"channel": "bbo-tbt", "instId": "BTC-USDT"},
                                               {"channel": "bbo-tbt", "instId": "ETH-USDT"}]}


def test_book_after_each_message_equals_a_brute_force_rebuild():
    """Random updates with gaps, idle heartbeats, sequence resets and checksums: after every
    message the book, and the consumer's rebuild from the records, equal a dict book from the
    frames while the book is live."""
    import random

    rng = random.Random(11)
    n = _norm()
    ref, consumer = DictBook(), ConsumerBook()
    prices = [f"{8400 + i}.5" for i in range(60)]
    seq, live = 100, False
    texts_b: dict[int, tuple] = {}
    texts_a: dict[int, tuple] = {}

    def cs():
        bids = [texts_b[p] for p in sorted(ref.bids, reverse=True)[:25]]
        asks = [texts_a[p] for p in sorted(ref.asks)[:25]]
        return checksum(bids, asks)

    for step in range(3000):
        r = rng.random()
        if not live:
            seq += rng.randint(1, 50)
            half = rng.randint(10, 50)
            b = [[p, f"{rng.randint(1, 9)}", "0", "1"] for p in prices[:half] if rng.random() < 0.7]
            a = [[p, f"{rng.randint(1, 9)}", "0", "1"] for p in prices[half:] if rng.random() < 0.7]
            ref.snapshot(b, a)
            texts_b = {parse_e8(p): (p, q) for p, q, *_ in b}
            texts_a = {parse_e8(p): (p, q) for p, q, *_ in a}
            frame = _snap(seq, b, a, cs())
            live = True
        elif r < 0.05:
            frame = _upd(seq, seq, cs=cs())  # idle
        else:
            prev = seq
            if r < 0.08:
                prev += 7  # a lost update
                live = False
            seq = rng.randint(1, 5) if r > 0.99 else prev + rng.randint(1, 30)
            b, a = [], []
            bb = max(ref.bids) if ref.bids else None
            ba = min(ref.asks) if ref.asks else None
            for _ in range(rng.randint(1, 4)):
                p = rng.choice(prices)
                pe = parse_e8(p)
                q = "0" if rng.random() < 0.3 else str(rng.randint(1, 20))
                if ba is None or pe < ba:
                    b.append((p, q))
                elif bb is None or pe > bb:
                    a.append((p, q))
            if live:
                ref.delta(b, a)
                for side, txt in ((b, texts_b), (a, texts_a)):
                    for p, q in side:
                        if parse_e8(q):
                            txt[parse_e8(p)] = (p, q)
                        else:
                            txt.pop(parse_e8(p), None)
            frame = _upd(prev, seq, b, a, cs() if live else 0)
        consumer.feed(n.normalize(frame, step).copy())
        book = n.book("BTCUSDT")
        if live and book.live:
            assert book.bids.as_dict() == ref.bids and book.asks.as_dict() == ref.asks, step
            assert consumer.bids == ref.bids and consumer.asks == ref.asks, step
            assert consumer.top == consumer.best(), step
        elif not book.live:
            assert consumer.bids == {} and consumer.asks == {}, step
    c = n.counters
    assert c.depth_gaps > 20 and c.idle_books > 20 and c.venue_resets > 5
    assert c.checksum_errors == 0 and c.crossed_books == 0
