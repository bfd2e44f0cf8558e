"""Literal-input tests of the feed's sans-I/O pieces: frame splitting, URLs, pacing."""

from __future__ import annotations

import random

import pytest

from hftshm.venues.binance_spot.urls import combined_url, stream_names, subscribe_messages
from hftshm.feed.pacing import Backoff, OutgoingBudget
from hftshm.feed.wsframes import FrameSplitter


def frame(payload: bytes, first: int = 0x81, masked: bool = False) -> bytes:
    n = len(payload)
    if n < 126:
        head = bytes((first, n | (0x80 if masked else 0)))
    elif n < 65536:
        head = bytes((first, 126 | (0x80 if masked else 0))) + n.to_bytes(2, "big")
    else:
        head = bytes((first, 127 | (0x80 if masked else 0))) + n.to_bytes(8, "big")
    return head + (b"\0\0\0\0" if masked else b"") + payload


def test_splits_text_frames_of_every_length_form_across_any_chunking():
    payloads = [b"{}", b"x" * 125, b"y" * 126, b"z" * 70000, b'{"u":1}']
    stream = b"".join(frame(p) for p in payloads)
    for cut in (1, 2, 3, 7, 126, 4096, len(stream)):
        sp = FrameSplitter()
        got = []
        for i in range(0, len(stream), cut):
            sp.feed(stream[i:i + cut])
            texts, other = sp.take()
            assert other is None
            got += texts
        assert got == payloads and sp.buffered == 0


def test_other_frames_come_back_whole_and_in_order():
    ping, close = frame(b"hi", 0x89), frame(b"\x03\xe8", 0x88)
    first_fragment = frame(b"part", 0x01)
    sp = FrameSplitter()
    sp.feed(frame(b"a") + ping + frame(b"b") + first_fragment + close)
    assert sp.take() == ([b"a"], ping)
    assert sp.take() == ([b"b"], first_fragment)
    assert sp.take() == ([], close)
    assert sp.take() == ([], None)


def test_masked_or_oversized_frames_pass_everything_through():
    sp = FrameSplitter(max_size=10)
    big = frame(b"x" * 11)
    sp.feed(frame(b"ok") + big + frame(b"later"))
    assert sp.take() == ([b"ok"], big + frame(b"later"))
    sp.feed(b"more")
    assert sp.take() == ([], b"more") and sp.passthrough
    sp = FrameSplitter()
    masked = frame(b"m", masked=True)
    sp.feed(masked)
    assert sp.take() == ([], masked)


def test_combined_url_and_subscribe_overflow():
    names = stream_names(["BTCUSDT", "ethusdt"], ["trade", "depth@100ms"])
    assert names == ["btcusdt@trade", "btcusdt@depth@100ms", "ethusdt@trade", "ethusdt@depth@100ms"]
    url, rest = combined_url("wss://stream.binance.com:9443/", names)
    assert url == ("wss://stream.binance.com:9443/stream?streams="
                   "btcusdt@trade/btcusdt@depth@100ms/ethusdt@trade/ethusdt@depth@100ms") and rest == []
    url, rest = combined_url("ws://127.0.0.1:1/stream", names, max_url=60)
    assert url == "ws://127.0.0.1:1/stream?streams=btcusdt@trade" and rest == names[1:]
    assert subscribe_messages(rest, first_id=5, chunk=2) == [
        b'{"method":"SUBSCRIBE","params":["btcusdt@depth@100ms","ethusdt@trade"],"id":5}',
        b'{"method":"SUBSCRIBE","params":["ethusdt@depth@100ms"],"id":6}']
    with pytest.raises(ValueError, match="ws://"):
        combined_url("https://x", names)
    with pytest.raises(ValueError, match="1024"):
        stream_names([f"s{i}usdt" for i in range(600)], ["trade", "bookTicker"])


def test_backoff_grows_with_jitter_is_capped_and_resets():
    b = Backoff(0.1, 1.0, random.Random(1))
    delays = [b.next() for _ in range(8)]
    assert all(0.1 <= d <= 1.0 for d in delays)
    assert all(d <= 0.1 * 2 ** i for i, d in enumerate(delays))
    b.reset()
    assert b.next() == 0.1
    with pytest.raises(ValueError):
        Backoff(0, 1)


def test_outgoing_budget_allows_five_a_second():
    budget = OutgoingBudget(5.0, now=100.0)
    assert sum(budget.try_take(100.0) for _ in range(10)) == 5
    assert budget.delay(100.0) == pytest.approx(0.2)
    assert budget.try_take(100.2) and not budget.try_take(100.2)
    taken = sum(budget.try_take(100.2 + i * 0.05) for i in range(40))  # 1.95 s more
    assert taken == 9  # never more than 5 a second


def test_a_failing_connection_stops_the_others_before_ingest_ends():
    """USD-M reads over two connections: when one session fails, the other is stopped and has
    closed before run_async raises (after it, on_close lets the md ring go)."""
    import asyncio

    from hftshm.workers.ingest import IngestAgent

    events = []

    class Failing:
        async def run(self, stop):
            await asyncio.sleep(0.01)
            raise ConnectionError("a session's own failure")

    class Reading:
        async def run(self, stop):
            await stop.wait()
            await asyncio.sleep(0.05)  # closing its socket takes a while
            events.append("closed")

    agent = IngestAgent.__new__(IngestAgent)
    agent.sessions = [Failing(), Reading()]

    async def main():
        stop = asyncio.Event()
        try:
            await agent.run_async(stop)
        except ConnectionError:
            events.append("raised")
        return stop.is_set()

    assert asyncio.run(main()) is True
    assert events == ["closed", "raised"]
