"""One instance, built in one place: the supervisor, the trading instance of tests and benchmarks,
and every test that runs workers build theirs here.

``Instance.create(cfg, log_dir)`` creates the segments (control block, latency book, the
configured rings) and, with ``trading=True``, formats the trading state (``trading.setup``: risk
state, trading area, restored positions, the kill switch armed). ``spawn`` starts a worker as
``python -m hftshm.workers ROLE NAME``; it is the only writer of a worker's environment
(``runtime.worker_env.WorkerEnv``, which ``workers/__main__.py`` reads): the config, the worker's
params, this process's pid (the worker dies with it) and, for execution alone, the pipe holding
the API key pair. ``wait_running``, ``stop`` and ``close`` end the cycle; ``close`` also removes
whatever of the instance is left in /dev/shm.

A worker's slot is claimed by name (a re-spawned worker gets its old slot, so a gating reader
resumes from its cursor) and marked STARTING before the process exists, so ``wait_running``
always waits for the new process, never the RUNNING left by the one it replaces. Each worker
runs in its own session (a terminal's Ctrl-C reaches the owner alone) and logs to
``<log_dir>/<name>.log``.

The strategies execution hosts (``[[strategies]] host = "execution"``, ``plan.hosted``), and
ingest with ``[feed] host = "execution"`` (``plan.feed_hosted``), have no process but keep their
slot (``strategy-<name>``, ``ingest``): it is claimed here with execution's (claims are
the instance's alone, so two never race for a free slot), marked STARTING and given execution's
pid; execution writes its heartbeat, counters and state. ``wait_running`` and ``counters`` take
their names; the supervisor watches execution for them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from .. import instances, private
from ..latency import LatencyBook
from ..runtime import control_layout as C
from ..runtime import plan, rings
from ..runtime.control import ControlBlock
from ..runtime.worker_env import WorkerEnv
from ..trading import setup as trading_setup
from .simulator import terminate

STAGES = ("exch_to_recv", "recv_to_publish")
START_TIMEOUT_S = 120.0  # a cold numba cache compiles for a while on the first run
STOP_TIMEOUT_S = 20.0


class StartError(RuntimeError):
    """The instance could not start; the message says which part and where its log is."""


class Instance:
    def __init__(self, cfg, control: ControlBlock, latency: LatencyBook, log_dir: Path, credentials=None):
        self.cfg = cfg
        self.control = control
        self.latency = latency
        self.log_dir = Path(log_dir)
        self.credentials = credentials  # trading.credentials.Handover: execution's key pair, for it alone
        self.procs: dict[str, subprocess.Popen] = {}
        self.roles: dict[str, str] = {}
        self.slots: dict[str, int] = {}
        self.hosts: dict[str, str] = {}  # a hosted strategy's worker name -> its host's (execution)

    @classmethod
    def create(cls, cfg, log_dir, *, trading: bool = False, fresh_state: bool | None = None,
               stages=STAGES, latency_period_s: float | None = None, credentials=None) -> "Instance":
        """Create the segments of ``cfg.instance``: control block, latency book (``stages``, a
        snapshot every ``latency_period_s``: default the book's), every ring of ``cfg.rings``;
        with ``trading``, format the trading state (``fresh_state``: see ``trading.setup.prepare``).
        On a failure whatever was created is removed again."""
        private.make_dir(Path(log_dir))
        control = latency = None
        try:
            control = ControlBlock.create(cfg.instance, cfg.venue.kind)
            period = {} if latency_period_s is None else {"period_s": latency_period_s}
            latency = LatencyBook.create(cfg.instance, stages, **period)
            for ring in rings.create_all(cfg):
                ring.close()
            if trading:
                trading_setup.prepare(cfg, control, fresh_state=fresh_state)
        except BaseException:
            for seg in (latency, control):
                if seg is not None:
                    seg.close()
            _remove(cfg.instance)
            raise
        return cls(cfg, control, latency, log_dir, credentials)

    # --- workers ---------------------------------------------------------------------------------

    def spawn(self, role: str, name: str, params: dict | None = None, *, config_json: str | None = None,
              wrap=()) -> subprocess.Popen:
        """Start worker ``name`` (``role``) with ``params``; ``config_json`` instead of the
        instance's config (a test giving one worker another view); ``wrap``: a command the worker
        runs under (``ip netns exec NS``)."""
        if name in self.procs and self.procs[name].poll() is None:
            raise StartError(f"worker {name} is running (pid {self.procs[name].pid}); stop it first")
        slot = self.control.claim_worker(name, role)
        self.slots[name], self.roles[name] = slot, role
        self.control.set_worker_field(slot, C.W_STATE, C.W_STARTING)
        guests = self._claim_hosted(name) if role == "execution" else []
        fd = self.credentials.pipe() if role == "execution" and self.credentials is not None else None
        env = WorkerEnv(config_json or self.cfg.to_json(), params or {}, os.getpid(), fd)
        try:
            with private.open_file(self.log_path(name)) as logf:
                proc = subprocess.Popen([*wrap, sys.executable, "-m", "hftshm.workers", role, name],
                                        env=env.environ(), stdout=logf, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True,
                                        pass_fds=() if fd is None else (fd,))
        finally:
            if fd is not None:
                os.close(fd)
        self.procs[name] = proc
        for s in (slot, *guests):
            self.control.set_worker_field(s, C.W_PID, proc.pid)
        return proc

    def _claim_hosted(self, host: str) -> list[int]:
        """The slots of the strategies ``host`` (execution) runs, and ingest's when it runs the
        feed (``plan.feed_hosted``), STARTING until it reports them RUNNING; a restart of the host
        counts as theirs."""
        out = []
        for name, role in plan.guests(self.cfg):
            slot = self.control.claim_worker(name, role)
            if name in self.hosts:
                self.control.add_restart(slot)
            self.slots[name], self.hosts[name] = slot, host
            self.control.set_worker_field(slot, C.W_STATE, C.W_STARTING)
            out.append(slot)
        return out

    def state(self, name: str) -> int:
        return self.control.worker_field(self.slots[name], C.W_STATE)

    def running(self, name: str) -> bool:
        return self.state(name) == C.W_RUNNING

    def wait_running(self, names, timeout: float = START_TIMEOUT_S, while_waiting=None) -> None:
        """Until every worker of ``names`` reports RUNNING. StartError when one exits first or
        ``timeout`` passes; ``while_waiting(name)`` is called on every poll (it may raise)."""
        names = [names] if isinstance(names, str) else list(names)
        deadline = time.monotonic() + timeout
        for name in names:
            while not self.running(name):
                if while_waiting is not None:
                    while_waiting(name)
                host = self.hosts.get(name, name)  # a hosted strategy starts in its host
                proc = self.procs[host]
                if proc.poll() is not None:
                    raise StartError(f"worker {host} exited with {proc.returncode} while starting; "
                                     f"see {self.log_path(host)}:\n{self.log_tail(host)}")
                if time.monotonic() > deadline:
                    waiting = [n for n in names if not self.running(n)]
                    raise StartError(f"worker {name} did not start within {timeout:g} s (not running: "
                                     f"{', '.join(waiting)}); see {self.log_path(host)}:\n{self.log_tail(host)}")
                time.sleep(0.02)

    def stop(self, name: str, timeout: float = STOP_TIMEOUT_S) -> int | None:
        """SIGTERM worker ``name`` and wait (SIGKILL after ``timeout``); its exit code, None if it
        was never started."""
        proc = self.procs.get(name)
        return None if proc is None else terminate(proc, timeout)

    def stop_all(self, timeout: float = STOP_TIMEOUT_S) -> dict[str, int]:
        """Stop every worker, the last started first (the producer before its readers)."""
        return {name: self.stop(name, timeout) for name in reversed(list(self.procs))}

    def kill_all(self) -> None:
        """SIGKILL every worker at once, as a crash of the whole host would end them."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
        for proc in self.procs.values():
            proc.wait(20)

    def counters(self, name: str) -> dict:
        slot = self.slots.get(name)
        return self.control.counter_values(self.control.find_worker(name) if slot is None else slot)

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def log(self, name: str) -> str:
        try:
            return self.log_path(name).read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, name: str, lines: int = 15) -> str:
        return "\n".join(self.log(name).splitlines()[-lines:])

    def close(self) -> None:
        """Stop what still runs, unmap the segments and remove everything of the instance."""
        self.stop_all()
        self.latency.close()
        self.control.close()
        _remove(self.cfg.instance)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _remove(name: str) -> None:
    inst = instances.scan().get(name)
    if inst is not None:
        instances.remove(inst)
