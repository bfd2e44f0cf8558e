"""The one launcher of the simulated exchange as a child process (``python -m hftshm.exchange``),
for the supervisor (``[venue] kind = "sim"``) and the trading instance of tests and benchmarks.

The child binds a free port (or ``[sim] port``) and writes it to ``<run_dir>/exchange.port``; the
launcher waits for that file. The child never inherits the API key pair, runs in its own session
(a terminal's Ctrl-C reaches the supervisor alone) and gets SIGTERM when its parent dies, even by
kill -9 (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import ctypes
import functools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .. import private
from ..runtime.worker_env import without_secrets

START_TIMEOUT_S = 60.0
# the order API path by the venue the simulator speaks (Spot: /ws-api/v3); Bybit: its trade API
API_PATHS = {"binance_usdm": "/ws-fapi/v1", "bybit_linear": "/v5/trade"}


class SimStartError(RuntimeError):
    """The simulator did not start; the message says why and where its log is."""


class SimProcess:
    def __init__(self, proc: subprocess.Popen, port: int, log_path: Path):
        self.proc = proc
        self.port = port
        self.log_path = log_path

    @classmethod
    def start(cls, symbols, sim, run_dir: Path, *, orders_per_10s: int | None = None,
              interrupted=lambda: False, cpu: int | None = None) -> "SimProcess":
        """Start it with ``sim`` (a ``runtime.config.SimConfig``) for ``symbols`` (None: the
        simulator's own, or the replayed capture's); its log is
        ``<run_dir>/logs/exchange.log`` (``run_dir`` itself when it has no ``logs``).
        ``interrupted()`` true while it starts (the supervisor was asked to stop): give up.
        ``cpu``: run it on that core alone (a benchmark keeps the stand-in venue off the cores of
        the pipeline it measures)."""
        run_dir = Path(run_dir)
        log_dir = run_dir / "logs" if (run_dir / "logs").is_dir() else run_dir
        port_file = run_dir / "exchange.port"
        port_file.unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "hftshm.exchange", "--port", str(sim.port), "--port-file", str(port_file),
               "--rate", str(sim.rate), "--levels", str(sim.levels), "--seed", str(sim.seed)]
        if symbols is not None:
            cmd += ["--symbols", ",".join(symbols)]
        if orders_per_10s is not None:
            cmd += ["--orders-per-10s", str(orders_per_10s)]
        if getattr(sim, "ticks", ""):
            cmd += ["--ticks", sim.ticks]
        if getattr(sim, "venue", "binance_spot") == "binance_usdm":  # Bybit, OKX: served on their own paths
            cmd += ["--venue", "binance_usdm", "--funding-interval", repr(float(sim.funding_interval_s)),
                    "--liquidations-per-s", repr(float(sim.liquidations_per_s))]
        elif getattr(sim, "venue", "") == "bybit_linear":  # its trade side pays funding on this interval too
            cmd += ["--funding-interval", repr(float(sim.funding_interval_s))]
        if sim.replay:
            cmd += ["--replay", str(sim.replay), "--speed", str(sim.speed)]
            if sim.replay_orders:
                cmd += ["--replay-orders"]
        log_path = log_dir / "exchange.log"
        with private.open_file(log_path) as logf:
            proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=without_secrets(), start_new_session=True,
                                    preexec_fn=functools.partial(_child_setup, cpu))
        deadline = time.monotonic() + START_TIMEOUT_S
        while not port_file.exists() or not port_file.read_text().strip():
            why = (f"the simulator exited with {proc.returncode}" if proc.poll() is not None else
                   f"the simulator did not start within {START_TIMEOUT_S:g} s" if time.monotonic() > deadline else
                   "interrupted while the simulator was starting" if interrupted() else None)
            if why:
                terminate(proc, 10)
                raise SimStartError(f"{why}; see {log_path}")
            time.sleep(0.05)
        return cls(proc, int(port_file.read_text().strip()), log_path)

    def urls(self, venue: str = "binance_spot") -> tuple[str, str]:
        """(stream URL, WebSocket API URL) of the market it plays."""
        base = f"ws://127.0.0.1:{self.port}"
        return base, base + API_PATHS.get(venue, "/ws-api/v3")

    def poll(self) -> int | None:
        return self.proc.poll()

    def stop(self, timeout: float = 10.0) -> int:
        return terminate(self.proc, timeout)


def _child_setup(cpu: int | None) -> None:
    """In the child before exec: SIGTERM when the parent dies (even kill -9); pinned to ``cpu``."""
    ctypes.CDLL(None).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})


def terminate(proc: subprocess.Popen, timeout: float) -> int:
    """SIGTERM, then SIGKILL after ``timeout`` s; the exit code (already exited: that one)."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()
