"""check_order: each check's passing and failing side, boundaries exactly at the limit, precedence."""

import pytest

from hftshm.layouts import order as O
from hftshm.risk import reasons as R

from ._helpers import NOW, SECOND, Desk, e8, order

# Defaults (see _helpers.DEFAULTS): max qty 2, max notional 100_000, max position 5, band 100 bps,
# gross 1_000_000, 3 orders/s per symbol, 5 across symbols. Symbol 0 trades around a mid of 50_000.


@pytest.fixture
def desk():
    d = Desk()
    d.mid(0, 50_000)
    return d


def test_typical_order_passes(desk):
    assert desk.name(order(qty=1, price=49_990)) == "OK"
    assert desk.name(order(side=O.SELL, qty=1, price=50_010)) == "OK"


# --- BAD_ORDER ---------------------------------------------------------------------------------

@pytest.mark.parametrize("field,value", [
    ("qty_e8", 0), ("qty_e8", -1), ("price_e8", 0), ("price_e8", -5),
    ("side", 0), ("side", 3), ("type", 0), ("type", 4), ("action", 0), ("action", 3),
])
def test_bad_order(desk, field, value):
    rec = order()
    rec[field] = value
    assert desk.name(rec) == "BAD_ORDER"


def test_limit_maker_needs_a_price_market_does_not(desk):
    assert desk.name(order(type=O.LIMIT_MAKER, price=0)) == "BAD_ORDER"
    assert desk.name(order(type=O.LIMIT_MAKER, price=50_000)) == "OK"
    assert desk.name(order(type=O.MARKET, price=0)) == "OK"
    assert desk.name(order(type=O.MARKET, price=1)) == "OK"  # ignored: no band for market orders


def test_smallest_order_passes(desk):
    rec = order()
    rec["qty_e8"] = 1
    assert desk.name(rec) == "OK"


# --- cancels ------------------------------------------------------------------------------------

@pytest.mark.parametrize("ts", [R.TS_ACTIVE, R.TS_REDUCE_ONLY, R.TS_HALTED, 0, 99])
def test_cancel_passes_in_every_state(desk, ts):
    assert desk.name(order(action=O.CANCEL, cancel_id=7), trading_state=ts) == "OK"


def test_cancel_is_not_checked_against_limits(desk):
    # garbage everywhere but the target: a cancel cannot add risk, so nothing else is looked at
    rec = order(action=O.CANCEL, cancel_id=7, qty=1000, price=1, symbol=3)
    rec["side"] = 9
    rec["symbol_id"] = 10**6
    assert desk.name(rec) == "OK"


@pytest.mark.parametrize("cancel_id", [0, -1])
def test_cancel_without_target(desk, cancel_id):
    assert desk.name(order(action=O.CANCEL, cancel_id=cancel_id)) == "BAD_ORDER"
    assert desk.name(order(action=O.CANCEL, cancel_id=cancel_id), trading_state=R.TS_HALTED) == "BAD_ORDER"


# --- HALTED -------------------------------------------------------------------------------------

@pytest.mark.parametrize("ts", [R.TS_HALTED, 0, 4, 255])
def test_halted_and_unknown_states_refuse_new_orders(desk, ts):
    assert desk.name(order(), trading_state=ts) == "HALTED"


# --- UNKNOWN_SYMBOL -----------------------------------------------------------------------------

def test_unknown_symbol(desk):
    assert desk.name(order(symbol=3)) == "NO_REFERENCE_PRICE"  # known, no mid yet
    assert desk.name(order(symbol=4)) == "UNKNOWN_SYMBOL"  # n_symbols = 4
    rec = order()
    rec["symbol_id"] = 2**32 - 1
    assert desk.name(rec) == "UNKNOWN_SYMBOL"


def test_symbol_outside_the_limits_is_unknown(desk):
    desk.sym_limits = desk.sym_limits[:2]  # the state knows 4 symbols, the limits only 2
    desk.mid(2, 100)
    assert desk.name(order(symbol=1, price=0, type=O.MARKET)) == "NO_REFERENCE_PRICE"
    assert desk.name(order(symbol=2, price=100)) == "UNKNOWN_SYMBOL"


