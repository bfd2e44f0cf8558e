"""Marks: the last mid per symbol, and mark-to-market PnL and gross exposure.

The mid comes from QUOTE records of the market-data ring (``md.price_e8`` best bid,
``price2_e8`` best ask); it is the reference of the price band, of a market order's notional,
and the mark of exposure and unrealized PnL.
"""

from __future__ import annotations

from numba import njit

from ..layouts.md import QUOTE
from . import results as X
from .exposure import refresh

E8 = 100_000_000.0


@njit(cache=True)
def on_mid(symbols, account, symbol_id, mid_e8, ts_ns):
    """A new mid for ``symbol_id`` observed at ``ts_ns`` (local clock)."""
    if symbol_id < 0 or symbol_id >= symbols.shape[0] or mid_e8 <= 0:
        return X.BAD_INPUT
    sym = symbols[symbol_id]
    sym.mid_e8 = mid_e8
    sym.mid_ns = ts_ns
    refresh(sym, account[0])
    return X.APPLIED


@njit(cache=True)
def on_quote(symbols, account, rec):
    """``on_mid`` from one ``md.DTYPE`` record: QUOTEs with both sides and bid <= ask set the
    mid (rounded down to 1e-8) stamped with the local receive time; anything else is IGNORED."""
    if rec.kind != QUOTE:
        return X.IGNORED
    bid = rec.price_e8
    ask = rec.price2_e8
    if bid <= 0 or ask <= 0 or bid > ask:
        return X.IGNORED  # one-sided or crossed: no trustworthy mid
    return on_mid(symbols, account, rec.symbol_id, bid + (ask - bid) // 2, rec.recv_ns)


@njit(cache=True)
def mark_to_market(symbols):
    """(unrealized, total PnL, gross exposure), all in quote units.

    unrealized = sum of position x (mark - avg_px), mark = the futures mark price where there is
    one, else the mid; total = realized + unrealized - fees + funding; gross =
    sum of |position| x mid (positions only; check_order's limit also counts open orders).
    A symbol with no mid yet contributes no unrealized PnL and is valued at its average price.
    """
    unrealized = 0.0
    realized = 0.0
    fees = 0.0
    gross = 0.0
    for s in range(symbols.shape[0]):
        sym = symbols[s]
        realized += sym.realized_pnl + sym.funding
        fees += sym.fees
        pos = sym.position_e8
        if pos == 0:
            continue
        mark = sym.mark_e8 / E8 if sym.mark_e8 > 0 else sym.mid_e8 / E8 if sym.mid_e8 > 0 else sym.avg_px
        unrealized += pos / E8 * (mark - sym.avg_px)
        gross += abs(pos) / E8 * mark
    return unrealized, realized + unrealized - fees, gross


@njit(cache=True)
def on_funding(symbols, account, symbol_id, amount_e8):
    """A futures funding payment of ``amount_e8`` quote units (> 0 received) on ``symbol_id``."""
    if symbol_id < 0 or symbol_id >= symbols.shape[0]:
        return X.BAD_INPUT
    symbols[symbol_id].funding += amount_e8 / E8
    return X.APPLIED


def unrealized_at(sym, mark_e8: int) -> float:
    """One symbol's unrealized PnL at ``mark_e8`` (quote units): position x (mark - entry)."""
    pos = int(sym["position_e8"])
    return pos / E8 * (mark_e8 / E8 - float(sym["avg_px"])) if pos else 0.0
