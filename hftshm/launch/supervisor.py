"""The supervisor behind ``hftshm start``: an instance (``instance.py``: segments, workers) plus
the watch that restarts the workers that crash, and the orderly stop.

Lifecycle:

1. remove the leftovers of dead instances (a supervisor that was kill -9'd);
2. start the simulator (``venue.kind = "sim"``) and point the venue URLs at it;
3. create the control block, the latency book and the rings; let trading format its state;
4. start the workers in plan order (plan.py), each in its own session so that a terminal's
   Ctrl-C reaches the supervisor alone, and wait for each to report RUNNING;
5. watch: a worker that exits is restarted (a gating reader resumes from its cursor), one whose
   heartbeat stops for ``HUNG_S`` is killed and restarted; tick the latency book; draw the
   dashboard;
6. on Ctrl-C, SIGTERM, SIGHUP (the terminal closed) or ``--duration``: stop workers in reverse
   plan order (the producer first, the journal last, each drains), stop the simulator, write the
   summary, unlink everything. The exit code says whether the run was clean (``verdict.py``).

From the first second it says what it does (``progress.py``): a line per step when headless, the
dashboard's top line otherwise, including the kernels a first run compiles.
"""

from __future__ import annotations

import collections
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import instances, naming, private
from ..errors import ConfigError, HftshmError
from ..runtime import config as config_mod
from ..runtime import control_layout as C
from ..runtime import plan, progress, rings
from ..runtime import verdict as verdict_mod
from ..trading.credentials import CredentialsError, Handover
from . import summary
from .instance import START_TIMEOUT_S, STOP_TIMEOUT_S, Instance, StartError
from .simulator import SimProcess, SimStartError

log = logging.getLogger("hftshm.supervisor")

__all__ = ["Supervisor", "StartError", "START_TIMEOUT_S", "STOP_TIMEOUT_S"]

HUNG_S = 10.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # SIGHUP: the terminal was closed
PROGRESS_EVERY_S = 5.0  # headless: a line at least this often while a step lasts
LOOP_S = 0.02
CRASH_WINDOW_S = 60.0
MAX_CRASHES = 5  # in CRASH_WINDOW_S; then the worker stays down (and the operator is told)


def quietly(call) -> None:
    """The dashboard's calls: a closed terminal must never stop the run or its orderly stop."""
    try:
        call()
    except Exception:
        pass


@dataclass
class Worker:
    spec: plan.WorkerSpec
    slot: int
    log_path: Path
    crashes: collections.deque = field(default_factory=collections.deque)
    gave_up: bool = False


