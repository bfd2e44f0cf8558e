"""An instance for one ingest worker (control block, latency book, md ring) built by
``hftshm.launch.instance``, the simulator in a background thread of the test process, and the
worker as a subprocess."""

from __future__ import annotations

import shutil
import tempfile
import time

from hftshm.launch.instance import Instance as Built
from hftshm.runtime import config as config_mod
from hftshm.runtime import control_layout as C
from hftshm.runtime import rings

SYMBOLS = ["BTCUSDT", "ETHUSDT"]


class Instance:
    """Everything the supervisor would make for the ingest worker, and nothing else."""

    def __init__(self, name: str, symbols=SYMBOLS, capacity: int = 1 << 18):
        self.name = name
        self.log_dir = tempfile.mkdtemp(prefix="hftshm-ingest-")
        cfg = config_mod.from_dict({"instance": name, "data_dir": self.log_dir, "strategies": [],
                                    "venue": {"symbols": [s.lower() for s in symbols]},
                                    "rings": {"md": {"capacity": capacity, "policy": "wait"}}})
        cfg.rings = {"md": cfg.rings["md"]}
        self.built = Built.create(cfg, self.log_dir)
        self.control = self.built.control
        self.slot = self.control.claim_worker("ingest", "ingest")
        self.latency = self.built.latency
        self.ring = rings.attach(name, "md")
        self.reader = self.ring.reader("test", gating=True, wait="backoff")
        self.proc = None
        self._logged = 0  # the log's length when the latest worker started

    def config(self, port: int, streams=("trade",), symbols=("btcusdt",), **feed) -> str:
        data = {
            "instance": self.name,
            "venue": {"kind": "sim", "stream_url": f"ws://127.0.0.1:{port}",
                      "api_url": f"ws://127.0.0.1:{port}/ws-api/v3",
                      "symbols": list(symbols), "streams": list(streams)},
            "feed": feed,
        }
        return config_mod.from_dict(data).to_json()

    def start(self, config_json: str, params: dict | None = None):
        if self.proc is not None:  # a restart: the predecessor must be gone
            assert self.proc.poll() is not None, "start() while the previous worker runs"
        self._logged = len(self.built.log("ingest"))
        self.proc = self.built.spawn("ingest", "ingest", params, config_json=config_json)
        return self.proc

    @property
    def counters(self) -> dict[str, int]:
        return self.control.counter_values(self.slot)

    @property
    def state(self) -> int:
        return self.control.worker_field(self.slot, C.W_STATE)

    def read_until(self, done, timeout: float = 30.0) -> list:
        """Read records (copies) until ``done(records)`` is true; fails on timeout or a dead worker."""
        out = []
        deadline = time.monotonic() + timeout
        while not done(out):
            batch = self.reader.read_batch(1 << 14, copy=True)
            if len(batch):
                out.extend(batch)
                continue
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"ingest exited {self.proc.returncode}: {self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out with {len(out)} records; counters {self.counters}")
            self.reader.wait(0.05)
        return out

    def wait_counters(self, check, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            c = self.counters
            if c and check(c):
                return c
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"ingest exited {self.proc.returncode}: {self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"counters never passed the check: {c}")
            self.reader.read_batch(1 << 14)  # keep the wait ring from filling
            time.sleep(0.02)

    def stop(self, timeout: float = 20.0) -> int:
        code = self.built.stop("ingest", timeout)
        return 0 if code is None else code

    def kill9(self) -> int:
        """SIGKILL the worker, as a crash would end it: nothing of it runs on its way out."""
        self.proc.kill()
        return self.proc.wait(10)

    def output(self) -> str:
        return self.built.log("ingest")[self._logged:][-4000:]

    def close(self) -> None:
        try:
            self.stop()
        finally:
            self.reader.close()
            self.ring.close()
            self.built.close()
            shutil.rmtree(self.log_dir, ignore_errors=True)
