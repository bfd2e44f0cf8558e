"""Kill switch: each trigger at and past its limit, their order, and the transition rules."""

import math

import pytest

from hftshm.risk import killswitch as K
from hftshm.trading import protection
from hftshm.risk import reasons as R
from hftshm.trading import protection as P

LIMITS = dict(loss_limit=1000.0, max_feed_age_ns=2_000_000_000, max_ring_lag=100)
ACTIVE, REDUCE, HALTED = R.TS_ACTIVE, R.TS_REDUCE_ONLY, R.TS_HALTED


def evaluate(total_pnl=0.0, feed_age_ns=0, ring_lag=0):
    return K.evaluate(total_pnl, LIMITS["loss_limit"], feed_age_ns, LIMITS["max_feed_age_ns"], ring_lag,
                      LIMITS["max_ring_lag"])


def test_quiet():
    assert evaluate(total_pnl=5e6) == (ACTIVE, R.OK)


@pytest.mark.parametrize("pnl,expected", [(-999.99, R.OK), (-1000.0, R.LOSS_LIMIT), (-1e9, R.LOSS_LIMIT),
                                          (math.nan, R.LOSS_LIMIT)])
def test_loss_limit(pnl, expected):
    assert evaluate(total_pnl=pnl)[1] == expected


@pytest.mark.parametrize("age,expected", [(2_000_000_000, R.OK), (2_000_000_001, R.FEED_STALE), (-5, R.OK)])
def test_feed_stale(age, expected):
    assert evaluate(feed_age_ns=age)[1] == expected


@pytest.mark.parametrize("lag,expected", [(100, R.OK), (101, R.RING_LAG)])
def test_ring_lag(lag, expected):
    assert evaluate(ring_lag=lag)[1] == expected


def test_trigger_order():
    assert evaluate(-1e6, 10**12, 10**6) == (HALTED, R.LOSS_LIMIT)
    assert evaluate(0.0, 10**12, 10**6) == (HALTED, R.FEED_STALE)


@pytest.mark.parametrize("kw,field", [({"loss_limit": 0}, "loss_limit"), ({"loss_limit": -5}, "loss_limit"),
                                      ({"loss_limit": math.inf}, "loss_limit"), ({"loss_limit": True}, "loss_limit"),
                                      ({"max_feed_age_ns": 0}, "max_feed_age_ns"), ({"max_ring_lag": -1}, "max_ring_lag")])
def test_bad_limits(kw, field):
    args = {**LIMITS, **kw}
    with pytest.raises(ValueError, match=field):
        K.evaluate(0.0, args["loss_limit"], 0, args["max_feed_age_ns"], 0, args["max_ring_lag"])


@pytest.mark.parametrize("current", [ACTIVE, REDUCE, HALTED, 0])
def test_a_trigger_halts_from_any_state(current):
    assert K.auto(current, (HALTED, R.FEED_STALE)) == (HALTED, R.FEED_STALE)


@pytest.mark.parametrize("current,kept", [(ACTIVE, ACTIVE), (REDUCE, REDUCE), (HALTED, HALTED), (0, HALTED), (9, HALTED)])
def test_no_trigger_never_resumes(current, kept):
    assert K.auto(current, (ACTIVE, R.OK)) == (kept, R.OK)


@pytest.mark.parametrize("current", [ACTIVE, REDUCE, HALTED])
def test_manual_halt_always(current):
    assert K.manual(current, K.HALT) == (HALTED, R.MANUAL)
    assert K.manual(current, K.HALT, trigger=R.LOSS_LIMIT) == (HALTED, R.MANUAL)


def test_resume_only_by_hand_and_only_once_the_cause_is_gone():
    state, why = K.auto(ACTIVE, evaluate(feed_age_ns=10**10))
    assert (state, why) == (HALTED, R.FEED_STALE)
    state, why = K.auto(state, evaluate())  # the feed is back: still halted
    assert (state, why) == (HALTED, R.OK)
    assert K.manual(state, K.RESUME, trigger=R.FEED_STALE) == (HALTED, R.FEED_STALE)  # refused
    assert K.manual(state, K.RESUME, trigger=R.OK) == (ACTIVE, R.MANUAL)


