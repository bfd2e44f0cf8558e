"""Average-cost accounting on sequences of fills, against hand-computed values."""

import numpy as np
import pytest

from hftshm.layouts import order as O
from hftshm.risk import results as X
from hftshm.risk.fills import set_position
from hftshm.risk.marks import mark_to_market

from ._helpers import NOW, Desk, e8

BUY, SELL = O.BUY, O.SELL


def book(d, s=0):
    r = d.sym(s)
    return int(r["position_e8"]), float(r["avg_px"]), float(r["realized_pnl"]), float(r["fees"])


def test_long_add_then_partial_closes():
    d = Desk()
    d.fill(0, BUY, 100, 1, fee="0.1")
    d.fill(0, BUY, 110, 1, fee="0.1")
    pos, avg, realized, fees = book(d)
    assert (pos, avg, realized) == (e8(2), 105.0, 0.0)
    d.fill(0, SELL, 120, "0.5", fee="0.1")  # 0.5 x (120 - 105) = 7.5
    pos, avg, realized, fees = book(d)
    assert pos == e8("1.5") and avg == 105.0 and realized == pytest.approx(7.5)
    d.fill(0, SELL, 100, "1.5", fee="0.1")  # 1.5 x (100 - 105) = -7.5
    pos, avg, realized, fees = book(d)
    assert (pos, avg) == (0, 0.0)
    assert realized == pytest.approx(0.0, abs=1e-12)
    assert fees == pytest.approx(0.4)
    r = d.sym(0)
    assert (r["bought_e8"], r["sold_e8"], r["fills"], r["last_fill_ns"]) == (e8(2), e8(2), 4, NOW)


def test_short_then_cover_in_two():
    d = Desk()
    d.fill(0, SELL, 50, 2)
    assert book(d)[:2] == (-e8(2), 50.0)
    d.fill(0, BUY, 40, 1)  # short profits when it buys back lower: 1 x (50 - 40)
    assert book(d)[2] == pytest.approx(10.0)
    d.fill(0, BUY, 60, 1)  # 1 x (50 - 60)
    pos, avg, realized, _ = book(d)
    assert (pos, avg) == (0, 0.0) and realized == pytest.approx(0.0, abs=1e-12)


def test_adding_to_a_short_averages():
    d = Desk()
    d.fill(0, SELL, 100, 1)
    d.fill(0, SELL, 130, 2)  # (100 + 260) / 3 = 120
    pos, avg, _, _ = book(d)
    assert pos == -e8(3) and avg == pytest.approx(120.0)


def test_flip_long_to_short_and_back():
    d = Desk()
    d.fill(0, BUY, 100, 1)
    d.fill(0, SELL, 110, 3)  # closes 1 (+10), opens 2 short at 110
    pos, avg, realized, _ = book(d)
    assert (pos, avg) == (-e8(2), 110.0) and realized == pytest.approx(10.0)
    d.fill(0, BUY, 100, 4)  # closes 2 short (+20), opens 2 long at 100
    pos, avg, realized, _ = book(d)
    assert (pos, avg) == (e8(2), 100.0) and realized == pytest.approx(30.0)


def test_realistic_fixed_point_values():
    d = Desk()
    d.fill(0, BUY, "61837.63", "0.00123", fee="0.07605728")
    d.fill(0, BUY, "61840.01", "0.00077", fee="0.04761681")
    avg = (0.00123 * 61837.63 + 0.00077 * 61840.01) / 0.002  # 61838.5463
    assert book(d)[1] == pytest.approx(avg, rel=1e-15)
    d.fill(0, SELL, "61900.5", "0.0015", fee="-0.00928508")  # a maker rebate
    pos, avg_after, realized, fees = book(d)
    assert pos == e8("0.0005") and avg_after == pytest.approx(avg, rel=1e-15)
    assert realized == pytest.approx(0.0015 * (61900.5 - avg), rel=1e-12)
    assert fees == pytest.approx(0.07605728 + 0.04761681 - 0.00928508, rel=1e-12)


def test_mark_to_market():
    d = Desk()
    d.fill(0, BUY, 100, 1)
    d.fill(0, SELL, 110, 3)
    d.fill(0, BUY, 100, 4, fee="0.5")  # long 2 at 100, realized 30, fees 0.5
    d.mid(0, 105)
    d.fill(1, SELL, 20, 10)  # short 10 at 20
    d.mid(1, 22)
    unrealized, total, gross = mark_to_market(d.symbols)
    assert unrealized == pytest.approx(2 * 5 - 10 * 2)  # +10 long, -20 short
    assert total == pytest.approx(30 - 0.5 - 10)
    assert gross == pytest.approx(2 * 105 + 10 * 22)


def test_mark_to_market_without_a_mid_values_at_cost():
    d = Desk()
    d.fill(2, BUY, 40, 3)
    unrealized, total, gross = mark_to_market(d.symbols)
    assert (unrealized, total, gross) == (0.0, 0.0, 120.0)
    assert d.sym(2)["worst_exposure_e8"] == e8(120)  # valued at avg_px before any mid


def test_empty_book():
    assert mark_to_market(Desk().symbols) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("symbol,side,px,qty", [(4, BUY, 1, 1), (-1, BUY, 1, 1), (0, 0, 1, 1), (0, BUY, 0, 1),
                                                (0, BUY, 1, 0), (0, SELL, -1, 1)])
def test_bad_fill_changes_nothing(symbol, side, px, qty):
    d = Desk()
    d.fill(0, BUY, 100, 1)
    before = d.state.raw.copy()
    assert d.fill(symbol, side, px, qty) == X.BAD_INPUT
    assert np.array_equal(d.state.raw, before)


def test_set_position_for_reconciliation():
    d = Desk()
    d.mid(0, 100)
    d.fill(0, BUY, 90, 1)  # realized stays through a reconciliation
    d.fill(0, SELL, 95, "0.5")
    assert set_position(d.symbols, d.account, 0, -e8(3), 101.5) == X.APPLIED
    pos, avg, realized, _ = book(d)
    assert (pos, avg) == (-e8(3), 101.5) and realized == pytest.approx(2.5)
    assert d.gross() == e8(300)
    assert set_position(d.symbols, d.account, 0, 0, 7.0) == X.APPLIED
    assert book(d)[:2] == (0, 0.0) and d.gross() == 0
    assert set_position(d.symbols, d.account, 0, e8(1), 0.0) == X.BAD_INPUT  # a position needs a price
    assert set_position(d.symbols, d.account, 9, e8(1), 1.0) == X.BAD_INPUT
