"""``hftshm bench wake``: the machine's floor under the idle wait strategies.

Backoff naps and blocking sleeps on a semaphore; neither can beat what the kernel (and, on a
virtual machine, the hypervisor) charges to put a thread to sleep and wake it. This measures
both, so a latency figure of the ring can be read against them:

* **nap**: how long ``time.sleep(d)`` really takes for small ``d``, with the timer slack the
  backoff strategy sets (1 us) and the kernel default (50 us);
* **semaphore wake**: a process posts a posix_ipc semaphore with its clock in shared memory,
  another sleeping on it records how long after the post it ran again: where the scheduler puts
  them, then both pinned to one core, then each to a core of its own (on a virtual machine a
  wake-up on an idle other core waits for the hypervisor to run that vCPU again).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time

import numpy as np
import posix_ipc

from ..wait.timerslack import set_timer_slack
from .stats import latency_summary

FORK = mp.get_context("fork")


def naps(requests_us=(1, 10, 50), count: int = 500) -> list[dict]:
    rows = []
    for slack_ns in (1000, 50_000):
        set_timer_slack(slack_ns)
        for req in requests_us:
            d = np.empty(count, np.int64)
            for i in range(count):
                t = time.perf_counter_ns()
                time.sleep(req * 1e-6)
                d[i] = time.perf_counter_ns() - t
            rows.append({"case": f"sleep({req} us), timer slack {slack_ns // 1000} us", **latency_summary(d)})
    set_timer_slack(1000)
    return rows


def _waiter(name, stamps, count, done, cpu=None):
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    sem = posix_ipc.Semaphore(name)
    out = np.frombuffer(stamps.get_obj(), np.int64)
    for i in range(count):
        sem.acquire()
        out[count + i] = time.time_ns()
    sem.close()
    done.set()


def semaphore_wake(count: int = 500, gap_s: float = 0.0005, cpus: tuple[int, int] | None = None) -> dict:
    """``cpus``: the poster's core and the waiter's (None: where the scheduler puts them)."""
    name = f"/hftshm-benchwake-{os.getpid()}"
    sem = posix_ipc.Semaphore(name, posix_ipc.O_CREX, mode=0o600, initial_value=0)
    stamps = FORK.Array("q", 2 * count)
    done = FORK.Event()
    p = FORK.Process(target=_waiter, args=(name, stamps, count, done, None if cpus is None else cpus[1]))
    p.start()
    mine = os.sched_getaffinity(0)
    try:
        if cpus is not None:
            os.sched_setaffinity(0, {cpus[0]})
        view = np.frombuffer(stamps.get_obj(), np.int64)
        time.sleep(0.2)
        for i in range(count):
            time.sleep(gap_s)  # let the waiter fall asleep again
            view[i] = time.time_ns()
            sem.release()
        if not done.wait(30):
            raise RuntimeError(f"the waiting process did not finish (exit code {p.exitcode})")
        lat = view[count:] - view[:count]
    finally:
        if not done.is_set():
            p.kill()  # still blocked on the semaphore, or dead
        p.join(10)
        if p.is_alive():
            p.kill()
        sem.close()
        posix_ipc.unlink_semaphore(name)
        os.sched_setaffinity(0, mine)
    where = ("" if cpus is None else ", same core" if cpus[0] == cpus[1] else ", other core")
    return {"case": f"semaphore post -> sleeping process runs{where}", **latency_summary(lat)}


def run(count: int = 500) -> list[dict]:
    rows = naps(count=count) + [semaphore_wake(count)]
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) >= 2:
        rows += [semaphore_wake(count, cpus=(cores[0], cores[0])), semaphore_wake(count, cpus=(cores[0], cores[1]))]
    return rows
