"""The venue's instrument rules in the pre-trade check: tick, min/max price, step, min/max qty
(MARKET_LOT_SIZE for market orders), notional bounds and the percent-price band by side, each
side of each boundary; a symbol without rules refuses; a refresh in place changes the verdict of
the live gate at once."""

import numpy as np
import pytest

from hftshm.layouts import order as O
from hftshm.risk import reasons as R
from hftshm.risk.limits import Limits, NO_RULES, instrument_rows
from hftshm.risk.live_gate import LiveGate
from hftshm.risk.state import RiskState
from hftshm.runtime import control_layout as C
from hftshm.venues.instruments import InstrumentRules

from ._helpers import DEFAULTS, NOW, Desk, e8, order

# symbol 0 around a mid of 50_000: tick 0.1, step 0.001, qty 0.001..1.5 (MARKET up to 0.5),
# notional 5..60_000, bids within [0.8, 1.02] x mid, asks within [0.98, 1.2] x mid
RULES = InstrumentRules(symbol="BTCUSDT", base="BTC", quote="USDT", tick_e8=e8("0.1"), step_e8=e8("0.001"),
                        min_qty_e8=e8("0.001"), max_qty_e8=e8("1.5"), min_price_e8=e8("0.1"),
                        max_price_e8=e8(1_000_000), market_max_qty_e8=e8("0.5"), min_notional_e8=e8(5),
                        max_notional_e8=e8(60_000), buy_up_e8=e8("1.02"), buy_down_e8=e8("0.8"),
                        sell_up_e8=e8("1.2"), sell_down_e8=e8("0.98"))


@pytest.fixture
def desk():
    d = Desk()
    instrument_rows(d.sym_limits, [RULES, RULES, None, RULES])
    d.mid(0, 50_000)
    d.mid(2, 50_000)
    return d


@pytest.mark.parametrize("kw, reason", [
    (dict(qty="0.01", price="49990.1"), "OK"),
    (dict(qty="0.01", price="49990.15"), "INSTRUMENT_PRICE"),  # off the tick
    (dict(qty="0.0105", price=49_990), "INSTRUMENT_QTY"),  # off the step
    (dict(qty="0.0009", price=49_990), "INSTRUMENT_QTY"),  # below minQty (and the step)
    (dict(qty="0.001", price=49_990), "OK"),  # minQty exactly, notional ~50 >= 5
    (dict(qty="1.2", price=49_990), "OK"),  # notional 59_988: under maxNotional
    (dict(qty="1.201", price=49_990), "INSTRUMENT_QTY"),  # notional 60_037.99: above it
    (dict(qty="1.2", price=49_990, type=O.MARKET), "INSTRUMENT_QTY"),  # above MARKET_LOT_SIZE maxQty
    (dict(qty="0.5", price=0, type=O.MARKET), "OK"),
    (dict(qty="0.01", price="0.05"), "INSTRUMENT_PRICE"),  # below minPrice (and off the tick)
    (dict(qty="0.00001", price="1000000.1"), "INSTRUMENT_PRICE"),  # on the tick, above maxPrice
])
def test_each_rule_each_side(desk, kw, reason):
    assert desk.name(order(**kw)) == reason


def test_notional_floor_and_the_band_by_side():
    d = Desk(price_band_bps=10_000, max_order_qty=10, max_order_notional=1_000_000)
    instrument_rows(d.sym_limits, [RULES] * 4)
    d.mid(0, 100)  # notional floor 5: 0.05 x 100 passes, 0.049 x 100 does not
    assert d.name(order(qty="0.05", price=100)) == "OK"
    assert d.name(order(qty="0.049", price=100)) == "INSTRUMENT_QTY"
    assert d.name(order(qty="0.049", price=0, type=O.MARKET)) == "INSTRUMENT_QTY"  # at the mid, MARKET too
    # BUY band [0.8, 1.02] x mid, SELL band [0.98, 1.2] x mid: both ends inclusive
    assert d.name(order(qty=1, price=102)) == "OK"
    assert d.name(order(qty=1, price="102.1")) == "INSTRUMENT_PRICE"
    assert d.name(order(qty=1, price=80)) == "OK"
    assert d.name(order(qty=1, price="79.9")) == "INSTRUMENT_PRICE"
    assert d.name(order(side=O.SELL, qty=1, price=120)) == "OK"
    assert d.name(order(side=O.SELL, qty=1, price="120.1")) == "INSTRUMENT_PRICE"
    assert d.name(order(side=O.SELL, qty=1, price=98)) == "OK"
    assert d.name(order(side=O.SELL, qty=1, price="97.9")) == "INSTRUMENT_PRICE"


def test_a_symbol_without_rules_refuses_and_rows_without_rules_are_unchecked(desk):
    assert desk.name(order(symbol=2, qty="0.01", price=49_990)) == "NO_INSTRUMENT_RULES"
    assert desk.sym_limits[2]["rules"] == NO_RULES
    desk.sym_limits[1]["rules"] = 7  # an unknown value: fail closed
    desk.mid(1, 50_000)
    assert desk.name(order(symbol=1, qty="0.01", price=49_990)) == "NO_INSTRUMENT_RULES"
    offline = Desk()  # no rules given (a backtest's own filters): the venue checks are not run
    offline.mid(0, 50_000)
    assert offline.name(order(qty="0.0105", price="49990.15")) == "OK"
    assert desk.name(order(symbol=0, action=O.CANCEL, cancel_id=3)) == "OK"  # cancels always pass


def test_a_refresh_in_place_changes_the_live_gates_verdict():
    state = RiskState(4)
    words = np.zeros(C.SEGMENT_SIZE // 8, np.int64)
    words[C.word(C.TRADING_STATE)] = R.TS_ACTIVE
    gate = LiveGate(state, Limits(**DEFAULTS), words, C.word(C.TRADING_STATE))
    instrument_rows(gate.sym_limits, [RULES] * 4)
    state.symbols[0]["mid_e8"] = e8(50_000)
    assert gate.admit(order(qty="0.01", price="49990.1"), NOW) == R.OK
    coarser = InstrumentRules(**{**RULES.to_dict(), "tick_e8": e8(1)})
    instrument_rows(gate.sym_limits, [coarser] * 4)  # what execution's refresher does
    assert gate.admit(order(qty="0.01", price="49990.1"), NOW + 1) == R.INSTRUMENT_PRICE
    assert gate.admit(order(qty="0.01", price=49_990), NOW + 2) == R.OK


def test_reason_codes_are_named_and_counted_in_the_trading_area():
    from hftshm.trading import area_layout as AL

    for code in (R.NO_INSTRUMENT_RULES, R.INSTRUMENT_PRICE, R.INSTRUMENT_QTY):
        assert code < AL.REASONS and R.name(code) != f"REASON_{code}" and code in R.PRE_TRADE
