"""The ingest worker end to end: simulator (in-process) -> worker subprocess -> md ring.

Forbidden outcomes: a message lost, duplicated or reordered on its way into the ring; a record
that differs from what the normalizer makes of the same frame; a fault that goes uncounted or
after which records stop flowing; a worker that does not stop cleanly on SIGTERM.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from hftshm.exchange.thread import SimThread
from support import CAPTURE

from hftshm.exchange import Faults, ExchangeConfig
from hftshm.venues.binance_spot import BinanceSpotNormalizer
from hftshm.feed.capture import iter_capture
from hftshm.layouts import md
from hftshm.runtime import control_layout as C

IGNORED = ("seq", "recv_ns", "publish_ns")  # set on the way, not by the frame


@pytest.fixture
def sim():
    made = []

    def start(**kw):
        s = SimThread(ExchangeConfig(port=0, **kw))
        made.append(s)
        return s

    yield start
    for s in made:
        s.close()


def _fields(rec) -> tuple:
    return tuple(rec[name].item() for name in md.DTYPE.names if name not in IGNORED)


def test_every_message_arrives_once_in_order(ingest_instance, sim):
    n = 3000
    s = sim(rate=20000, count=n)
    inst = ingest_instance
    inst.start(inst.config(s.port, streams=("trade",), symbols=("btcusdt", "ethusdt")))
    recs = inst.read_until(lambda r: len(r) >= n)
    time.sleep(0.3)  # nothing may follow
    recs += list(inst.reader.read_batch(1 << 14, copy=True))
    assert len(recs) == n
    arr = np.array(recs, dtype=md.DTYPE)
    assert (np.diff(arr["seq"]) == 1).all()
    assert (arr["kind"] == md.TRADE).all()
    for sid in (0, 1):  # each symbol's trade ids contiguous: none lost, duplicated or reordered
        ids = arr["venue_id"][arr["symbol_id"] == sid]
        assert len(ids) > 0 and (np.diff(ids) == 1).all()
    assert (arr["price"] == arr["price_e8"] / md.E8).all() and (arr["price_e8"] > 0).all()
    assert (arr["recv_ns"] >= arr["exch_ns"] - 10**9).all() and (arr["publish_ns"] >= arr["recv_ns"]).all()
    c = inst.wait_counters(lambda c: c["msgs"] == n)
    assert c["records"] == n and c["trade_gaps"] == 0 and c["malformed"] == 0 and c["connects"] == 1
    assert inst.latency.summary("recv_to_publish")["count"] == n
    assert inst.latency.summary("exch_to_recv")["count"] >= 1
    assert inst.stop() == 0


def _direct(lines) -> list[np.ndarray]:
    """The capture through the normalizer directly, as tests/feed do: one list of records."""
    norm = BinanceSpotNormalizer({"BTCUSDT": 0})
    out = []
    for recv, frame in lines:
        if frame.startswith(b'{"lastUpdateId"'):
            out.extend(norm.apply_snapshot("BTCUSDT", frame, recv).copy())
        else:
            out.extend(norm.normalize(frame, recv).copy())
    for r in out:  # the ring names the venue in every record it publishes
        r["venue"] = md.VENUE_CODES["binance_spot"]
    return out


def _channels(recs) -> dict[str, list[tuple]]:
    """Trades, bookTickers and book records (levels, resets, book quotes): each channel's order
    is fixed by the stream; how they interleave depends on when the snapshot reply came."""
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


def test_replayed_capture_gives_the_normalizers_records(ingest_instance, sim):
    # 100x (346 s in 3.5 s), not inf: as fast as the reader drains, the simulator's own loop
    # answered the depth snapshot only after 1,000 diffs had overflowed the book's buffer, once
    # the compiled book made the reader faster (the recorded snapshot then never straddles)
    s = sim(replay=CAPTURE, speed=100.0)
    expected = _channels(_direct(list(iter_capture(CAPTURE))))
    total = sum(len(v) for v in expected.values())
    inst = ingest_instance
    # The replay ends after the capture; a stale reconnect would play it again (a loaded machine
    # can take longer than 5 s to read it all here), so the watchdog waits longer than the test.
    inst.start(inst.config(s.port, streams=("trade", "bookTicker", "depth@100ms"), stale_after_s=300))
    got = _channels(inst.read_until(lambda r: len(r) >= total, timeout=60))
    assert {k: len(v) for k, v in got.items()} == {k: len(v) for k, v in expected.items()}
    for name in expected:
        for i, (a, b) in enumerate(zip(got[name], expected[name])):
            assert a == b, f"{name} record {i}"
    c = inst.wait_counters(lambda c: c["msgs"] == 41_248)
    assert c["snapshots"] == 1 and c["depth_gaps"] == c["trade_gaps"] == c["crossed"] == 0


FAULTS = {
    "disconnect": (dict(drop_every_s=0.6), {}, lambda c: c["reconnects"] >= 1 and c["connects"] >= 2),
    "stall": (dict(stall_every_s=1.0, stall_for_s=0.7), dict(stale_after_s=0.3),
              lambda c: c["stale"] >= 1 and c["connects"] >= 2),
    "malformed": (dict(malformed_every=20), {}, lambda c: c["malformed"] >= 1 and c["bad_fields"] >= 1),
    "gap": (dict(gap_every=15), {},
            lambda c: c["trade_gaps"] >= 1 and c["ids_missed"] >= 1 and c["depth_gaps"] >= 1
            and c["snapshots"] >= 2 and c["book_resets"] >= 2),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_is_counted_and_recovered_from(ingest_instance, sim, fault):
    faults, feed, detected = FAULTS[fault]
    s = sim(rate=2000, faults=Faults(**faults))
    inst = ingest_instance
    inst.start(inst.config(s.port, streams=("trade", "bookTicker", "depth@100ms"),
                           reconnect_min_s=0.05, reconnect_max_s=0.2, **feed))
    c = inst.wait_counters(detected, timeout=20)
    before = c["records"]
    # flowing again, over a connection the gauge shows open (a drop fault may be mid-reconnect)
    c = inst.wait_counters(lambda c: c["records"] >= before + 200 and c["connected"] == 1, timeout=20)
    assert c["connects"] >= 1
    if fault != "malformed":
        assert c["malformed"] == 0
    assert inst.stop() == 0


def test_sigterm_stops_cleanly(ingest_instance, sim):
    s = sim(rate=1000)
    inst = ingest_instance
    inst.start(inst.config(s.port, streams=("trade", "bookTicker")))
    inst.wait_counters(lambda c: c["records"] >= 50)
    assert inst.state == C.W_RUNNING
    assert inst.stop() == 0
    assert inst.state == C.W_STOPPED
    c = inst.counters
    assert c["msgs"] > 0 and c["reconnects"] == 0
    assert c["connected"] == 0  # closed on the way out
    assert "stopped" in inst.output()
