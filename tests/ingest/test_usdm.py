"""Binance USD-M through the simulator: the real capture replayed on the routed paths and ingested
by the worker equals the normalizer's direct reading, field by field; a connection on the wrong
path is detected as "connected but silent"; configs that ask a venue for what it does not serve
are refused."""

from __future__ import annotations

import asyncio
import logging

import pytest
from hftshm.exchange.thread import SimThread
from support import USDM_CAPTURE

from hftshm.errors import ConfigError
from hftshm.exchange import ExchangeConfig
from hftshm.feed.capture import iter_capture
from hftshm.feed.pipeline import FeedPipeline
from hftshm.feed.session import FeedSession
from hftshm.layouts import md
from hftshm.runtime import config as config_mod
from hftshm.runtime.config import FeedConfig
from hftshm.venues import Connection, get
from hftshm.venues.binance_usdm import BinanceUsdmNormalizer

IGNORED = ("seq", "recv_ns", "publish_ns")
LINES = 93_953  # capture lines that are stream frames (the snapshot is served, not streamed)


@pytest.fixture(scope="module")
def usdm_sim():
    # 100x (the 345 s capture in 3.5 s), not inf: as fast as the reader drains, the depth
    # snapshot's answer could come after the book's 1,000-diff buffer had overflowed, and the
    # recorded snapshot then never straddles (as in tests/ingest/test_worker.py)
    s = SimThread(ExchangeConfig(port=0, replay=USDM_CAPTURE, speed=100.0))
    yield s
    s.close()


def _fields(rec) -> tuple:
    return tuple(rec[name].item() for name in md.DTYPE.names if name not in IGNORED)


def _channels(recs) -> dict[str, list[tuple]]:
    ch = {"trade": [], "ticker": [], "book": []}
    for r in recs:
        kind = int(r["kind"])
        if kind == md.TRADE:
            ch["trade"].append(_fields(r))
        elif kind == md.QUOTE and not int(r["flags"]) & md.F_FROM_BOOK:
            ch["ticker"].append(_fields(r))
        else:
            ch["book"].append(_fields(r))
    return ch


def _direct() -> dict[str, list[tuple]]:
    norm = BinanceUsdmNormalizer({"BTCUSDT": 0})
    out = []
    for recv, frame in iter_capture(USDM_CAPTURE):
        if frame.startswith(b'{"lastUpdateId"'):
            out.extend(norm.apply_snapshot("BTCUSDT", frame, recv).copy())
        else:
            out.extend(norm.normalize(frame, recv).copy())
    for r in out:  # the ring names the venue in every record it publishes
        r["venue"] = md.VENUE_CODES["binance_usdm"]
    return _channels(out)


def _config(inst, port: int, **venue) -> str:
    data = {"instance": inst.name, "strategies": [],
            "venue": {"kind": "binance_usdm", "stream_url": f"ws://127.0.0.1:{port}",
                      "api_url": f"ws://127.0.0.1:{port}/ws-fapi/v1", "symbols": ["btcusdt"],
                      "streams": ["trade", "bookTicker", "depth@0ms"], **venue},
            "feed": {"stale_after_s": 300}}  # the replay ends; a stale reconnect would replay it
    return config_mod.from_dict(data).to_json()


def test_replayed_usdm_capture_gives_the_normalizers_records(ingest_instance, usdm_sim):
    expected = _direct()
    total = sum(len(v) for v in expected.values())
    inst = ingest_instance
    inst.start(_config(inst, usdm_sim.port))
    got = _channels(inst.read_until(lambda r: len(r) >= total, timeout=120))
    assert {k: len(v) for k, v in got.items()} == {k: len(v) for k, v in expected.items()}
    for name in expected:
        for i, (a, b) in enumerate(zip(got[name], expected[name])):
            assert a == b, f"{name} record {i}"
    c = inst.wait_counters(lambda c: c["msgs"] == LINES, timeout=60)
    assert c["snapshots"] == 1 and c["depth_gaps"] == c["trade_gaps"] == c["crossed"] == 0
    assert c["connects"] == 1 and c["silent"] == 0 and c["bad_fields"] == 0
    assert inst.stop() == 0


class _Publisher:
    def publish(self, recs):
        raise AssertionError("nothing may arrive on the wrong path")

    publish_batch = publish


