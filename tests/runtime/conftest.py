"""An instance built by hand (control block, latency book, rings) for running single workers."""

import signal

import numpy as np
import pytest

from hftshm.feed.capture import iter_capture
from hftshm.launch.instance import Instance
from hftshm.runtime import config as config_mod
from hftshm.venues.binance_spot import BinanceSpotNormalizer
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
    """An instance with only ``ring_names`` and the workers a test spawns (no trading state):
    ``hftshm.launch.instance.Instance`` with the calls these tests make."""

    def __init__(self, name, tmp_path, ring_names=("md",), **overrides):
        data = {"instance": name, "data_dir": str(tmp_path), "venue": {"symbols": SYMBOLS},
                "rings": {n: {} for n in ring_names}}
        data.update(overrides)
        cfg = config_mod.from_dict(data)
        cfg.rings = {n: cfg.rings[n] for n in ring_names}
        self.built = Instance.create(cfg, tmp_path)

    def __getattr__(self, attr):  # cfg, control, latency, procs, log, close
        return getattr(self.built, attr)

    def spawn(self, role, name, params=None):
        self.built.spawn(role, name, params)
        return self.built.slots[name]

    def wait_running(self, name, timeout=120):
        self.built.wait_running(name, timeout)

    def stop(self, name, sig=signal.SIGTERM, timeout=30):
        proc = self.built.procs[name]
        proc.send_signal(sig)
        return proc.wait(timeout)


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
