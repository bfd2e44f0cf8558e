"""The hftshm ring as a benchmark case: per-record Python API, batch API, or numba API, with any
wait strategy on the consumer side. The consumer is a gating reader, so nothing can be lost."""

from __future__ import annotations

import os
import time

import numpy as np
from numba import njit

from .. import instances
from ..clock import now_ns
from ..layouts import bench
from ..ring import BroadcastRing
from ..ring import kernels as K
from .transport_case import LatencyLog
from .pacer import Pacer

CAPACITY = 1 << 16
BATCH = 1024


@njit(cache=True)
def _nb_produce(hdr, slots, rec, n, bits):
    """Publish ``rec`` up to n times from numba; stop early when full or a reader must be woken."""
    done = 0
    while done < n:
        r = K.bc_publish_one(hdr, slots, rec)
        if r < 0:
            break
        done += 1
        if r > 0:
            bits[0] = r
            break
    return done


@njit(cache=True)
def _nb_consume(hdr, slots, rst, limit):
    """Read every available record (up to ``limit``) and touch each: returns how many."""
    mask = slots.shape[0] - 1
    got = 0
    check = 0
    while got < limit:
        k = K.rd_next(hdr, rst, limit - got)
        if k <= 0:
            break
        start = rst[K.R_START]
        for j in range(k):
            check += slots[(start + j) & mask].value
        got += k
    return got


@njit(cache=True)
def _nb_latency(hdr, slots, rst, samples, count, spins):
    """Poll (up to ``spins`` times, in numba) and log now - sent for each record read."""
    mask = slots.shape[0] - 1
    k = K.rd_spin(hdr, rst, samples.shape[0] - count, spins)
    if k <= 0:
        return 0
    t = now_ns()
    start = rst[K.R_START]
    for j in range(k):
        samples[count + j] = t - slots[(start + j) & mask].payload
    return k


class RingCase:
    transport = "hftshm"

    def __init__(self, api: str, wait: str):
        self.api = api  # "record", "batch" or "numba"
        self.wait = wait

    def setup(self):
        instance = f"bench{os.getpid()}"
        BroadcastRing.create(instance, "bench", bench.LAYOUT, CAPACITY).close()
        return instance

    def teardown(self, instance):
        inst = instances.scan().get(instance)
        if inst is not None:
            instances.remove(inst)

    # --- consumer -------------------------------------------------------------------------------

    def consume(self, instance, phase, ready, totals):
        ring = BroadcastRing.attach(instance, "bench", bench.LAYOUT)
        reader = ring.reader("consumer", gating=True, wait=self.wait)
        # compile/load the numba paths before the clock starts
        _nb_consume(*reader.handle(), 0)
        _nb_latency(*reader.handle(), np.zeros(1, np.int64), 1, 0)
        ready.set()
        if phase.name == "throughput":
            return self._throughput(reader, totals)
        return self._latency(reader, phase.count)

    def _throughput(self, reader, totals):
        strategy = reader.wait_strategy
        idle, reset = strategy.idle, strategy.reset
        read, read_batch = reader.read, reader.read_batch
        handle = reader.handle()
        count, t0, idled = 0, 0.0, False
        while True:
            if self.api == "record":
                r = read()
                n = 0 if r is None else 1
            elif self.api == "batch":
                n = len(read_batch())
            else:
                n = _nb_consume(*handle, 1 << 20)
            if n:
                if count == 0:
                    t0 = time.perf_counter()
                count += n
                if idled:
                    reset()
                    idled = False
                continue
            if count == totals.known():
                break
            idle(0)
            idled = True
        elapsed = time.perf_counter() - t0
        reader.close()
        return {"received": count, "lost": totals.total - count, "seconds": elapsed}

    def _latency(self, reader, n):
        log = LatencyLog(n)
        # the numba API polls inside numba: a busy-spin reader never returns to Python to poll
        spins = 1 << 16 if self.wait == "busy-spin" else 0
        strategy = reader.wait_strategy
        idle, reset = strategy.idle, strategy.reset
        read, read_batch, handle = reader.read, reader.read_batch, reader.handle()
        add = log.add
        idled = False
        while log.count < n:
            if self.api == "record":
                r = read()
                if r is not None:
                    add(int(r["payload"]))
                    got = 1
                else:
                    got = 0
            elif self.api == "batch":
                b = read_batch()
                got = len(b)
                if got:
                    log.samples[log.count : log.count + got] = time.time_ns() - b["payload"]
                    log.count += got
            else:
                got = _nb_latency(*handle, log.samples, log.count, spins)
                log.count += got
            if got:
                if idled:
                    reset()
                    idled = False
            else:
                idle(0)
                idled = True
        reader.close()
        return log.result()

    # --- producer -------------------------------------------------------------------------------

    def produce(self, instance, phase, totals):
        ring = BroadcastRing.attach(instance, "bench", bench.LAYOUT)
        pub = ring.publisher()
        rec = np.zeros(1, bench.DTYPE)
        if phase.name == "latency":
            pacer = Pacer(phase.rate)
            publish, time_ns = pub.publish, time.time_ns
            words = rec.view(np.int64)  # stamping a word costs ~140 ns less than a field setitem
            at = bench.DTYPE.fields["payload"][1] // 8
            for _ in range(phase.count):
                pacer.wait()
                words[at] = time_ns()
                publish(rec)
            pub.close()
            return
        # warm every path (numba compiles on a cold cache) before the clock starts
        if self.api == "numba":
            hdr, slots = pub.handle()
            bits = np.zeros(1, np.int64)
            _nb_produce(hdr, slots, rec, 0, bits)
        elif self.api == "batch":
            recs = np.zeros(BATCH, bench.DTYPE)
        K.bc_room(pub.hdr, pub.next_seq, 1)  # what wait_for_room runs
        publish = pub.publish
        end = time.perf_counter() + phase.seconds
        sent = 0
        while True:  # at least one round, however slow the machine
            if self.api == "record":
                for _ in range(4096):
                    publish(rec)
                sent += 4096
            elif self.api == "batch":
                for _ in range(64):
                    pub.publish_batch(recs)
                sent += 64 * BATCH
            else:
                target = sent + (1 << 20)
                while sent < target:
                    done = _nb_produce(hdr, slots, rec, target - sent, bits)
                    sent += done
                    if bits[0]:
                        pub.wake(int(bits[0]))
                        bits[0] = 0
                    elif done == 0:
                        pub.wait_for_room(1)
            if time.perf_counter() >= end:
                break
        totals.sent(sent)
        pub.close()
