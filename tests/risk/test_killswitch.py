"""Kill switch: each trigger at and past its limit, their order, and the transition rules."""

import math

import pytest

from hftshm.risk import killswitch as K
from hftshm.risk import reasons as R

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
