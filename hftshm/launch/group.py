"""The supervisor of a config of several venues (``runtime.group``): one ``Supervisor`` per venue
instance, run side by side in this one process, plus the limits across venues.

Every venue instance is started, watched and stopped by its own ``Supervisor`` (its simulator,
segments, workers, restarts and orderly stop, exactly as a one-venue ``hftshm start``); this
class runs their phases in step:

1. take each venue's API key pair (from its ``[[venues]] execution.key_file``: the environment's
   one pair is refused when two real venues would trade), then set every venue up (simulators,
   segments, instrument rules), so that every ring exists before any worker starts;
2. start the workers, the venues that only serve others' cross-venue strategies first, so their
   execution runs before a strategy can send them an order;
3. watch all of them in one loop, and check ``[risk_total]`` on the venues' risk workers: a
   summed PnL at or below ``-loss_limit``, or a summed gross exposure above
   ``max_gross_exposure``, trips every venue's kill switch (``risk.killswitch.total_cause``);
4. stop the venues hosting cross-venue strategies first (a strategy never outlives a venue it
   trades), then the others, each in its own order.

All of a group's segments are created by this process: that is what makes them one group to
``hftshm status`` and the other readers (``hftshm.instances``).
"""

from __future__ import annotations

import os
import signal
import time

from .. import private
from ..errors import HftshmError
from ..risk import killswitch
from ..risk import reasons as R
from ..runtime import control_layout as C
from ..runtime import progress
from ..runtime import verdict as verdict_mod
from ..trading import credentials
from ..trading.protection import risk_total, watch_verdict
from . import summary as summary_mod
from .instance import StartError
from .supervisor import LOOP_S, STOP_SIGNALS, Supervisor, quietly


