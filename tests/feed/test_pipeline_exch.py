"""FeedPipeline's latency samples: once a read, ``exch_to_recv``, the read's receive stamp minus
the exchange time of the last record the read published, read from the record's bytes (or, for an
array that is not a plain contiguous md array, by field), none when that time is 0; and one
``recv_to_publish`` per message that published."""

from __future__ import annotations

import numpy as np

from hftshm.feed.pipeline import FeedPipeline
from hftshm.layouts import md
from hftshm.venues.binance_spot.counters import FeedCounters
from hftshm.venues.binance_usdm import BinanceUsdmNormalizer


class _Recorder:
    def __init__(self):
        self.samples = []

    def record(self, ns):
        self.samples.append(ns)

    def since(self, t0):
        self.samples.append(("since", t0))
        return 0


class _Publisher:
    def __init__(self):
        self.published = []

    def publish(self, recs):
        self.published.append(recs.copy())

    def publish_batch(self, recs):
        self.published.append(recs.copy())


class _Scripted:
    """A normalizer that returns the arrays it was given, one per message."""

    counters = FeedCounters()

    def __init__(self, outputs):
        self.outputs = list(outputs)

    def normalize(self, frame, recv_ns):
        return self.outputs.pop(0)

    def wants_snapshot(self):
        return False


def _records(exch_values):
    recs = np.zeros(len(exch_values), md.DTYPE)
    recs["exch_ns"] = exch_values
    recs["kind"] = md.QUOTE
    return recs


def _sampled(outputs, recv_ns=10_000):
    e2r = _Recorder()
    pipe = FeedPipeline(_Scripted(outputs), _Publisher(), exch_to_recv=e2r, hold_wakes=False)
    pipe.on_messages([b"m"] * len(outputs), recv_ns)
    return e2r.samples


def test_the_last_published_record_of_the_read():
    assert _sampled([_records([100]), _records([200, 300, 400]), _records([])]) == [10_000 - 400]
    assert _sampled([_records([400, 7])]) == [10_000 - 7]
    assert _sampled([_records([0])]) == []  # no exchange time (Spot's bookTicker)
    assert _sampled([_records([])]) == []
    assert _sampled([_records([9_999]), _records([0])]) == []  # the last published has none


def test_recv_to_publish_once_per_publishing_message():
    r2p = _Recorder()
    outputs = [_records([1]), _records([]), _records([2, 3]), _records([4])]
    pipe = FeedPipeline(_Scripted(outputs), _Publisher(), recv_to_publish=r2p, hold_wakes=False)
    pipe.on_messages([b"m"] * 4, 55)
    assert r2p.samples == [("since", 55)] * 3
    assert (pipe.messages, pipe.records) == (4, 4)


def test_a_strided_view_is_read_by_field():
    recs = _records([1, 2, 3, 4, 5])[::2]  # 1, 3, 5: not contiguous
    assert not recs.flags.c_contiguous
    assert _sampled([recs]) == [10_000 - 5]


def test_the_one_call_record():
    frame = (b'{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":1,"s":"BTCUSDT","b":"1","B":"1",'
             b'"a":"2","A":"1","T":1723161256313,"E":1723161256312}}')
    norm = BinanceUsdmNormalizer({"BTCUSDT": 0})
    e2r, pub = _Recorder(), _Publisher()
    pipe = FeedPipeline(norm, pub, exch_to_recv=e2r, hold_wakes=False)
    recv = 1723161256400 * 1_000_000
    pipe.on_messages([frame, frame], recv)
    assert e2r.samples == [recv - 1723161256312 * 1_000_000]
    assert [int(p["exch_ns"][0]) for p in pub.published] == [1723161256312 * 1_000_000] * 2


def test_after_publish_runs_once_per_read_or_snapshot_that_published():
    """The hosted feed's nudge: a read that published, and a depth snapshot that did, call it once;
    a read that published nothing does not."""
    calls = []

    class _Snapshots(_Scripted):
        def apply_snapshot(self, symbol, raw, recv_ns):
            return self.outputs.pop(0)

    pipe = FeedPipeline(_Snapshots([_records([1, 2]), _records([]), _records([3]), _records([])]), _Publisher(),
                        hold_wakes=False)
    pipe.after_publish = lambda: calls.append(1)
    pipe.on_messages([b"a"], 10)
    assert len(calls) == 1
    pipe.on_messages([b"b"], 11)  # nothing published
    assert len(calls) == 1
    assert pipe.apply_snapshot("BTCUSDT", b"{}", 12) == 1
    assert len(calls) == 2
    assert pipe.apply_snapshot("BTCUSDT", b"{}", 13) == 0
    assert len(calls) == 2
