"""The pre-trade check: ``check_order`` returns the first failing reason, or OK, for one order.

It is side-effect free: the caller records an accepted order with ``orders.on_accepted`` (rate
window) and ``orders.on_sent`` (open quantity). The checks run in this order, the first failure
wins:

===  ==================  =====================================================================
 1   (cancel)            action CANCEL: BAD_ORDER without a target (cancel_id <= 0), else OK,
                         in every trading state: cancels only reduce risk
 2   BAD_ORDER           action neither NEW nor CANCEL
 3   HALTED              trading state is HALTED, or not a known state (fail closed)
 4   BAD_ORDER           side not BUY/SELL, type not LIMIT/MARKET/LIMIT_MAKER, qty <= 0,
                         limit price <= 0 (a MARKET order's price is ignored)
 5   UNKNOWN_SYMBOL      symbol_id outside the state or the limits
5a   NO_INSTRUMENT_RULES the limits row's ``rules`` is neither 0 (none given) nor 1 (the venue's)
5b   INSTRUMENT_PRICE    venue rules: limit price not a multiple of the tick, below minPrice, or
                         above maxPrice (when set)
5c   INSTRUMENT_QTY      venue rules: qty not a multiple of the step, below minQty, or above maxQty
                         (MARKET: MARKET_LOT_SIZE's maxQty when set)
 6   MAX_ORDER_QTY       qty > max_order_qty
 7   NO_REFERENCE_PRICE  no mid yet (every later check needs one)
 8   PRICE_BAND          limit types: |price - mid| > band_bps / 10^4 x mid (both directions)
8a   INSTRUMENT_PRICE    venue rules, limit types: price above mid x the side's up multiplier or
                         below mid x its down multiplier (percent-price filters; the mid stands in
                         for the venue's average price)
 9   MAX_NOTIONAL        qty x (limit price, or mid for MARKET) > max_order_notional
9a   INSTRUMENT_QTY      venue rules: that notional below minNotional or above maxNotional (when
                         set), for every order type (stricter than the venue's applyToMarket flags)
10   REDUCE_ONLY         state REDUCE_ONLY and the order, with every open order on its side,
                         could leave |position| larger or flipped (so a flat symbol takes none)
11   MAX_POSITION        BUY: pos + open_buy + qty > max_position;
                         SELL: -(pos - open_sell - qty) > max_position
12   MAX_GROSS_EXPOSURE  the order raises this symbol's worst-case exposure and the account total
                         would exceed max_gross_exposure (orders that do not raise it pass, so
                         risk can be cut while over the limit)
13   RATE_LIMIT          max_orders_per_s already accepted for this symbol in the last second,
                         then the same across symbols (max_orders_per_s_total)
===  ==================  =====================================================================

Steps 5a-c, 8a and 9a run only when the limits row carries the venue's rules (``limits.
instrument_rows``; execution always sets them, see hftshm.trading.instruments).

Every limit is inclusive: a value exactly at the limit passes. Products of e8 integers are
compared in float64 (qty_e8 x px_e8 overflows int64); rounding is monotonic, so the comparison is
exact at the boundary and wrong only for differences below 1e-16 relative.
"""

from __future__ import annotations

from numba import njit

from ..layouts.order import BUY, CANCEL, LIMIT, LIMIT_MAKER, MARKET, NEW, SELL
from . import reasons as R
from .exposure import exposure_e8, worst_qty_e8
from .limits import RULES_NONE, RULES_SET
from .rate import window_full

E8 = 100_000_000.0
BPS = 10_000.0