class Supervisor:
    def __init__(self, cfg, *, duration: float | None = None, dashboard=None, exporter=None,
                 summary_path=None, out=None):
        self.cfg = cfg
        self.duration = duration
        self.dashboard_factory = dashboard  # callable(instance, hz) -> object with start/update/stop
        # callable(instance, port, addr, window_s) -> object with start() -> it, url, stop(); handed in
        # by the command (hftshm.metrics.exporter.Exporter) so the runtime never imports the readers
        self.exporter_factory = exporter
        self.summary_path = summary_path
        self.out = out
        self.stop_requested = False
        self.stop_reason = ""
        self.workers: list[Worker] = []
        self.instance: Instance | None = None
        self.control = None
        self.latency = None
        self.sim: SimProcess | None = None
        self.started_ns = 0
        self.summary: dict | None = None
        self.final_readers: dict = {}  # ring -> reader name -> figures just before its worker stopped
        self.credentials = None  # trading.credentials.Handover: execution's key pair, for it alone
        self.dash = None
        self.progress: progress.StartProgress | None = None
        self._progress_said = 0.0
        self.start_trading = (0, 0)  # (state, reason) once armed
        self.end_trading = None  # (state, reason) when the stop began
        self.exit_code = 0
        self.exit_why: list[str] = []
        self._md_ring = None
        self.first_data_s: float | None = None
        self._terminal_gone = False
        self.exporter = None  # hftshm.metrics: [metrics] port

    def say(self, text: str) -> None:
        if self._terminal_gone:
            return
        try:  # resolved per call: the dashboard redirects sys.stderr while it draws
            print(text, file=self.out or sys.stderr, flush=True)
        except (OSError, ValueError):  # the terminal is gone (SIGHUP): stop in order, silently
            self._terminal_gone = True

    def _step(self, phase: str, detail: str, *, kernels: bool = False) -> None:
        """Say what the instance is doing now: on a change at once, then every few seconds."""
        p, now = self.progress, time.monotonic()
        if p is None:
            return
        changed = p.set(phase, detail, now)
        if not changed and now - self._progress_said < (1.0 if self.dash is not None else PROGRESS_EVERY_S):
            return
        self._progress_said = now
        line = p.line(now, progress.kernels_cached() if kernels else None)
        if self.dash is not None:
            self.dash.note = line
            self._draw()
        else:
            self.say(line)

    def _draw(self) -> None:
        if self.dash is not None:
            quietly(self.dash.update)

    # --- setup ------------------------------------------------------------------------------------

    def _request_stop(self, signum, _frame) -> None:
        self.stop_requested = True
        self.stop_reason = signal.Signals(signum).name

    def run(self) -> int:
        old = {s: signal.signal(s, self._request_stop) for s in STOP_SIGNALS}
        old_umask = private.restrict_umask()  # every file and directory of the run is owner-only
        self.progress = progress.StartProgress(time.monotonic(), progress.kernels_cached())
        try:
            self._take_credentials()
            self._setup()
            self._start_exporter()
            self._start_dashboard()
            self._start_workers()
            self.control.set_state(C.RUNNING)
            guests = [name for name, _ in plan.guests(self.cfg)]
            self.say(f"hftshm {self.cfg.instance}: running {len(self.workers)} workers "
                     f"({', '.join(w.spec.name for w in self.workers)})"
                     + (f"; execution runs {', '.join(guests)}" if guests else "") + f"; logs in {self.run_dir / 'logs'}")
            self._watch(self.dash)
            return self.exit_code_now()
        except (StartError, HftshmError) as exc:
            self.say(f"hftshm start failed: {exc}")
            self.exit_code, self.exit_why = verdict_mod.START_FAILED, [f"start failed: {exc}"]
            return verdict_mod.START_FAILED
        finally:
            if self.dash is not None:
                quietly(self.dash.stop)  # a closed terminal: the stop must go on
            self._shutdown()
            os.umask(old_umask)
            for s, h in old.items():
                signal.signal(s, h)

    def exit_code_now(self) -> int:
        """The verdict on the run (verdict.py), from the trading state when the stop began and the
        workers given up; the summary gets it too."""
        end = self.end_trading or (self.control.trading_state, self.control.trading_reason)
        gave_up = [w.spec.name for w in self.workers if w.gave_up]
        self.exit_code, self.exit_why = verdict_mod.verdict(gave_up, self.start_trading[0], *end)
        for why in self.exit_why:
            self.say(f"hftshm {self.cfg.instance}: {why}")
        return self.exit_code

    def _start_exporter(self) -> None:
        """Serve /metrics from the start (``[metrics] port``): a scrape reads shared memory only."""
        m = getattr(self.cfg, "metrics", None)
        if m is None or not m.port:
            return
        if self.exporter_factory is None:
            raise StartError("[metrics] port is set but this supervisor was given no exporter "
                             "(hftshm start gives it one)")
        self._step("metrics", f"starting the metrics exporter on {m.addr}:{m.port}", kernels=True)
        self.exporter = self.exporter_factory(self.cfg.instance, m.port, m.addr, self.cfg.latency_window_s).start()
        self.say(f"metrics for Prometheus on {self.exporter.url}")

    def _start_dashboard(self) -> None:
        if self.dashboard_factory is None:
            return
        self.dash = self.dashboard_factory(self.cfg.instance, self.cfg.dashboard_hz)
        self.dash.note = self.progress.line(time.monotonic()) if self.progress else None
        self.dash.start()

    def _take_credentials(self) -> None:
        """Take the API key pair out of this process's environment (so neither the simulator nor
        any worker inherits it) and check it is there if execution will need it."""
        key_file = self.cfg.execution.key_file
        try:
            # only an instance that runs execution needs them (a remote strategy host of the
            # bridge sends its orders to another instance's execution)
            needed = any(w.role == "execution" for w in plan.workers(self.cfg))
            self.credentials = Handover.take(self.cfg.venue.kind, key_file, required=needed)
        except CredentialsError as exc:
            raise StartError(f"[execution] credentials: {exc}") from None

    def _setup(self) -> None:
        cfg = self.cfg
        if not cfg.instance:
            cfg.instance = naming.default_instance()
        # the data directory, cores and input files, before anything is created or started
        config_mod.preflight(cfg)
        for name, removed in instances.clean().items():
            self.say(f"removed the leftovers of dead instance {name}: {len(removed)} objects")
        taken = instances.scan().get(cfg.instance)
        if taken is not None and not taken.mine:
            raise StartError(f"instance name {cfg.instance!r} is held by user {taken.owner} ({taken.state}); "
                             "pick another name")
        if taken is not None:
            raise StartError(f"instance {cfg.instance!r} is live; pick another name or stop it")
        self.run_dir = cfg.run_dir()
        try:
            private.make_dir(self.run_dir)
            private.make_dir(self.run_dir / "logs")
        except OSError as exc:  # AccessDenied (another user's directory) is a PermissionError too
            raise ConfigError(f"data_dir = {cfg.data_dir!r}: cannot create {self.run_dir / 'logs'}: "
                              f"{exc.strerror or exc}") from None
        if cfg.venue.kind == "sim":
            self._step("simulator", "starting the simulated exchange")
            self._start_sim()
        self._step("instance", f"creating instance {cfg.instance}: control block, latency book, rings")
        self.started_ns = time.time_ns()
        self.instance = Instance.create(cfg, self.run_dir / "logs", trading=True, credentials=self.credentials)
        self.control, self.latency = self.instance.control, self.instance.latency
        self._fetch_instruments()
        private.write_text(self.run_dir / "config.json", cfg.to_json())
        self.start_trading = (self.control.trading_state, self.control.trading_reason)

    def _fetch_instruments(self) -> None:
        """The venue's instrument rules (exchangeInfo) before any trading worker starts; without
        them the start fails: no trading for a symbol without rules (trading/instruments.py)."""
        from ..trading import instruments

        try:
            self._step("instruments", "fetching the venue's instrument rules (exchangeInfo)")
            got = instruments.fetch_at_start(self.cfg)
        except instruments.I.InstrumentError as exc:
            raise StartError(f"instrument rules: {exc}; no trading without them") from None
        if got:
            self.say(f"instrument rules from {instruments.url_of(self.cfg)}: " + ", ".join(
                f"{r.symbol} tick {r.tick_e8 / 1e8:g} step {r.step_e8 / 1e8:g}" for r in got))

    def _start_sim(self) -> None:
        cfg, sim = self.cfg, self.cfg.sim
        try:
            self.sim = SimProcess.start(cfg.venue.symbols, sim, self.run_dir, interrupted=lambda: self.stop_requested)
        except SimStartError as exc:
            raise StartError(str(exc)) from None
        port = self.sim.port
        cfg.venue.stream_url, cfg.venue.api_url = self.sim.urls(sim.venue)
        market = f"replaying {sim.replay}, speed {sim.speed}" if sim.replay else f"{sim.rate:g} msgs/s"
        self.say(f"simulated exchange on ws://127.0.0.1:{port} ({', '.join(cfg.venue.symbols)}, {market})")

    # --- workers ----------------------------------------------------------------------------------

    def _start_workers(self) -> None:
        specs = plan.workers(self.cfg)
        for i, spec in enumerate(specs, 1):
            self._spawn(spec)
            w = Worker(spec, self.instance.slots[spec.name], self.instance.log_path(spec.name))
            self.workers.append(w)
            self._await_running(w, f"starting worker {i}/{len(specs)}: {spec.name}")

    def _spawn(self, spec: plan.WorkerSpec) -> None:
        self.instance.spawn(spec.role, spec.name, spec.params)

    def proc(self, w: Worker):
        return self.instance.procs[w.spec.name]

    def _await_running(self, w: Worker, step: str = "") -> None:
        def progress_or_stop(_name):
            self._step("worker", step or f"starting worker {w.spec.name}", kernels=True)
            if self.stop_requested:
                raise StartError(f"interrupted ({self.stop_reason}) while {w.spec.name} was starting")

        self.instance.wait_running(w.spec.name, START_TIMEOUT_S, progress_or_stop)

    def _watch(self, dash) -> None:
        end = time.monotonic() + self.duration if self.duration else None
        while not self.stop_requested:
            if end is not None and time.monotonic() >= end:
                self.stop_reason = f"--duration {self.duration:g} s"
                break
            self.watch_step(dash)
            time.sleep(LOOP_S)
        self.stopping()

    def watch_step(self, dash=None) -> None:
        """One round of the watch: restart what crashed, tick the latency book, draw."""
        now = time.time_ns()
        for w in self.workers:
            self._check(w, now)
        if self.sim is not None and self.sim.poll() is not None:
            self.say(f"the simulator exited with {self.sim.proc.returncode}; see {self.run_dir / 'logs/exchange.log'}")
            self.sim = None
        self.latency.tick(now)
        if self.first_data_s is None:
            self._await_first_data()
        if dash is not None:
            self._draw()

    def stopping(self) -> None:
        # the verdict's trading state: before any worker stops, so the stop itself never counts
        self.end_trading = (self.control.trading_state, self.control.trading_reason)
        self.say(f"hftshm {self.cfg.instance}: stopping ({self.stop_reason or 'requested'})")

    def _await_first_data(self) -> None:
        """Until md has its first record: say so (connecting, or waiting for the first data)."""
        try:
            if self._md_ring is None:
                self._md_ring = rings.attach(self.cfg.instance, "md")
            published = self._md_ring.published()
        except Exception:  # no md ring (a config without one): nothing to wait for
            published = 1
        now = time.monotonic()
        if published:
            self.first_data_s = now - self.progress.started if self.progress else 0.0
            if self.progress is not None:
                self.progress.set("running", "", now)
            if self.dash is not None:
                self.dash.note = None
            self.say(f"hftshm {self.cfg.instance}: first market data after {self.first_data_s:.1f} s")
            if self._md_ring is not None:
                self._md_ring.close()
                self._md_ring = None
            return
        feed = next((w for w in self.workers if w.spec.role in ("ingest", "replay", "bridge")), None)
        connected = None
        if feed is not None and feed.spec.role == "ingest":
            connected = self.control.counter_values(feed.slot).get("connected")
        elif plan.feed_hosted(self.cfg) and "ingest" in self.instance.slots:  # run by execution
            connected = self.control.counter_values(self.instance.slots["ingest"]).get("connected")
        what = ("waiting for the first market data (connected)" if connected else
                "connecting to the market-data feed" if connected is not None else
                "waiting for the first market data")
        self._step("data", what)

    def _check(self, w: Worker, now: int) -> None:
        if w.gave_up:
            return
        proc = self.proc(w)
        code = proc.poll()
        if code is None:
            beat = self.control.worker_field(w.slot, C.W_HEARTBEAT_NS)
            state = self.control.worker_field(w.slot, C.W_STATE)
            if state == C.W_RUNNING and beat and now - beat > HUNG_S * 1e9:
                self.say(f"worker {w.spec.name} (pid {proc.pid}) silent for {(now - beat) / 1e9:.1f} s: killing it")
                proc.kill()
                proc.wait()
                code = proc.returncode
            else:
                return
        self.control.set_worker_field(w.slot, C.W_EXIT_CODE, code)
        self.control.set_worker_field(w.slot, C.W_STATE, C.W_CRASHED)
        for guest, host in self.instance.hosts.items():  # what it ran (hosted strategies, the feed) ended with it
            if host == w.spec.name:
                self.control.set_worker_field(self.instance.slots[guest], C.W_STATE, C.W_CRASHED)
        mono = time.monotonic()
        w.crashes.append(mono)
        while w.crashes and mono - w.crashes[0] > CRASH_WINDOW_S:
            w.crashes.popleft()
        if not self.cfg.worker(w.spec.name).restart or len(w.crashes) > MAX_CRASHES:
            w.gave_up = True
            self.say(f"worker {w.spec.name} exited with {code}; not restarting it "
                     f"({len(w.crashes)} crashes in {CRASH_WINDOW_S:g} s); see {w.log_path}")
            return
        self.say(f"worker {w.spec.name} exited with {code}; restarting it")
        self.control.add_restart(w.slot)
        self.control.set_worker_field(w.slot, C.W_STATE, C.W_RESTARTING)
        self._spawn(w.spec)

    # --- shutdown ---------------------------------------------------------------------------------

    def _shutdown(self) -> None:
        if self.control is not None:
            self.control.set_state(C.STOPPING)
        for w in reversed(self.workers):  # producer first, journal last
            self._stop_worker(w)
        if self.control is not None:  # what [execution] cancel_on_stop did with resting orders
            line = summary.resting_line(summary.resting_at_stop(self.cfg, self.control))
            if line:
                self.say(line)
        if self.sim is not None:
            self.sim.stop(10)
        if self.control is not None:
            self.control.set_state(C.STOPPED)
            try:
                self.summary = summary.collect(self.cfg, self.control, self.latency, self.started_ns,
                                              self.final_readers)
                self.summary["exit"] = {"code": self.exit_code, "why": self.exit_why,
                                        "stop_reason": self.stop_reason}
                if self.summary_path:
                    summary.write(self.summary_path, self.summary)
                    self.say(f"summary written to {self.summary_path}")
            except Exception as exc:  # the shared memory must still go
                self.say(f"could not write the summary: {type(exc).__name__}: {exc}")
        if self._md_ring is not None:
            self._md_ring.close()
            self._md_ring = None
        if self.exporter is not None:
            self.exporter.stop()
            self.exporter = None
        if self.instance is not None:
            self.instance.close()  # every worker is stopped already: unmaps and removes the segments
        else:  # the start failed halfway: nothing of this instance may be left
            inst = instances.scan().get(self.cfg.instance)
            if inst is not None:
                instances.remove(inst)

    def _stop_worker(self, w: Worker) -> None:
        proc = self.proc(w)
        if proc.poll() is not None:
            return
        self._drain_readers(proc.pid)
        code = self.instance.stop(w.spec.name, STOP_TIMEOUT_S)
        if code != 0:
            self.say(f"worker {w.spec.name} stopped with exit code {code}; see {w.log_path}")
        self.control.set_worker_field(w.slot, C.W_EXIT_CODE, code)


    def _drain_readers(self, pid: int, timeout: float = 10.0) -> None:
        """Give the worker's readers time to catch up with producers that have stopped, then keep
        their figures: a reader's slot is freed when it closes, and the summary reports them."""
        deadline = time.monotonic() + timeout
        while True:
            figs = {}
            for name in self.cfg.rings:
                try:
                    ring = rings.attach(self.cfg.instance, name)
                except Exception:
                    continue
                try:
                    figs[name] = [r for r in summary.ring_figures(ring)["readers"] if r["pid"] == pid]
                finally:
                    ring.close()
            if all(r["lag"] == 0 for rs in figs.values() for r in rs) or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        for name, rs in figs.items():
            for r in rs:
                self.final_readers.setdefault(name, {})[r["name"]] = r

