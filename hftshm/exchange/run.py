"""Blocking entry point: run the simulator in the foreground until SIGINT or SIGTERM.

The supervisor calls ``run(cfg)`` in a child process; the CLI command calls it too. The bound
port is announced on stdout as ``exchange listening on ws://HOST:PORT`` (flushed) and, when
``cfg.port_file`` is set, written to that file (atomically, so a reader never sees half a
number). On exit it prints what was sent.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from .config import ExchangeConfig
from .server import ExchangeSimulator


def write_port_file(path: Path, port: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{port}\n")
    os.replace(tmp, path)


async def serve_until_signalled(cfg: ExchangeConfig, stop: asyncio.Event | None = None) -> ExchangeSimulator:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with ExchangeSimulator(cfg) as sim:
        if cfg.port_file is not None:  # first, so a reader of the line below finds the file
            write_port_file(Path(cfg.port_file), sim.port)
        print(f"exchange listening on ws://{cfg.host}:{sim.port}", flush=True)
        try:
            waits = [asyncio.create_task(stop.wait()), asyncio.create_task(sim.failed.wait())]
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for w in waits:
                w.cancel()
        finally:
            if cfg.port_file is not None:
                Path(cfg.port_file).unlink(missing_ok=True)
    return sim


def run(cfg: ExchangeConfig) -> int:
    """Serve until SIGINT/SIGTERM; returns the process exit status (0, or 1 if the simulator
    failed)."""
    sim = asyncio.run(serve_until_signalled(cfg))
    if sim.failed.is_set():
        print("exchange failed: see the log above", file=sys.stderr, flush=True)
        return 1
    s = sim.stats
    print(f"exchange stopped: {s.messages} market messages rendered, {s.frames} frames and "
          f"{s.bytes} bytes sent to {s.connections} connections", flush=True)
    sys.stdout.flush()
    return 0