def _silent_run(url: str, stale_s: float) -> tuple[FeedSession, dict]:
    counts: dict[str, int] = {}

    def count(name, n=1):
        counts[name] = counts.get(name, 0) + n

    pipeline = FeedPipeline(BinanceUsdmNormalizer({"BTCUSDT": 0}), _Publisher())
    feed = FeedConfig(stale_after_s=stale_s, reconnect_min_s=0.05, reconnect_max_s=0.1)
    session = FeedSession("", ["btcusdt@bookTicker"], pipeline, feed, count,
                          connection=Connection(url, [], ["btcusdt@bookTicker"]),
                          silent_hint=get("binance_usdm").silent_hint)

    async def main():
        stop = asyncio.Event()
        task = asyncio.ensure_future(session.run(stop))
        for _ in range(400):  # up to 20 s: a loaded machine
            await asyncio.sleep(0.05)
            if counts.get("silent", 0) >= 2:
                break
        stop.set()
        await task

    asyncio.run(main())
    return session, counts


def test_wrong_url_path_is_detected_as_connected_but_silent(usdm_sim, caplog):
    """bookTicker is a /public stream: on /market the venue accepts it and sends nothing."""
    caplog.set_level(logging.WARNING, "hftshm.feed")
    url = f"ws://127.0.0.1:{usdm_sim.port}/market/stream?streams=btcusdt@bookTicker"
    session, counts = _silent_run(url, 0.3)
    assert counts.get("silent", 0) >= 2 and counts.get("connects", 0) >= 2
    assert counts.get("stale", 0) == 0 and session.pipeline.messages == 0
    warned = [r.getMessage() for r in caplog.records if "connected but silent" in r.getMessage()]
    assert warned and url in warned[0] and "/public" in warned[0]


def test_unrouted_path_gets_public_streams_only(usdm_sim):
    """No routed path is /public's: bookTicker flows on /stream, as on the venue."""
    counts: dict[str, int] = {}
    pipeline = FeedPipeline(BinanceUsdmNormalizer({"BTCUSDT": 0}), _Counting())
    feed = FeedConfig(stale_after_s=5.0)
    url = f"ws://127.0.0.1:{usdm_sim.port}/stream?streams=btcusdt@bookTicker"
    session = FeedSession("", [], pipeline, feed, lambda n, k=1: counts.__setitem__(n, counts.get(n, 0) + k),
                          connection=Connection(url, [], ["btcusdt@bookTicker"]))

    async def main():
        stop = asyncio.Event()
        task = asyncio.ensure_future(session.run(stop))
        for _ in range(400):
            await asyncio.sleep(0.05)
            if pipeline.records >= 1000:
                break
        stop.set()
        await task

    asyncio.run(main())
    assert pipeline.records >= 1000 and counts.get("silent", 0) == 0


class _Counting:
    def publish(self, recs):
        assert int(recs[0]["kind"]) == md.QUOTE

    publish_batch = publish


@pytest.mark.parametrize("venue, streams, message", [
    ({"kind": "binance_usdm"}, ["depth@100ms", "depth"], "Binance USD-M does not serve stream 'depth'"),
    ({"kind": "binance"}, ["markPrice@1s"], "Binance Spot does not serve stream 'markPrice@1s'"),
    ({"kind": "binance_spot"}, ["forceOrder"], "Binance Spot does not serve stream 'forceOrder'"),
])
def test_config_refuses_streams_the_venue_does_not_serve(venue, streams, message):
    with pytest.raises(ConfigError, match=message):
        config_mod.from_dict({"venue": {**venue, "symbols": ["btcusdt"], "streams": streams}, "strategies": []})


