"""The simulator's synthetic market in Binance USD-M's shape (hftshm/exchange/usdm_streams.py):
every stream in its documented shape on its routed path, silence on the wrong path, the futures
book sync (snapshot, ``pu`` continuity) ending on the simulator's own book, mark prices whose
next funding time is the ledger's, and liquidation events (at most the latest per symbol per
1000 ms) that ingest's normalizer turns into LIQUIDATION records with the documented fields."""

import asyncio
import time

import numpy as np
import orjson
import pytest

from hftshm.exchange import ExchangeConfig
from hftshm.exchange.market import I_T_NEXT
from hftshm.exchange.order_book import ASK, BID
from hftshm.exchange.usdm_streams import FuturesFeed, UsdmRenderer, next_funding_ms
from hftshm.feed.e8 import parse_e8
from hftshm.layouts import md
from hftshm.venues.binance_usdm import BinanceUsdmNormalizer

from ._helpers import connect, request, with_sim
from venues.book_check import ConsumerBook

MS = 1_000_000
KEYS = {  # the payload keys of each stream (USD-M docs and the vendored capture)
    "trade": {"e", "E", "T", "s", "t", "p", "q", "X", "m"},
    "aggTrade": {"e", "E", "a", "s", "p", "q", "f", "l", "T", "m"},
    "bookTicker": {"e", "u", "s", "b", "B", "a", "A", "T", "E"},
    "depth@100ms": {"e", "E", "T", "s", "U", "u", "pu", "b", "a"},
    "markPrice@1s": {"e", "E", "s", "p", "i", "P", "r", "T"},
    "forceOrder": {"e", "E", "o"},
}
ORDER_KEYS = {"s", "S", "o", "f", "q", "p", "ap", "X", "l", "z", "T"}
PUBLIC = ("bookTicker", "trade", "depth@100ms")
MARKET = ("aggTrade", "markPrice@1s", "forceOrder")


def _cfg(**kw):
    base = dict(port=0, symbols=("btcusdt", "ethusdt"), rate=1500.0, venue="binance_usdm", funding_interval_s=2.0,
                liquidations_per_s=50.0)
    return ExchangeConfig(**{**base, **kw})


async def _collect(ws, until: float, out: list) -> None:
    while time.monotonic() < until:
        try:
            frame = await asyncio.wait_for(ws.recv(), max(0.01, until - time.monotonic()))
        except TimeoutError:
            return
        out.append((time.time_ns(), frame))


def test_streams_on_their_routed_paths_in_the_documented_shapes():
    cfg = _cfg()

    async def body(sim):
        names = lambda kinds: "/".join(f"{s}@{k}" for s in ("btcusdt", "ethusdt") for k in kinds)  # noqa: E731
        public = await connect(sim, f"/public/stream?streams={names(PUBLIC)}")
        market = await connect(sim, f"/market/stream?streams={names(MARKET)}")
        wrong = await connect(sim, f"/market/stream?streams={names(PUBLIC)}")  # accepted, never sent
        got = {"public": [], "market": [], "wrong": []}
        until = time.monotonic() + 4.5
        await asyncio.gather(_collect(public, until, got["public"]), _collect(market, until, got["market"]),
                             _collect(wrong, until, got["wrong"]))
        books = {s: (sim.venue.markets[s].spec.tick_e8) for s in ("btcusdt", "ethusdt")}
        return got, books

    got, ticks = with_sim(cfg, body, timeout=30)
    assert got["wrong"] == [], "a /public stream asked for on /market must be silent"
    by_stream: dict[str, list[dict]] = {}
    for path, kinds in (("public", PUBLIC), ("market", MARKET)):
        for _, frame in got[path]:
            msg = orjson.loads(frame)
            kind = msg["stream"].partition("@")[2]
            assert kind in kinds, f"{msg['stream']} arrived on /{path}"
            by_stream.setdefault(msg["stream"], []).append(msg["data"])
    for s in ("btcusdt", "ethusdt"):
        for kind in PUBLIC + MARKET:
            msgs = by_stream.get(f"{s}@{kind}", [])
            assert msgs, f"no {s}@{kind}"
            for m in msgs:
                assert set(m) == KEYS[kind], (kind, m)
                assert m.get("s", m.get("o", {}).get("s")) == s.upper()
    # every frame normalizes, nothing refused
    norm = BinanceUsdmNormalizer({"BTCUSDT": 0, "ETHUSDT": 1})
    kinds = set()
    for recv_ns, frame in got["public"] + got["market"]:
        kinds.update(int(k) for k in norm.normalize(frame, recv_ns)["kind"])
    c = norm.counters
    assert c.bad_fields == c.unknown_events == c.malformed_json == c.unknown_symbols == 0
    assert c.trade_id_gaps == c.agg_trade_id_gaps == 0
    assert {md.TRADE, md.AGG_TRADE, md.QUOTE, md.MARK, md.LIQUIDATION} <= kinds
    # trades carry X = MARKET, bookTicker E = T, depth pu = the previous event's u
    for s in ("btcusdt", "ethusdt"):
        assert all(t["X"] == "MARKET" and t["E"] == t["T"] for t in by_stream[f"{s}@trade"])
        depth = by_stream[f"{s}@depth@100ms"]
        assert all(d["U"] <= d["u"] and d["E"] % 100 == 0 for d in depth)
        assert all(b["pu"] == a["u"] for a, b in zip(depth, depth[1:]))
        # marks: the book's mid, no index (i = P = p), the configured rate, the ledger's funding times
        for m in by_stream[f"{s}@markPrice@1s"]:
            assert m["E"] % 1000 == 0 and m["p"] == m["i"] == m["P"] and parse_e8(m["p"]) > 0
            assert m["r"] == "0.00010000"
            assert m["T"] == next_funding_ms(m["E"], 2.0) and m["T"] % 2000 == 0
        _check_liquidations(by_stream[f"{s}@forceOrder"], s, ticks[s])


