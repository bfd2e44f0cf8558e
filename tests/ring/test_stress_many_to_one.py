"""Many-to-one ring across processes. Forbidden outcomes, checked on every record: an order
lost or duplicated, a producer's orders out of order, a torn record, and a consumer wedged by a
producer that died between claim and commit."""

import os
import signal
import time

import numpy as np

from hftshm.layouts import bench
from hftshm.ring import ManyToOneRing
from hftshm.ring import header as H
from hftshm.ring import kernels as K
from hftshm.ring import reader as reader_mod
from support import FORK, bench_records

PER_PRODUCER = 1_000_000


def _producer(instance, source, n, die_after):
    ring = ManyToOneRing.attach(instance, "orders", bench.LAYOUT)
    p = ring.producer(f"p{source}")
    rng = np.random.default_rng(source)
    sent = 0
    while sent < n:
        if die_after is not None and sent >= die_after:
            hdr, _, pst = p.handle()
            K.m2o_claim(hdr, pst, 2)  # claim, then die before committing
            os.kill(os.getpid(), signal.SIGKILL)
        size = int(min(rng.integers(1, 64), (die_after or n) - sent))
        if size < 4:
            for j in range(size):
                p.put(bench_records(source, sent + j, 1))
        else:
            p.put_batch(bench_records(source, sent, size))
        sent += size


def _consume(consumer, expected_total, sources, timeout=120):
    nxt = {s: 0 for s in sources}
    problems = {"lost_or_reordered": 0, "torn": 0, "unknown_source": 0}
    total = 0
    deadline = time.monotonic() + timeout
    while total < expected_total and time.monotonic() < deadline:
        batch = consumer.read_batch()
        if len(batch) == 0:
            consumer.wait_strategy.idle(0)
            continue
        problems["torn"] += int((~bench.check(batch)).sum())
        for source in np.unique(batch["source"]):
            if int(source) not in nxt:
                problems["unknown_source"] += 1
                continue
            values = batch["value"][batch["source"] == source]
            want = np.arange(nxt[int(source)], nxt[int(source)] + len(values))
            problems["lost_or_reordered"] += int((values != want).sum())
            nxt[int(source)] += len(values)
        total += len(batch)
    return total, nxt, problems


def test_three_producers_every_order_once_in_order(instance):
    ring = ManyToOneRing.create(instance, "orders", bench.LAYOUT, 1024)
    consumer = ring.reader("execution", gating=True)  # gating before any producer starts
    procs = [FORK.Process(target=_producer, args=(instance, s, PER_PRODUCER, None)) for s in (1, 2, 3)]
    for p in procs:
        p.start()
    total, nxt, problems = _consume(consumer, 3 * PER_PRODUCER, (1, 2, 3))
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert problems == {"lost_or_reordered": 0, "torn": 0, "unknown_source": 0}
    assert total == 3 * PER_PRODUCER and nxt == {1: PER_PRODUCER, 2: PER_PRODUCER, 3: PER_PRODUCER}
    assert ring.counter(H.W_SKIPPED) == 0


def test_producer_killed_mid_claim_does_not_wedge_consumer(instance, monkeypatch):
    monkeypatch.setattr(reader_mod, "STUCK_CHECK_NS", 1_000_000)
    n = 200_000
    ring = ManyToOneRing.create(instance, "orders", bench.LAYOUT, 1024)
    consumer = ring.reader("execution", gating=True)
    doomed = FORK.Process(target=_producer, args=(instance, 9, n, 50_000))
    live = [FORK.Process(target=_producer, args=(instance, s, n, None)) for s in (1, 2)]
    for p in [doomed, *live]:
        p.start()
    total, nxt, problems = _consume(consumer, 2 * n + 50_000, (1, 2, 9))
    for p in [doomed, *live]:
        p.join(30)
    deadline = time.monotonic() + 30  # the dead claim may be the ring's last: drain up to it
    while consumer.next_seq < ring.published() and time.monotonic() < deadline:
        assert len(consumer.read_batch()) == 0  # nothing but the two dead slots is left
    assert consumer.next_seq == ring.published()
    assert doomed.exitcode == -signal.SIGKILL
    assert problems == {"lost_or_reordered": 0, "torn": 0, "unknown_source": 0}
    assert nxt == {1: n, 2: n, 9: 50_000}  # everything the dead producer committed, nothing else
    assert ring.counter(H.W_SKIPPED) == 2  # its two claimed-uncommitted slots