def test_config_fills_the_venue_urls_and_keeps_binance_as_spot():
    usdm = config_mod.from_dict({"venue": {"kind": "binance_usdm", "streams": ["markPrice@1s", "bookTicker"]},
                                 "strategies": []})
    assert usdm.venue.stream_url == "wss://fstream.binance.com"
    assert usdm.venue.api_url == "wss://ws-fapi.binance.com/ws-fapi/v1"
    spot = config_mod.from_dict({"venue": {"kind": "binance"}, "strategies": []})
    assert spot.venue.stream_url == "wss://stream.binance.com:9443"
    # USD-M orders go to the venue (hftshm.venues.binance_usdm's order protocol)
    traded = config_mod.from_dict({"venue": {"kind": "binance_usdm", "streams": ["trade"]},
                                   "strategies": [{"name": "m", "kind": "momentum", "symbols": ["btcusdt"]}]})
    assert traded.strategies and traded.venue.api_url == "wss://ws-fapi.binance.com/ws-fapi/v1"
    # the simulator's synthetic USD-M market trades (its default strategy too); a replayed capture does not
    sim = config_mod.from_dict({"sim": {"venue": "binance_usdm"}, "venue": {"streams": ["trade"]}})
    assert sim.strategies and sim.sim.venue == "binance_usdm"
    with pytest.raises(ConfigError, match=r"\[sim\] venue = \"binance_usdm\" with \[sim\] replay: .*strategies = \[\]"):
        config_mod.from_dict({"sim": {"venue": "binance_usdm", "replay": str(USDM_CAPTURE)},
                              "venue": {"streams": ["trade"]}})


MARK = ('{"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":%d,"s":"BTCUSDT",'
        '"p":"61800.10000000","i":"61790.20000000","P":"61795.00000000","r":"-0.00010000","T":1723190400000}}')
LIQ = ('{"stream":"btcusdt@forceOrder","data":{"e":"forceOrder","E":%d,"o":{"s":"BTCUSDT","S":"BUY",'
       '"o":"LIMIT","f":"IOC","q":"0.014","p":"61900.0","ap":"61910.5","X":"FILLED","l":"0.014","z":"0.014",'
       '"T":%d}}}')
TICK = ('{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":%d,"s":"BTCUSDT","b":"61800.20",'
        '"B":"2.507","a":"61800.30","A":"2.510","T":%d,"E":%d}}')


def test_worker_reads_both_routed_paths(ingest_instance, tmp_path):
    """bookTicker on /public and markPrice + forceOrder on /market: two connections, every
    frame's record arrives once, MARK and LIQUIDATION field by field."""
    E = 1723161256000
    lines = []
    for i in range(50):
        lines.append((1000 + 3 * i, TICK % (100 + i, E + i, E + i)))
        lines.append((1001 + 3 * i, MARK % (E + i)))
    lines.append((2000, LIQ % (E + 99, E + 98)))
    cap = tmp_path / "usdm.capture"
    cap.write_text("".join(f"{ns} {frame}\n" for ns, frame in lines))
    sim = SimThread(ExchangeConfig(port=0, replay=cap, speed=float("inf")))
    try:
        inst = ingest_instance
        inst.start(_config(inst, sim.port, streams=["bookTicker", "markPrice@1s", "forceOrder"]))
        recs = inst.read_until(lambda r: len(r) >= 101, timeout=60)
        # the gauge and the counts are separate words: wait for all of them (a loaded CI run read
        # connected == 2 before the second connection's connects count)
        c = inst.wait_counters(lambda c: c["msgs"] == 101 and c["connected"] == 2 and c["connects"] == 2, timeout=30)
        assert c["connects"] == 2 and c["silent"] == 0 and c["bad_fields"] == 0 and c["records"] == 101
        kinds = [int(r["kind"]) for r in recs]
        assert kinds.count(md.QUOTE) == 50 and kinds.count(md.MARK) == 50 and kinds.count(md.LIQUIDATION) == 1
        marks = [r for r in recs if int(r["kind"]) == md.MARK]
        assert [int(r["exch_ns"]) for r in marks] == [(E + i) * 1_000_000 for i in range(50)]
        m = marks[0]
        assert (int(m["price_e8"]), int(m["qty_e8"]), int(m["price2_e8"]), int(m["qty2_e8"]), int(m["txn_ns"])) == (
            6_180_010_000_000, -10_000, 6_179_020_000_000, 6_179_500_000_000, 1723190400000 * 1_000_000)
        (liq,) = [r for r in recs if int(r["kind"]) == md.LIQUIDATION]
        assert (int(liq["side"]), int(liq["price_e8"]), int(liq["qty_e8"]), int(liq["price2_e8"]), int(liq["qty2_e8"]),
                int(liq["exch_ns"]), int(liq["txn_ns"])) == (md.BUY, 6_190_000_000_000, 1_400_000, 6_191_050_000_000,
                                                            1_400_000, (E + 99) * 1_000_000, (E + 98) * 1_000_000)
        assert inst.stop() == 0
    finally:
        sim.close()
