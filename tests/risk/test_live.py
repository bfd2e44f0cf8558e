"""The gate execution runs: kill switch loaded from the control block inside the check, marks
written by the risk worker picked up, every pre-trade reason reachable through it."""

import numpy as np
import pytest

from hftshm.risk import reasons as R
from hftshm.risk.limits import Limits
from hftshm.risk.live_gate import LiveGate
from hftshm.risk.state import RiskState
from hftshm.runtime import control_layout as C

from ._helpers import DEFAULTS, NOW, e8, order

STATE_WORD = C.word(C.TRADING_STATE)


@pytest.fixture
def setup():
    state = RiskState(4)
    words = np.zeros(C.SEGMENT_SIZE // 8, np.int64)  # stands in for the control block's words
    words[STATE_WORD] = R.TS_ACTIVE  # as killswitch.arm leaves it
    gate = LiveGate(state, Limits(**DEFAULTS), words, STATE_WORD)
    state.symbols[0]["mid_e8"] = e8(50_000)  # as the risk worker stores it
    return state, words, gate


def test_the_control_word_holds_the_risk_states_as_they_are(setup):
    """One encoding: the word stores reasons.TS_*; 0 (unset) and unknown values refuse as HALTED."""
    state, words, gate = setup
    for word, reason in ((R.TS_ACTIVE, R.OK), (R.TS_REDUCE_ONLY, R.REDUCE_ONLY), (R.TS_HALTED, R.HALTED),
                         (R.TS_UNSET, R.HALTED), (7, R.HALTED), (-1, R.HALTED)):
        words[STATE_WORD] = word
        assert gate.trading_state() == word
        assert gate.admit(order(qty=0.1), NOW) == reason


def test_a_zeroed_trading_word_refuses_orders(setup):
    state, words, gate = setup
    words[:] = 0  # a zeroed control block
    for i in range(3):
        assert gate.admit(order(qty=0.1), NOW + i) == R.HALTED
    assert state.symbols[0]["open_buy_e8"] == 0 and state.symbols[0]["rate_count"] == 0


def test_a_fresh_control_block_is_halted_until_armed(instance):
    from hftshm.risk import killswitch
    from hftshm.runtime.control import ControlBlock, trading_state_name

    control = ControlBlock.create(instance)
    try:
        state = RiskState(4)
        state.symbols[0]["mid_e8"] = e8(50_000)
        gate = LiveGate(state, Limits(**DEFAULTS), control.words, control.trading_word_index())
        assert control.trading_state == R.TS_UNSET and trading_state_name(control.trading_state) == "unset (halted)"
        assert gate.admit(order(qty=0.1), NOW) == R.HALTED
        killswitch.arm(control)
        assert gate.admit(order(qty=0.1), NOW) == R.OK
        control.words[control.trading_word_index()] = 0  # zeroed again (a bad writer, a wiped block)
        assert gate.admit(order(qty=0.1), NOW + 1) == R.HALTED
    finally:
        control.close()
        control.unlink()


def test_admit_counts_open_and_rate_and_refreshes_exposure(setup):
    state, words, gate = setup
    assert gate.admit(order(qty=1), NOW) == R.OK
    sym = state.symbols[0]
    assert sym["open_buy_e8"] == e8(1) and sym["rate_count"] == 1
    assert sym["worst_exposure_e8"] == e8(50_000)
    sym["mid_e8"] = e8(50_100)  # the risk worker moves the mark: the next check re-values it
    assert gate.admit(order(qty=1, price=50_100), NOW + 1) == R.OK
    assert sym["worst_exposure_e8"] == e8(2 * 50_100)
    assert state.account[0]["worst_gross_e8"] == e8(2 * 50_100)


@pytest.mark.parametrize("kw, reason", [
    (dict(qty=3), R.MAX_ORDER_QTY),
    (dict(qty=1, price=60_000), R.PRICE_BAND),
    (dict(qty=1, symbol=1), R.NO_REFERENCE_PRICE),
    (dict(qty=1, symbol=9), R.UNKNOWN_SYMBOL),
    (dict(qty=0), R.BAD_ORDER),
])
def test_rejects_through_the_gate(setup, kw, reason):
    state, words, gate = setup
    assert gate.admit(order(**kw), NOW) == reason
    assert state.symbols[0]["open_buy_e8"] == 0  # nothing counted for a reject


def test_rate_limit_through_the_gate(setup):
    state, words, gate = setup
    for i in range(DEFAULTS["max_orders_per_s"]):
        assert gate.admit(order(qty=0.1), NOW + i) == R.OK
    assert gate.admit(order(qty=0.1), NOW + 10) == R.RATE_LIMIT
    assert gate.admit(order(qty=0.1), NOW + 10**9) == R.OK


def test_only_order_records(setup):
    with pytest.raises(TypeError):
        setup[2].admit(np.zeros(1, np.int64), NOW)