# --- MAX_ORDER_QTY ------------------------------------------------------------------------------

def test_max_order_qty_boundary(desk):
    desk.acct_limits["max_gross_exposure_e8"] = e8(10**9)
    desk.sym_limits["max_order_notional_e8"] = e8(10**9)
    assert desk.name(order(qty=2)) == "OK"
    assert desk.name(order(qty="2.00000001")) == "MAX_ORDER_QTY"
    assert desk.name(order(side=O.SELL, qty="2.00000001")) == "MAX_ORDER_QTY"


def test_per_symbol_override():
    d = Desk(overrides={1: {"max_order_qty": "0.5", "price_band_bps": 10}})
    d.mid(0, 100)
    d.mid(1, 100)
    assert d.name(order(symbol=0, qty=1, price=100)) == "OK"
    assert d.name(order(symbol=1, qty=1, price=100)) == "MAX_ORDER_QTY"
    assert d.name(order(symbol=1, qty="0.5", price="100.1")) == "OK"
    assert d.name(order(symbol=1, qty="0.5", price="100.10000001")) == "PRICE_BAND"
    assert d.name(order(symbol=0, qty="0.5", price="100.10000001")) == "OK"


# --- NO_REFERENCE_PRICE -------------------------------------------------------------------------

@pytest.mark.parametrize("kind,price", [(O.LIMIT, 50_000), (O.LIMIT_MAKER, 50_000), (O.MARKET, 0)])
def test_no_mid_yet(kind, price):
    d = Desk()
    assert d.name(order(type=kind, price=price)) == "NO_REFERENCE_PRICE"
    d.mid(0, 50_000)
    assert d.name(order(type=kind, price=price)) == "OK"


# --- PRICE_BAND ---------------------------------------------------------------------------------

@pytest.mark.parametrize("side", [O.BUY, O.SELL])
@pytest.mark.parametrize("kind", [O.LIMIT, O.LIMIT_MAKER])
def test_price_band_boundaries_both_directions(desk, side, kind):
    # 100 bps of 50_000 = 500: [49_500, 50_500] passes, one 1e-8 tick outside fails
    for price, expected in [("50500", "OK"), ("49500", "OK"), ("50500.00000001", "PRICE_BAND"),
                            ("49499.99999999", "PRICE_BAND"), ("1", "PRICE_BAND"), ("92000000000", "PRICE_BAND")]:
        assert desk.name(order(side=side, type=kind, qty="0.1", price=price)) == expected, price


def test_price_band_with_an_odd_mid():
    d = Desk(price_band_bps=7)
    d.mid(0, "61837.63")  # 7 bps = 43.286341
    assert d.name(order(qty="0.1", price="61880.916341")) == "OK"
    assert d.name(order(qty="0.1", price="61880.91634101")) == "PRICE_BAND"
    assert d.name(order(qty="0.1", price="61794.343659")) == "OK"
    assert d.name(order(qty="0.1", price="61794.34365899")) == "PRICE_BAND"


# --- MAX_NOTIONAL -------------------------------------------------------------------------------

def test_max_notional_limit_order(desk):
    # qty 2 x 50_000 = 100_000 = the max
    assert desk.name(order(qty=2, price=50_000)) == "OK"
    assert desk.name(order(qty=2, price="50000.00000001")) == "MAX_NOTIONAL"
    assert desk.name(order(qty="1.99999999", price="50000.00000001")) == "OK"
    assert desk.name(order(side=O.SELL, qty=2, price="50000.00000001")) == "MAX_NOTIONAL"


def test_max_notional_market_order_uses_the_mid(desk):
    assert desk.name(order(type=O.MARKET, qty=2, price=0)) == "OK"
    desk.mid(0, "50000.00000001")
    assert desk.name(order(type=O.MARKET, qty=2, price=0)) == "MAX_NOTIONAL"
    assert desk.name(order(type=O.MARKET, qty=1, price=0)) == "OK"


