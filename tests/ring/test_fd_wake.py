"""The fd-based blocking wait (``wait.FdWake``): a parked reader is woken by a datagram the
producer's publish sends, in an event loop (``wait_async``) or a plain loop (``idle``).

Forbidden outcome across processes: a lost wake-up, i.e. a wait that ran to its timeout while
a record sat readable (checked after every timed-out wait, with a bounded 2 s timeout, never a
timing assertion); and, as always, records lost, duplicated, reordered per producer, or torn.
"""

import asyncio
import os
import socket
import time

import numpy as np
import pytest

from hftshm.layouts import bench
from hftshm.ring import BroadcastRing, ManyToOneRing
from hftshm.ring import header as H
from hftshm.ring import reader_table as RT
from hftshm.wait import fdwake
from hftshm.wait.fdwake import FdWake
from support import FORK, bench_records

PER_PRODUCER = 2000


def _wake_name(ring, slot):
    return ring.name_bytes(RT.slot_offset(slot) + RT.WAKE, RT.WAKE_LENGTH)


def test_publish_wakes_only_a_parked_reader(instance):
    ring = ManyToOneRing.create(instance, "orders", bench.LAYOUT, 64)
    wake = FdWake()
    reader = ring.reader("exec", gating=True, start="oldest", wait=wake)
    assert reader.wait_strategy is wake and _wake_name(ring, reader.slot).startswith(fdwake.PREFIX)
    producer = ring.producer("p")
    producer.offer(bench_records(1, 0, 1))  # not parked: no datagram
    assert wake.drain() == 0
    assert not wake.arm()  # a record is readable: nothing armed
    assert ring.hdr[H.W_PARKED] == 0
    assert len(reader.read_batch()) == 1
    assert wake.arm()
    producer.offer(bench_records(1, 1, 1))
    assert ring.hdr[H.W_PARKED] == 0  # the producer took the bit...
    assert wake.drain() == 1  # ...and sent one datagram
    wake.disarm()
    producer.close()
    reader.close()


def test_waker_survives_a_reader_that_is_gone(instance):
    ring = BroadcastRing.create(instance, "md", bench.LAYOUT, 64)
    pub = ring.publisher()
    wake = FdWake()
    reader = ring.reader("gone", gating=True, wait=wake)
    assert wake.arm()
    addr = fdwake.address(instance, wake.wake)
    reader.close()  # closes the socket; its parked bit stays set (as after a crash)
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        probe.sendto(b"x", addr)
        raise AssertionError("the socket outlived its reader")
    except ConnectionRefusedError:
        pass
    finally:
        probe.close()
    pub.publish(bench_records(1, 0, 1))  # wakes a dead address: must not raise
    pub.close()


def _producer(instance, source, n):
    ring = ManyToOneRing.attach(instance, "orders", bench.LAYOUT)
    p = ring.producer(f"p{source}")
    rng = np.random.default_rng(source)
    for i in range(n):
        p.put(bench_records(source, i, 1))
        r = rng.random()
        if r < 0.2:
            time.sleep(rng.random() * 3e-4)  # long enough for the reader to park
        elif r < 0.4:
            os.sched_yield()
    p.close()


async def _consume_async(reader, wake, total):
    wake.attach(asyncio.get_running_loop())
    nxt, problems, got, lost_wakeups = {}, {"lost_dup_or_reordered": 0, "torn": 0}, 0, 0
    while got < total:
        batch = reader.read_batch()
        if len(batch) == 0:
            if not await wake.wait_async(2.0) and reader.pending():
                lost_wakeups += 1  # slept the whole timeout although a record was there
            continue
        problems["torn"] += int((~bench.check(batch)).sum())
        for rec in batch:
            s, v = int(rec["source"]), int(rec["value"])
            if v != nxt.get(s, 0):
                problems["lost_dup_or_reordered"] += 1
            nxt[s] = v + 1
        got += len(batch)
    return got, lost_wakeups, problems, nxt


