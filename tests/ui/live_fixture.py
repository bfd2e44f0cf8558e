"""A live fixture instance in a subprocess (``fixture_instance.py``) and a gating reader that
checks every record it publishes, for the tests of ``tail``, ``status``, ``top`` and ``attach``."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import numpy as np

from hftshm import instances
from hftshm.layouts import md

from . import fixture_instance as F

SCRIPT = os.path.join(os.path.dirname(__file__), "fixture_instance.py")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, e.get("PYTHONPATH", "")]))
    e.pop("NO_COLOR", None)
    return e


def hftshm_cmd(*args) -> list[str]:
    return [sys.executable, "-m", "hftshm.cli", *args]


def expected(seqs: np.ndarray) -> dict:
    """The fields ``fixture_instance.md_record`` gives records ``seqs``, vectorised."""
    kinds = np.array([md.TRADE, md.QUOTE, md.LEVEL, md.AGG_TRADE])
    return {"kind": kinds[seqs % 4], "symbol_id": seqs % len(F.SYMBOLS),
            "price_e8": 6_183_763_000_000 + seqs * 1_000_000, "qty_e8": 123_456 + seqs, "venue_id": 1000 + seqs}


class GatingChecker(threading.Thread):
    """A gating reader of ``md`` in this process: reads every record from 0 and checks it.
    Forbidden outcomes: a record lost (sequence gap), duplicated, or with wrong contents."""

    def __init__(self, instance: str):
        super().__init__(daemon=True)
        from hftshm.ring import BroadcastRing

        self.ring = BroadcastRing.attach(instance, "md", md.LAYOUT)
        self.reader = self.ring.reader("checker", gating=True, start="oldest")
        self.count = 0
        self.bad = 0
        self.gaps = 0
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            batch = self.reader.read_batch(4096, copy=True)
            if len(batch) == 0:
                time.sleep(0.002)
                continue
            seqs = batch["seq"]
            want = np.arange(self.count, self.count + len(batch))
            self.gaps += int((seqs != want).sum())
            exp = expected(seqs)
            for field, values in exp.items():
                self.bad += int((batch[field] != values).sum())
            self.count += len(batch)

    def stop(self):
        self.halt.set()
        self.join(5)
        self.reader.close()
        self.ring.close()


class LiveInstance:
    # n: 1,000 s of records at the default rate, so that the instance still publishes when the
    # module's last test runs on a slow machine (a tail waits for a new record)
    def __init__(self, name: str, n: int = 1_000_000, rate: float = 1000.0, capacity: int = 1 << 16):
        self.name = name
        self.proc = subprocess.Popen([sys.executable, SCRIPT, name, str(n), str(rate), str(capacity)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env())
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.proc.kill()
            raise RuntimeError(f"fixture instance did not start: {line!r}")
        self.checker = GatingChecker(name)
        self.checker.start()
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def published(self) -> int:
        return self.checker.ring.published()

    def wait_published(self, n: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while self.published() < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {self.published()} of {n} records published")
            time.sleep(0.01)

    def close(self) -> None:
        self.checker.stop()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        inst = instances.scan().get(self.name)
        if inst is not None:
            instances.remove(inst)
