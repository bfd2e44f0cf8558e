"""Kill switch: the automatic halt triggers, the rules for moving between trading states, and
the one place that writes them into the control block.

Rules:

- a trigger halts: ``evaluate`` is level-based and ``auto`` moves any state to HALTED while a
  trigger holds; automatic evaluation never lowers a state (no auto-resume);
- by hand: ``halt`` always; ``reduce_only`` and ``resume`` only while no trigger holds, so the
  cause must be dealt with first (the feed back, the worker caught up, or for a loss, the loss
  limit raised on purpose, after which one may flatten under REDUCE_ONLY).

An unknown current state (0, or a newer writer's value) is treated as HALTED, as check_order does.

``evaluate``, ``auto`` and ``manual`` are pure functions. Every change of the trading state in
production goes through ``arm``, ``trip``, ``hold`` and ``command`` below, which apply those
rules to a ``runtime.control.ControlBlock`` and return when the change became visible.
Execution's watch of the workers the kill switch depends on is ``trading.protection``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

from . import reasons as R

# manual commands
HALT = "halt"
REDUCE_ONLY = "reduce_only"
RESUME = "resume"
_TARGETS = {HALT: R.TS_HALTED, REDUCE_ONLY: R.TS_REDUCE_ONLY, RESUME: R.TS_ACTIVE}


def evaluate(total_pnl: float, loss_limit: float, feed_age_ns: int, max_feed_age_ns: int,
             ring_lag: int, max_ring_lag: int) -> tuple[int, int]:
    """The state the triggers call for: ``(TS_HALTED, cause)`` for the first that holds, checked
    in the order LOSS_LIMIT, FEED_STALE, RING_LAG; else ``(TS_ACTIVE, OK)``, meaning "no
    objection", never a resume.

    LOSS_LIMIT: ``total_pnl <= -loss_limit`` (``loss_limit`` > 0, in quote units), or total_pnl is
    NaN (PnL unknown). FEED_STALE: ``feed_age_ns > max_feed_age_ns`` (the age of the newest
    market data). RING_LAG: ``ring_lag > max_ring_lag`` (records the worker has not read yet).
    """
    if isinstance(loss_limit, bool) or not (isinstance(loss_limit, Real) and loss_limit > 0 and math.isfinite(loss_limit)):
        raise ValueError(f"loss_limit must be a positive finite amount of quote currency, got {loss_limit!r}")
    if max_feed_age_ns <= 0:
        raise ValueError(f"max_feed_age_ns must be > 0, got {max_feed_age_ns!r}")
    if max_ring_lag < 0:
        raise ValueError(f"max_ring_lag must be >= 0, got {max_ring_lag!r}")
    if math.isnan(total_pnl) or total_pnl <= -loss_limit:
        return R.TS_HALTED, R.LOSS_LIMIT
    if feed_age_ns > max_feed_age_ns:
        return R.TS_HALTED, R.FEED_STALE
    if ring_lag > max_ring_lag:
        return R.TS_HALTED, R.RING_LAG
    return R.TS_ACTIVE, R.OK


def total_cause(total_pnl: float, total_gross: float, loss_limit: float, max_gross: float) -> int:
    """``[risk_total]``, across the venues of a config of several (``launch.group``): LOSS_LIMIT
    when their summed PnL is at or below ``-loss_limit`` (or is not a number), MAX_GROSS_EXPOSURE
    when their summed gross exposure is above ``max_gross`` (or is not a number); else OK."""
    if math.isnan(total_pnl) or total_pnl <= -loss_limit:
        return R.LOSS_LIMIT
    if math.isnan(total_gross) or total_gross > max_gross:
        return R.MAX_GROSS_EXPOSURE
    return R.OK


UNKNOWN = -(1 << 63)  # the risk worker's pnl_milli or gross counter when it could not compute it


def auto(current: int, evaluated: tuple[int, int]) -> tuple[int, int]:
    """(state, reason) after an evaluation: HALTED with the trigger's cause if one holds, else the
    current state unchanged with OK."""
    demanded, cause = evaluated
    if demanded == R.TS_HALTED:
        return R.TS_HALTED, cause
    return _known(current), R.OK


def manual(current: int, command: str, trigger: int = R.OK) -> tuple[int, int]:
    """(state, reason) after a command by hand: ``halt``, ``reduce_only`` or ``resume``.

    ``trigger`` is the cause from the latest ``evaluate`` (OK if none holds). A halt is always
    granted; the others are refused while a trigger holds: the state stays and the reason is
    the trigger. Granted: reason MANUAL.
    """
    if command not in _TARGETS:
        raise ValueError(f"unknown kill-switch command {command!r}; expected one of {', '.join(_TARGETS)}")
    target = _TARGETS[command]
    if target != R.TS_HALTED and trigger != R.OK:
        return _known(current), trigger
    return target, R.MANUAL


def _known(state: int) -> int:
    return state if state in R.STATE_NAMES else R.TS_HALTED


# --- the control block ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Change:
    """What a kill-switch call did: the state and reason now in force, and ``visible_ns``, the
    time the change was visible to every order check (0 when nothing was written)."""

    state: int
    reason: int
    visible_ns: int = 0

    @property
    def written(self) -> bool:
        return self.visible_ns != 0


def arm(control) -> Change:
    """Instance start (``trading.setup.prepare``): a fresh control block's trading word is 0,
    unset, which halts; this sets ACTIVE with reason OK."""
    return Change(R.TS_ACTIVE, R.OK, control.set_trading(R.TS_ACTIVE, R.OK))


def trip(control, cause: int) -> Change:
    """An automatic halt (a risk trigger, execution's protection watch, a held cause): HALTED with
    ``cause`` and a request to cancel every open order, unless trading is already HALTED (the
    first cause stays). Level-based callers call it on every evaluation while the cause holds, so
    a resume that races with a trigger is undone at the next one."""
    if not cause:
        raise ValueError("trip needs a cause (a reasons code other than OK)")
    current = control.trading_state
    if current == R.TS_HALTED:
        return Change(R.TS_HALTED, control.trading_reason)
    state, reason = auto(current, (R.TS_HALTED, cause))
    return Change(state, reason, control.set_trading(state, reason, cancel_open=True))


def command(control, command: str, trigger: int, cancel_open: bool = False) -> Change:
    """A change by hand: ``halt``, ``reduce_only`` or ``resume`` (``manual``'s rules), given the
    automatic cause that holds now (``trigger``: ``trading.protection.holding``, which reads the
    risk worker's trigger from the trading area, above risk). A refused command writes nothing
    and returns the state in force with the trigger as its reason."""
    current = control.trading_state
    if command == HALT and current == R.TS_HALTED:
        # already halted: keep the first cause (LOSS_LIMIT, RISK_DOWN, ...) and never withdraw a
        # cancel request execution has not acted on yet; only add one
        reason = control.trading_reason
        if cancel_open and not control.cancel_open:
            return Change(R.TS_HALTED, reason, control.set_trading(R.TS_HALTED, reason, cancel_open=True))
        return Change(R.TS_HALTED, reason)
    state, reason = manual(current, command, trigger)
    if reason != R.MANUAL:
        return Change(state, reason)
    return Change(state, reason, control.set_trading(state, reason, cancel_open=cancel_open and state == R.TS_HALTED))


def hold(control, cause: int) -> Change:
    """A cause a worker holds until it clears it, meant for the journal: ``hold(control,
    JOURNAL_DOWN)`` when it cannot write (trading halts, and resume is refused until cleared),
    ``hold(control, OK)`` once it writes again (nothing resumes by itself)."""
    control.set_held_cause(cause)
    return trip(control, cause) if cause else Change(control.trading_state, control.trading_reason)
