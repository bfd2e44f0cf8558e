"""Worst-case exposure of a symbol, kept current in the state so check_order is O(1) in symbols.

Worst case: every open order on one side fills and none on the other, so the largest |position|
reachable is ``max(|pos + open_buy|, |pos - open_sell|)``; exposure is that times the mark (the
mid, or the average entry price before any mid). Each symbol's exposure is rounded once to an
int64 e8 and the account total is their exact integer sum: updates add the difference, so the
total never drifts however many updates it sees.
"""

from __future__ import annotations

from numba import njit

E8 = 100_000_000.0
CAP_E8 = 1 << 62  # saturate rather than overflow (a 46-billion quote exposure is a bug anyway)


@njit(cache=True, inline="always")
def exposure_e8(qty_e8, mark_e8):
    """|qty| x mark in quote e8, rounded to nearest; qty_e8 x mark_e8 would overflow int64."""
    x = float(abs(qty_e8)) * float(mark_e8) / E8
    if x >= CAP_E8:
        return CAP_E8
    return int(x + 0.5)


@njit(cache=True, inline="always")
def worst_qty_e8(position, open_buy, open_sell):
    return max(abs(position + open_buy), abs(position - open_sell))


@njit(cache=True, inline="always")
def mark_e8(sym):
    """The price exposure is valued at: the last mid, else the average entry price."""
    if sym.mid_e8 > 0:
        return float(sym.mid_e8)
    return sym.avg_px * E8


@njit(cache=True, inline="always")
def refresh(sym, acct):
    """Recompute one symbol's worst-case exposure and move the account total by the change."""
    new = exposure_e8(worst_qty_e8(sym.position_e8, sym.open_buy_e8, sym.open_sell_e8), mark_e8(sym))
    acct.worst_gross_e8 += new - sym.worst_exposure_e8
    sym.worst_exposure_e8 = new


@njit(cache=True)
def recompute_exposure(symbols, account):
    """Every symbol's worst-case exposure and the total from scratch (after a restore, say)."""
    acct = account[0]
    acct.worst_gross_e8 = 0
    for s in range(symbols.shape[0]):
        sym = symbols[s]
        sym.worst_exposure_e8 = 0
        refresh(sym, acct)
    return acct.worst_gross_e8
