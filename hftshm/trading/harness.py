"""A trading instance built by hand, for tests and ``hftshm bench trading``: the simulator, the
control block, latency book and rings, ``trading.setup.prepare``, and the workers (risk,
execution, strategies, ingest) as ``python -m hftshm.workers ROLE NAME`` processes, the way the
supervisor starts them. The simulator runs in a thread of this process (``sim_in_thread``:
``sim.venue.engine.executions`` is then at hand) or as a child process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .. import instances, private
from ..exchange.config import SimLimits
from ..exchange.config import SimConfig
from ..exchange.thread import SimThread
from ..latency import LatencyBook
from ..runtime import config as config_mod
from ..runtime import control_layout as C
from ..runtime import rings
from ..runtime.control import ControlBlock
from . import credentials, instruments, setup


class Harness:
    def __init__(self, instance: str, strategies: list[dict], *, risk: dict | None = None,
                 execution: dict | None = None, symbols=("btcusdt", "ethusdt"), sim_rate: float = 1000.0,
                 orders_per_10s: int = 50, wait: str = "backoff", sim_in_thread: bool = True,
                 streams=("trade", "bookTicker"), log_dir: str | None = None, workers: dict | None = None,
                 journal: bool = False, replay: str | None = None, speed: float = 1.0,
                 params: dict | None = None, state: bool = True, sim: SimThread | None = None,
                 venue: dict | None = None):
        self.instance = instance
        self.venue = venue or {}  # more [venue] keys (instruments_refresh_s, ...)
        self.strategies = strategies
        self.risk = risk or {}
        self.execution = execution or {}
        self.symbols = list(symbols)
        self.sim_cfg = SimConfig(port=0, symbols=tuple(symbols), rate=sim_rate,
                                 limits=SimLimits(orders_per_10s=orders_per_10s))
        self.wait = wait  # None: each worker's default wait ([workers.NAME] wait unset)
        self.journal = journal  # run the journal worker too (off by default: tests rarely need it)
        self.replay = replay  # a capture the simulator plays (child process only) instead of its market
        self.speed = speed
        self.params = params or {}  # per-worker additions to HFTSHM_WORKER_PARAMS (ingest's hold_wakes)
        self.sim_in_thread = sim_in_thread
        self.streams = list(streams)
        self.workers = workers or {}  # per-worker overrides of [workers.NAME] (wait, max_nap_us)
        self.state = state  # run the state worker (orders and fills to SQLite), as the supervisor does
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix="hftshm-trading-"))
        private.make_dir(self.log_dir)
        self.procs: dict[str, subprocess.Popen] = {}
        self.roles: dict[str, tuple[str, dict]] = {}
        self.sim = sim  # a simulator still running from an earlier instance (see crash): its account goes on
        self.reused_sim = sim is not None
        self.sim_proc = None
        self.control = None
        self.latency = None

    # --- lifecycle -------------------------------------------------------------------------------
    def start(self, workers=True) -> "Harness":
        # the key pair in this process's environment goes to execution alone (see spawn)
        self.credentials = credentials.Handover.take("sim", self.execution.get("key_file", ""), pop=False)
        port = self._start_sim()
        url = f"ws://127.0.0.1:{port}"
        names = {f"strategy-{s['name']}" for s in self.strategies} | {"risk", "execution", "ingest", "state"}
        if self.journal:
            names.add("journal")
        waits = {} if self.wait is None else {"wait": self.wait}
        self.cfg = config_mod.from_dict({
            "instance": self.instance, "data_dir": str(self.log_dir),
            "venue": {"kind": "sim", "symbols": self.symbols, "streams": self.streams,
                      "stream_url": url, "api_url": f"{url}/ws-api/v3", **self.venue},
            "journal": {"enabled": self.journal},
            "strategies": self.strategies, "risk": self.risk, "execution": self.execution,
            "workers": {n: {**waits, **self.workers.get(n, {})} for n in names},
        })
        self.control = ControlBlock.create(self.instance, "sim")
        self.latency = LatencyBook.create(self.instance)
        for ring in rings.create_all(self.cfg):
            ring.close()
        setup.prepare(self.cfg, self.control, fresh_state=not self.reused_sim)
        instruments.fetch_at_start(self.cfg)  # the venue's rules, as the supervisor fetches them
        self.roles = {"journal": ("journal", {})} if self.journal else {}
        if self.state:
            self.roles["state"] = ("state", {})
        self.roles.update({"risk": ("risk", {}), "execution": ("execution", {})})
        for s in self.cfg.strategies:
            self.roles[f"strategy-{s['name']}"] = ("strategy", s)
        self.roles["ingest"] = ("ingest", {})
        if workers:
            for name in self.roles:
                self.spawn(name)
        return self

    def _start_sim(self) -> int:
        if self.reused_sim:
            return self.sim.port
        if self.sim_in_thread:
            self.sim = SimThread(self.sim_cfg)
            return self.sim.port
        port_file = self.log_dir / "exchange.port"
        port_file.unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "hftshm.exchange", "--port", "0", "--port-file", str(port_file),
               "--symbols", ",".join(self.symbols), "--rate", str(self.sim_cfg.rate),
               "--orders-per-10s", str(self.sim_cfg.limits.orders_per_10s)]
        if self.replay is not None:
            cmd += ["--replay", str(self.replay), "--speed", str(self.speed)]
        with private.open_file(self.log_dir / "exchange.log") as logf:
            self.sim_proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT,
                                             env=credentials.worker_env(os.environ))
        deadline = time.monotonic() + 60
        while not port_file.exists():
            if self.sim_proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"simulator did not start; see {self.log_dir / 'exchange.log'}")
            time.sleep(0.05)
        return int(port_file.read_text())

    def spawn(self, name: str) -> subprocess.Popen:
        role, params = self.roles[name]
        params = {**params, **self.params.get(name, {})}
        slot = self.control.claim_worker(name, role)
        # a slot taken over from a killed process still reads RUNNING: wait_running must wait for
        # this one (the supervisor marks it RESTARTING the same way)
        self.control.set_worker_field(slot, C.W_STATE, C.W_STARTING)
        env = credentials.worker_env(os.environ, HFTSHM_CONFIG=self.cfg.to_json(),
                                     HFTSHM_WORKER_PARAMS=json.dumps(params),
                                     HFTSHM_SUPERVISOR_PID=str(os.getpid()))
        fds = (self.credentials.pass_to(env),) if role == "execution" else ()
        try:
            with private.open_file(self.log_dir / f"{name}.log") as log:
                p = subprocess.Popen([sys.executable, "-m", "hftshm.workers", role, name], env=env, stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, pass_fds=fds)
        finally:
            for fd in fds:
                os.close(fd)
        self.procs[name] = p
        return p

    def kill(self, name: str, sig=signal.SIGKILL) -> None:
        p = self.procs.pop(name)
        p.send_signal(sig)
        p.wait(20)

    def worker_running(self, name: str) -> bool:
        slot = self.control.find_worker(name)
        return self.control.worker_field(slot, C.W_STATE) == C.W_RUNNING

    def wait_running(self, names, timeout=90.0) -> None:
        deadline = time.monotonic() + timeout
        while not all(self.worker_running(n) for n in names):
            for n in names:
                p = self.procs.get(n)
                if p is not None and p.poll() is not None:
                    raise RuntimeError(f"worker {n} exited with {p.returncode}: {self.log(n)[-2000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"workers not running after {timeout} s: "
                                   f"{[n for n in names if not self.worker_running(n)]}")
            time.sleep(0.05)

    def counters(self, name: str) -> dict:
        return self.control.counter_values(self.control.find_worker(name))

    def log(self, name: str) -> str:
        try:
            return (self.log_dir / f"{name}.log").read_text()
        except FileNotFoundError:
            return ""

    def crash(self) -> SimThread:
        """The whole instance dies at once (``kill -9`` of every worker; its shared memory is then
        removed, as ``hftshm clean`` would): the simulator keeps running and is returned, for a
        new Harness of the same instance and ``log_dir`` (its data dir) to restart against."""
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()
        for p in self.procs.values():
            p.wait(20)
        self.procs.clear()
        sim, self.sim = self.sim, None
        self.stop()
        return sim

    def stop(self) -> None:
        for name in reversed(list(self.procs)):
            p = self.procs[name]
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for name, p in list(self.procs.items()):
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs.clear()
        if self.sim is not None:
            self.sim.close()
            self.sim = None
        if self.sim_proc is not None and self.sim_proc.poll() is None:
            self.sim_proc.send_signal(signal.SIGTERM)
            try:
                self.sim_proc.wait(20)
            except subprocess.TimeoutExpired:
                self.sim_proc.kill()
                self.sim_proc.wait()
        if self.latency is not None:
            self.latency.close()
        if self.control is not None:
            self.control.close()
        inst = instances.scan().get(self.instance)
        if inst is not None:
            instances.remove(inst)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