def test_flatten_after_a_loss_halt():
    state, _ = K.auto(ACTIVE, evaluate(total_pnl=-1500.0))
    assert K.manual(state, K.REDUCE_ONLY, trigger=R.LOSS_LIMIT) == (HALTED, R.LOSS_LIMIT)
    # the limit raised on purpose: the trigger no longer holds, reduce-only is granted
    raised = K.evaluate(-1500.0, 2000.0, 0, 10**9, 0, 0)
    assert raised == (ACTIVE, R.OK)
    assert K.manual(state, K.REDUCE_ONLY, trigger=raised[1]) == (REDUCE, R.MANUAL)


def test_unknown_command():
    with pytest.raises(ValueError, match="unknown kill-switch command 'go'"):
        K.manual(ACTIVE, "go")


# --- on a control block: the API production calls --------------------------------------------------

import time as _time

from hftshm.runtime import control_layout as C
from hftshm.runtime.control import ControlBlock
from hftshm.trading.area import TradingArea


@pytest.fixture
def control(instance):
    from hftshm.runtime.config import from_dict
    from hftshm.trading.setup import prepare

    block = ControlBlock.create(instance)
    prepare(from_dict({"instance": instance}), block)  # formats the trading area, arms the switch
    yield block
    block.close()
    block.unlink()


def test_arm_trip_and_commands_write_through_one_place(control):
    assert (control.trading_state, control.trading_reason) == (ACTIVE, R.OK)
    changes = control.trading_changes
    change = K.trip(control, R.LOSS_LIMIT)
    assert change.written and (change.state, change.reason) == (HALTED, R.LOSS_LIMIT)
    assert (control.trading_state, control.trading_reason, control.cancel_open) == (HALTED, R.LOSS_LIMIT, True)
    assert control.trading_changes == changes + 1
    again = K.trip(control, R.RISK_DOWN)  # already halted: the first cause stays, nothing written
    assert not again.written and (again.state, again.reason) == (HALTED, R.LOSS_LIMIT)
    assert control.trading_changes == changes + 1
    resumed = protection.command(control, K.RESUME)
    assert resumed.written and (control.trading_state, control.trading_reason) == (ACTIVE, R.MANUAL)
    assert not control.cancel_open
    reduce = protection.command(control, K.REDUCE_ONLY)
    assert reduce.written and control.trading_state == REDUCE
    halted = protection.command(control, K.HALT, cancel_open=True)
    assert halted.written and control.trading_state == HALTED and control.cancel_open
    with pytest.raises(ValueError, match="cause"):
        K.trip(control, R.OK)


def test_a_halt_by_hand_on_an_automatic_halt_keeps_its_cause_and_cancel_request(control):
    K.trip(control, R.RISK_DOWN)  # asks execution to cancel open orders
    again = protection.command(control, K.HALT)
    assert not again.written and (again.state, again.reason) == (HALTED, R.RISK_DOWN)
    assert (control.trading_reason, control.cancel_open) == (R.RISK_DOWN, True)
    control.set_trading(HALTED, R.LOSS_LIMIT, cancel_open=False)
    added = protection.command(control, K.HALT, cancel_open=True)  # only ever adds a cancel request
    assert added.written and (control.trading_reason, control.cancel_open) == (R.LOSS_LIMIT, True)


@pytest.mark.parametrize("where", ["risk trigger", "protection watch"])
def test_resume_refused_while_a_cause_holds(control, where):
    protection.command(control, K.HALT)
    area = TradingArea(control.risk_buffer())
    if where == "risk trigger":
        area.set_trigger(R.FEED_STALE, 1)
        cause = R.FEED_STALE
    else:
        control.set_protection(R.RISK_DOWN, 1)
        cause = R.RISK_DOWN
    assert protection.holding(control) == cause
    for cmd in (K.RESUME, K.REDUCE_ONLY):
        refused = protection.command(control, cmd)
        assert not refused.written and (refused.state, refused.reason) == (HALTED, cause)
        assert control.trading_state == HALTED and control.trading_reason == R.MANUAL
    area.set_trigger(R.OK, 2)
    control.set_protection(R.OK, 2)
    assert protection.command(control, K.RESUME).written and control.trading_state == ACTIVE


