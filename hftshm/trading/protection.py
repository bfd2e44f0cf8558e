"""Execution's protection duty, without the loop: run the protection watch
(``risk.killswitch.ProtectionWatch``), publish its verdict in the control block, halt while a
protecting worker (risk, journal) is down, and say whether orders must wait because one is
still starting."""

from __future__ import annotations

import logging

from ..risk import killswitch
from ..risk import reasons as R

log = logging.getLogger("hftshm.execution")


class Protection:
    def __init__(self, control, watch: killswitch.ProtectionWatch, count, gauge):
        self.control = control
        self.watch = watch
        self.count = count  # count(name): execution's counters
        self.gauge = gauge  # gauge(name, value)
        self.cause = -1  # the watch's last verdict, as published
        self.holding = True  # orders wait in the ring until risk (and journal) have beaten once

    def check(self, now_ns: int) -> bool:
        """Run the watch; returns ``holding``."""
        cause, starting = self.watch.check(now_ns)
        control = self.control
        if cause != self.cause:
            self.cause = cause
            control.set_protection(cause, now_ns)
            self.gauge("protection", cause)
            if cause:
                log.error("protection lost: %s (%s)", R.name(cause), R.message(cause))
            else:
                log.info("protection: no protecting worker down (%s)", ", ".join(r for r, _ in self.watch.watched))
        if cause and killswitch.trip(control, cause).written:
            self.count("prot_trips")
            log.error("kill switch: trading halted (%s)", R.name(cause))
        self.holding = starting and not cause
        return self.holding