@njit(cache=True)
def check_order(order, symbols, account, sym_limits, acct_limits, trading_state, now_ns):
    """The reason code (uint8 value) for one ``order.DTYPE`` record; 0 means send it.

    ``symbols``/``account``: RiskState views; ``sym_limits``/``acct_limits``: Limits.arrays();
    ``trading_state``: reasons.TS_*; ``now_ns``: the clock the rate window is stamped with.
    """
    action = order.action
    if action == CANCEL:
        return R.BAD_ORDER if order.cancel_id <= 0 else R.OK
    if action != NEW:
        return R.BAD_ORDER
    if trading_state != R.TS_ACTIVE and trading_state != R.TS_REDUCE_ONLY:
        return R.HALTED

    side = order.side
    kind = order.type
    qty = order.qty_e8
    px = order.price_e8
    limit_type = kind == LIMIT or kind == LIMIT_MAKER
    if side != BUY and side != SELL:
        return R.BAD_ORDER
    if not limit_type and kind != MARKET:
        return R.BAD_ORDER
    if qty <= 0 or (limit_type and px <= 0):
        return R.BAD_ORDER

    s = order.symbol_id
    if s >= symbols.shape[0] or s >= sym_limits.shape[0]:
        return R.UNKNOWN_SYMBOL
    sym = symbols[s]
    lim = sym_limits[s]

    rules = lim.rules
    if rules != RULES_NONE:
        if rules != RULES_SET:
            return R.NO_INSTRUMENT_RULES
        if limit_type and (px % lim.tick_e8 != 0 or px < lim.min_price_e8
                           or (lim.max_price_e8 > 0 and px > lim.max_price_e8)):
            return R.INSTRUMENT_PRICE
        max_qty = lim.market_max_qty_e8 if kind == MARKET and lim.market_max_qty_e8 > 0 else lim.max_qty_e8
        if qty % lim.step_e8 != 0 or qty < lim.min_qty_e8 or (max_qty > 0 and qty > max_qty):
            return R.INSTRUMENT_QTY
    if qty > lim.max_order_qty_e8:
        return R.MAX_ORDER_QTY
    mid = sym.mid_e8
    if mid <= 0:
        return R.NO_REFERENCE_PRICE
    ref = mid
    if limit_type:
        if float(abs(px - mid)) * BPS > float(lim.price_band_bps) * float(mid):
            return R.PRICE_BAND
        if rules == RULES_SET:
            up = lim.buy_up_e8 if side == BUY else lim.sell_up_e8
            down = lim.buy_down_e8 if side == BUY else lim.sell_down_e8
            if (up > 0 and float(px) * E8 > float(mid) * float(up)) or float(px) * E8 < float(mid) * float(down):
                return R.INSTRUMENT_PRICE
        ref = px
    notional = float(qty) * float(ref)
    if notional > float(lim.max_order_notional_e8) * E8:
        return R.MAX_NOTIONAL
    if rules == RULES_SET and (notional < float(lim.min_notional_e8) * E8
                               or (lim.max_notional_e8 > 0 and notional > float(lim.max_notional_e8) * E8)):
        return R.INSTRUMENT_QTY

    pos = sym.position_e8
    open_buy = sym.open_buy_e8
    open_sell = sym.open_sell_e8
    if side == BUY:
        open_buy += qty
    else:
        open_sell += qty
    if trading_state == R.TS_REDUCE_ONLY:
        # every open order on this side, this one included, must fit inside the position
        if side == BUY and not (pos < 0 and open_buy <= -pos):
            return R.REDUCE_ONLY
        if side == SELL and not (pos > 0 and open_sell <= pos):
            return R.REDUCE_ONLY
    if side == BUY and pos + open_buy > lim.max_position_e8:
        return R.MAX_POSITION
    if side == SELL and open_sell - pos > lim.max_position_e8:
        return R.MAX_POSITION

    acct = account[0]
    old = sym.worst_exposure_e8
    new = exposure_e8(worst_qty_e8(pos, open_buy, open_sell), float(mid))
    if new > old and acct.worst_gross_e8 - old + new > acct_limits[0].max_gross_exposure_e8:
        return R.MAX_GROSS_EXPOSURE

    if window_full(sym.rate, sym.rate_count, lim.max_orders_per_s, now_ns):
        return R.RATE_LIMIT
    if window_full(acct.rate, acct.rate_count, acct_limits[0].max_orders_per_s, now_ns):
        return R.RATE_LIMIT
    return R.OK


@njit(cache=True)
def check_one(orders, symbols, account, sym_limits, acct_limits, trading_state, now_ns):
    """``check_order(orders[0], ...)`` for Python callers (see gate.py); BAD_ORDER unless
    ``orders`` holds exactly one record."""
    if orders.shape[0] != 1:
        return R.BAD_ORDER
    return check_order(orders[0], symbols, account, sym_limits, acct_limits, trading_state, now_ns)