def test_a_held_cause_halts_and_refuses_resume_until_cleared(control):
    """The journal's own halt: it cannot write (JOURNAL_DOWN) until it can again."""
    change = K.hold(control, R.JOURNAL_DOWN)
    assert change.written and (control.trading_state, control.trading_reason) == (HALTED, R.JOURNAL_DOWN)
    assert protection.holding(control) == R.JOURNAL_DOWN
    assert not protection.command(control, K.RESUME).written
    assert not K.hold(control, R.OK).written and control.trading_state == HALTED  # never resumes by itself
    assert protection.holding(control) == R.OK and protection.command(control, K.RESUME).written


def test_a_trip_from_an_unset_word_halts(control):
    control.words[control.trading_word_index()] = 0
    assert K.trip(control, R.RISK_DOWN).written and control.trading_state == HALTED


def test_the_time_returned_is_read_after_the_write_is_visible(control, monkeypatch):
    """``hftshm halt`` prints the time a command returns: every clock read it could come from
    must see the new state already (before, it was read ahead of the store)."""
    import hftshm.runtime.control as control_module

    seen = []

    class Clock:
        @staticmethod
        def time_ns():
            t = _time.time_ns()
            seen.append((t, control.trading_state))
            return t

    monkeypatch.setattr(control_module, "time", Clock)
    change = protection.command(control, K.HALT)
    assert change.written
    state_when_read = dict(seen)[change.visible_ns]
    assert state_when_read == HALTED, "the time returned was read before the halt was visible"
    monkeypatch.undo()
    seen.clear()
    monkeypatch.setattr(control_module, "time", Clock)
    control.set_protection(R.OK, 0)
    change = protection.command(control, K.RESUME)
    assert dict(seen)[change.visible_ns] == ACTIVE


# --- the protection watch ------------------------------------------------------------------------

T = 1_000_000_000  # the timeout in these tests: 1 s
NOW = 10**18


@pytest.mark.parametrize("found,state,beat,expected", [
    (False, 0, 0, P.DOWN),  # missing
    (True, C.W_STARTING, 0, P.STARTING),  # first start, not beaten yet: hold, do not trip
    (True, C.W_RUNNING, 0, P.STARTING),  # RUNNING just before its first beat
    (True, C.W_CRASHED, 0, P.DOWN),
    (True, C.W_STOPPED, 0, P.DOWN),
    (True, C.W_RUNNING, NOW - T, P.UP),  # at the bound
    (True, C.W_RUNNING, NOW - T - 1, P.DOWN),  # past it: hung or SIGSTOPped
    (True, C.W_CRASHED, NOW - 5_000_000, P.UP),  # crashed 5 ms ago: the bound has not passed yet
    (True, C.W_CRASHED, NOW - 2 * T, P.DOWN),  # given up (or restarting for longer than the bound)
    (True, C.W_STARTING, NOW - 2 * T, P.DOWN),  # a restart still starting: its old beat is stale
    (True, C.W_STOPPED, NOW - 2 * T, P.DOWN),
])
def test_watch_verdict(found, state, beat, expected):
    assert P.watch_verdict(found, state, beat, NOW, T) == expected