def test_event_loop_reader_loses_no_wakeups_from_two_producers(instance):
    ring = ManyToOneRing.create(instance, "orders", bench.LAYOUT, 1024)
    wake = FdWake()
    reader = ring.reader("exec", gating=True, start="oldest", wait=wake)
    procs = [FORK.Process(target=_producer, args=(instance, s, PER_PRODUCER)) for s in (1, 2)]
    for p in procs:
        p.start()
    try:
        got, lost_wakeups, problems, nxt = asyncio.run(
            asyncio.wait_for(_consume_async(reader, wake, 2 * PER_PRODUCER), 60))
    finally:
        for p in procs:
            p.join(10)
            if p.is_alive():
                p.kill()
    assert [p.exitcode for p in procs] == [0, 0]
    assert got == 2 * PER_PRODUCER and nxt == {1: PER_PRODUCER, 2: PER_PRODUCER}
    assert problems == {"lost_dup_or_reordered": 0, "torn": 0}
    assert lost_wakeups == 0
    assert wake.sleeps > 0 and wake.wakeups > 0  # it really slept and was woken by datagrams
    reader.close()


def _sync_reader(instance, n, conn):
    ring = BroadcastRing.attach(instance, "md", bench.LAYOUT)
    wake = FdWake(spins=0, timeout_s=2.0)
    reader = ring.reader("sleeper", gating=True, start=0, wait=wake)
    got, lost_wakeups, bad = 0, 0, 0
    while got < n:
        batch = reader.read_batch()
        if len(batch):
            bad += int((batch["value"] != np.arange(got, got + len(batch))).sum())
            got += len(batch)
            continue
        before = wake.sleeps
        wake.idle(0)
        if wake.sleeps > before and wake.timed_out and reader.pending():
            lost_wakeups += 1  # slept the whole timeout although a record was there
    conn.send((got, bad, lost_wakeups, wake.sleeps))
    reader.close()


def test_plain_loop_reader_loses_no_wakeups(instance):
    ring = BroadcastRing.create(instance, "md", bench.LAYOUT, 1024)
    pub = ring.publisher()
    parent, child = FORK.Pipe(False)
    proc = FORK.Process(target=_sync_reader, args=(instance, 3000, child))
    proc.start()
    try:
        while not any(ring.reader_name(s) == "sleeper" for s in range(H.READER_SLOTS)):
            pass
        rng = np.random.default_rng(5)
        for i in range(3000):
            pub.publish(bench_records(1, i, 1))
            if rng.random() < 0.3:
                time.sleep(rng.random() * 2e-4)
        assert parent.poll(60)
        got, bad, lost_wakeups, sleeps = parent.recv()
    finally:
        proc.join(10)
        if proc.is_alive():
            proc.kill()
    assert got == 3000 and bad == 0 and lost_wakeups == 0
    assert sleeps > 0
    pub.close()


def test_a_nudge_ends_the_wait_of_this_thread_without_a_datagram(instance):
    """An in-process producer (the feed execution hosts) nudges the pump: its wait ends though
    the loop never saw the socket readable."""
    ring = BroadcastRing.create(instance, "md", bench.LAYOUT, 64)
    wake = FdWake()
    reader = ring.reader("pump", gating=True, wait=wake)

    async def main():
        wake.attach(asyncio.get_running_loop())
        waiting = asyncio.create_task(wake.wait_async(5.0))
        await asyncio.sleep(0.01)
        assert not waiting.done()
        wake.nudge()
        return await asyncio.wait_for(waiting, 1.0)

    try:
        assert asyncio.run(main()) is True
        assert wake.drain() == 0  # no datagram was sent for it
        assert not reader.pending()
    finally:
        wake.close()
        reader.close()


