"""Segments outlive the processes that merely attach; only the owner or `clean` removes them."""

import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from hftshm import instances, naming, shm
from hftshm.layouts import bench
from hftshm.ring import BroadcastRing
from hftshm.ring import header as H
from support import FORK, SPAWN, bench_records

ATTACH_AND_READ = """
import sys, warnings
warnings.simplefilter("error")
from hftshm.ring import BroadcastRing
from hftshm.layouts import bench
ring = BroadcastRing.attach(sys.argv[1], "md", bench.LAYOUT)
reader = ring.reader(start="oldest")
batch = reader.read_batch(copy=True)
assert len(batch) == 100 and bench.check(batch).all() and list(batch["value"]) == list(range(100))
reader.close()
ring.close()
"""


def _intact(instance):
    ring = BroadcastRing.attach(instance, "md", bench.LAYOUT)
    batch = ring.reader(start="oldest").read_batch(copy=True)
    return len(batch) == 100 and bench.check(batch).all()


def test_segments_are_owner_only(instance):
    ring = BroadcastRing.create(instance, "md", bench.LAYOUT, 16)
    mode = os.stat(os.path.join(shm.SHM_DIR, naming.ring_segment(instance, "md"))).st_mode
    assert stat.S_IMODE(mode) == 0o600
    reader = ring.reader("sleepy", gating=True, wait="blocking")
    reader.wait_strategy.idle(0)  # creates its semaphore
    sems = instances.scan()[instance].semaphores
    assert sems and all(stat.S_IMODE(os.stat(os.path.join(shm.SHM_DIR, s)).st_mode) == 0o600 for s in sems)


def test_attach_detach_50_fresh_processes(instance):
    ring = BroadcastRing.create(instance, "md", bench.LAYOUT, 128)
    ring.publisher().publish_batch(bench_records(1, 0, 100))

    def attach_once(_):
        return subprocess.run([sys.executable, "-c", ATTACH_AND_READ, instance], capture_output=True, text=True)

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(attach_once, range(50)))
    failures = [r.stderr for r in results if r.returncode != 0 or r.stderr]
    assert failures == []  # no errors, and no resource_tracker warnings on stderr
    assert shm.exists(naming.ring_segment(instance, "md"))
    assert _intact(instance)
    assert ring.hdr[H.W_MAGIC] == H.MAGIC


def _spawn_child(instance):
    ring = BroadcastRing.attach(instance, "md", bench.LAYOUT)
    ring.reader(start="oldest").read_batch(copy=True)
    ring.close()


def test_spawn_and_fork_children_do_not_unlink(instance):
    ring = BroadcastRing.create(instance, "md", bench.LAYOUT, 128)
    ring.publisher().publish_batch(bench_records(1, 0, 100))
    for ctx in (SPAWN, FORK, SPAWN):
        child = ctx.Process(target=_spawn_child, args=(instance,))
        child.start()
        child.join(60)
        assert child.exitcode == 0
    assert shm.exists(naming.ring_segment(instance, "md")) and _intact(instance)


def _create_and_die(instance):
    BroadcastRing.create(instance, "md", bench.LAYOUT, 16)
    os._exit(0)  # exits without unlinking, like a crashed supervisor


def test_clean_removes_dead_instances_only(instance):
    dead = instance + "d"
    child = FORK.Process(target=_create_and_die, args=(dead,))
    child.start()
    child.join()
    BroadcastRing.create(instance, "md", bench.LAYOUT, 16)  # live: we own it
    found = instances.scan()
    assert not found[dead].alive and found[instance].alive
    removed = instances.clean()
    assert removed.get(dead) == [naming.ring_segment(dead, "md")]
    assert instance not in removed
    assert shm.exists(naming.ring_segment(instance, "md"))
    assert not shm.exists(naming.ring_segment(dead, "md"))


def test_two_instances_do_not_collide(instance):
    a = BroadcastRing.create(instance, "md", bench.LAYOUT, 16)
    b = BroadcastRing.create(instance + "b", "md", bench.LAYOUT, 16)
    a.publisher().publish_batch(bench_records(1, 0, 5))
    assert a.published() == 5 and b.published() == 0
    instances.remove(instances.scan()[instance + "b"])


def _blocking_reader(instance, n, conn):
    ring = BroadcastRing.attach(instance, "md", bench.LAYOUT)
    reader = ring.reader("blocker", gating=True, start=0, wait="blocking")
    strategy = reader.wait_strategy
    strategy.timeout_s = 2.0
    got, lost_wakeups = 0, 0
    while got < n:
        batch = reader.read_batch()
        if len(batch):
            got += len(batch)
            strategy.reset()
            continue
        before = strategy.sleeps
        strategy.idle(0)
        if strategy.sleeps > before and strategy.timed_out and reader.pending():
            lost_wakeups += 1  # slept the full timeout although a record was there
    conn.send((got, lost_wakeups, strategy.sleeps))
    reader.close()


def test_blocking_reader_loses_no_wakeups(instance):
    ring = BroadcastRing.create(instance, "md", bench.LAYOUT, 1024)
    pub = ring.publisher()
    parent, child = FORK.Pipe(False)
    proc = FORK.Process(target=_blocking_reader, args=(instance, 3000, child))
    proc.start()
    while not any(ring.reader_name(s) == "blocker" for s in range(H.READER_SLOTS)):
        pass
    rng = np.random.default_rng(3)
    for i in range(3000):
        pub.publish(bench_records(1, i, 1))
        if rng.random() < 0.3:
            os.sched_yield() if rng.random() < 0.5 else __import__("time").sleep(rng.random() * 1e-4)
    assert parent.poll(60)
    got, lost_wakeups, sleeps = parent.recv()
    proc.join(10)
    assert got == 3000 and lost_wakeups == 0
    assert sleeps > 0  # it really slept on the semaphore
