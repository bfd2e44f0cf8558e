"""Bybit and OKX through the simulator's synthetic public streams (hftshm/exchange/inband.py):
the feed session subscribes, pings, detects gaps and resyncs by subscribing again; venue
restarts (Bybit ``u`` = 1, OKX ``seqId`` reset), depth-1 re-sends and idle OKX books are seen
and counted; the book a consumer rebuilds from the records equals the normalizer's book, and
OKX's checksum (computed by the simulator from its own book) never fails. Then the ingest
worker itself, for each venue, into an md ring."""

from __future__ import annotations

import asyncio
import time

import pytest

from hftshm import venues
from hftshm.exchange.config import ExchangeConfig
from hftshm.exchange.thread import SimThread
from hftshm.feed.pipeline import FeedPipeline
from hftshm.feed.session import FeedSession
from hftshm.layouts import md
from hftshm.runtime import config as config_mod
from hftshm.runtime.config import FeedConfig

from .book_check import ConsumerBook

CASES = {
    "bybit_linear": (["orderbook.50", "publicTrade", "tickers"], "/v5/public/linear", "reset_every=150"),
    "bybit_spot": (["orderbook.1", "publicTrade"], "/v5/public/spot", "resend_every=5"),
    "okx": (["books", "bbo-tbt", "trades"], "/ws/v5/public", "reset_every=150&idle_every=7"),
}


@pytest.fixture(scope="module")
def sim():
    s = SimThread(ExchangeConfig(port=0, symbols=("btcusdt", "ethusdt"), rate=2000.0))
    yield s
    s.close()


class _Collect:
    def __init__(self):
        self.books = {0: ConsumerBook(), 1: ConsumerBook()}
        self.kinds: dict[int, int] = {}

    def publish(self, recs):
        self.publish_batch(recs)

    def publish_batch(self, recs):
        recs = recs.copy()
        for sid in (0, 1):
            self.books[sid].feed(recs[recs["symbol_id"] == sid])
        for k in recs["kind"]:
            self.kinds[int(k)] = self.kinds.get(int(k), 0) + 1


@pytest.mark.parametrize("kind", list(CASES))
def test_session_resyncs_gaps_and_the_consumer_book_matches(sim, kind):
    streams, path, query = CASES[kind]
    venue = venues.get(kind)
    url = f"ws://127.0.0.1:{sim.port}{path}?gap_every=201&{query}"
    (conn,) = venue.connections(url, ["btcusdt", "ethusdt"], streams)
    norm = venue.normalizer({"BTCUSDT": 0, "ETHUSDT": 1})
    sink = _Collect()
    pipeline = FeedPipeline(norm, sink)
    counts: dict[str, int] = {}
    session = FeedSession("", [], pipeline, FeedConfig(stale_after_s=30.0), 
                          lambda n, k=1: counts.__setitem__(n, counts.get(n, 0) + k), connection=conn)
    c = norm.counters
    checked = [0]

    def done() -> bool:
        if kind == "bybit_spot":  # depth 1: only snapshots; a lost one shows as a u jump
            return c.depth_gaps >= 2 and c.resends >= 3 and pipeline.messages >= 3000
        enough = c.depth_gaps >= 2 and c.snapshots_applied >= 4 and pipeline.messages >= 3000
        # every resubscription answered (the replies of the last one may still be on their way)
        enough = enough and c.control_messages >= 1 + 2 * counts.get("snap_requests", 0)
        if kind == "okx":
            return enough and c.idle_books >= 3 and c.venue_resets >= 1
        return enough and c.venue_resets >= 1

    async def main():
        stop = asyncio.Event()
        task = asyncio.ensure_future(session.run(stop))
        deadline = time.monotonic() + 180  # the conditions come in seconds; a loaded machine is slower
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            for sid, name in ((0, "BTCUSDT"), (1, "ETHUSDT")):
                book = norm.book(name)
                if book.live:  # between reads: the consumer has every record of the book
                    assert sink.books[sid].bids == book.bids.as_dict(), name
                    assert sink.books[sid].asks == book.asks.as_dict(), name
                    checked[0] += 1
                else:
                    assert not sink.books[sid].bids and not sink.books[sid].asks
            if done() and checked[0] > 20:
                break
        stop.set()
        await task

    started = time.monotonic()
    asyncio.run(main())
    assert done(), (f"{kind}: {c.as_dict()} counts {counts} messages {pipeline.messages} "
                    f"in {time.monotonic() - started:.1f} s")
    assert checked[0] > 20
    assert c.bad_fields == c.malformed_json == c.unknown_events == c.venue_errors == 0, c.as_dict()
    assert c.crossed_books == 0 and c.checksum_errors == 0, c.as_dict()
    if kind != "bybit_spot":
        assert counts.get("snap_requests", 0) >= 2  # gaps asked for new snapshots (resubscribed)
        assert c.control_messages >= 1 + 2 * counts["snap_requests"]  # (un)subscription replies
    assert sink.kinds.get(md.TRADE, 0) > 100 and sink.kinds.get(md.LEVEL, 0) > 20
    if kind == "bybit_linear":
        assert sink.kinds.get(md.MARK, 0) > 10
    if kind == "okx":
        assert sink.kinds.get(md.QUOTE, 0) > 100


@pytest.mark.parametrize("kind", list(CASES))
def test_the_simulator_refuses_an_unknown_topic(sim, kind):
    from websockets.sync.client import connect

    _, path, _ = CASES[kind]
    norm = venues.get(kind).normalizer({"BTCUSDT": 0})
    bad = (b'{"op":"subscribe","args":[{"channel":"books","instId":"XYZ-USDT"}]}' if kind == "okx"
           else b'{"op":"subscribe","args":["orderbook.40.BTCUSDT"]}')
    with connect(f"ws://127.0.0.1:{sim.port}{path}") as ws:
        ws.send(bad.decode())
        norm.normalize(ws.recv(10), 1)
        ws.send("ping" if kind == "okx" else '{"op":"ping"}')
        norm.normalize(ws.recv(10), 2)
    assert norm.counters.refused_subscriptions == 1 and norm.counters.venue_errors == 1
    assert norm.counters.pongs == 1


@pytest.mark.parametrize("kind", list(CASES))
def test_the_ingest_worker_ingests_each_venue(ingest_instance, sim, kind):
    streams, _, _ = CASES[kind]
    inst = ingest_instance
    data = {"instance": inst.name, "strategies": [],
            "venue": {"kind": kind, "stream_url": f"ws://127.0.0.1:{sim.port}", "symbols": ["btcusdt", "ethusdt"],
                      "streams": streams},
            "feed": {"stale_after_s": 30}}
    inst.start(config_mod.from_dict(data).to_json())
    recs = inst.read_until(lambda r: sum(int(x["kind"]) == md.TRADE for x in r) >= 50
                           and sum(int(x["kind"]) == md.LEVEL for x in r) >= 50, timeout=90)
    syms = {int(r["symbol_id"]) for r in recs}
    assert syms == {0, 1}  # the ring's table: BTCUSDT, ETHUSDT
    assert {int(r["venue"]) for r in recs} == {md.VENUE_CODES[kind]}  # every record names its venue
    c = inst.wait_counters(lambda c: c["snapshots"] >= 2 and c["msgs"] >= 200, timeout=60)
    assert c["connects"] == 1 and c["conn_errors"] == 0 and c["silent"] == 0
    assert c["bad_fields"] == c["malformed"] == c["unknown"] == c["venue_errors"] == 0, c
    assert c["control_msgs"] >= 1 and c["crossed"] == 0
    assert inst.stop() == 0