# --- REDUCE_ONLY --------------------------------------------------------------------------------

def test_reduce_only_long(desk):
    desk.fill(0, O.BUY, 50_000, 3)
    ro = R.TS_REDUCE_ONLY
    desk.sym_limits["max_order_qty_e8"] = e8(10)
    desk.sym_limits["max_order_notional_e8"] = e8(10**6)
    assert desk.name(order(side=O.SELL, qty=3), trading_state=ro) == "OK"  # to flat
    assert desk.name(order(side=O.SELL, qty=1), trading_state=ro) == "OK"
    assert desk.name(order(side=O.SELL, qty="3.00000001"), trading_state=ro) == "REDUCE_ONLY"  # flips
    assert desk.name(order(side=O.BUY, qty="0.00000001"), trading_state=ro) == "REDUCE_ONLY"  # increases
    assert desk.name(order(side=O.SELL, type=O.MARKET, qty=3, price=0), trading_state=ro) == "OK"


def test_reduce_only_counts_open_orders_on_the_side(desk):
    desk.fill(0, O.BUY, 50_000, 3)
    desk.sent(0, O.SELL, 1)
    desk.sym_limits["max_order_qty_e8"] = e8(10)
    desk.sym_limits["max_order_notional_e8"] = e8(10**6)
    ro = R.TS_REDUCE_ONLY
    assert desk.name(order(side=O.SELL, qty=2), trading_state=ro) == "OK"
    assert desk.name(order(side=O.SELL, qty="2.00000001"), trading_state=ro) == "REDUCE_ONLY"
    desk.sent(0, O.BUY, 1)  # an open buy does not make a sell less reducing: worst case counts
    assert desk.name(order(side=O.SELL, qty=2), trading_state=ro) == "OK"


def test_reduce_only_short(desk):
    desk.fill(0, O.SELL, 50_000, 2)
    ro = R.TS_REDUCE_ONLY
    assert desk.name(order(side=O.BUY, qty=2), trading_state=ro) == "OK"
    assert desk.name(order(side=O.BUY, qty="2.00000001"), trading_state=ro) == "MAX_ORDER_QTY"
    desk.sym_limits["max_order_qty_e8"] = e8(10)
    assert desk.name(order(side=O.BUY, qty="2.00000001", price=40_000), trading_state=ro) == "PRICE_BAND"
    assert desk.name(order(side=O.BUY, qty="2.00000001", price=49_600), trading_state=ro) == "REDUCE_ONLY"
    assert desk.name(order(side=O.SELL, qty="0.1"), trading_state=ro) == "REDUCE_ONLY"


def test_reduce_only_flat_takes_nothing(desk):
    for side in (O.BUY, O.SELL):
        assert desk.name(order(side=side, qty="0.1"), trading_state=R.TS_REDUCE_ONLY) == "REDUCE_ONLY"
        assert desk.name(order(side=side, qty="0.1"), trading_state=R.TS_ACTIVE) == "OK"


# --- MAX_POSITION -------------------------------------------------------------------------------

def test_max_position_long_counts_position_and_open_buys(desk):
    desk.fill(0, O.BUY, 50_000, 4)
    desk.sent(0, O.BUY, "0.5")
    assert desk.name(order(qty="0.5")) == "OK"  # 4 + 0.5 + 0.5 = 5
    assert desk.name(order(qty="0.50000001")) == "MAX_POSITION"
    desk.sent(0, O.SELL, 2)  # open sells do not offset the worst case of the buy side
    assert desk.name(order(qty="0.50000001")) == "MAX_POSITION"
    assert desk.name(order(side=O.SELL, qty=2)) == "OK"  # selling reduces


