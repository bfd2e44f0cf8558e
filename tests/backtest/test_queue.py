"""Queue-position models and the venue's resting-order fills on small literal scenarios."""

import numpy as np
import pytest

from hftshm.layouts import exec_report as F
from hftshm.matching.queue import QueueModel, on_trade
from hftshm.matching.recorded_venue import Filters, RecordedVenue
from hftshm.layouts import md as M
from hftshm.layouts import order as O
from hftshm.risk import reasons as R

E8 = M.E8
TICK = 1_000_000
BID, ASK = 60_000 * E8, 60_000 * E8 + TICK
FILTERS = Filters(tick_e8=TICK, step_e8=1_000, min_notional_e8=5 * E8)


def venue(queue="conservative", power=2.0, taker="touch"):
    v = RecordedVenue([FILTERS], QueueModel(queue, power), taker, 1.0, 5.0)
    out = []
    v.on_md(M.QUOTE, 0, 0, 0, BID, 2 * E8, ASK, 3 * E8, 1, out)  # bid 2 BTC, ask 3 BTC
    assert out == []
    return v


def order(oid, side, price, qty, kind=O.LIMIT, tif=O.GTC, action=O.NEW, cancel_id=0):
    o = np.zeros(1, O.DTYPE)[0]
    o["order_id"], o["strategy_id"], o["symbol_id"], o["side"], o["price_e8"], o["qty_e8"] = oid, 1, 0, side, price, qty
    o["type"], o["tif"], o["action"], o["cancel_id"] = kind, tif, action, cancel_id
    return o


def kinds(reports):
    return [(int(r[0]["exec_type"]), int(r[0]["last_qty_e8"])) for r in reports]


def md(v, kind, side, px, qty, px2=0, qty2=0, t=10):
    out = []
    v.on_md(kind, 0, side, 0, px, qty, px2, qty2, t, out)
    return out


# --- the model functions ---------------------------------------------------------------------------

def test_trade_at_the_price_takes_from_the_front():
    assert on_trade(100, 30) == (70, 0)
    assert on_trade(100, 130) == (0, 30)


def test_conservative_level_decrease_is_behind_the_order():
    q = QueueModel("conservative")
    assert q.on_level(ahead=60, prev_qty=100, new_qty=70, traded=0) == 60  # 30 cancelled behind
    assert q.on_level(ahead=60, prev_qty=100, new_qty=40, traded=0) == 40  # cannot be more than the level
    assert q.on_level(ahead=60, prev_qty=100, new_qty=150, traded=0) == 60  # growth joins behind


def test_probabilistic_level_decrease_splits_by_power_of_queue_sizes():
    q = QueueModel("probabilistic", power=2.0)
    # front 60, back 40: p_back = 40^2 / (40^2 + 60^2) = 1600 / 5200; 30 cancelled
    p_back = 1600 / 5200
    assert q.on_level(60, 100, 70, 0) == int(np.floor(60 - (1 - p_back) * 30))
    # power 0: an even split
    assert QueueModel("probabilistic", 0.0).on_level(60, 100, 70, 0) == 45
    # trades already counted are not cancels
    assert q.on_level(60, 100, 70, traded=30) == 60
    # more cancelled than was behind: the rest came from ahead
    assert q.on_level(90, 100, 20, 0) <= 20


def test_unknown_queue_model_is_refused():
    with pytest.raises(ValueError, match="queue model"):
        QueueModel("optimistic")


# --- the venue -----------------------------------------------------------------------------------