def _check_liquidations(events: list[dict], symbol: str, tick_e8: int) -> None:
    """At most one a second (pushed on whole seconds), each an IOC filled whole beyond the touch."""
    pushed = [e["E"] for e in events]
    assert all(e % 1000 == 0 for e in pushed) and all(b - a >= 1000 for a, b in zip(pushed, pushed[1:]))
    for e in events:
        o = e["o"]
        assert set(o) == ORDER_KEYS and o["s"] == symbol.upper()
        assert (o["o"], o["f"], o["X"]) == ("LIMIT", "IOC", "FILLED")
        assert o["S"] in ("BUY", "SELL") and o["q"] == o["l"] == o["z"] and parse_e8(o["q"]) > 0
        assert e["E"] - 1000 < o["T"] <= e["E"]
        p, ap = parse_e8(o["p"]), parse_e8(o["ap"])
        beyond = (p - ap if o["S"] == "BUY" else ap - p) // tick_e8
        assert 1 <= beyond <= 10 and (p - ap) % tick_e8 == 0


def test_liquidation_records_carry_the_documented_fields():
    """A forceOrder frame from the simulator -> one LIQUIDATION record: side S, price p,
    quantity q, average price ap, filled z, exch_ns E, txn_ns T."""
    cfg = _cfg(symbols=("btcusdt",), liquidations_per_s=200.0)

    async def body(sim):
        ws = await connect(sim, "/market/ws/btcusdt@forceOrder")
        frames = []
        await _collect(ws, time.monotonic() + 3.5, frames)
        return frames

    frames = with_sim(cfg, body, timeout=20)
    assert len(frames) >= 2, "expected a liquidation each second at 200 a second"
    norm = BinanceUsdmNormalizer({"BTCUSDT": 0})
    for recv_ns, frame in frames:
        e = orjson.loads(frame)
        o = e["o"]
        recs = norm.normalize(frame, recv_ns)
        assert len(recs) == 1
        r = recs[0]
        assert int(r["kind"]) == md.LIQUIDATION and int(r["symbol_id"]) == 0
        assert int(r["side"]) == (md.BUY if o["S"] == "BUY" else md.SELL)
        assert (int(r["price_e8"]), int(r["qty_e8"]), int(r["price2_e8"]), int(r["qty2_e8"])) == (
            parse_e8(o["p"]), parse_e8(o["q"]), parse_e8(o["ap"]), parse_e8(o["z"]))
        assert (int(r["exch_ns"]), int(r["txn_ns"]), int(r["recv_ns"])) == (e["E"] * MS, o["T"] * MS, recv_ns)


