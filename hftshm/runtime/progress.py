"""What a starting instance is doing, in words, from its first second: the supervisor's phase,
the worker it waits for, and on a first run the compiled kernels numba has cached so far.

A first run (an empty numba cache) compiles every kernel once, inside the workers' ``on_start``,
before each reports RUNNING; later runs load them from the cache. ``kernels_cached`` counts the
cache's index files (one per compiled function) so that a minute of compiling shows as progress,
not as a blank screen. ``StartProgress`` is pure apart from that count: the supervisor tells it
what happens and asks it for a line.
"""

from __future__ import annotations

import os
from pathlib import Path

# the packages whose kernels workers compile (``cache=True`` writes next to their sources
# unless NUMBA_CACHE_DIR says where)
_PACKAGES = ("hftshm",)


def cache_dirs() -> list[Path]:
    """Where numba caches this installation's kernels."""
    env = os.environ.get("NUMBA_CACHE_DIR")
    if env:
        return [Path(env)]
    import hftshm

    roots = {Path(hftshm.__file__).resolve().parent}
    for sub in ("layouts", "workers"):  # installed as hftshm.layouts and hftshm.workers
        try:
            mod = __import__(f"hftshm.{sub}", fromlist=["_"])
            roots.add(Path(mod.__file__).resolve().parent)
        except Exception:
            pass
    return sorted(roots)


def kernels_cached(dirs: list[Path] | None = None) -> int:
    """Compiled functions in the cache (``*.nbi`` index files); 0 if none can be read."""
    n = 0
    for d in dirs if dirs is not None else cache_dirs():
        for _root, _dirs, files in os.walk(d):
            n += sum(1 for f in files if f.endswith(".nbi"))
    return n


class StartProgress:
    """Phases: ``simulator``, ``instance``, ``worker`` (the one awaited, i of n), ``data`` (all
    running, no market data yet), ``running``. ``line(now)`` says where it is and for how long."""

    def __init__(self, started: float, kernels_at_start: int):
        self.started = started
        self.kernels_at_start = kernels_at_start
        self.phase = "instance"
        self.detail = ""
        self.since = started

    def set(self, phase: str, detail: str, now: float) -> bool:
        """Move to ``phase``; True if that changed anything (the caller prints a line then)."""
        if (phase, detail) == (self.phase, self.detail):
            return False
        self.phase, self.detail, self.since = phase, detail, now
        return True

    def line(self, now: float, kernels: int | None = None) -> str:
        text = f"[{now - self.started:5.1f} s] {self.detail}"
        if kernels is not None and kernels > self.kernels_at_start:
            text += f" (first run: compiling kernels, {kernels - self.kernels_at_start} compiled and cached so far)"
        elif now - self.since >= 5:
            text += f" ({now - self.since:.0f} s)"
        return text
