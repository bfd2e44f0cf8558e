"""A trading instance for tests and ``hftshm bench trading``: the simulator, then an instance
(``instance.py``: segments, the trading state, the workers risk, execution, the strategies and
ingest, and state and journal when asked) started the way the supervisor starts its own, without
the supervisor's watch. The simulator runs in a thread of this process (``sim_in_thread``:
``sim.venue.engine.executions`` is then at hand) or as a child process (``simulator.py``).
"""

from __future__ import annotations

import signal
import subprocess
import tempfile
from pathlib import Path

from .. import private
from ..exchange.config import SimLimits
from ..exchange.config import ExchangeConfig
from ..exchange.thread import SimThread
from ..runtime import config as config_mod
from ..runtime import plan
from ..trading import credentials, instruments
from .instance import Instance
from .simulator import API_PATHS, SimProcess


class TradingInstance:
    def __init__(self, instance: str, strategies: list[dict], *, risk: dict | None = None,
                 execution: dict | None = None, symbols=("btcusdt", "ethusdt"), sim_rate: float = 1000.0,
                 orders_per_10s: int = 50, wait: str = "backoff", sim_in_thread: bool = True,
                 streams=("trade", "bookTicker"), log_dir: str | None = None, workers: dict | None = None,
                 journal: bool = False, replay: str | None = None, speed: float = 1.0,
                 params: dict | None = None, state: bool = True, sim: SimThread | None = None,
                 venue: dict | None = None, sim_venue: str = "binance_spot", feed: dict | None = None,
                 sim_cpu: int | None = None):
        self.instance = instance
        # the venue the simulator speaks to ingest and execution ([sim] venue): Spot, or Bybit linear
        # (served on its own paths); the in-thread simulator here does not speak USD-M
        if sim_venue == "binance_usdm":
            raise ValueError("TradingInstance: sim_venue binance_usdm is not supported (use hftshm start)")
        self.sim_venue = sim_venue
        self.venue = venue or {}  # more [venue] keys (instruments_refresh_s, ...)
        self.feed = feed or {}  # [feed] keys (host = "execution": execution runs the feed)
        self.strategies = strategies
        self.risk = risk or {}
        self.execution = execution or {}
        self.symbols = list(symbols)
        self.sim_cfg = ExchangeConfig(port=0, symbols=tuple(symbols), rate=sim_rate,
                                 limits=SimLimits(orders_per_10s=orders_per_10s))
        self.wait = wait  # None: each worker's default wait ([workers.NAME] wait unset)
        self.journal = journal  # run the journal worker too (off by default: tests rarely need it)
        self.replay = replay  # a capture the simulator plays (child process only) instead of its market
        self.speed = speed
        self.params = params or {}  # per-worker additions to HFTSHM_WORKER_PARAMS (ingest's hold_wakes)
        self.sim_in_thread = sim_in_thread
        if sim_cpu is not None and (sim_in_thread or sim is not None):
            raise ValueError("TradingInstance: sim_cpu pins a child simulator; this one runs in a thread")
        self.sim_cpu = sim_cpu  # the child simulator's core (None: any)
        self.streams = list(streams)
        self.workers = workers or {}  # per-worker overrides of [workers.NAME] (wait, max_nap_us)
        self.state = state  # run the state worker (orders and fills to SQLite), as the supervisor does
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix="hftshm-trading-"))
        private.make_dir(self.log_dir)
        self.roles: dict[str, tuple[str, dict]] = {}
        self.sim = sim  # a simulator still running from an earlier instance (see crash): its account goes on
        self.reused_sim = sim is not None
        self.sim_process: SimProcess | None = None
        self.built: Instance | None = None  # the segments and workers, once started
        self.control = None
        self.latency = None

    @property
    def procs(self) -> dict[str, subprocess.Popen]:
        """name -> the worker's process (the latest one started under that name)."""
        return {} if self.built is None else self.built.procs

    @property
    def sim_proc(self) -> subprocess.Popen | None:
        return None if self.sim_process is None else self.sim_process.proc

    # --- lifecycle -------------------------------------------------------------------------------
    def start(self, workers=True) -> "TradingInstance":
        # the key pair in this process's environment goes to execution alone (see spawn)
        self.credentials = credentials.Handover.take("sim", self.execution.get("key_file", ""), pop=False)
        port = self._start_sim()
        self.cfg = self.config(port)
        self.built = Instance.create(self.cfg, self.log_dir, trading=True, fresh_state=not self.reused_sim,
                                        credentials=self.credentials)
        self.control, self.latency = self.built.control, self.built.latency
        # the venue's rules, as the supervisor fetches them; always: a trading instance runs execution
        instruments.write(self.cfg, instruments.fetch(self.cfg), instruments.url_of(self.cfg))
        self.roles = {"journal": ("journal", {})} if self.journal else {}
        if self.state:
            self.roles["state"] = ("state", {})
        self.roles.update({"risk": ("risk", {}), "execution": ("execution", {})})
        for s in self.cfg.strategies:
            if s.host == "own":  # host "execution": execution runs it (runtime.plan.hosted)
                self.roles[f"strategy-{s.name}"] = ("strategy", {})  # its table: cfg.strategy(name)
        if plan.feed_hosted(self.cfg):  # execution runs it, with ingest's params
            self.params = {**self.params, "execution": {**self.params.get("execution", {}),
                                                        "ingest": self.params.get("ingest", {})}}
        else:
            self.roles["ingest"] = ("ingest", {})
        if workers:
            for name in self.roles:
                self.spawn(name)
        return self

    def config(self, port: int) -> config_mod.Config:
        """The instance's config with the simulator on ``port``, validated (ConfigError names a bad
        key); ``start`` runs it, and a caller may check it before anything starts."""
        url = f"ws://127.0.0.1:{port}"
        names = {f"strategy-{s['name']}" for s in self.strategies} | {"risk", "execution", "ingest", "state"}
        if self.journal:
            names.add("journal")
        waits = {} if self.wait is None else {"wait": self.wait}
        return config_mod.from_dict({
            "instance": self.instance, "data_dir": str(self.log_dir),
            "venue": {"kind": "sim", "symbols": self.symbols, "streams": self.streams,
                      "stream_url": url, "api_url": url + API_PATHS.get(self.sim_venue, "/ws-api/v3"), **self.venue},
            "sim": {"venue": self.sim_venue}, "feed": self.feed,
            "journal": {"enabled": self.journal},
            "strategies": self.strategies, "risk": self.risk, "execution": self.execution,
            "workers": {n: {**waits, **self.workers.get(n, {})} for n in names},
        })

    def _start_sim(self) -> int:
        if self.reused_sim:
            return self.sim.port
        if self.sim_in_thread:
            self.sim = SimThread(self.sim_cfg)
            return self.sim.port
        sim = config_mod.SimConfig(port=0, rate=self.sim_cfg.rate, replay=str(self.replay or ""),
                                   speed=str(self.speed))
        self.sim_process = SimProcess.start(self.symbols, sim, self.log_dir,
                                            orders_per_10s=self.sim_cfg.limits.orders_per_10s, cpu=self.sim_cpu)
        return self.sim_process.port

    def spawn(self, name: str) -> subprocess.Popen:
        """Start worker ``name`` (again: it gets its old slot and waits as STARTING)."""
        role, params = self.roles[name]
        return self.built.spawn(role, name, {**params, **self.params.get(name, {})})

    def kill(self, name: str, sig=signal.SIGKILL) -> None:
        p = self.procs[name]
        p.send_signal(sig)
        p.wait(20)

    def worker_running(self, name: str) -> bool:
        return self.built.running(name)

    def wait_running(self, names, timeout=90.0) -> None:
        self.built.wait_running(names, timeout)

    def counters(self, name: str) -> dict:
        return self.built.counters(name)

    def log(self, name: str) -> str:
        return self.built.log(name) if self.built is not None else ""

    def crash(self) -> SimThread:
        """The whole instance dies at once (``kill -9`` of every worker; its shared memory is then
        removed, as ``hftshm clean`` would): the simulator keeps running and is returned, for a
        new Harness of the same instance and ``log_dir`` (its data dir) to restart against."""
        if self.built is not None:
            self.built.kill_all()
        sim, self.sim = self.sim, None
        self.stop()
        return sim

    def stop(self) -> None:
        if self.built is not None:
            self.built.stop_all()
        if self.sim is not None:
            self.sim.close()
            self.sim = None
        if self.sim_process is not None:
            self.sim_process.stop(20)
        if self.built is not None:
            self.built.close()
            self.built = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
