"""The dashboard on a real terminal: tmux runs ``hftshm top`` (and ``hftshm start``), and the
screen is read twice, a second apart, with ``capture-pane``."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from .live_fixture import LiveInstance, env

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
_ids = itertools.count()


class Tmux:
    def __init__(self):
        self.socket = f"hftshm-ui-{os.getpid()}-{next(_ids)}"

    def tmux(self, *args, check=True):
        return subprocess.run(["tmux", "-f", "/dev/null", "-L", self.socket, *args], capture_output=True, text=True,
                              env=env(), check=check, timeout=10)

    def start(self, command: str, cwd: str, width=100, height=32):
        self.tmux("new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height), "-c", cwd, command)

    def capture(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t").stdout

    def alive(self) -> bool:
        return self.tmux("has-session", "-t", "t", check=False).returncode == 0

    def wait_for(self, text: str, timeout=30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.capture() if self.alive() else ""
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never showed; screen:\n{screen}")

    def kill(self):
        self.tmux("kill-server", check=False)


@pytest.fixture
def tmux():
    t = Tmux()
    yield t
    t.kill()


def _row(screen: str, first: str) -> str:
    return next((line for line in screen.splitlines() if line.split()[:1] == [first]), "")


def _two_reads(tmux: Tmux, stage: str):
    """Two screens a second apart, once latency figures show."""
    a = tmux.wait_for(stage)
    time.sleep(1.0)
    b = tmux.capture()
    return a, b


def test_top_against_a_live_instance(tmux, instance, tmp_path):
    live = LiveInstance(instance, n=1_000_000, rate=1000.0, capacity=1 << 14)
    try:
        tmux.start(f"{sys.executable} -m hftshm.cli top --instance {instance}", str(tmp_path))
        a, b = _two_reads(tmux, "exch_to_recv")
        for screen in (a, b):
            md = _row(screen, "md").split()
            assert md and md[1] == "16,384", screen  # capacity
            assert _row(screen, "checker")  # its gating reader
            assert "us" in _row(screen, "exch_to_recv") and "us" in _row(screen, "recv_to_publish")
            assert "ingest" in screen and "running" in screen
        assert _row(a, "md") != _row(b, "md")  # published and rate moved on
        assert int(_row(b, "md").split()[2].replace(",", "")) > int(_row(a, "md").split()[2].replace(",", ""))
        tmux.tmux("send-keys", "-t", "t", "C-c")
        deadline = time.monotonic() + 10
        while tmux.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not tmux.alive()  # Ctrl-C ended it
        assert live.checker.gaps == 0 and live.checker.bad == 0
    finally:
        live.close()


def _figures_shown(tmux: Tmux, stage: str, timeout=120.0) -> str:
    """The screen once ``stage`` shows a latency figure (a cold numba cache delays the first)."""
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux.capture() if tmux.alive() else screen
        if re.search(r"\d(us|ms)\b", _row(screen, stage)):
            return screen
        time.sleep(0.2)
    raise AssertionError(f"no {stage} figure ever showed; screen:\n{screen}")


def test_start_shows_the_dashboard(tmux, instance, tmp_path):
    tmux.start(f"{sys.executable} -m hftshm.cli start --duration 20 --instance {instance}", str(tmp_path),
               width=100, height=40)
    a = _figures_shown(tmux, "recv_to_publish")
    time.sleep(1.0)
    b = tmux.capture()
    for screen in (a, b):
        assert _row(screen, "md") and _row(screen, "orders") and _row(screen, "fills"), screen
        assert re.search(r"\d(us|ms)\b", _row(screen, "recv_to_publish")), screen
        assert _row(screen, "ingest")
    assert _row(a, "md") != _row(b, "md")
    deadline = time.monotonic() + 60
    while tmux.alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not tmux.alive()
    from hftshm import instances

    assert instance not in instances.scan()  # start removed its instance on the way out
