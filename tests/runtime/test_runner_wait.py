"""The runner is the only idler of a worker (issue 17 point 4): the agent's readers take no wait
strategy of their own; the runner's strategy watches all of them.

Multi-process: a producer in this process publishes to two rings (a broadcast ``md`` ring read
ad hoc, a ``wait`` ring read by a gating reader) at an irregular pace, with pauses long enough
for the consumer to park or nap; the consumer is a real ``Runner`` in a forked child. Forbidden
outcomes, each counted and reported: a lost wake-up (a parked sleep that ran to its timeout
while a watched reader had a record), a lost, duplicated or reordered record on either ring.
Nothing asserts a time: the sleep timeout only turns a lost wake-up into a counted event.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from hftshm.layouts import bench
from hftshm.ring import BroadcastRing
from hftshm.ring import header as H
from hftshm.ring import reader_table as RT
from hftshm.runtime import roles
from hftshm.runtime.agent import Agent, WorkerContext
from hftshm.runtime.runner import Runner
from support import FORK, bench_records

N = 1500  # records per ring


class _Control:
    """The two control-block calls the runner makes, recorded nowhere."""

    def set_counter_names(self, slot, names):
        pass

    def set_worker_field(self, slot, field, value):
        pass


class _Consumer(Agent):
    role = "strategy"

    def on_start(self):
        inst = self.ctx.instance
        self.rings = [BroadcastRing.attach(inst, "md", bench.LAYOUT), BroadcastRing.attach(inst, "fills", bench.LAYOUT)]
        # no wait= : the runner idles this worker
        self.rds = [self.rings[0].reader("md-reader", gating=False, start=0),
                    self.rings[1].reader("fills-reader", gating=True, start=0)]
        self.own = [r.owns_wait for r in self.rds]
        self.next = [0, 0]
        self.bad = [0, 0]
        self.lost_wakeups = 0

    def readers(self):
        return self.rds

    def do_work(self):
        wait = self.runner.wait
        if getattr(wait, "timed_out", False):
            wait.timed_out = False
            if any(r.pending() for r in self.rds):
                self.lost_wakeups += 1  # slept to the timeout with a record readable
        work = 0
        for i, r in enumerate(self.rds):
            batch = r.read_batch(copy=True)
            n = len(batch)
            if n:
                want = np.arange(self.next[i], self.next[i] + n)
                self.bad[i] += int((batch["value"] != want).sum()) + int((~bench.check(batch)).sum())
                self.next[i] += n
                work += n
        if self.next == [N, N]:
            self.runner.stop_requested = True
        return work

    def on_close(self):
        codes = [RT.WAIT_NAMES.get(int(r.hdr[RT.word(r.slot, RT.WAIT_CODE)]), "?") for r in self.rds]
        wakes = [r.ring.name_bytes(RT.slot_offset(r.slot) + RT.WAKE, RT.WAKE_LENGTH) for r in self.rds]
        self.report = dict(next=self.next, bad=self.bad, lost_wakeups=self.lost_wakeups, codes=codes,
                           own=self.own + [r.owns_wait for r in self.rds], wakes=wakes,
                           sleeps=getattr(self.runner.wait, "sleeps", -1),
                           lost=[self.rds[0].lost, self.rds[1].lost])
        for r in self.rds:
            r.close()
        for ring in self.rings:
            ring.close()


def _consume(instance, wait, options, conn):
    ctx = WorkerContext(instance=instance, name="consumer", role="strategy", config=None, control=_Control(),
                        slot=0, counters=np.zeros(4, np.int64))
    agent = _Consumer(ctx)
    runner = Runner(agent, wait, **options)
    agent.runner = runner
    runner.run()
    conn.send(agent.report)


@pytest.mark.parametrize("wait,options", [("blocking", {"timeout_s": 2.0}), ("periodic", {"period_us": 500.0}),
                                          ("backoff", {})])
def test_runner_alone_idles_and_loses_no_wakeup_or_record(instance, wait, options):
    md = BroadcastRing.create(instance, "md", bench.LAYOUT, 256, policy="overwrite")
    fills = BroadcastRing.create(instance, "fills", bench.LAYOUT, 256, policy="wait")
    pubs = [md.publisher(), fills.publisher()]
    parent, child = FORK.Pipe(False)
    proc = FORK.Process(target=_consume, args=(instance, wait, options, child))
    proc.start()
    try:
        # the gating reader must be attached before the first publish on the wait ring
        while not any(fills.reader_name(s) == "fills-reader" for s in range(H.READER_SLOTS)):
            time.sleep(0.001)
        rng = np.random.default_rng(7)
        for i in range(N):
            for p in (pubs[0], pubs[1]) if rng.random() < 0.5 else (pubs[1], pubs[0]):
                p.publish(bench_records(1, i, 1))
                if rng.random() < 0.15:
                    time.sleep(rng.random() * 4e-4)  # long enough for the consumer to park or nap
        assert parent.poll(120), "the consumer never finished: a lost wake-up or a lost record"
        report = parent.recv()
    finally:
        proc.join(20)
        if proc.is_alive():
            proc.kill()
        for p in pubs:
            p.close()
    assert proc.exitcode == 0
    assert report["next"] == [N, N] and report["bad"] == [0, 0] and report["lost"] == [0, 0]
    assert report["lost_wakeups"] == 0
    assert report["own"] == [False] * 4  # the readers never built a wait strategy of their own
    assert report["codes"] == [wait, wait]  # the slot shows the runner's strategy
    if wait == "blocking":
        # one wake channel for the worker, written into both slots by the runner's strategy
        assert report["wakes"][0] and report["wakes"][0] == report["wakes"][1]
        assert report["sleeps"] > 0
    else:
        assert report["wakes"] == ["", ""]  # nothing for a producer to wake
    if wait == "periodic":
        assert report["sleeps"] > 0


def test_a_reader_without_a_wait_opens_nothing_until_it_waits(instance):
    ring = BroadcastRing.create(instance, "md", bench.LAYOUT, 64)
    reader = ring.reader("r", gating=True, start=0)
    assert not reader.owns_wait
    assert ring.name_bytes(RT.slot_offset(reader.slot) + RT.WAKE, RT.WAKE_LENGTH) == ""
    pub = ring.publisher()
    pub.publish(bench_records(1, 0, 1))
    assert reader.wait(1.0)  # a notebook's wait(): a default strategy, built on first use
    assert reader.owns_wait
    assert RT.WAIT_NAMES[int(ring.hdr[RT.word(reader.slot, RT.WAIT_CODE)])] == reader.wait_strategy.name
    pub.close()
    reader.close()


def test_roles_pick_the_wait_of_auto():
    assert roles.resolve_wait("journal", "auto") == "periodic"
    assert roles.resolve_wait("risk", "auto") == "periodic"
    assert roles.resolve_wait("execution", "auto") == "backoff"
    assert roles.resolve_wait("journal", "backoff") == "backoff"  # an explicit choice stands
    assert roles.wait_options("journal", "auto", 0.0) == {"period_us": roles.PERIOD_US["journal"]}
    assert roles.wait_options("risk", "periodic", 500.0) == {"period_us": 500.0}
    assert roles.wait_options("strategy", "blocking", 0.0) == {}
    assert roles.wait_options("journal", "backoff", 0.0)["max_sleep_us"] == roles.MAX_NAP_US["journal"]