def test_max_position_short(desk):
    desk.fill(0, O.SELL, 50_000, 4)
    desk.sent(0, O.SELL, "0.5")
    assert desk.name(order(side=O.SELL, qty="0.5")) == "OK"
    assert desk.name(order(side=O.SELL, qty="0.50000001")) == "MAX_POSITION"
    assert desk.name(order(side=O.BUY, qty=2)) == "OK"


def test_max_position_from_the_other_side(desk):
    # long 1: a sell may go down to short 5, i.e. 6 in all
    desk.fill(0, O.BUY, 50_000, 1)
    desk.sym_limits["max_order_qty_e8"] = e8(10)
    desk.sym_limits["max_order_notional_e8"] = e8(10**6)
    assert desk.name(order(side=O.SELL, qty=6)) == "OK"
    assert desk.name(order(side=O.SELL, qty="6.00000001")) == "MAX_POSITION"


def test_position_over_a_lowered_limit_can_still_be_reduced(desk):
    desk.fill(0, O.BUY, 50_000, 5)
    desk.sym_limits["max_position_e8"] = e8(1)
    assert desk.name(order(qty="0.1")) == "MAX_POSITION"
    assert desk.name(order(side=O.SELL, qty=2)) == "OK"


# --- MAX_GROSS_EXPOSURE -------------------------------------------------------------------------

def test_gross_exposure_across_symbols():
    d = Desk(max_gross_exposure=200_000, overrides={1: {"max_position": 1000, "max_order_qty": 100}})
    d.mid(0, 50_000)
    d.mid(1, 1_000)
    d.fill(0, O.BUY, 50_000, 2)  # 100_000
    d.fill(1, O.SELL, 1_000, 50)  # 50_000 (short counts by its absolute value)
    assert d.gross() == e8(150_000)
    assert d.name(order(qty=1)) == "OK"  # 150_000 + 50_000 = the max
    assert d.name(order(qty="1.00000001")) == "MAX_GROSS_EXPOSURE"
    assert d.name(order(symbol=1, side=O.SELL, qty=50, price=1_000)) == "OK"  # 50 more short x 1_000
    assert d.name(order(symbol=1, side=O.SELL, qty="50.00000001", price=1_000)) == "MAX_GROSS_EXPOSURE"


def test_gross_exposure_counts_open_orders():
    d = Desk(max_gross_exposure=200_000)
    d.mid(0, 50_000)
    d.sent(0, O.BUY, 2)
    assert d.gross() == e8(100_000)
    assert d.name(order(qty=2)) == "OK"
    d.sent(0, O.BUY, 1)
    assert d.name(order(qty="1.00000001")) == "MAX_GROSS_EXPOSURE"
    # open sells reach the other way: worst |pos| is max(3, 1.5), so 1.5 short adds nothing
    d.sent(0, O.SELL, "1.5")
    assert d.gross() == e8(150_000)
    assert d.name(order(side=O.SELL, qty="1.5")) == "OK"
    assert d.name(order(side=O.SELL, qty="2")) == "OK"  # max(3, 3.5) x 50_000 = 175_000


def test_gross_over_the_limit_lets_risk_reducing_orders_pass():
    d = Desk(max_gross_exposure=200_000)
    d.mid(0, 50_000)
    d.fill(0, O.BUY, 50_000, 3)
    d.mid(0, 80_000)  # 240_000 now: over the limit after a price move
    assert d.gross() == e8(240_000)
    d.sym_limits["max_order_notional_e8"] = e8(10**6)
    assert d.name(order(qty="0.1", price=80_000)) == "MAX_GROSS_EXPOSURE"
    assert d.name(order(side=O.SELL, qty=1, price=80_000)) == "OK"


# --- RATE_LIMIT ---------------------------------------------------------------------------------

