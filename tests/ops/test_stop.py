"""Every way of stopping is clean: closing the terminal (tmux ``kill-session``: SIGHUP) stops the
instance in order like Ctrl-C, with and without the dashboard: the summary is written and no
shared memory is left. And the exit code tells the truth: a worker given up, or a halt the run
did not start with, exits 3 with the reasons in the summary."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from hftshm.runtime import control_layout as C
from hftshm.runtime.control import ControlBlock
from tests.runtime.helpers import CLI, leftovers, run_config, stop, supervisor, wait_running

_ids = itertools.count()


def _env() -> dict:
    e = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    e["PYTHONPATH"] = os.pathsep.join(filter(None, [root, e.get("PYTHONPATH", "")]))
    return e


class Tmux:
    def __init__(self):
        if shutil.which("tmux") is None:
            raise AssertionError("these tests need tmux (apt-get install tmux)")
        self.socket = f"hftshm-ops-{os.getpid()}-{next(_ids)}"

    def tmux(self, *args, check=True):
        return subprocess.run(["tmux", "-f", "/dev/null", "-L", self.socket, *args], capture_output=True, text=True,
                              env=_env(), check=check, timeout=10)

    def start(self, command: str, cwd: str):
        self.tmux("new-session", "-d", "-s", "t", "-x", "110", "-y", "40", "-c", cwd, command)

    def capture(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t", check=False).stdout

    def kill(self):
        self.tmux("kill-server", check=False)


@pytest.fixture
def tmux():
    t = Tmux()
    yield t
    t.kill()


def _running(instance: str, timeout=300.0, sup=None) -> tuple[int, dict]:
    """(supervisor pid, {worker: pid}) once the supervisor has started every worker; fails at
    once when ``sup`` (the supervisor's Popen) has exited, with what it printed."""
    deadline = time.monotonic() + timeout
    while True:
        if sup is not None and sup.poll() is not None:
            raise AssertionError(f"hftshm start exited with {sup.returncode} before running:\n"
                                 f"{sup.stdout.read() if sup.stdout else ''}")
        try:
            ctl = ControlBlock.attach(instance)
            try:
                if ctl.state == C.RUNNING:
                    return ctl.supervisor_pid, wait_running(instance)
            finally:
                ctl.close()
        except Exception:  # not created yet
            pass
        assert time.monotonic() < deadline, "the instance never reached RUNNING"
        time.sleep(0.1)


def _wait_gone(pid: int, timeout=180.0) -> None:
    deadline = time.monotonic() + timeout
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        try:  # a zombie has exited: reaped by whoever
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(") ", 1)[1].startswith("Z"):
                    return
        except OSError:
            return
        time.sleep(0.2)
    assert not os.path.exists(f"/proc/{pid}"), f"supervisor {pid} still runs {timeout:g} s after SIGHUP"


@pytest.mark.parametrize("dashboard", [False, True], ids=["headless", "dashboard"])
def test_closing_the_terminal_stops_in_order(tmux, instance, tmp_path, dashboard):
    # a loaded test machine can starve the feed for seconds: this test is about the stop, not FEED_STALE
    cfg = run_config(tmp_path, instance, "[sim]\nrate = 500\n[risk]\nmax_feed_age_s = 120\n")
    summary = tmp_path / "s.json"
    flags = "" if dashboard else "--headless"
    tmux.start(f"{sys.executable} -m hftshm.cli start {flags} --config {cfg} --summary {summary}", str(tmp_path))
    pid, _ = _running(instance)
    time.sleep(2.0)
    if dashboard:
        assert "md" in tmux.capture()  # the dashboard is drawn
    tmux.tmux("kill-session", "-t", "t")  # the terminal closes: SIGHUP
    _wait_gone(pid)
    data = json.loads(summary.read_text())
    assert data["exit"]["stop_reason"] == "SIGHUP", data["exit"]
    assert data["exit"]["code"] == 0, data["exit"]
    assert data["rings"]["md"]["published"] > 0
    assert leftovers(instance) == []


def test_a_given_up_worker_and_a_halt_exit_three_with_the_reasons(instance, tmp_path):
    cfg = run_config(tmp_path, instance, "[sim]\nrate = 500\n[workers.strategy-momentum]\nrestart = false\n")
    with supervisor("start", "--headless", "--summary", tmp_path / "s.json", "--config", cfg) as sup:
        _, pids = _running(instance)
        os.kill(pids["strategy-momentum"], 9)
        halt = subprocess.run(CLI + ["halt", "--instance", instance], capture_output=True, text=True, timeout=60)
        assert halt.returncode == 0, halt.stdout + halt.stderr
        time.sleep(1.0)  # the supervisor's next checks see the dead worker
        output = stop(sup)
    assert sup.returncode == 3, output
    why = json.loads((tmp_path / "s.json").read_text())["exit"]["why"]
    assert any(w.startswith("worker strategy-momentum was given up") for w in why), why
    assert any(w.startswith("trading ended HALTED (MANUAL") for w in why), why
    assert "worker strategy-momentum was given up" in output
    assert leftovers(instance) == []
