"""An instance for one ingest worker (control block, latency book, md ring), the simulator in a
background thread of the test process, and the worker as a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from hftshm.latency import LatencyBook
from hftshm.layouts import md
from hftshm.ring import BroadcastRing
from hftshm.runtime import config as config_mod
from hftshm.runtime import control_layout as C
from hftshm.runtime.control import ControlBlock

SYMBOLS = ["BTCUSDT", "ETHUSDT"]


class Instance:
    """Everything the supervisor would make for the ingest worker, and nothing else."""

    def __init__(self, name: str, symbols=SYMBOLS, capacity: int = 1 << 18):
        self.name = name
        self.control = ControlBlock.create(name)
        self.slot = self.control.claim_worker("ingest", "ingest")
        self.latency = LatencyBook.create(name)
        self.ring = BroadcastRing.create(name, "md", md.LAYOUT, capacity, policy="wait", symbols=symbols)
        self.reader = self.ring.reader("test", gating=True, wait="backoff")
        self.proc: subprocess.Popen | None = None

    def config(self, port: int, streams=("trade",), symbols=("btcusdt",), **feed) -> str:
        data = {
            "instance": self.name,
            "venue": {"kind": "sim", "stream_url": f"ws://127.0.0.1:{port}",
                      "api_url": f"ws://127.0.0.1:{port}/ws-api/v3",
                      "symbols": list(symbols), "streams": list(streams)},
            "feed": feed,
        }
        return config_mod.from_dict(data).to_json()

    def start(self, config_json: str, params: dict | None = None) -> subprocess.Popen:
        env = dict(os.environ, HFTSHM_CONFIG=config_json, HFTSHM_WORKER_PARAMS=json.dumps(params or {}))
        env.pop("HFTSHM_SUPERVISOR_PID", None)
        if self.proc is not None:  # a restart: the predecessor must be gone
            assert self.proc.poll() is not None, "start() while the previous worker runs"
            self._log.close()
        self._log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, "-m", "hftshm.workers", "ingest", "ingest"], env=env,
                                     stdout=self._log, stderr=subprocess.STDOUT)
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
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill9(self) -> int:
        """SIGKILL the worker, as a crash would end it: nothing of it runs on its way out."""
        self.proc.send_signal(signal.SIGKILL)
        return self.proc.wait(10)

    def output(self) -> str:
        if self.proc is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-4000:]

    def close(self) -> None:
        try:
            self.stop()
        finally:
            if self.proc is not None:
                self._log.close()
            self.reader.close()
            self.ring.close()
            self.ring.unlink()
            self.latency.close()
            self.latency.unlink()
            self.control.close()
            self.control.unlink()
