"""Running one transport case: a producer process and a consumer process, measured.

A case is an object with ``transport``, ``api``, ``wait`` and four methods:

* ``setup()`` in the parent, before the children fork: create the channel, return a resource;
* ``consume(resource, phase, ready, totals)`` in the consumer child: attach, ``ready.set()``,
  receive, and return a dict of figures;
* ``produce(resource, phase, totals)`` in the producer child, started once the consumer is ready;
* ``teardown(resource)`` in the parent, always.

Two phases. **throughput**: the producer sends constant 64-byte records as fast as it can for
``phase.seconds``, then tells the consumer how many it sent (``totals``); the consumer counts
them (every one must arrive: the channels are lossless) and times first to last.
**latency**: the producer sends ``rate * seconds`` records paced at ``rate``, each carrying the
``time.time_ns()`` taken just before the send call; the consumer subtracts it from its own clock
right after the record is in its hands, and measures its own CPU use.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import dataclass

import numpy as np

from .stats import CpuMeter, latency_summary

FORK = mp.get_context("fork")


@dataclass(frozen=True)
class Phase:
    name: str  # "throughput" or "latency"
    seconds: float
    rate: float = 10_000.0

    @property
    def count(self) -> int:
        return int(self.rate * self.seconds)


class Totals:
    """How the producer tells the consumer how many records it sent (throughput phase)."""

    def __init__(self):
        self._recv, self._send = FORK.Pipe(False)
        self.total = -1

    def sent(self, n: int) -> None:
        self._send.send(n)

    def known(self) -> int:
        """The total once the producer has said it, else -1 (cheap to poll)."""
        if self.total < 0 and self._recv.poll():
            self.total = self._recv.recv()
        return self.total


class LatencyLog:
    """Consumer-side record of one-way latencies and the CPU spent receiving them."""

    def __init__(self, n: int):
        self.samples = np.zeros(n, np.int64)
        self.count = 0
        self.cpu = CpuMeter()

    def add(self, sent_ns: int) -> None:
        self.samples[self.count] = time.time_ns() - sent_ns
        self.count += 1

    def result(self) -> dict:
        out = latency_summary(self.samples[: self.count])
        out["cpu_pct"] = self.cpu.percent()
        out["received"] = self.count
        return out


def _consumer_main(case, resource, phase, ready, totals, conn):
    try:
        conn.send(case.consume(resource, phase, ready, totals))
    except BaseException as exc:  # report, do not hang the parent
        conn.send({"error": f"{type(exc).__name__}: {exc}"})
        raise


def _producer_main(case, resource, phase, totals):
    case.produce(resource, phase, totals)


def run_case(case, phase: Phase, timeout: float = 60.0) -> dict:
    resource = case.setup()
    procs = []
    try:
        ready = FORK.Event()
        totals = Totals()
        recv, send = FORK.Pipe(False)
        consumer = FORK.Process(target=_consumer_main, args=(case, resource, phase, ready, totals, send))
        consumer.start()
        procs.append(consumer)
        if not ready.wait(timeout):
            raise RuntimeError(f"{case.transport}: consumer did not start")
        producer = FORK.Process(target=_producer_main, args=(case, resource, phase, totals))
        producer.start()
        procs.append(producer)
        if not recv.poll(phase.seconds + timeout):
            raise RuntimeError(f"{case.transport} {case.api}/{case.wait}: no result within the time limit")
        result = recv.recv()
        for p in procs:
            p.join(10)
        return result
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join()
        case.teardown(resource)