def test_protection_watch_over_a_control_block(control):
    watch = P.ProtectionWatch(control, T, journal=True)
    now = _time.time_ns()
    assert watch.check(now) == (R.RISK_DOWN, False)  # no risk worker at all
    risk = control.claim_worker("risk", "risk")
    assert watch.check(now) == (R.JOURNAL_DOWN, False)  # risk starting; no journal worker
    journal = control.claim_worker("journal", "journal")
    assert watch.check(now) == (R.OK, True)  # both starting: hold, no trip
    control.set_worker_field(journal, C.W_STATE, C.W_RUNNING)
    control.set_worker_field(journal, C.W_HEARTBEAT_NS, now)
    control.set_worker_field(risk, C.W_STATE, C.W_RUNNING)
    control.set_worker_field(risk, C.W_HEARTBEAT_NS, now)
    assert watch.check(now + T) == (R.OK, False)
    assert watch.check(now + T + 1) == (R.RISK_DOWN, False)  # risk first: both are stale
    control.set_worker_field(risk, C.W_HEARTBEAT_NS, now + T)
    assert watch.check(now + T + 1) == (R.JOURNAL_DOWN, False)
    assert P.ProtectionWatch(control, T, journal=False).check(now + T + 1) == (R.OK, False)
    with pytest.raises(ValueError):
        P.ProtectionWatch(control, 0, journal=False)


def test_production_changes_the_trading_state_only_through_this_module():
    """Manual commands, risk triggers, execution's watch, setup: all call killswitch, none
    stores the trading word itself."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    writers = sorted(str(p.relative_to(root)) for d in ("hftshm", "workers", "layouts") for p in (root / d).rglob("*.py")
                     if "set_trading(" in p.read_text() or "TRADING_STATE)" in p.read_text())
    assert writers == ["hftshm/risk/killswitch.py", "hftshm/runtime/control.py"], writers


def test_total_cause_over_the_venues_of_a_group():
    # [risk_total] (launch.group): summed PnL and gross exposure across venues
    assert K.total_cause(-10.0, 500.0, loss_limit=100.0, max_gross=1000.0) == R.OK
    assert K.total_cause(-100.0, 500.0, loss_limit=100.0, max_gross=1000.0) == R.LOSS_LIMIT  # at the limit
    assert K.total_cause(math.nan, 0.0, loss_limit=100.0, max_gross=1000.0) == R.LOSS_LIMIT  # unknown: fail closed
    assert K.total_cause(0.0, 1000.0, loss_limit=100.0, max_gross=1000.0) == R.OK  # at the cap: allowed
    assert K.total_cause(0.0, 1000.01, loss_limit=100.0, max_gross=1000.0) == R.MAX_GROSS_EXPOSURE
    assert K.total_cause(-200.0, 5000.0, loss_limit=100.0, max_gross=1000.0) == R.LOSS_LIMIT  # the loss first
    assert K.total_cause(0.0, math.nan, loss_limit=100.0, max_gross=1000.0) == R.MAX_GROSS_EXPOSURE  # unknown


def test_risk_total_fails_closed_when_a_venues_figures_are_unknown():
    """What the group supervisor reads from each venue's risk worker (launch/group.py): figures
    from a risk worker that is down, or counters it never wrote, leave the totals unknown."""
    from hftshm.trading.protection import DOWN, STARTING, UP, risk_total

    ok = {"pnl_milli": -30_000, "gross": 400}
    assert risk_total([("a", UP, ok), ("b", UP, ok)], 100.0, 1000.0) == (R.OK, -60.0, 800.0, [])
    assert risk_total([("a", UP, ok), ("b", UP, ok)], 50.0, 1000.0)[0] == R.LOSS_LIMIT  # -60 summed
    assert risk_total([("a", UP, ok), ("b", STARTING, {})], 100.0, 1000.0)[0] == R.OK  # holds its own orders
    assert risk_total([("a", UP, ok), ("b", DOWN, ok)], 100.0, 1000.0) == (R.RISK_DOWN, -30.0, 400.0, ["b"])
    assert risk_total([("a", UP, ok), ("b", UP, {"gross": 1})], 100.0, 1000.0)[3] == ["b"]  # no pnl counter
    unknown_pnl = {"pnl_milli": K.UNKNOWN, "gross": 0}
    assert risk_total([("a", UP, ok), ("b", UP, unknown_pnl)], 100.0, 1000.0)[0] == R.LOSS_LIMIT
    unknown_gross = {"pnl_milli": 0, "gross": K.UNKNOWN}
    assert risk_total([("a", UP, unknown_gross)], 100.0, 1000.0)[0] == R.MAX_GROSS_EXPOSURE
