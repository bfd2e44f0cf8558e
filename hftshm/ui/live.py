"""The live dashboard: collect a snapshot and redraw it, at most ``hz`` times a second.

``hftshm start`` calls ``update()`` from the supervisor's main loop (it returns at once when no
redraw is due, and never raises: a failure to collect or draw shows on the screen instead);
``hftshm top`` calls ``run()``, which does the same until Ctrl-C.

Given a group's name (several venues in one instance, ``instances.Group``) it draws each venue
instance's panels, stacked. The name is resolved as ``pick`` does (an instance of that name
first); while it names no instance, or a group, it is looked up again at most once a second, so
a dashboard started before its instances exist, or a group that loses or gains one, follows.
"""

from __future__ import annotations

import time

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from .. import instances
from ..errors import InstanceError
from .collector import Collector
from .render import render, render_group
from .snapshot import GroupSnapshot

RESOLVE_PERIOD_S = 1.0


class LiveDashboard:
    def __init__(self, instance: str, hz: float = 4.0, console: Console | None = None, *,
                 latency_window_s: float = 5.0, screen: bool = False):
        if not hz > 0:
            raise ValueError(f"hz must be > 0, got {hz!r}")
        self.instance = instance
        self.period = 1.0 / hz
        self.console = console or Console()
        self.latency_window_s = latency_window_s
        self.screen = screen
        self.collector: Collector | None = None  # of a plain instance
        self.group: instances.Group | None = None
        self.collectors: dict[str, Collector] = {}  # a group's: venue -> its instance's
        self._resolved_at: float | None = None
        self._settled = False  # the instance named was found: no more lookups
        self.live: Live | None = None
        self.snapshot = None  # the last one drawn
        self.frames = 0
        self.errors = 0
        self._due = 0.0
        self.note: str | None = None  # what a starting instance is doing (the supervisor's progress line)

    def _resolve(self) -> None:
        """Collect the instance named, else the group of that name (its venues' collectors kept
        across lookups, for their rates); a plain instance that exists is not looked up again."""
        now = time.monotonic()
        if self._settled or (self._resolved_at is not None and now - self._resolved_at < RESOLVE_PERIOD_S):
            return
        self._resolved_at = now
        found = instances.scan()
        try:
            group = None if self.instance in found else instances.group(self.instance, found)
        except InstanceError:
            group = None  # two groups of that name: the plain collector says the name is missing
        if group is None:
            self._close_group()
            if self.collector is None:
                self.collector = Collector(self.instance, self.latency_window_s)
            return
        if self.collector is not None:
            self.collector.close()
            self.collector = None
        kept = {v: c for v, c in self.collectors.items() if group.members.get(v) == c.instance}
        for v, c in self.collectors.items():
            if v not in kept:
                c.close()
        self.collectors = {v: kept.get(v) or Collector(name, self.latency_window_s)
                           for v, name in group.members.items()}
        self.group = group

    def _close_group(self) -> None:
        for c in self.collectors.values():
            c.close()
        self.collectors = {}
        self.group = None

    def _collect(self):
        self._resolve()
        if self.group is not None:
            return GroupSnapshot(self.group.name, {v: c.collect() for v, c in self.collectors.items()})
        snap = self.collector.collect()
        self._settled = snap.state != "missing"
        return snap

    def start(self) -> None:
        self._resolved_at, self._settled = None, False
        self._resolve()
        # stdout/stderr writes made while it runs go above the dashboard (rich's redirection)
        self.live = Live(console=self.console, auto_refresh=False, screen=self.screen, transient=False)
        self.live.start()
        self._due = 0.0
        self.update()

    def update(self, force: bool = False) -> bool:
        """Collect and redraw if a frame is due (or ``force``); True if it drew one."""
        if self.live is None:
            return False
        now = time.monotonic()
        if not force and now < self._due:
            return False
        # the next frame is due one period after this one was; if we fell behind, from now
        self._due = max(self._due + self.period, now) if self._due else now + self.period
        try:
            self.snapshot = self._collect()
            width, height = self.console.size
            note = self.note
            height = max(8, height - (0 if self.screen else 1) - (1 if note else 0))
            if isinstance(self.snapshot, GroupSnapshot):
                view = render_group(self.snapshot, width, height)
            else:
                view = render(self.snapshot, width, height)
            if note:
                view = Group(Text(note, style="bold yellow", no_wrap=True, overflow="ellipsis"), view)
        except Exception as exc:  # the supervisor's loop must not die of a dashboard bug
            self.errors += 1
            view = Text(f"hftshm {self.instance}: dashboard error: {type(exc).__name__}: {exc}", style="red")
        self.live.update(view, refresh=True)
        self.frames += 1
        return True

    def run(self, duration_s: float | None = None) -> None:
        """Redraw until Ctrl-C (or ``duration_s``): what ``hftshm top`` does."""
        end = None if duration_s is None else time.monotonic() + duration_s
        self.start()
        try:
            while end is None or time.monotonic() < end:
                self.update()
                time.sleep(max(0.0, min(self._due - time.monotonic(), self.period)))
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None
        if self.collector is not None:
            self.collector.close()
            self.collector = None
        self._close_group()
        self._resolved_at = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
