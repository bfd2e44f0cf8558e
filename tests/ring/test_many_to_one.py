"""Many-to-one ring, one process: claims, full ring, skipped slots of dead producers."""

import os
import signal

import pytest

from hftshm.layouts import bench
from hftshm.ring import AbandonedError, ManyToOneRing
from hftshm.ring import header as H
from hftshm.ring import kernels as K
from hftshm.ring import reader as reader_mod
from support import FORK, bench_records


def make(instance, capacity=16):
    return ManyToOneRing.create(instance, "orders", bench.LAYOUT, capacity)


def test_two_producers_interleave_and_keep_their_order(instance):
    ring = make(instance, 64)
    a, b = ring.producer("a"), ring.producer("b")
    consumer = ring.reader("exec", gating=True)
    for i in range(10):
        assert a.offer(bench_records(1, i, 1))
        assert b.offer(bench_records(2, i, 1))
    batch = consumer.read_batch()
    assert list(batch["seq"]) == list(range(20))
    for source in (1, 2):
        assert list(batch[batch["source"] == source]["value"]) == list(range(10))
    assert bench.check(batch).all()


def test_full_ring_returns_false_and_writes_nothing(instance):
    ring = make(instance, 16)
    p = ring.producer()
    consumer = ring.reader("exec", gating=True)
    assert p.offer_batch(bench_records(1, 0, 16))
    assert not p.offer(bench_records(1, 16, 1))
    assert not p.offer_batch(bench_records(1, 16, 2))
    assert ring.published() == 16  # nothing claimed by the failed offers
    assert len(consumer.read_batch(8)) == 8
    consumer.read_batch(1)  # release 8
    assert p.offer_batch(bench_records(1, 16, 8))


def test_put_times_out_on_a_full_ring(instance):
    ring = make(instance, 16)
    p = ring.producer()
    ring.reader("exec", gating=True)
    assert p.put_batch(bench_records(1, 0, 16))
    assert not p.put(bench_records(1, 16, 1), timeout=0.05)


def _claim_and_die(instance):
    ring = ManyToOneRing.attach(instance, "orders", bench.LAYOUT)
    p = ring.producer("doomed")
    hdr, _, pst = p.handle()
    K.m2o_claim(hdr, pst, 3)  # claimed, never committed
    os.kill(os.getpid(), signal.SIGKILL)


def test_producer_killed_between_claim_and_commit_does_not_wedge_consumer(instance, monkeypatch):
    monkeypatch.setattr(reader_mod, "STUCK_CHECK_NS", 0)
    ring = make(instance, 64)
    consumer = ring.reader("exec", gating=True)
    live = ring.producer("live")
    live.offer_batch(bench_records(1, 0, 2))
    child = FORK.Process(target=_claim_and_die, args=(instance,))
    child.start()
    child.join()
    assert child.exitcode == -signal.SIGKILL
    live.offer_batch(bench_records(1, 2, 5))  # claimed after the dead producer's three
    seen = []
    for _ in range(10):
        seen.extend(int(v) for v in consumer.read_batch()["value"])
    assert seen == list(range(7))
    assert ring.counter(H.W_SKIPPED) == 3


def test_stuck_record_of_a_live_producer_is_not_skipped(instance, monkeypatch):
    monkeypatch.setattr(reader_mod, "STUCK_CHECK_NS", 0)
    ring = make(instance, 64)
    consumer = ring.reader("exec", gating=True)
    p = ring.producer()
    hdr, slots, pst = p.handle()
    seq = K.m2o_claim(hdr, pst, 1)  # we are alive: the consumer must wait for us
    for _ in range(5):
        assert len(consumer.read_batch()) == 0
    assert ring.counter(H.W_SKIPPED) == 0
    slots[seq] = bench_records(1, 0, 1)[0]
    assert K.m2o_commit(hdr, slots, pst, seq, 1) >= 0
    assert list(consumer.read_batch()["value"]) == [0]


def test_late_commit_into_a_skipped_slot_is_reported(instance):
    ring = make(instance, 64)
    p = ring.producer()
    hdr, slots, pst = p.handle()
    seq = K.m2o_claim(hdr, pst, 1)
    assert K.m2o_skip(hdr, seq)  # a reader took us for dead
    assert K.m2o_commit(hdr, slots, pst, seq, 1) == -2  # one record not delivered
    assert ring.counter(H.W_ABANDONED) == 1
    seq = K.m2o_claim(hdr, pst, 1)
    K.m2o_skip(hdr, seq)
    p.pst[K.P_LAST] = seq
    with pytest.raises(AbandonedError):
        p._result(K.m2o_commit(hdr, slots, pst, seq, 1), 1)


def test_adhoc_reader_of_many_to_one_ring(instance):
    ring = make(instance, 16)
    p = ring.producer()
    consumer = ring.reader("exec", gating=True)
    tail = ring.reader(start="oldest")
    for i in range(0, 48, 8):
        p.put_batch(bench_records(1, i, 8))
        consumer.read_batch()
    batch = tail.read_batch(copy=True)
    assert tail.lost > 0 and int(batch["value"][0]) == tail.lost
    assert bench.check(batch).all()
