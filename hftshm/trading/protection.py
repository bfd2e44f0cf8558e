"""Execution's protection duty, without the loop: run the protection watch (``ProtectionWatch``,
below: is each worker the kill switch depends on alive?), publish its verdict in the control
block, halt while a protecting worker (risk, journal) is down, and say whether orders must wait
because one is still starting. ``watch_verdict`` is a pure function."""

from __future__ import annotations

import logging
import math

from ..risk import killswitch
from ..risk import reasons as R
from ..runtime import control_layout as C

log = logging.getLogger("hftshm.execution")


class Protection:
    def __init__(self, control, watch: "ProtectionWatch", count, gauge):
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


# --- protection: no risk worker, no journal, no trading --------------------------------------------

UP, STARTING, DOWN = 0, 1, 2


def watch_verdict(found: bool, state: int, heartbeat_ns: int, now_ns: int, timeout_ns: int) -> int:
    """UP, STARTING or DOWN for one protecting worker from its control-block slot.

    DOWN: no slot (missing); or a heartbeat older than ``timeout_ns`` whatever the state says
    (hung, stopped, crashed, given up, or still restarting); or no heartbeat ever and a state
    other than starting or running. STARTING: no heartbeat yet, state starting or running (its
    first beat comes just after it reports RUNNING): orders wait, nothing trips. Else UP.
    """
    if not found:
        return DOWN
    if heartbeat_ns == 0:
        return STARTING if state in (C.W_STARTING, C.W_RUNNING) else DOWN
    return DOWN if now_ns - heartbeat_ns > timeout_ns else UP


class ProtectionWatch:
    """Execution's watch of the workers the kill switch depends on: the risk worker (cause
    RISK_DOWN) and, when the journal is enabled, the journal worker (JOURNAL_DOWN), found by role
    in the control block's worker table. ``check(now)`` returns ``(cause, starting)``: a cause
    when one of them is down (the caller trips), ``starting`` while one has not beaten yet (the
    caller holds orders back without tripping)."""

    def __init__(self, control, timeout_ns: int, journal: bool):
        if timeout_ns <= 0:
            raise ValueError(f"protection timeout must be > 0 ns, got {timeout_ns!r}")
        self.control = control
        self.timeout_ns = int(timeout_ns)
        self.watched = [("risk", R.RISK_DOWN)] + ([("journal", R.JOURNAL_DOWN)] if journal else [])
        self._slots: dict[str, int] = {}

    def _slot(self, role: str) -> int | None:
        control = self.control
        slot = self._slots.get(role)
        if slot is not None and control.worker_role(slot) == role:
            return slot
        for s in control.worker_slots():
            if control.worker_role(s) == role:
                self._slots[role] = s
                return s
        return None

    def check(self, now_ns: int) -> tuple[int, bool]:
        starting = False
        for role, cause in self.watched:
            slot = self._slot(role)
            found = slot is not None
            state = self.control.worker_field(slot, C.W_STATE) if found else 0
            beat = self.control.worker_field(slot, C.W_HEARTBEAT_NS) if found else 0
            verdict = watch_verdict(found, state, beat, now_ns, self.timeout_ns)
            if verdict == DOWN:
                return cause, False
            starting = starting or verdict == STARTING
        return R.OK, starting


def holding(control) -> int:
    """The automatic cause that holds now: the risk worker's trigger (trading area), else the
    verdict of execution's protection watch, else a cause a worker holds (control block); OK
    when none holds."""
    from .area import TradingArea

    try:
        trigger = TradingArea(control.risk_buffer()).trigger
    except Exception:  # trading not prepared: no risk worker, nothing it could see
        trigger = R.OK
    return trigger or control.protection_cause or control.held_cause


def command(control, command: str, cancel_open: bool = False) -> killswitch.Change:
    """``hftshm halt`` / ``reduce-only`` / ``resume``: ``killswitch.command`` against what holds now."""
    return killswitch.command(control, command, holding(control), cancel_open)


def risk_total(readings, loss_limit: float, max_gross: float) -> tuple[int, float, float, list]:
    """``[risk_total]`` over each venue's risk worker: ``readings`` are ``(venue, verdict,
    counters)``, ``verdict`` the protection watch's (``watch_verdict``, above).
    Returns ``(cause, pnl, gross, down)``. Fails closed: a venue whose risk worker is down, or
    whose counters are missing, leaves the totals unknown (RISK_DOWN, ``down`` names it); an
    UNKNOWN figure (killswitch) is not a number (total_cause). A venue still starting is not counted (its
    execution holds its orders until the risk worker's first beat)."""
    pnl = gross = 0.0
    down = []
    for venue, verdict, values in readings:
        if verdict == STARTING:
            continue
        p, g = values.get("pnl_milli"), values.get("gross")
        if verdict == DOWN or p is None or g is None:
            down.append(venue)
            continue
        pnl += math.nan if p == killswitch.UNKNOWN else p / 1000.0
        gross += math.nan if g == killswitch.UNKNOWN else float(g)
    if down:
        return R.RISK_DOWN, pnl, gross, down
    return killswitch.total_cause(pnl, gross, loss_limit, max_gross), pnl, gross, down
