"""Broadcast ring across processes. Forbidden outcomes, checked on every record:
lost (a sequence never delivered to a gating reader), duplicated (delivered twice),
torn (a record whose fields do not all come from one write), and - for lapped ad-hoc readers -
a lost count that differs from the gap in sequences."""

import os
import signal
import time

import numpy as np
import pytest
from numba import njit

from hftshm.layouts import bench
from hftshm.ring import BroadcastRing
from hftshm.ring import header as H
from hftshm.ring import kernels as K
from hftshm.ring import reader_table as RT
from support import FORK, SeqChecker, bench_records

N_GATING = 2_000_000


def _gating_reader(instance, name, n, conn, ready):
    ring = BroadcastRing.attach(instance, "md", bench.LAYOUT)
    rd = ring.reader(name, gating=True, start=0)
    ready.release()
    check = SeqChecker(0)
    buf = np.zeros(256, bench.DTYPE)
    per_record = name.endswith("1")  # one reader uses read(), the others read_batch()
    deadline = time.monotonic() + 120
    while check.count < n and time.monotonic() < deadline:
        if per_record:
            k = 0
            while k < 256:  # a record view is valid until the next read: copy it out now
                r = rd.read()
                if r is None:
                    break
                buf[k] = r
                k += 1
            batch = buf[:k]
        else:
            batch = rd.read_batch(4096)
        if len(batch) == 0:
            rd.wait_strategy.idle(0)
            continue
        check.feed(batch)
    conn.send((check.count, check.lost, check.duplicated, check.torn))
    rd.close()


def _start(target, *args):
    p = FORK.Process(target=target, args=args)
    p.start()
    return p


def test_gating_readers_lose_nothing(instance):
    """A producer and three gating reader processes move 2M records through a 4096-slot ring."""
    ring = BroadcastRing.create(instance, "md", bench.LAYOUT, 4096)
    pub = ring.publisher()
    ready = FORK.Semaphore(0)
    pipes, procs = [], []
    for i in range(3):
        parent, child = FORK.Pipe(False)
        pipes.append(parent)
        procs.append(_start(_gating_reader, instance, f"reader{i}", N_GATING, child, ready))
    for _ in range(3):
        assert ready.acquire(timeout=60)
    rng = np.random.default_rng(7)
    seq = 0
    chunk = bench_records(1, 0, 65536)
    while seq < N_GATING:
        size = int(min(rng.integers(1, 1024), N_GATING - seq))
        if size < 8:
            for j in range(size):  # the per-record path too
                pub.publish(bench_records(1, seq + j, 1))
        else:
            bench.fill(chunk[:size], 1, np.arange(seq, seq + size, dtype=np.int64))
            pub.publish_batch(chunk[:size])
        seq += size
    results = [p.recv() if p.poll(120) else None for p in pipes]
    for p in procs:
        p.join(30)
    assert results == [(N_GATING, 0, 0, 0)] * 3  # (delivered, lost, duplicated, torn)
    assert ring.counter(H.W_CURSOR) == N_GATING


def _slow_adhoc_reader(instance, n_last, conn, per_record):
    ring = BroadcastRing.attach(instance, "md", bench.LAYOUT)
    rd = ring.reader(start=0)
    check = SeqChecker(0)
    rng = np.random.default_rng(os.getpid())
    deadline = time.monotonic() + 60
    while check.expected < n_last and time.monotonic() < deadline:
        if per_record:
            r = rd.read()
            batch = np.array([r], dtype=bench.DTYPE) if r is not None else ring.slots[:0]
        else:
            batch = rd.read_batch(int(rng.integers(1, 64)), copy=True)
        check.feed(batch, allow_gaps=True)
        if rd.lost != check.gaps:  # the lost count must equal the gap in sequences, at every step
            break
        if rng.random() < 0.05:
            time.sleep(0.0002)  # deliberately slow
    conn.send((check.count, check.expected, check.gaps, rd.lost, rd.lapped, check.duplicated, check.torn))
    rd.close()


