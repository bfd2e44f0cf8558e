"""The gate execution runs: kill switch loaded from the control block inside the check, marks
written by the risk worker picked up, every pre-trade reason reachable through it."""

import numpy as np
import pytest

from hftshm.risk import reasons as R
from hftshm.risk.limits import Limits
from hftshm.risk.live import LiveGate
from hftshm.risk.state import RiskState
from hftshm.runtime import control_layout as C

from ._helpers import DEFAULTS, NOW, e8, order

STATE_WORD = C.word(C.TRADING_STATE)


@pytest.fixture
def setup():
    state = RiskState(4)
    words = np.zeros(C.SEGMENT_SIZE // 8, np.int64)  # stands in for the control block's words
    gate = LiveGate(state, Limits(**DEFAULTS), words, STATE_WORD)
    state.symbols[0]["mid_e8"] = e8(50_000)  # as the risk worker stores it
    return state, words, gate


def test_control_states_map_to_risk_states(setup):
    state, words, gate = setup
    for control_state, ts, reason in ((0, R.TS_ACTIVE, R.OK), (1, R.TS_REDUCE_ONLY, R.REDUCE_ONLY),
                                      (2, R.TS_HALTED, R.HALTED), (7, 8, R.HALTED)):
        words[STATE_WORD] = control_state
        assert gate.trading_state() == ts
        assert gate.admit(order(qty=0.1), NOW) == reason


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
