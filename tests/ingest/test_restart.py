"""An ingest restarted after a kill -9 goes on where its predecessor stopped: the trade ids the
venue sent while no ingest ran count as a gap of their exact size, the counters go on from the
predecessor's values, and a book the predecessor published is reset at once.

Forbidden outcomes: a hole in a symbol's trade ids across the restart that no counter shows, or
shows with another size; a counter that starts again from 0; a book consumers keep after the
process that updated it died.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from hftshm.exchange.thread import SimThread

from hftshm.exchange import ExchangeConfig
from hftshm.feed.resume import read_resume_point
from hftshm.layouts import md
from hftshm.ring import BroadcastRing

SYMBOLS = ("btcusdt", "ethusdt")


@pytest.fixture
def sim():
    s = SimThread(ExchangeConfig(port=0, rate=2000))
    yield s
    s.close()


def _trades(recs) -> np.ndarray:
    arr = np.array(recs, dtype=md.DTYPE)
    return arr[arr["kind"] == md.TRADE]


def _last_ids(trades: np.ndarray) -> dict[int, int]:
    return {sid: int(trades["venue_id"][trades["symbol_id"] == sid][-1]) for sid in (0, 1)}


def test_a_restart_after_kill9_counts_the_missed_trade_ids_exactly(ingest_instance, sim):
    inst = ingest_instance
    cfg = inst.config(sim.port, streams=("trade",), symbols=SYMBOLS)
    inst.start(cfg)
    before = _trades(inst.read_until(lambda r: len(_trades(r)["symbol_id"]) > 300
                                     and set(_trades(r)["symbol_id"].tolist()) == {0, 1}))
    c = inst.wait_counters(lambda c: c["msgs"] >= len(before) and c["connected"] == 1)
    assert inst.kill9() == -9
    published_dead = inst.ring.published()  # the predecessor's last record
    # what it published up to the kill: the reader drains the ring to the predecessor's cursor
    before = np.concatenate([before, _trades(list(inst.reader.read_batch(1 << 16, copy=True)))])
    for sid in (0, 1):  # the predecessor saw a contiguous stream
        assert (np.diff(before["venue_id"][before["symbol_id"] == sid]) == 1).all()
    last = _last_ids(before)
    dead = inst.counters  # what the control block kept of the dead worker's counts
    assert dead["trade_gaps"] == 0 and dead["msgs"] >= c["msgs"] > 0 and dead["connects"] == 1
    time.sleep(0.5)  # the venue trades on while no ingest runs

    inst.start(cfg)
    after = _trades(inst.read_until(lambda r: set(_trades(r)["symbol_id"].tolist()) == {0, 1}
                                    and len(_trades(r)) > 100))
    first = {sid: int(after["venue_id"][after["symbol_id"] == sid][0]) for sid in (0, 1)}
    for sid in (0, 1):
        ids = after["venue_id"][after["symbol_id"] == sid]
        assert (np.diff(ids) == 1).all()  # contiguous after the restart: the only gap is the outage
        assert first[sid] > last[sid] + 1, "the venue's ids did not move on while ingest was down"
    missed = sum(first[sid] - last[sid] - 1 for sid in (0, 1))
    c = inst.wait_counters(lambda c: c["trade_gaps"] == 2 and c["ids_missed"] == missed
                           and c["connects"] == 2, timeout=10)
    time.sleep(0.3)
    c = inst.counters
    assert (c["trade_gaps"], c["ids_missed"]) == (2, missed)  # and nothing more was counted
    assert c["bad_times"] == c["bad_ids"] == c["bad_values"] == 0
    assert inst.stop() == 0
    # counters went on from the predecessor's values, never from 0: once the stop has synced them
    # (they trail the ring between ticks), they hold the predecessor's counts plus every record the
    # new process published, exactly
    new = inst.ring.published() - published_dead
    final = inst.counters
    assert new >= len(after)
    assert final["records"] == dead["records"] + new and final["msgs"] >= dead["msgs"] + new


def test_a_restart_resets_the_book_its_predecessor_published(ingest_instance, sim):
    inst = ingest_instance
    cfg = inst.config(sim.port, streams=("depth@100ms",), symbols=("btcusdt",))
    inst.start(cfg)
    inst.read_until(lambda r: any(int(x["kind"]) == md.LEVEL for x in r))
    inst.wait_counters(lambda c: c["snapshots"] == 1 and c["book_resets"] == 1)
    assert inst.kill9() == -9
    inst.reader.read_batch(1 << 16)
    inst.start(cfg)
    # the first record of the new process is the reset of the book consumers hold
    (first,) = inst.read_until(lambda r: len(r) >= 1)[:1]
    assert (int(first["kind"]), int(first["symbol_id"])) == (md.BOOK_RESET, 0)
    c = inst.wait_counters(lambda c: c["snapshots"] == 2 and c["book_resets"] == 3)
    assert c["depth_gaps"] == 0
    assert inst.stop() == 0


def test_resume_point_reads_the_newest_records_per_symbol(instance):
    ring = BroadcastRing.create(instance, "md", md.LAYOUT, 8, policy="overwrite", symbols=["A", "B"])
    try:
        assert read_resume_point(ring) == ({}, {}, set())
        pub = ring.publisher()
        rec = np.zeros(1, md.DTYPE)

        def put(kind, sid, vid, flags=0):
            rec["kind"], rec["symbol_id"], rec["venue_id"], rec["flags"] = kind, sid, vid, flags
            pub.publish(rec)

        put(md.TRADE, 0, 5)  # overwritten below: 8 slots, 11 records
        put(md.TRADE, 1, 6)
        put(md.LEVEL, 1, 1)
        put(md.TRADE, 0, 10)
        put(md.AGG_TRADE, 1, 70)
        put(md.LEVEL, 0, 1)
        put(md.QUOTE, 0, 1, md.F_FROM_BOOK)
        put(md.BOOK_RESET, 1, 0)  # B's book was reset: nothing to reset again
        put(md.TRADE, 0, 11)
        put(md.QUOTE, 1, 1)  # a bookTicker is no book record
        put(md.AGG_TRADE, 1, 71)
        point = read_resume_point(ring)
        assert point.last_trade == {0: 11}  # B's trade 6 was overwritten: nothing to go on from
        assert point.last_agg == {1: 71}
        assert point.books == {0}
        pub.close()
    finally:
        ring.close()
        ring.unlink()


def test_resume_point_skips_slots_a_dying_producer_overwrote(instance):
    """Killed mid-publish in a full ring: the oldest slots hold records past the cursor."""
    ring = BroadcastRing.create(instance, "md", md.LAYOUT, 4, policy="overwrite", symbols=["A", "B"])
    try:
        pub = ring.publisher()
        batch = np.zeros(4, md.DTYPE)
        batch["kind"], batch["symbol_id"], batch["venue_id"] = md.TRADE, [1, 0, 0, 0], [40, 1, 2, 3]
        pub.publish_batch(batch)
        slot = ring.slots[0]
        slot["seq"], slot["symbol_id"], slot["venue_id"] = 4, 1, 99  # written, never published
        assert read_resume_point(ring).last_trade == {0: 3}  # not B's 99, and not its overwritten 40
        pub.close()
    finally:
        ring.close()
        ring.unlink()


def test_a_restarted_async_worker_is_running_with_its_own_heartbeat(instance):
    """The slot still holds the dead predecessor's heartbeat; a slow on_start blocks the beat
    task; at RUNNING the heartbeat must be this process's, or the supervisor (RUNNING + a beat
    older than 10 s) kills the fresh worker as hung, as it did after a kill -9 of ingest."""
    from hftshm.runtime import control_layout as C
    from hftshm.runtime.agent import Agent, WorkerContext
    from hftshm.runtime.control import ControlBlock
    from hftshm.runtime.runner import Runner

    control = ControlBlock.create(instance)
    try:
        slot = control.claim_worker("ingest", "ingest")
        control.set_worker_field(slot, C.W_HEARTBEAT_NS, 1)  # the predecessor's, long ago
        seen = {}

        class Slow(Agent):
            role = "ingest"

            def on_start(self):
                self.started_ns = time.time_ns()
                time.sleep(0.05)  # imports, attaching, reading the ring back

            async def run_async(self, stop):  # first thing, before the loop runs anything else
                seen["state"] = control.worker_field(slot, C.W_STATE)
                seen["beat"] = control.worker_field(slot, C.W_HEARTBEAT_NS)
                seen["started"] = self.started_ns

        ctx = WorkerContext(instance=instance, name="ingest", role="ingest", config=None, control=control,
                            slot=slot, counters=control.counters(slot))
        assert Runner(Slow(ctx)).run() == 0
        assert seen["state"] == C.W_RUNNING
        assert seen["beat"] >= seen["started"], "RUNNING next to the predecessor's heartbeat"
    finally:
        control.close()
        control.unlink()
