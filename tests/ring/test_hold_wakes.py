"""A producer that holds its wake-ups over a batch of publishes (``Publisher.hold_wakes``, what
ingest does per socket read) wakes each parked reader once, after the batch.

Forbidden outcomes across processes: a lost wake-up (a parked sleep that ran to its timeout with
a record readable: counted, never a timing assertion), a lost, duplicated or reordered record.
"""

import time

import numpy as np

from hftshm.layouts import bench
from hftshm.ring import BroadcastRing
from hftshm.ring import header as H
from hftshm.wait import Blocking
from support import FORK, bench_records

N = 3000


def test_held_wakes_go_out_once_at_release(instance):
    ring = BroadcastRing.create(instance, "md", bench.LAYOUT, 64)
    pub = ring.publisher()
    wait = Blocking(timeout_s=1.0)
    reader = ring.reader("r", gating=False, start=0, wait=wait)
    assert wait.arm()  # parked
    pub.hold_wakes()
    for i in range(5):
        pub.publish(bench_records(1, i, 1))
    assert pub._waker.posts == 0  # the first publish took the parked bit; nothing sent yet
    assert ring.hdr[H.W_PARKED] == 0
    pub.release_wakes()
    assert pub._waker.posts == 1  # one wake-up for the five records
    wait.disarm()
    assert len(reader.read_batch()) == 5
    pub.release_wakes()  # nothing held: nothing sent
    assert pub._waker.posts == 1
    pub.close()
    reader.close()


def _sleeper(instance, conn):
    ring = BroadcastRing.attach(instance, "md", bench.LAYOUT)
    wait = Blocking(spins=0, timeout_s=2.0)
    reader = ring.reader("sleeper", gating=True, start=0, wait=wait)
    got, bad, lost_wakeups = 0, 0, 0
    while got < N:
        batch = reader.read_batch()
        if len(batch):
            bad += int((batch["value"] != np.arange(got, got + len(batch))).sum())
            got += len(batch)
            continue
        before = wait.sleeps
        wait.idle(0)
        if wait.sleeps > before and wait.timed_out and reader.pending():
            lost_wakeups += 1  # slept the whole timeout although a record was there
    conn.send((got, bad, lost_wakeups, wait.sleeps))
    reader.close()


def test_held_wakes_lose_no_wakeup_or_record(instance):
    ring = BroadcastRing.create(instance, "md", bench.LAYOUT, 1024)
    pub = ring.publisher()
    parent, child = FORK.Pipe(False)
    proc = FORK.Process(target=_sleeper, args=(instance, child))
    proc.start()
    try:
        while not any(ring.reader_name(s) == "sleeper" for s in range(H.READER_SLOTS)):
            time.sleep(0.001)
        rng = np.random.default_rng(11)
        i = 0
        while i < N:
            k = min(N - i, int(rng.integers(1, 6)))  # one socket read's worth of messages
            pub.hold_wakes()
            try:
                for j in range(k):
                    pub.publish(bench_records(1, i + j, 1))
            finally:
                pub.release_wakes()
            i += k
            if rng.random() < 0.3:
                time.sleep(rng.random() * 3e-4)  # long enough for the reader to park
        assert parent.poll(120), "the reader never finished: a lost wake-up or a lost record"
        got, bad, lost_wakeups, sleeps = parent.recv()
    finally:
        proc.join(10)
        if proc.is_alive():
            proc.kill()
        pub.close()
    assert got == N and bad == 0 and lost_wakeups == 0
    assert sleeps > 0  # it really parked


def test_a_signal_during_a_blocking_sleep_returns_instead_of_raising(instance):
    """The supervisor stops a parked strategy with SIGTERM: the semaphore wait is interrupted
    (EINTR). The wait must return to the runner, which then sees the stop request; it used to
    raise posix_ipc.SignalError and the worker exited 1."""
    import signal

    ring = BroadcastRing.create(instance, "md", bench.LAYOUT, 64)
    wait = Blocking(timeout_s=5.0)
    reader = ring.reader("r", gating=False, start=0, wait=wait)
    seen = []
    old = signal.signal(signal.SIGALRM, lambda *a: seen.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        wait.idle(0)  # parks: nothing to read, nobody posts; the alarm interrupts the sleep
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert seen == [1]  # the handler ran, and idle() came back without an exception
    assert wait.timed_out  # woken by nothing: the runner polls again
    reader.close()
    ring.close()