@pytest.mark.parametrize("per_record", [False, True], ids=["batch", "per-record"])
def test_overwrite_slow_reader_counts_every_loss(instance, per_record):
    n = 400_000
    ring = BroadcastRing.create(instance, "md", bench.LAYOUT, 1024, policy="overwrite")
    pub = ring.publisher()
    parent, child = FORK.Pipe(False)
    proc = _start(_slow_adhoc_reader, instance, n, child, per_record)
    time.sleep(0.3)
    for start in range(0, n + 64, 64):
        pub.publish_batch(bench_records(1, start, 64))
    assert parent.poll(60)
    count, expected, gaps, lost, lapped, duplicated, torn = parent.recv()
    proc.join(10)
    assert torn == 0 and duplicated == 0
    assert lapped > 0  # the test exercised lapping
    assert lost == gaps  # every lost record counted, exactly
    assert count + lost == expected  # nothing else went missing


def _whole_ring_copier(instance, n_last, conn):
    ring = BroadcastRing.attach(instance, "md", bench.LAYOUT)
    rd = ring.reader(start=0)
    check = SeqChecker(0)
    deadline = time.monotonic() + 60
    while check.expected < n_last and time.monotonic() < deadline:
        batch = rd.read_batch(ring.capacity, copy=True)  # races the producer over every slot
        check.feed(batch, allow_gaps=True)
    conn.send((check.count, check.gaps, rd.lost, check.duplicated, check.torn))


@njit
def _publish_all(hdr, slots, records, out):
    """Publish ``records`` in 16-record batches, renumbered to continue the ring's sequence."""
    base = hdr[H.W_CURSOR]
    for i in range(0, records.shape[0] - 16, 16):
        for j in range(16):
            rec = records[i + j]
            rec.value = base + i + j
            rec.payload = rec.value * 0x5BD1E995
            rec.payload2 = ~rec.value
            rec.payload3 = rec.value ^ rec.source
            rec.checksum = (rec.source * 31 + rec.value) ^ rec.payload ^ rec.payload2 ^ (rec.payload3 << 1)
        K.bc_publish(hdr, slots, records, i, 16, out)


def test_copy_racing_the_producer_never_accepts_a_torn_record(instance):
    """A 64-slot ring rewritten while the reader copies all of it: validation must catch every
    copy the producer overwrote mid-way (without it, torn records show up here)."""
    n = 2_000_000
    ring = BroadcastRing.create(instance, "md", bench.LAYOUT, 64, policy="overwrite")
    pub = ring.publisher()
    parent, child = FORK.Pipe(False)
    proc = _start(_whole_ring_copier, instance, n, child)
    time.sleep(0.3)
    records = bench_records(1, 0, n + 16)
    out = np.zeros(1, np.int64)
    while not parent.poll(0):  # numba-speed producer: laps the ring about every microsecond
        _publish_all(*pub.handle(), records, out)
    count, gaps, lost, duplicated, torn = parent.recv()
    proc.join(10)
    assert torn == 0 and duplicated == 0
    assert lost == gaps and count > 0


def _dying_reader(instance, conn):
    ring = BroadcastRing.attach(instance, "md", bench.LAYOUT)
    rd = ring.reader("slowpoke", gating=True, start=0)
    conn.send(rd.slot)
    rd.read_batch(10)
    time.sleep(60)  # killed long before


def test_killed_gating_reader_stops_holding_the_producer(instance):
    ring = BroadcastRing.create(instance, "md", bench.LAYOUT, 1024)
    pub = ring.publisher()
    parent, child = FORK.Pipe(False)
    proc = _start(_dying_reader, instance, child)
    assert parent.poll(30)
    slot = parent.recv()
    pub.publish_batch(bench_records(1, 0, 1024))  # the ring is now full for slowpoke
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    t0 = time.monotonic()
    pub.publish_batch(bench_records(1, 1024, 1024))  # would wait forever on a dead gating reader
    stall = time.monotonic() - t0
    print(f"producer resumed {stall * 1e3:.1f} ms after the gating reader was killed")
    assert ring.counter(H.W_EVICTIONS) == 1
    assert ring.hdr[RT.word(slot, RT.STATE)] & RT.STATE_MASK == RT.ORPHANED
    # a restart under the same name resumes at the dead reader's cursor and counts what it lost
    again = ring.reader("slowpoke", gating=True)
    assert again.resumed and again.slot == slot
    batch = again.read_batch(copy=True)
    assert again.lost == int(batch["seq"][0]) - 0  # cursor was 0: records 0.. were overwritten
    assert bench.check(batch).all()