class GroupSupervisor:
    def __init__(self, group, *, duration: float | None = None, dashboard=None, exporter=None,
                 summary_path=None, out=None):
        self.group = group
        self.duration = duration
        self.dashboard_factory = dashboard
        self.summary_path = summary_path
        self.out = out
        self.sups = {name: Supervisor(cfg, exporter=exporter, out=out) for name, cfg in group.venues.items()}
        self.stop_requested = False
        self.stop_reason = ""
        self.dash = None
        self.total_tripped = 0  # the [risk_total] cause in force (R.OK: none)
        total = group.risk_total
        self.loss_limit = float(total["loss_limit"])
        self.max_gross = float(str(total["max_gross_exposure"]))

    def say(self, text: str) -> None:
        next(iter(self.sups.values())).say(text)

    def _request_stop(self, signum, _frame) -> None:
        self.stop_requested = True
        self.stop_reason = signal.Signals(signum).name
        for sup in self.sups.values():
            sup.stop_requested, sup.stop_reason = True, self.stop_reason

    def _ordered(self, hosts_first: bool) -> list[Supervisor]:
        order = [self.sups[c.group.venue] for c in self.group.home_first()]
        return order if hosts_first else order[::-1]

    def run(self) -> int:
        old = {s: signal.signal(s, self._request_stop) for s in STOP_SIGNALS}
        old_umask = private.restrict_umask()
        now = time.monotonic()
        for sup in self.sups.values():
            sup.progress = progress.StartProgress(now, progress.kernels_cached())
        code = verdict_mod.START_FAILED
        try:
            self._take_credentials()
            for sup in self.sups.values():
                sup._setup()
            for sup in self.sups.values():
                sup._start_exporter()
            if self.dashboard_factory is not None:
                self.dash = self.dashboard_factory(self.group.instance, self._hz())
                self.dash.start()
            for sup in self._ordered(hosts_first=False):
                sup._start_workers()
            for sup in self.sups.values():
                sup.control.set_state(C.RUNNING)
            self.say(f"hftshm {self.group.instance}: running {len(self.sups)} venues "
                     f"({', '.join(s.cfg.instance for s in self.sups.values())})")
            self._watch()
            codes = [sup.exit_code_now() for sup in self.sups.values()]
            code = max(codes)
            return code
        except (StartError, HftshmError) as exc:
            self.say(f"hftshm start failed: {exc}")
            for sup in self.sups.values():
                sup.exit_code, sup.exit_why = verdict_mod.START_FAILED, [f"start failed: {exc}"]
            return verdict_mod.START_FAILED
        finally:
            if self.dash is not None:
                quietly(self.dash.stop)
            failed = None
            for sup in self._ordered(hosts_first=True):
                try:  # one venue's failing stop never leaves the next venue's workers running
                    sup._shutdown()
                except Exception as exc:
                    self.say(f"hftshm {sup.cfg.instance}: stop failed: {type(exc).__name__}: {exc}")
                    failed = failed or exc
            self._write_summary()
            os.umask(old_umask)
            for s, h in old.items():
                signal.signal(s, h)
            if failed is not None:
                raise failed

    def _hz(self) -> float:
        return next(iter(self.group.venues.values())).dashboard_hz

    def _take_credentials(self) -> None:
        """One key pair per venue: the environment holds one, so it may serve one real venue only."""
        real = [c.instance for c in self.group.venues.values()
                if c.venue.kind != "sim" and not c.execution.key_file and (c.strategies or c.group.remote_ids)]
        if len(real) > 1 and (os.environ.get(credentials.ENV_KEY) or os.environ.get(credentials.ENV_SECRET)):
            raise StartError(f"{credentials.ENV_KEY}: one key pair for {len(real)} real venues ({', '.join(real)}); "
                             "give each its own [[venues]] execution = { key_file = ... }")
        for sup in self.sups.values():
            sup._take_credentials()

    def _watch(self) -> None:
        end = time.monotonic() + self.duration if self.duration else None
        while not self.stop_requested:
            if end is not None and time.monotonic() >= end:
                self.stop_reason = f"--duration {self.duration:g} s"
                break
            for sup in self.sups.values():
                sup.watch_step()
            self._check_totals()
            if self.dash is not None:
                quietly(self.dash.update)
            time.sleep(LOOP_S)
        for sup in self.sups.values():
            sup.stop_reason = sup.stop_reason or self.stop_reason
            sup.stopping()

    def _check_totals(self) -> None:
        """[risk_total] over the venues' risk workers' figures (their ``pnl_milli`` and ``gross``
        counters, refreshed every evaluation); while a limit is passed, or a venue's figures are
        unknown (its risk worker down: killswitch.risk_total), every venue is tripped."""
        now = time.time_ns()
        readings = []
        for venue, sup in self.sups.items():
            risk = next((w for w in sup.workers if w.spec.role == "risk"), None)
            if risk is None:
                continue
            control = sup.control
            verdict = watch_verdict(True, control.worker_field(risk.slot, C.W_STATE),
                                    control.worker_field(risk.slot, C.W_HEARTBEAT_NS), now,
                                    sup.cfg.risk.protection_timeout_ms * 1_000_000)
            readings.append((venue, verdict, control.counter_values(risk.slot)))
        cause, pnl, gross, down = risk_total(readings, self.loss_limit, self.max_gross)
        if cause != R.OK:
            for sup in self.sups.values():
                if sup.control.trading_state != R.TS_HALTED:
                    killswitch.trip(sup.control, cause)
            if cause != self.total_tripped:
                what = (f"no figures from {', '.join(down)} (its risk worker is down)" if down else
                        f"PnL {pnl:.2f}, gross exposure {gross:.2f} across the venues")
                self.say(f"hftshm {self.group.instance}: [risk_total] {R.name(cause)}: {what}; trading halted "
                         "on every venue")
        self.total_tripped = cause

    def _write_summary(self) -> None:
        if not self.summary_path:
            return
        out = {"group": self.group.instance,
               "venues": {name: sup.summary for name, sup in self.sups.items() if sup.summary is not None}}
        try:
            summary_mod.write(self.summary_path, out)
            self.say(f"summary written to {self.summary_path}")
        except Exception as exc:
            self.say(f"could not write the summary: {type(exc).__name__}: {exc}")