@pytest.mark.parametrize("queue", ["conservative", "probabilistic"])
def test_resting_bid_fills_only_after_the_queue_ahead_trades(queue):
    v = venue(queue)
    rep = v.on_order(order(1, O.BUY, BID, E8 // 2), 5)
    assert kinds(rep) == [(F.EX_NEW, 0)]
    assert md(v, M.TRADE, M.SELL, BID, E8) == []  # 1 of the 2 ahead
    assert md(v, M.TRADE, M.BUY, BID, E8) == []  # a buyer took the ask side: not our queue
    rep = md(v, M.TRADE, M.SELL, BID, E8 + E8 // 4)  # 1 more ahead, then 0.25 reaches us
    assert kinds(rep) == [(F.EX_TRADE, E8 // 4)]
    r = rep[0][0]
    assert r["state"] == F.ST_PARTIAL and r["last_px_e8"] == BID and int(r["trade_id"]) in v.maker_trades
    rep = md(v, M.TRADE, M.SELL, BID, E8)
    assert kinds(rep) == [(F.EX_TRADE, E8 // 4)] and rep[0][0]["state"] == F.ST_FILLED
    assert v.open_orders() == 0


def test_conservative_cancels_ahead_do_not_advance_but_level_cap_does():
    v = venue("conservative")
    v.on_order(order(1, O.BUY, BID, E8 // 2), 5)
    md(v, M.QUOTE, 0, BID, E8 + E8 // 2, ASK, 3 * E8)  # level 2 -> 1.5: behind us; ahead 1.5 (capped)
    assert v.resting[0][1].ahead == E8 + E8 // 2
    assert md(v, M.TRADE, M.SELL, BID, E8 + E8 // 2) == []  # exactly the queue ahead: nothing left
    rep = md(v, M.TRADE, M.SELL, BID, E8 // 10)
    assert kinds(rep) == [(F.EX_TRADE, E8 // 10)]


def test_probabilistic_cancels_advance_the_order():
    v = venue("probabilistic", power=1.0)
    v.on_order(order(1, O.BUY, BID, E8 // 2), 5)
    assert v.resting[0][1].ahead == 2 * E8
    # more joins behind (2 -> 4), then 2 are cancelled (4 -> 2): front 2, back 2, p = 1/2: 1 ahead cancelled
    md(v, M.QUOTE, 0, BID, 4 * E8, ASK, 3 * E8)
    md(v, M.QUOTE, 0, BID, 2 * E8, ASK, 3 * E8)
    assert v.resting[0][1].ahead == E8


def test_trade_through_the_price_fills_the_whole_order():
    v = venue()
    v.on_order(order(1, O.BUY, BID, E8 // 2), 5)
    rep = md(v, M.TRADE, M.SELL, BID - TICK, 1000)
    assert kinds(rep) == [(F.EX_TRADE, E8 // 2)] and rep[0][0]["last_px_e8"] == BID


def test_opposite_touch_reaching_the_price_fills_as_maker():
    v = venue()
    v.on_order(order(1, O.BUY, BID, E8 // 2), 5)
    rep = md(v, M.QUOTE, 0, BID - TICK, E8, BID, E8)
    assert kinds(rep) == [(F.EX_TRADE, E8 // 2)] and rep[0][0]["trade_id"] in v.maker_trades


def test_order_behind_the_best_waits_for_its_level_to_be_seen():
    v = venue()
    v.on_order(order(1, O.BUY, BID - 5 * TICK, E8 // 2), 5)
    o = v.resting[0][1]
    assert o.ahead == -1  # no depth: its place is unknown
    assert md(v, M.TRADE, M.SELL, BID - 5 * TICK, E8) == []  # unknown place: a trade there does not reach it
    md(v, M.QUOTE, 0, BID - 5 * TICK, 3 * E8, BID - 4 * TICK, E8)  # the level is now the best: 3 ahead
    assert o.ahead == 3 * E8
    assert md(v, M.TRADE, M.SELL, BID - 5 * TICK, 2 * E8) == []
    assert kinds(md(v, M.TRADE, M.SELL, BID - 5 * TICK, 2 * E8)) == [(F.EX_TRADE, E8 // 2)]


def test_order_behind_the_best_with_depth_uses_the_level():
    v = venue()
    md(v, M.LEVEL, M.BID, BID - 5 * TICK, 7 * E8)
    v.on_order(order(1, O.BUY, BID - 5 * TICK, E8 // 2), 5)
    assert v.resting[0][1].ahead == 7 * E8
    md(v, M.LEVEL, M.BID, BID - 5 * TICK, 4 * E8)  # conservative: cancels behind, capped at the level
    assert v.resting[0][1].ahead == 4 * E8


def test_improving_the_best_is_first_in_line():
    v = venue()
    v.on_order(order(3, O.BUY, BID, E8 // 2), 5)
    assert v.resting[0][3].ahead == 2 * E8  # joins the best bid: behind its 2 BTC
    # a new best bid above the recorded one (a finer tick): nothing ahead
    v2 = RecordedVenue([Filters(TICK // 2, 1_000, 5 * E8)], QueueModel("conservative"), "touch", 0, 0)
    md(v2, M.QUOTE, 0, BID, E8, ASK, E8)
    v2.on_order(order(4, O.BUY, BID + TICK // 2, E8 // 2), 5)
    assert v2.resting[0][4].ahead == 0


def test_post_only_that_would_cross_is_rejected_like_the_venue():
    v = venue()
    rep = v.on_order(order(1, O.BUY, ASK, E8 // 2, kind=O.LIMIT_MAKER), 5)
    r = rep[0][0]
    assert len(rep) == 1 and r["exec_type"] == F.EX_REJECTED and r["reason"] == R.VENUE_WOULD_TAKE
    assert r["venue_code"] == -2010


@pytest.mark.parametrize("price,qty,what", [
    (BID + TICK // 2, E8 // 2, "off the tick"),
    (BID, 1_500, "off the step"),
    (BID, 5_000, "under the minimum notional (0.00005 x 60000 = 3 < 5)"),
    (0, E8, "no price"),
])
def test_filters_reject_like_the_venue(price, qty, what):
    rep = venue().on_order(order(1, O.BUY, price, qty), 5)
    r = rep[0][0]
    assert (r["exec_type"], r["reason"], r["venue_code"]) == (F.EX_REJECTED, R.VENUE_FILTER, -1013), what


def test_marketable_order_fills_at_the_touch_capped_at_the_displayed_qty():
    v = venue()
    rep = v.on_order(order(1, O.BUY, ASK + 10 * TICK, 5 * E8, tif=O.IOC), 5)
    assert kinds(rep) == [(F.EX_NEW, 0), (F.EX_TRADE, 3 * E8), (F.EX_EXPIRED, 0)]
    assert rep[1][0]["last_px_e8"] == ASK
    assert rep[1][0]["fee_e8"] == round(ASK * 3 * E8 / E8 * 5.0 / 1e4)  # taker 5 bps
    rep = venue(taker="unlimited").on_order(order(1, O.SELL, 0, 5 * E8, kind=O.MARKET), 5)
    assert kinds(rep) == [(F.EX_NEW, 0), (F.EX_TRADE, 5 * E8)] and rep[1][0]["last_px_e8"] == BID
    rep = venue().on_order(order(1, O.BUY, ASK, 5 * E8, tif=O.FOK), 5)
    assert kinds(rep) == [(F.EX_NEW, 0), (F.EX_EXPIRED, 0)]
    rep = venue().on_order(order(1, O.BUY, BID, E8, tif=O.IOC), 5)  # does not cross: expires
    assert kinds(rep) == [(F.EX_NEW, 0), (F.EX_EXPIRED, 0)]


def test_cancel_ends_a_resting_order_and_unknown_cancels_are_rejected():
    v = venue()
    v.on_order(order(1, O.BUY, BID, E8 // 2), 5)
    rep = v.on_order(order(2, 0, 0, 0, action=O.CANCEL, cancel_id=1), 6)
    assert kinds(rep) == [(F.EX_CANCELED, 0)] and rep[0][0]["order_id"] == 1
    rep = v.on_order(order(3, 0, 0, 0, action=O.CANCEL, cancel_id=1), 7)
    r = rep[0][0]
    assert r["exec_type"] == F.EX_CANCEL_REJECTED and r["reason"] == R.CANCEL_UNKNOWN and r["state"] == F.ST_CANCELED


def test_own_fills_never_change_the_recorded_book():
    v = venue(taker="unlimited")
    v.on_order(order(1, O.BUY, ASK, 2 * E8, tif=O.IOC), 5)
    b = v.books[0]
    assert (b.bid, b.bid_qty, b.ask, b.ask_qty) == (BID, 2 * E8, ASK, 3 * E8)
