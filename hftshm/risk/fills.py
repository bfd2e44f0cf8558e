"""Position, average entry price, realized PnL and fees from fills (average-cost method).

Average cost: adding to a position (or opening one) moves the average entry price to the
quantity-weighted mean of the old average and the fill price; reducing leaves it unchanged and
realizes ``closed x (fill price - average)`` on a long (``average - fill price`` on a short).
A fill larger than the position closes it (realizing on the closed part) and opens the rest on
the other side at the fill price: a flip through zero. Flat: average 0.

Units and signs as in layout.py: position e8 (> 0 long); avg_px, realized_pnl, fees float64 in
quote (fees > 0 paid, < 0 rebate). ``fee_e8`` must already be in the quote currency: a venue
that charges the fee in the base asset or another coin needs converting before this call.
"""

from __future__ import annotations

from numba import njit

from ..layouts.order import BUY, SELL
from . import results as X
from .exposure import refresh

E8 = 100_000_000.0


@njit(cache=True)
def on_fill(symbols, account, symbol_id, side, px_e8, qty_e8, fee_e8, now_ns):
    """Apply one fill of ``qty_e8`` at ``px_e8`` on ``side``. Does not touch open quantities:
    follow with ``orders.on_done(..., qty_e8)`` for an order this state counted as sent."""
    if symbol_id < 0 or symbol_id >= symbols.shape[0] or qty_e8 <= 0 or px_e8 <= 0:
        return X.BAD_INPUT
    if side == BUY:
        signed = qty_e8
    elif side == SELL:
        signed = -qty_e8
    else:
        return X.BAD_INPUT
    sym = symbols[symbol_id]
    pos = sym.position_e8
    new = pos + signed
    px = px_e8 / E8
    if pos == 0 or (pos > 0) == (signed > 0):  # opening or adding
        sym.avg_px = (abs(pos) * sym.avg_px + qty_e8 * px) / abs(new)
    else:  # reducing, closing or flipping
        closed = min(qty_e8, abs(pos))
        if pos > 0:
            sym.realized_pnl += closed / E8 * (px - sym.avg_px)
        else:
            sym.realized_pnl += closed / E8 * (sym.avg_px - px)
        if new == 0:
            sym.avg_px = 0.0
        elif (new > 0) != (pos > 0):  # flipped: the rest opened at the fill price
            sym.avg_px = px
    sym.position_e8 = new
    sym.fees += fee_e8 / E8
    if side == BUY:
        sym.bought_e8 += qty_e8
    else:
        sym.sold_e8 += qty_e8
    sym.fills += 1
    sym.last_fill_ns = now_ns
    refresh(sym, account[0])
    return X.APPLIED


@njit(cache=True)
def set_position(symbols, account, symbol_id, position_e8, avg_px):
    """Overwrite a symbol's position and average price (start-up reconciliation with the venue).
    Realized PnL, fees and counters are kept."""
    if symbol_id < 0 or symbol_id >= symbols.shape[0] or avg_px < 0.0 or (position_e8 != 0 and avg_px <= 0.0):
        return X.BAD_INPUT
    sym = symbols[symbol_id]
    sym.position_e8 = position_e8
    sym.avg_px = avg_px if position_e8 != 0 else 0.0
    refresh(sym, account[0])
    return X.APPLIED