def test_rate_limit_window_slides(desk):
    rec = order(qty="0.1")
    t0 = NOW
    for dt in (0, 100_000_000, 200_000_000):
        assert desk.name(rec, now=t0 + dt) == "OK"
        desk.accept(rec, now=t0 + dt)
    assert desk.name(rec, now=t0 + 500_000_000) == "RATE_LIMIT"
    assert desk.name(rec, now=t0 + SECOND - 1) == "RATE_LIMIT"
    assert desk.name(rec, now=t0 + SECOND) == "OK"  # the first order left the window
    desk.accept(rec, now=t0 + SECOND)
    assert desk.name(rec, now=t0 + SECOND + 100_000_000 - 1) == "RATE_LIMIT"
    assert desk.name(rec, now=t0 + SECOND + 100_000_000) == "OK"


def test_checking_does_not_count(desk):
    rec = order(qty="0.1")
    for _ in range(10):
        assert desk.name(rec) == "OK"
    assert desk.account[0]["rate_count"] == 0 and desk.sym(0)["rate_count"] == 0


def test_rate_limit_is_per_symbol_and_across_symbols():
    d = Desk()  # 3 per symbol, 5 in all
    for s in range(3):
        d.mid(s, 100)
    for i in range(3):
        d.accept(order(symbol=0, price=100), now=NOW + i)
    assert d.name(order(symbol=0, price=100), now=NOW + 3) == "RATE_LIMIT"
    assert d.name(order(symbol=1, price=100), now=NOW + 3) == "OK"
    d.accept(order(symbol=1, price=100), now=NOW + 3)
    d.accept(order(symbol=1, price=100), now=NOW + 4)
    assert d.name(order(symbol=2, price=100), now=NOW + 5) == "RATE_LIMIT"  # 5 across symbols
    assert d.name(order(symbol=2, price=100), now=NOW + SECOND) == "OK"


def test_cancels_are_not_rate_limited(desk):
    for i in range(3):
        desk.accept(order(qty="0.1"), now=NOW + i)
    cancel = order(action=O.CANCEL, cancel_id=5)
    assert desk.name(cancel, now=NOW + 3) == "OK"
    assert desk.accept(cancel, now=NOW + 3) == 1  # IGNORED: not counted
    assert desk.sym(0)["rate_count"] == 3


# --- precedence ---------------------------------------------------------------------------------

def test_checks_run_in_the_documented_order():
    """Start from an order and a state that fail every check; remove one cause at a time and watch
    the reason move down the documented order, to OK."""
    d = Desk(n_symbols=2, max_position=2, max_gross_exposure=100_000, max_orders_per_s=1)
    d.accept(order(symbol=0), now=NOW)  # symbol 0's rate window is full for a second
    rec = order(symbol=5, qty=3, price=60_000)  # unknown symbol, too big, off the band, ...
    rec["side"] = 9
    state = {"ts": R.TS_HALTED, "now": NOW}

    def reason():
        return d.name(rec, trading_state=state["ts"], now=state["now"])

    assert reason() == "HALTED"
    state["ts"] = R.TS_REDUCE_ONLY
    assert reason() == "BAD_ORDER"
    rec["side"] = O.BUY
    assert reason() == "UNKNOWN_SYMBOL"
    rec["symbol_id"] = 0
    assert reason() == "MAX_ORDER_QTY"
    d.sym_limits["max_order_qty_e8"] = e8(10)
    assert reason() == "NO_REFERENCE_PRICE"
    d.mid(0, 50_000)
    assert reason() == "PRICE_BAND"
    rec["price_e8"] = e8(50_000)
    assert reason() == "MAX_NOTIONAL"  # 3 x 50_000 > 100_000
    d.sym_limits["max_order_notional_e8"] = e8(10**6)
    assert reason() == "REDUCE_ONLY"  # flat
    state["ts"] = R.TS_ACTIVE
    assert reason() == "MAX_POSITION"  # 3 > 2
    d.sym_limits["max_position_e8"] = e8(10)
    assert reason() == "MAX_GROSS_EXPOSURE"  # 150_000 > 100_000
    d.acct_limits["max_gross_exposure_e8"] = e8(10**6)
    assert reason() == "RATE_LIMIT"
    state["now"] = NOW + SECOND
    assert reason() == "OK"