def test_futures_book_from_snapshot_and_diffs_is_the_simulators():
    """depth@0ms and depth@100ms, each on its own connection with its own book: the snapshot from
    /ws-fapi/v1 straddles at the first try, every event continues the last (pu), and once the
    flow stops the rebuilt book is the simulator's, level for level."""
    cfg = _cfg(symbols=("btcusdt",), rate=3000.0, liquidations_per_s=0.0)

    async def body(sim):
        api = await connect(sim, "/ws-fapi/v1")
        lock = asyncio.Lock()
        ids = iter(range(1, 1000))
        stop = asyncio.Event()

        async def follow(stream):
            ws = await connect(sim, f"/public/ws/btcusdt@{stream}")
            norm = BinanceUsdmNormalizer({"BTCUSDT": 0})
            book = ConsumerBook()
            asked = 0
            last = None
            while True:
                try:
                    frame = await asyncio.wait_for(ws.recv(), 0.3)
                except TimeoutError:
                    if stop.is_set():  # the flow stopped and everything sent has been read
                        break
                    continue
                last = orjson.loads(frame)
                book.feed(norm.normalize(frame, time.time_ns()))
                if norm.wants_snapshot() and asked < 5:
                    asked += 1
                    async with lock:
                        resp = await request(api, "depth", {"symbol": "BTCUSDT", "limit": 1000}, next(ids))
                    snap = resp["result"]
                    assert {"lastUpdateId", "E", "T", "bids", "asks"} <= set(snap)
                    book.feed(norm.apply_snapshot("BTCUSDT", snap, time.time_ns()))
            return norm, book, last

        tasks = [asyncio.create_task(follow(s)) for s in ("depth@0ms", "depth@100ms")]
        await asyncio.sleep(3.0)
        m = sim.venue.markets["btcusdt"]
        m.ist[I_T_NEXT] = 1 << 62  # the flow stops; the open windows still close and go out
        await asyncio.sleep(0.6)
        stop.set()
        results = await asyncio.gather(*tasks)
        tick, step = m.spec.tick_e8, m.spec.step_e8
        venue = ({int(p) * tick: int(q) * step for p, q in zip(m.px[BID], m.qty[BID])},
                 {int(p) * tick: int(q) * step for p, q in zip(m.px[ASK], m.qty[ASK])}, m.update_id)
        return results, venue

    results, (bids, asks, last_id) = with_sim(cfg, body, timeout=30)
    for norm, book, last in results:
        c = norm.counters
        assert c.snapshots_applied == 1, "the first snapshot must bridge"
        assert c.depth_gaps == c.straddle_misses == c.crossed_books == c.bad_snapshots == 0
        assert last["u"] == last_id
        assert book.bids == bids and book.asks == asks


def test_feed_pushes_marks_each_second_and_at_most_one_liquidation_per_symbol_per_second():
    """Sans-I/O: 20 s of ticks every 7 ms at a high liquidation rate -> one mark and one
    liquidation per symbol per whole second, stamped on it, liquidated in the second before;
    markPrice (3 s) on multiples of 3 s; none at rate 0."""
    from hftshm.exchange.venue import Venue

    for rate, expect in ((500.0, True), (0.0, False)):
        cfg = _cfg(liquidations_per_s=rate, funding_interval_s=5.0)
        venue = Venue(cfg)
        feed = FuturesFeed(cfg, venue.markets, {s: UsdmRenderer(spec) for s, spec in cfg.specs.items()})
        t0 = 1_700_000_000_000 * MS
        msgs = []
        for t in range(t0, t0 + 20_000 * MS, 7 * MS):
            msgs.extend(feed.tick(t))
        streams = [m.stream for m in msgs]
        for s in ("btcusdt", "ethusdt"):
            marks = [orjson.loads(m.payload) for m in msgs if m.stream == f"{s}@markPrice@1s"]
            assert [m["E"] for m in marks] == list(range(t0 // MS + 1000, t0 // MS + 20_000, 1000))
            assert all(m["T"] == (m["E"] // 5000 + 1) * 5000 for m in marks)
            slow = [orjson.loads(m.payload)["E"] for m in msgs if m.stream == f"{s}@markPrice"]
            assert slow and all(e % 3000 == 0 for e in slow) and np.all(np.diff(slow) == 3000)
            liqs = [orjson.loads(m.payload) for m in msgs if m.stream == f"{s}@forceOrder"]
            if expect:
                assert [e["E"] for e in liqs] == [m["E"] for m in marks]
                _check_liquidations(liqs, s, cfg.specs[s].tick_e8)
            else:
                assert liqs == []
        assert len(streams) == len(msgs)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), 1001.0])
def test_liquidation_rate_is_checked(bad):
    with pytest.raises(ValueError, match="liquidations_per_s must be a number 0..1000"):
        _cfg(liquidations_per_s=bad)
