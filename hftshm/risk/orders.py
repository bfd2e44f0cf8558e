"""Order-flow bookkeeping: the rate windows and the open quantity per side.

Call sequence for one new order (the execution process)::

    reason = check_order(order, ...)          # side-effect free
    if reason == OK:
        on_accepted(order, symbols, account, now_ns)             # counts in the rate windows
        on_sent(symbols, account, sym, side, qty_e8)             # now open on that side
    ...
    on fill:           fills.on_fill(...)  then  on_done(..., last_qty_e8)
    on cancel/expire/reject:                     on_done(..., leaves_qty_e8)

A fill updates the position before it closes the open quantity, so a reader between the two sees
the worst case counted twice (over-, never under-estimated).
"""

from __future__ import annotations

from numba import njit

from ..layouts.order import BUY, NEW, SELL
from . import results as X
from .exposure import refresh
from .rate import window_push


@njit(cache=True)
def on_accepted(order, symbols, account, now_ns):
    """Stamp an order that passed check_order into its symbol's and the account's rate windows.
    Cancels are not rate-limited: IGNORED."""
    if order.action != NEW:
        return X.IGNORED
    s = order.symbol_id
    if s >= symbols.shape[0]:
        return X.BAD_INPUT
    sym = symbols[s]
    acct = account[0]
    sym.rate_count = window_push(sym.rate, sym.rate_count, now_ns)
    acct.rate_count = window_push(acct.rate, acct.rate_count, now_ns)
    acct.accepted += 1
    return X.APPLIED


@njit(cache=True)
def on_sent(symbols, account, symbol_id, side, qty_e8):
    """``qty_e8`` more is open on ``side`` (the order went to the venue)."""
    if symbol_id < 0 or symbol_id >= symbols.shape[0] or qty_e8 <= 0:
        return X.BAD_INPUT
    sym = symbols[symbol_id]
    if side == BUY:
        sym.open_buy_e8 += qty_e8
    elif side == SELL:
        sym.open_sell_e8 += qty_e8
    else:
        return X.BAD_INPUT
    refresh(sym, account[0])
    return X.APPLIED


@njit(cache=True)
def on_done(symbols, account, symbol_id, side, qty_e8):
    """``qty_e8`` on ``side`` is no longer open: filled, or the unfilled rest of an order that was
    cancelled, expired or rejected. More than is open clamps to zero and returns CLAMPED."""
    if symbol_id < 0 or symbol_id >= symbols.shape[0] or qty_e8 <= 0 or (side != BUY and side != SELL):
        return X.BAD_INPUT
    sym = symbols[symbol_id]
    result = X.APPLIED
    if side == BUY:
        left = sym.open_buy_e8 - qty_e8
        if left < 0:
            left = 0
            result = X.CLAMPED
        sym.open_buy_e8 = left
    else:
        left = sym.open_sell_e8 - qty_e8
        if left < 0:
            left = 0
            result = X.CLAMPED
        sym.open_sell_e8 = left
    refresh(sym, account[0])
    return result