def test_a_local_reader_is_never_parked_and_a_nudge_without_a_wait_is_kept(instance):
    """A reader whose producer is on this thread (watch_local): its publishes send no datagram;
    its unread records end a wait at once; a nudge that came while nothing waited ends the next
    wait at once (no lost wake-up); the other watched readers park as before."""
    md = BroadcastRing.create(instance, "md", bench.LAYOUT, 64)
    orders = ManyToOneRing.create(instance, "orders", bench.LAYOUT, 64)
    wake = FdWake()
    local = md.reader("hosted", gating=False, start="newest")
    wake.watch_local(local)
    pump = orders.reader("exec", gating=True, start="oldest", wait=wake)
    pub = md.publisher()

    async def main():
        wake.attach(asyncio.get_running_loop())
        pub.publish(bench_records(1, 0, 1))  # unread local md: no sleep at all
        assert await asyncio.wait_for(wake.wait_async(5.0), 1.0) is True
        assert len(local.read_batch()) == 1
        wake.nudge()  # published while the pump was busy: kept for the next wait
        assert await asyncio.wait_for(wake.wait_async(5.0), 1.0) is True
        waiting = asyncio.create_task(wake.wait_async(5.0))
        await asyncio.sleep(0.01)
        assert not waiting.done()
        assert md.hdr[H.W_PARKED] == 0  # the local reader was not parked...
        pub.publish(bench_records(1, 1, 1))
        await asyncio.sleep(0.01)
        assert not waiting.done()  # ...so its publish woke nothing by itself
        wake.nudge()
        return await asyncio.wait_for(waiting, 1.0)

    try:
        assert asyncio.run(main()) is True
        assert wake.drain() == 0
    finally:
        pub.close()
        wake.close()
        local.close()
        pump.close()


@pytest.fixture
def orders(instance):
    """An orders ring, its reader watched by an FdWake, and one producer; closed after."""
    ring = ManyToOneRing.create(instance, "orders", bench.LAYOUT, 64)
    wake = FdWake()
    reader = ring.reader("exec", gating=True, start="oldest", wait=wake)
    producer = ring.producer("p")
    yield ring, wake, reader, producer
    producer.close()
    wake.close()
    reader.close()


def _wait_with(wake, on_ready, publish, offers: int):
    """Run one ``wait_async(5.0)`` with ``on_ready`` set, calling ``publish(i)`` for i < offers,
    10 ms apart, while it waits; its result (within 2 s)."""

    async def main():
        wake.attach(asyncio.get_running_loop())
        wake.on_ready = on_ready
        waiting = asyncio.create_task(wake.wait_async(5.0))
        for i in range(offers):
            await asyncio.sleep(0.01)
            publish(i)
        return await asyncio.wait_for(waiting, 2.0)

    return asyncio.run(main())


def test_on_ready_handles_a_wake_up_in_its_callback_and_the_wait_goes_on_re_armed(orders):
    """``on_ready`` reads what woke the wait inside the loop's callback; True keeps the wait on.
    The producer took the parked bit with its wake-up, so the wait must arm again: a second
    publish wakes it too (without the re-arm it sends no datagram and the wait runs to its 5 s
    timeout, returning False). False ends the wait as a plain wake-up does."""
    ring, wake, reader, producer = orders
    seen = []

    def on_ready():
        batch = reader.read_batch(copy=True)
        seen.extend(int(v) for v in batch["value"])
        return len(seen) < 3  # the third record ends the wait

    def publish(i):
        assert len(seen) == i  # the wait is still on, each record read in its callback
        producer.offer(bench_records(1, i, 1))

    assert _wait_with(wake, on_ready, publish, 3) is True
    assert seen == [0, 1, 2] and wake.handled == 2 and wake.sleeps == 1
    assert ring.hdr[H.W_PARKED] == 0  # disarmed after the wait


def test_an_error_in_on_ready_ends_the_wait_with_it(orders):
    ring, wake, reader, producer = orders

    def on_ready():
        raise ConnectionResetError("the venue's socket")

    with pytest.raises(ConnectionResetError, match="the venue's socket"):
        _wait_with(wake, on_ready, lambda i: producer.offer(bench_records(1, i, 1)), 1)
    assert ring.hdr[H.W_PARKED] == 0


def test_a_record_published_before_the_re_arm_ends_the_wait(orders):
    """``on_ready`` returned True (its read found the ring empty), but a record came before the
    wait armed again: ``arm()`` sees it and the wait ends at once, not at its timeout."""
    ring, wake, reader, producer = orders
    calls = []

    def on_ready():
        calls.append(len(reader.read_batch(copy=True)))
        if len(calls) == 1:
            producer.offer(bench_records(1, 1, 1))  # after the read, before the re-arm
        return True

    assert _wait_with(wake, on_ready, lambda i: producer.offer(bench_records(1, i, 1)), 1) is True
    assert calls == [1] and wake.handled == 0
    assert len(reader.read_batch()) == 1  # the record the re-arm saw, left for the pump
