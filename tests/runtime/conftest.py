"""An instance built by hand (control block, latency book, rings) for running single workers."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from hftshm import instances

from hftshm.venues.binance_spot import BinanceSpotNormalizer
from hftshm.feed.capture import iter_capture
from hftshm.latency import LatencyBook
from hftshm.runtime import config as config_mod
from hftshm.runtime import control_layout as C
from hftshm.runtime import rings
from hftshm.runtime.control import ControlBlock
from support import CAPTURE

SYMBOLS = ["btcusdt"]


def capture_records(limit: int | None = None) -> np.ndarray:
    """md records of the vendored real capture, as the normalizer makes them."""
    norm = BinanceSpotNormalizer({"BTCUSDT": 0})
    parts = []
    for i, (recv_ns, frame) in enumerate(iter_capture(CAPTURE)):
        if limit is not None and i >= limit:
            break
        recs = norm.normalize(frame, recv_ns)
        if len(recs):
            parts.append(recs)
    return np.concatenate(parts)


class HandInstance:
    def __init__(self, name, tmp_path, ring_names=("md",), **overrides):
        data = {"instance": name, "data_dir": str(tmp_path), "venue": {"symbols": SYMBOLS},
                "rings": {n: {} for n in ring_names}}
        data.update(overrides)
        self.cfg = config_mod.from_dict(data)
        self.cfg.rings = {n: self.cfg.rings[n] for n in ring_names}
        self.control = ControlBlock.create(name)
        self.latency = LatencyBook.create(name)
        for ring in rings.create_all(self.cfg):
            ring.close()
        self.procs = {}

    def spawn(self, role, name, params=None):
        slot = self.control.claim_worker(name, role)
        env = dict(os.environ, HFTSHM_CONFIG=self.cfg.to_json(), HFTSHM_WORKER_PARAMS=json.dumps(params or {}))
        self.control.set_worker_field(slot, C.W_STATE, C.W_STARTING)
        self.procs[name] = subprocess.Popen([sys.executable, "-m", "hftshm.workers", role, name], env=env,
                                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        return slot

    def wait_running(self, name, timeout=120):
        slot = self.control.find_worker(name)
        deadline = time.monotonic() + timeout
        while self.control.worker_field(slot, C.W_STATE) != C.W_RUNNING:
            proc = self.procs[name]
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited {proc.returncode}: {proc.stderr.read().decode()[-3000:]}")
            assert time.monotonic() < deadline, f"{name} did not start"
            time.sleep(0.01)

    def stop(self, name, sig=signal.SIGTERM, timeout=30):
        proc = self.procs[name]
        proc.send_signal(sig)
        try:
            return proc.wait(timeout)
        finally:
            proc.stderr.close()

    def close(self):
        for name, proc in self.procs.items():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
                proc.stderr.close()
        self.latency.close()
        self.control.close()


@pytest.fixture
def hand(instance, tmp_path):
    """make(**config) -> a HandInstance; a second call makes a second instance beside the first."""
    made = []

    def make(**kw):
        name = instance if not made else f"{instance}n{len(made)}"
        h = HandInstance(name, tmp_path / name, **kw)
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()
        inst = instances.scan().get(h.cfg.instance)
        if inst is not None:
            instances.remove(inst)
