"""Order-flow bookkeeping: open quantity per side, worst-case exposure, the rate window ring."""

import numpy as np
import pytest

from hftshm.layouts import order as O
from hftshm.risk import results as X
from hftshm.risk.exposure import recompute_exposure
from hftshm.risk.layout import SYMBOL_RATE_SLOTS
from hftshm.risk.rate import WINDOW_NS, window_full, window_push

from ._helpers import NOW, Desk, e8, order


def test_sent_and_done_move_open_quantity():
    d = Desk()
    d.mid(0, 100)
    assert d.sent(0, O.BUY, "1.5") == X.APPLIED
    assert d.sent(0, O.BUY, "0.5") == X.APPLIED
    assert d.sent(0, O.SELL, "0.25") == X.APPLIED
    s = d.sym(0)
    assert (s["open_buy_e8"], s["open_sell_e8"]) == (e8(2), e8("0.25"))
    assert d.done(0, O.BUY, "0.5") == X.APPLIED  # a partial fill or a cancelled rest
    assert d.done(0, O.SELL, "0.25") == X.APPLIED
    s = d.sym(0)
    assert (s["open_buy_e8"], s["open_sell_e8"]) == (e8("1.5"), 0)


def test_done_for_more_than_open_clamps():
    d = Desk()
    d.sent(0, O.SELL, 1)
    assert d.done(0, O.SELL, 2) == X.CLAMPED
    assert d.sym(0)["open_sell_e8"] == 0
    assert d.done(0, O.BUY, 1) == X.CLAMPED
    assert d.sym(0)["open_buy_e8"] == 0


@pytest.mark.parametrize("call", ["sent", "done"])
@pytest.mark.parametrize("symbol,side,qty", [(4, O.BUY, 1), (-1, O.BUY, 1), (0, 0, 1), (0, 3, 1), (0, O.BUY, 0),
                                             (0, O.SELL, -1)])
def test_bad_input_changes_nothing(call, symbol, side, qty):
    d = Desk()
    d.sent(0, O.BUY, 1)
    before = d.state.raw.copy()
    assert getattr(d, call)(symbol, side, qty) == X.BAD_INPUT
    assert np.array_equal(d.state.raw, before)


def test_worst_exposure_follows_open_orders_and_fills():
    d = Desk()
    d.mid(0, 100)
    d.mid(1, 10)
    d.sent(0, O.BUY, 2)
    assert d.sym(0)["worst_exposure_e8"] == e8(200) and d.gross() == e8(200)
    d.sent(0, O.SELL, 3)  # worst: short 3
    assert d.gross() == e8(300)
    d.fill(0, O.BUY, 100, 2)  # filled buy: position 2, then no longer open
    d.done(0, O.BUY, 2)
    assert d.sym(0)["worst_exposure_e8"] == e8(200)  # max(|2 + 0|, |2 - 3|) = 2
    d.sent(1, O.SELL, 5)
    assert d.gross() == e8(250)
    d.mid(0, 150)
    assert d.gross() == e8(350)


def test_fill_before_done_overestimates_between_the_two():
    d = Desk()
    d.mid(0, 100)
    d.sent(0, O.BUY, 1)
    d.fill(0, O.BUY, 100, 1)
    assert d.gross() == e8(200)  # position 1 and still 1 open: counted twice, never zero
    d.done(0, O.BUY, 1)
    assert d.gross() == e8(100)


def test_incremental_gross_equals_a_recompute():
    rng = np.random.default_rng(7)
    d = Desk(n_symbols=4)
    for _ in range(500):
        s = int(rng.integers(0, 4))
        side = int(rng.integers(1, 3))
        qty = f"{rng.integers(1, 10**6) / 10**4:.4f}"
        step = rng.integers(0, 4)
        if step == 0:
            d.mid(s, f"{rng.integers(1, 10**7) / 100:.2f}")
        elif step == 1:
            d.sent(s, side, qty)
        elif step == 2:
            d.done(s, side, qty)
        else:
            d.fill(s, side, f"{rng.integers(1, 10**7) / 100:.2f}", qty)
    incremental = d.gross()
    assert recompute_exposure(d.symbols, d.account) == incremental
    assert incremental == int(d.symbols["worst_exposure_e8"].sum())


def test_on_accepted_stamps_both_windows():
    d = Desk()
    rec = order(symbol=2)
    assert d.accept(rec, now=NOW + 5) == X.APPLIED
    assert d.sym(2)["rate_count"] == 1 and d.sym(2)["rate"][0] == NOW + 5
    assert d.account[0]["rate_count"] == 1 and d.account[0]["rate"][0] == NOW + 5
    assert d.account[0]["accepted"] == 1
    assert d.accept(order(symbol=9)) == X.BAD_INPUT
    assert d.account[0]["accepted"] == 1


def test_window_matches_brute_force_across_ring_wraps():
    """Accept orders at random times, always as many as the window allows; at every step the ring's
    answer must equal counting the stamps of the last second."""
    rng = np.random.default_rng(3)
    ring = np.zeros(SYMBOL_RATE_SLOTS, np.int64)
    limit = SYMBOL_RATE_SLOTS  # the largest: uses every slot
    count, now, stamps = 0, NOW, []
    for _ in range(5_000):
        now += int(rng.integers(0, 40_000_000))
        in_window = sum(1 for t in stamps if now - t < WINDOW_NS)
        full = bool(window_full(ring, count, limit, now))
        assert full == (in_window >= limit)
        if not full:
            count = window_push(ring, count, now)
            stamps.append(now)
    assert count > 3 * SYMBOL_RATE_SLOTS  # wrapped several times


def test_window_small_limits():
    ring = np.zeros(8, np.int64)
    assert not window_full(ring, 0, 1, NOW)
    count = window_push(ring, 0, NOW)
    assert window_full(ring, count, 1, NOW + WINDOW_NS - 1)
    assert not window_full(ring, count, 1, NOW + WINDOW_NS)
    assert window_full(ring, count, 0, NOW + 10 * WINDOW_NS)  # a zero limit refuses
    assert not window_full(ring, count, 2, NOW)
