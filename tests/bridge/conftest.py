"""A real nats-server with JetStream (127.0.0.1, a free port, its store in tmp) and hand-built
instances whose bridge workers run as real worker processes."""

import signal
import time
from pathlib import Path

import pytest

from hftshm.bridge.nats_server import LocalServer
from hftshm.errors import HftshmError
from hftshm.launch.instance import Instance
from hftshm.runtime import config as config_mod
from hftshm.runtime import control_layout as C

ROOT = Path(__file__).resolve().parents[2]
NOTES: list[str] = []  # lines for the test summary (which transport the two-host test used)


def note(line: str) -> None:
    NOTES.append(line)


def pytest_terminal_summary(terminalreporter):
    for line in NOTES:
        terminalreporter.write_line(line)


def NatsServer(store: Path, host: str = "127.0.0.1", netns: str | None = None) -> LocalServer:
    """The project's own launcher; a missing nats-server fails the test with the install hint."""
    try:
        return LocalServer(store, host=host, netns=netns)
    except HftshmError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture
def nats_server(tmp_path):
    server = NatsServer(tmp_path / "jetstream").start()
    yield server
    server.stop()


class BridgeInstance:
    """An instance built by ``hftshm.launch.instance`` (control block, rings) running single
    workers as processes."""

    def __init__(self, name, run_dir, **config):
        data = {"instance": name, "data_dir": str(run_dir), "venue": {"symbols": ["btcusdt"]},
                "rings": {"md": {}}, "strategies": []}
        for key, value in config.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        cfg = config_mod.from_dict(data)
        cfg.rings = {n: cfg.rings[n] for n in data["rings"]}
        self.built = Instance.create(cfg, run_dir)
        self.cfg, self.control, self.latency = cfg, self.built.control, self.built.latency
        self.procs = self.built.procs
        self.name = name

    def spawn(self, role="bridge", name="bridge", netns=None):
        self.built.spawn(role, name, wrap=("ip", "netns", "exec", netns) if netns else ())
        return self.built.slots[name]

    def log(self, name="bridge") -> str:
        return self.built.log(name)

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
        proc = self.procs[name]
        proc.send_signal(sig)
        return proc.wait(timeout)

    def close(self):
        self.built.close()


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
