"""The compiled loop: the backtest of the built-in ``grid`` in one numba function, with the same
fills as the Python engine (``engine.Backtest``), which stays the reference and the path of every
other strategy.

It runs where ``eligible`` says: every strategy is the built-in ``grid`` (one of it), the latency
model is ``constant``. It is the Python engine's rules (see ``engine``'s docstring) as one
discrete-event loop, the same orderings on each clock:

* the venue applies md records and order arrivals in venue time, a record before an arrival at
  the same time, arrivals in the order they were sent;
* the strategy sees answers and md records in local time, answers first on a tie, answers at one
  time in the order the venue made them;
* across the clocks, a venue event at ``V`` comes before a strategy event at ``L`` while
  ``V <= L + compute + entry`` (the earliest an order the strategy sends at ``L`` can arrive), so
  neither side acts on the other's future.

The venue model (filters, post-only rejects, touch fills, both queue models, fees), the risk
gate (the live ``check_order`` and its bookkeeping, compiled code shared with live) and the
accounts are those of ``venue`` / ``engine``, on arrays. The grid's parameters are read from the
live ``Grid`` instance (``on_start``), and its arithmetic (``grid_firsts``, ``may_buy``,
``may_sell`` in ``trading.builtins``) is one definition that both run. Products of prices and quantities are split so
that no int64 overflows and every float is the one Python's exact integers give (``mul_e8``).

One difference, not in fills or orders: equity rows are sampled before the first strategy event
at or after each boundary (the Python engine samples at its batch starts), so a row may show a
mid a few records later. The stream is read a window at a time, as the Python engine reads it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.typed import Dict, List

from ..layouts import exec_report as F
from ..layouts import md as M
from ..layouts import order as O
from ..risk import reasons as R
from ..risk.checks import check_order
from ..risk.fills import on_fill as risk_on_fill
from ..risk.marks import on_mid
from ..risk.orders import on_accepted, on_done, on_sent
from ..trading.builtins import grid_firsts, may_buy, may_sell
from .errors import BacktestError

INF = np.iinfo(np.int64).max
E8 = M.E8
TWO53 = 2**53

# counters (``ctr``)
C_SEQ, C_VIDS, C_TIDS, C_ORDERS, C_FILLS, C_REST, C_ANS, C_ARR, C_SP, C_VP, C_NEXT_SAMPLE, C_ROWS, C_LAST_T, \
    C_COUNTER, C_RECORDS, C_T2V, C_FREE, C_DEAD, C_DCUR, C_QCUR, C_SCAN, C_RVER, C_LEAD = range(23)
N_CTR = 23
LEAD = 1 << 13  # the most records the venue runs ahead of the strategy (``C_LEAD``): the window's size
# a record's part in the grid's decisions (``dec``, computed as the loop looks ahead: ``_decide``)
D_NONE, D_MOVE, D_QUOTE = 0, 1, 2  # no quote of a traded symbol; a quote that moves the grid; one that does not
# resting orders: int64 columns (``rest``), kept in arrival order
R_OIDX, R_VID, R_SYM, R_SIDE, R_PRICE, R_QTY, R_FILLED, R_AHEAD, R_LEVEL, R_TRADED, R_STATE, R_LIVE = range(12)
N_REST = 12
# books: int64 columns per symbol
B_BID, B_BIDQ, B_ASK, B_ASKQ, B_DEPTH = range(5)
# grid per symbol: int64 columns
G_FB, G_FA, G_DIRTY, G_NEXT = range(4)
# return codes
DONE, NEED_MORE, GROW = 0, 1, 2
DEPTH_SLOTS = 1 << 17
INITIAL = 1 << 12  # rows of the growable buffers at the start (they grow as needed: GROW)


# --- exact products -----------------------------------------------------------------------
@njit(cache=True, inline="always")
def mul_e8(a, b):
    """divmod(a * b, E8) for a, b >= 0 without an int64 overflow on the way."""
    ah, al = a // E8, a % E8
    bh, bl = b // E8, b % E8
    lo = al * bl
    return ah * bh * E8 + ah * bl + al * bh + lo // E8, lo % E8


@njit(cache=True, inline="always")
def div_e8(a, b):
    """float(a * b / E8) as Python's exact integers round it (a, b >= 0): Q + R/E8 rounded once;
    the quotient must stay below 2**53 (fail closed beyond)."""
    q, r = mul_e8(a, b)
    if q >= TWO53:
        raise ValueError("a notional too large for the compiled loop's exact arithmetic")
    return float(q) + r / E8


@njit(cache=True, inline="always")
def fee_of(px, qty, bps):
    return np.int64(round(div_e8(px, qty) * bps / 10_000.0))


# --- the queue models (``queue``) ---------------------------------------------------------
@njit(cache=True, inline="always")
def q_on_level(prob, power, ahead, prev_qty, new_qty, traded):
    if new_qty <= 0:
        return 0
    cancelled = prev_qty - new_qty - traded
    if cancelled <= 0 or not prob:
        return min(ahead, new_qty)
    front = float(ahead)
    back = float(max(prev_qty - traded - ahead, 0))
    fb, ff = back ** power, front ** power
    p_back = fb / (fb + ff) if fb + ff > 0 else 0.5
    est = front - (1.0 - p_back) * cancelled
    est += min(back - p_back * cancelled, 0.0)
    return max(0, min(int(math.floor(est)), new_qty))


# --- heaps of (time, seq, slot) -----------------------------------------------------------
@njit(cache=True, inline="always")
def _less(h, i, j):
    return h[i, 0] < h[j, 0] or (h[i, 0] == h[j, 0] and h[i, 1] < h[j, 1])


@njit(cache=True)
def heap_push(h, n, t, seq, slot):
    i = n
    h[i, 0], h[i, 1], h[i, 2] = t, seq, slot
    while i > 0:
        p = (i - 1) // 2
        if _less(h, i, p):
            for k in range(3):
                h[i, k], h[p, k] = h[p, k], h[i, k]
            i = p
        else:
            break
    return n + 1


@njit(cache=True)
def heap_pop(h, n):
    """Removes the top (read it first); returns the new size."""
    n -= 1
    for k in range(3):
        h[0, k] = h[n, k]
    i = 0
    while True:
        a, b = 2 * i + 1, 2 * i + 2
        m = i
        if a < n and _less(h, a, m):
            m = a
        if b < n and _less(h, b, m):
            m = b
        if m == i:
            break
        for k in range(3):
            h[i, k], h[m, k] = h[m, k], h[i, k]
        i = m
    return n


# --- the venue ----------------------------------------------------------------------------
@njit(cache=True, inline="always")
def _slot(dmeta, k, price):
    """Where ``price`` sits in the direct depth array ``k`` (prices on the tick grid, near the
    first price seen there); -1: off that range (the dict ``depth[k]`` holds it)."""
    if not dmeta[k, 1]:
        return -1
    off = price - dmeta[k, 0]
    tick = dmeta[k, 2]
    if off < 0 or off % tick != 0:
        return -1
    i = off // tick
    return i if i < dmeta[k, 3] else -1


@njit(cache=True, inline="always")
def _depth_get(dq, dmeta, depth, k, price):
    i = _slot(dmeta, k, price)
    if i >= 0:
        return dq[k, i]
    return depth[k].get(price, 0)


@njit(cache=True, inline="always")
def _depth_set(dq, dmeta, depth, k, price, qty):
    """The level's quantity (0: the level is gone), as ``Book.bids[px] = qty`` / ``pop``; returns
    the price's slot in the direct array (-1: in the dict)."""
    if not dmeta[k, 1]:
        dmeta[k, 0] = price - (dq.shape[1] // 2) * dmeta[k, 2]
        dmeta[k, 1] = 1
        dmeta[k, 5] = -1  # slots moved: the resting orders' mask is stale
    i = _slot(dmeta, k, price)
    if i >= 0:
        dq[k, i] = qty if qty > 0 else 0
    elif qty > 0:
        depth[k][price] = qty
    elif price in depth[k]:
        del depth[k][price]
    return i


@njit(cache=True)
def _rest_mask(ctr, rest, dmeta, k, s, oside):
    """Bit ``slot % 64`` of each resting order of ``s`` on ``oside`` (all bits for one outside
    the direct array): a LEVEL record whose slot's bit is clear touches none of them."""
    m = 0
    for j in range(ctr[C_REST]):
        if rest[j, R_LIVE] and rest[j, R_SYM] == s and rest[j, R_SIDE] == oside:
            i = _slot(dmeta, k, rest[j, R_PRICE])
            if i < 0:
                return -1
            m |= 1 << (i & 63)
    return m


@njit(cache=True, inline="always")
def _level_qty(books, dq, dmeta, depth, s, side, price):
    """``Book.level_qty``: the displayed quantity at ``price`` on the side of an order of
    ``side``; -1: unknown."""
    if side == O.BUY:
        bid = books[s, B_BID]
        if bid > 0 and price == bid:
            return books[s, B_BIDQ]
        if bid > 0 and price > bid:
            return 0
        if books[s, B_DEPTH]:
            return _depth_get(dq, dmeta, depth, 2 * s, price)
        return -1
    ask = books[s, B_ASK]
    if ask > 0 and price == ask:
        return books[s, B_ASKQ]
    if ask > 0 and price < ask:
        return 0
    if books[s, B_DEPTH]:
        return _depth_get(dq, dmeta, depth, 2 * s + 1, price)
    return -1


@njit(cache=True)
def _report(ctr, pend, ord_, oi, vid, filled, exec_type, state, venue_ns, reason, venue_code, px, qty, fee,
            trade_id, recv_ns):
    """An execution report of order ``oi`` (its record in ``ord_``) into a free ``pend`` slot;
    returns the slot (the ``F.record`` fields, ``recv_ns`` as ``engine._answer`` sets it)."""
    slot = ctr[C_FREE]
    ctr[C_FREE] = pend[slot].seq  # the free list runs through ``seq`` (the ring's to stamp: zero out)
    o = ord_[oi]
    r = pend[slot]
    r.seq = 0
    r.order_id = o.order_id
    r.venue_order_id = vid
    r.trade_id = trade_id
    r.symbol_id = o.symbol_id
    r.strategy_id = o.strategy_id
    r.side = o.side
    r.exec_type = exec_type
    r.state = state
    r.reason = reason
    r.venue_code = venue_code
    r.last_px_e8 = px
    r.last_qty_e8 = qty
    r.cum_qty_e8 = filled
    r.price_e8 = o.price_e8
    r.fee_e8 = fee
    r.venue_ns = venue_ns
    r.recv_ns = recv_ns
    r.sent_ns = o.sent_ns
    r.trigger_recv_ns = o.trigger_recv_ns
    r.publish_ns = 0
    return slot


@njit(cache=True)
def _answer(ctr, ans, pend, slot, t):
    ctr[C_SEQ] += 1
    ctr[C_ANS] = heap_push(ans, ctr[C_ANS], t, ctr[C_SEQ], slot)


@njit(cache=True)
def _fill(ctr, ans, pend, ord_, rest, j, px, qty, maker, venue_ns, resp, fees, maker_flag):
    rest[j, R_FILLED] += qty
    rest[j, R_STATE] = F.ST_FILLED if rest[j, R_FILLED] >= rest[j, R_QTY] else F.ST_PARTIAL
    fee = fee_of(px, qty, fees[0] if maker else fees[1])
    ctr[C_TIDS] += 1
    slot = _report(ctr, pend, ord_, rest[j, R_OIDX], rest[j, R_VID], rest[j, R_FILLED], F.EX_TRADE,
                   rest[j, R_STATE], venue_ns, 0, 0, px, qty, fee, ctr[C_TIDS], venue_ns + resp)
    maker_flag[slot] = maker
    _answer(ctr, ans, pend, slot, venue_ns + resp)


@njit(cache=True)
def _end(ctr, ended, ord_, rest, j):
    ended[ord_[rest[j, R_OIDX]].order_id] = rest[j, R_STATE]
    rest[j, R_LIVE] = 0
    ctr[C_DEAD] = 1


@njit(cache=True)
def _compact(ctr, rest):
    k = 0
    for j in range(ctr[C_REST]):
        if rest[j, R_LIVE]:
            if k != j:
                rest[k, :] = rest[j, :]
            k += 1
    ctr[C_REST] = k
    ctr[C_DEAD] = 0


@njit(cache=True)
def _on_book(ctr, ans, pend, ord_, rest, books, dq, dmeta, depth, ended, s, kind, side, px, venue_ns, resp, fees,
             maker_flag, prob, power, low_bid, high_ask):
    """``RecordedVenue._on_book`` over the live orders of ``s`` that the record can touch, in arrival
    order (a QUOTE: those at or inside the old or the new touch; a LEVEL: those at its price)."""
    for j in range(ctr[C_REST]):
        if not rest[j, R_LIVE] or rest[j, R_SYM] != s:
            continue
        buy = rest[j, R_SIDE] == O.BUY
        price = rest[j, R_PRICE]
        if kind == M.QUOTE:
            if not (price >= low_bid if buy else price <= high_ask):
                continue
            opposite = books[s, B_ASK] if buy else books[s, B_BID]
            if opposite > 0 and (opposite <= price if buy else opposite >= price):
                _fill(ctr, ans, pend, ord_, rest, j, price, rest[j, R_QTY] - rest[j, R_FILLED], True, venue_ns, resp,
                      fees, maker_flag)
                _end(ctr, ended, ord_, rest, j)
                continue
        else:
            if px != price or side != (M.BID if buy else M.ASK):
                continue
        seen = _level_qty(books, dq, dmeta, depth, s, rest[j, R_SIDE], price)
        if seen < 0:
            continue
        if rest[j, R_AHEAD] < 0:
            rest[j, R_AHEAD] = seen
        else:
            rest[j, R_AHEAD] = q_on_level(prob, power, rest[j, R_AHEAD], rest[j, R_LEVEL], seen, rest[j, R_TRADED])
        rest[j, R_LEVEL] = seen
        rest[j, R_TRADED] = 0


@njit(cache=True)
def _on_trade(ctr, ans, pend, ord_, rest, ended, s, aggressor, px, qty, venue_ns, resp, fees, maker_flag):
    for j in range(ctr[C_REST]):
        if not rest[j, R_LIVE] or rest[j, R_SYM] != s:
            continue
        buy = rest[j, R_SIDE] == O.BUY
        if buy != (aggressor == M.SELL):
            continue
        price = rest[j, R_PRICE]
        through = px < price if buy else px > price
        if through:
            _fill(ctr, ans, pend, ord_, rest, j, price, rest[j, R_QTY] - rest[j, R_FILLED], True, venue_ns, resp,
                  fees, maker_flag)
        elif px == price:
            if rest[j, R_AHEAD] < 0:
                continue
            ahead = rest[j, R_AHEAD] - qty
            reached = 0
            if ahead < 0:
                reached = -ahead
                ahead = 0
            rest[j, R_AHEAD] = ahead
            rest[j, R_TRADED] += qty
            if reached <= 0:
                continue
            _fill(ctr, ans, pend, ord_, rest, j, price, min(reached, rest[j, R_QTY] - rest[j, R_FILLED]), True,
                  venue_ns, resp, fees, maker_flag)
        else:
            continue
        if rest[j, R_STATE] == F.ST_FILLED:
            _end(ctr, ended, ord_, rest, j)


@njit(cache=True)
def _venue_md(ctr, ans, pend, ord_, rest, books, dq, dmeta, depth, ended, rec, venue_ns, resp, fees, maker_flag,
              prob, power):
    """``RecordedVenue.on_md`` / ``run_md`` for one record."""
    s = rec.symbol_id
    if s >= books.shape[0]:
        return
    kind = rec.kind
    live = False
    for j in range(ctr[C_REST]):
        if rest[j, R_LIVE] and rest[j, R_SYM] == s:
            live = True
            break
    if kind == M.LEVEL:
        books[s, B_DEPTH] = 1
        _depth_set(dq, dmeta, depth, 2 * s if rec.side == M.BID else 2 * s + 1, rec.price_e8, rec.qty_e8)
        if live:
            _on_book(ctr, ans, pend, ord_, rest, books, dq, dmeta, depth, ended, s, kind, rec.side, rec.price_e8,
                     venue_ns, resp, fees, maker_flag, prob, power, 0, 0)
    elif kind == M.BOOK_RESET:
        for k in (2 * s, 2 * s + 1):
            depth[k].clear()
            if dmeta[k, 1]:
                dq[k, :] = 0
                dmeta[k, 1] = 0
    elif kind == M.QUOTE:
        bid = books[s, B_BID]
        low_bid = min(bid, rec.price_e8) if bid > 0 else 0
        high_ask = max(books[s, B_ASK], rec.price2_e8)
        books[s, B_BID], books[s, B_BIDQ] = rec.price_e8, rec.qty_e8
        books[s, B_ASK], books[s, B_ASKQ] = rec.price2_e8, rec.qty2_e8
        if live:
            _on_book(ctr, ans, pend, ord_, rest, books, dq, dmeta, depth, ended, s, kind, rec.side, rec.price_e8,
                     venue_ns, resp, fees, maker_flag, prob, power, low_bid, high_ask)
    elif (kind == M.TRADE or kind == M.AGG_TRADE) and live:
        _on_trade(ctr, ans, pend, ord_, rest, ended, s, rec.side, rec.price_e8, rec.qty_e8, venue_ns, resp, fees,
                  maker_flag)
    if ctr[C_DEAD]:
        _compact(ctr, rest)


@njit(cache=True)
def _on_order(ctr, ans, pend, ord_, rest, books, dq, dmeta, depth, ended, oi, venue_ns, resp, fees, maker_flag, filt,
              unlimited):
    """``RecordedVenue.on_order``: order ``oi`` reaches the venue at ``venue_ns``."""
    o = ord_[oi]
    t = venue_ns + resp
    if o.action == O.CANCEL:
        target = o.cancel_id
        s = o.symbol_id
        for j in range(ctr[C_REST]):
            if rest[j, R_LIVE] and rest[j, R_SYM] == s and ord_[rest[j, R_OIDX]].order_id == target:
                rest[j, R_STATE] = F.ST_CANCELED
                _end(ctr, ended, ord_, rest, j)
                slot = _report(ctr, pend, ord_, rest[j, R_OIDX], rest[j, R_VID], rest[j, R_FILLED], F.EX_CANCELED,
                               F.ST_CANCELED, venue_ns, 0, 0, 0, 0, 0, 0, t)
                _answer(ctr, ans, pend, slot, t)
                _compact(ctr, rest)
                return
        slot = _report(ctr, pend, ord_, oi, 0, 0, F.EX_CANCEL_REJECTED, ended.get(target, 0), venue_ns,
                       R.CANCEL_UNKNOWN, -2011, 0, 0, 0, 0, t)
        pend[slot].order_id = target  # a ghost of the cancel, named by its target (matching/recorded_venue.py)
        pend[slot].price_e8 = 0
        _answer(ctr, ans, pend, slot, t)
        return
    ctr[C_VIDS] += 1
    vid = ctr[C_VIDS]
    s = o.symbol_id
    if s >= books.shape[0]:
        ended[o.order_id] = F.ST_REJECTED
        _answer(ctr, ans, pend, _report(ctr, pend, ord_, oi, vid, 0, F.EX_REJECTED, F.ST_REJECTED, venue_ns,
                                        R.VENUE_REJECT, -1121, 0, 0, 0, 0, t), t)
        return
    kind, tif, price, qty = o.type, o.tif, o.price_e8, o.qty_e8
    buy = o.side == O.BUY
    touch = books[s, B_ASK] if buy else books[s, B_BID]
    touch_qty = books[s, B_ASKQ] if buy else books[s, B_BIDQ]
    bid, ask = books[s, B_BID], books[s, B_ASK]
    mid = (bid + ask) // 2 if bid > 0 and ask > 0 else 0
    ref = mid if kind == O.MARKET else price
    tick, step, min_notional = filt[s, 0], filt[s, 1], filt[s, 2]
    bad = (kind != O.MARKET and (price <= 0 or price % tick != 0)) or qty <= 0 or qty % step != 0
    if not bad:
        bad = mul_e8(ref, qty)[0] < min_notional
    if bad:
        ended[o.order_id] = F.ST_REJECTED
        _answer(ctr, ans, pend, _report(ctr, pend, ord_, oi, vid, 0, F.EX_REJECTED, F.ST_REJECTED, venue_ns,
                                        R.VENUE_FILTER, -1013, 0, 0, 0, 0, t), t)
        return
    crosses = touch > 0 and (kind == O.MARKET or (price >= touch if buy else price <= touch))
    if kind == O.LIMIT_MAKER and crosses:
        ended[o.order_id] = F.ST_REJECTED
        _answer(ctr, ans, pend, _report(ctr, pend, ord_, oi, vid, 0, F.EX_REJECTED, F.ST_REJECTED, venue_ns,
                                        R.VENUE_WOULD_TAKE, -2010, 0, 0, 0, 0, t), t)
        return
    _answer(ctr, ans, pend, _report(ctr, pend, ord_, oi, vid, 0, F.EX_NEW, F.ST_ACKED, venue_ns, 0, 0, 0, 0, 0, 0,
                                    t), t)
    # a new resting row (appended: arrival order); removed again where it may not rest
    j = ctr[C_REST]
    rest[j, R_OIDX], rest[j, R_VID], rest[j, R_SYM], rest[j, R_SIDE] = oi, vid, s, o.side
    rest[j, R_PRICE], rest[j, R_QTY], rest[j, R_FILLED] = price, qty, 0
    rest[j, R_AHEAD], rest[j, R_LEVEL], rest[j, R_TRADED], rest[j, R_STATE], rest[j, R_LIVE] = -1, -1, 0, F.ST_ACKED, 1
    if crosses:
        avail = qty if unlimited else min(qty, touch_qty)
        if tif == O.FOK and avail < qty:
            avail = 0
        if avail > 0:
            _fill(ctr, ans, pend, ord_, rest, j, touch, avail, False, venue_ns, resp, fees, maker_flag)
        if rest[j, R_FILLED] < qty:
            rest[j, R_STATE] = F.ST_EXPIRED
            _answer(ctr, ans, pend, _report(ctr, pend, ord_, oi, vid, rest[j, R_FILLED], F.EX_EXPIRED, F.ST_EXPIRED,
                                            venue_ns, 0, 0, 0, 0, 0, 0, t), t)
        ended[o.order_id] = rest[j, R_STATE]
        return
    if kind == O.MARKET or tif != O.GTC:
        ended[o.order_id] = F.ST_EXPIRED
        _answer(ctr, ans, pend, _report(ctr, pend, ord_, oi, vid, 0, F.EX_EXPIRED, F.ST_EXPIRED, venue_ns, 0, 0, 0,
                                        0, 0, 0, t), t)
        return
    level = _level_qty(books, dq, dmeta, depth, s, o.side, price)
    if level >= 0:
        rest[j, R_AHEAD] = level
        rest[j, R_LEVEL] = level
    ctr[C_REST] = j + 1
    ctr[C_RVER] += 1
    return


# --- the strategy side ----------------------------------------------------------------------
@njit(cache=True)
def _emit(ctr, ord_, sid, s, side, type_, tif, qty, price, action, cancel_id, trig_seq, trig_recv, now):
    """``StrategyEngine.new`` / ``cancel`` / ``_emit``: the order record, stamped; its index."""
    ctr[C_COUNTER] += 1
    oi = ctr[C_ORDERS]
    ctr[C_ORDERS] = oi + 1
    o = ord_[oi]
    o.order_id = (sid << O.STRATEGY_SHIFT) | ctr[C_COUNTER]
    o.strategy_id = sid
    o.symbol_id = s
    o.side = side
    o.type = type_
    o.tif = tif
    o.qty_e8 = qty
    o.price_e8 = price
    o.action = action
    o.cancel_id = cancel_id
    o.trigger_seq = trig_seq
    o.trigger_recv_ns = trig_recv
    o.intent_ns = now
    return oi


@njit(cache=True)
def _gate(ctr, arr, ans, pend, ord_, oi, risk_sym, risk_acct, sym_lim, acct_lim, entry, t2v):
    """``Backtest._intents`` for one order: the live pre-trade check at its intent time, then off
    to the venue (or a reject answered at once)."""
    o = ord_[oi]
    t = o.intent_ns
    reason = check_order(o, risk_sym, risk_acct, sym_lim, acct_lim, R.TS_ACTIVE, t)
    if reason == R.OK and o.action == O.NEW:
        on_accepted(o, risk_sym, risk_acct, t)
        on_sent(risk_sym, risk_acct, np.int64(o.symbol_id), o.side, o.qty_e8)
    o.verdict_ns = t
    if reason != R.OK:
        o.verdict = O.REJECTED
        o.reason = reason
        o.state = F.ST_REJECTED
        slot = _report(ctr, pend, ord_, oi, 0, 0, F.EX_REJECTED, F.ST_REJECTED, 0, reason, 0, 0, 0, 0, 0, t)
        _answer(ctr, ans, pend, slot, t)
        return
    o.verdict = O.APPROVED
    o.sent_ns = t
    o.state = F.ST_NEW
    arrive = t + entry
    if o.action == O.NEW:
        t2v[ctr[C_T2V]] = arrive - o.trigger_recv_ns
        ctr[C_T2V] += 1
    ctr[C_SEQ] += 1
    ctr[C_ARR] = heap_push(arr, ctr[C_ARR], arrive, ctr[C_SEQ], oi)


@njit(cache=True, inline="always")
def _in_book(gb, gn, s, side, px):
    for k in range(gn[s, side]):
        if gb[s, side, k, 0] == px:
            return k
    return -1


@njit(cache=True)
def _grid_quote(ctr, arr, ans, pend, ord_, rec, gp, gs, gb, gn, where, cancelling, spos, risk_sym, risk_acct, sym_lim,
                acct_lim, entry, t2v, now, marks_due, pend_mid, pend_ts):
    """``Grid.on_quote`` (builtins): the same decisions in the same order."""
    s = rec.symbol_id
    bid, ask = rec.price_e8, rec.price2_e8
    if bid <= 0 or ask < bid:
        return
    tick, levels, spacing, step, qty, max_pos, sid = gp[s, 0], gp[s, 1], gp[s, 2], gp[s, 3], gp[s, 4], gp[s, 5], \
        gp[s, 7]
    unit = tick * step
    fb, fa = grid_firsts(bid, ask, tick, spacing, step)
    if fb == gs[s, G_FB] and fa == gs[s, G_FA] and not gs[s, G_DIRTY]:
        return
    gs[s, G_FB], gs[s, G_FA], gs[s, G_DIRTY] = fb, fa, 0
    acted = False
    for side in range(2):  # bids, then asks: each book in insertion order
        for k in range(gn[s, side]):
            px, oid = gb[s, side, k, 0], gb[s, side, k, 1]
            if side == 0:
                d = fb - px
            else:
                d = px - fa
            want = d >= 0 and d % unit == 0 and d // unit < levels and px > 0
            oi = (oid & ((1 << O.STRATEGY_SHIFT) - 1)) - 1
            if not want and not cancelling[oi]:
                if not acted:
                    _apply_marks(marks_due, pend_mid, pend_ts, risk_sym, risk_acct)
                    acted = True
                c = _emit(ctr, ord_, sid, s, 0, 0, 0, 0, 0, O.CANCEL, oid, rec.seq, rec.recv_ns, now)
                _gate(ctr, arr, ans, pend, ord_, c, risk_sym, risk_acct, sym_lim, acct_lim, entry, t2v)
                cancelling[oi] = 1
    if rec.recv_ns < gs[s, G_NEXT]:
        gs[s, G_DIRTY] = 1
        return
    pos = spos[s]
    open_buy = qty * gn[s, 0]
    open_sell = qty * gn[s, 1]
    for i in range(levels):
        px = fb - i * unit
        if px <= 0:
            continue
        if _in_book(gb, gn, s, 0, px) >= 0 or not may_buy(pos, open_buy, qty, max_pos):
            continue
        if not acted:
            _apply_marks(marks_due, pend_mid, pend_ts, risk_sym, risk_acct)
            acted = True
        oi = _emit(ctr, ord_, sid, s, O.BUY, O.LIMIT_MAKER, O.GTC, qty, px, O.NEW, 0, rec.seq, rec.recv_ns, now)
        _gate(ctr, arr, ans, pend, ord_, oi, risk_sym, risk_acct, sym_lim, acct_lim, entry, t2v)
        n = gn[s, 0]
        gb[s, 0, n, 0], gb[s, 0, n, 1] = px, ord_[oi].order_id
        gn[s, 0] = n + 1
        where[oi] = 1
        open_buy += qty
    for i in range(levels):
        px = fa + i * unit
        if _in_book(gb, gn, s, 1, px) >= 0 or not may_sell(pos, open_sell, qty, max_pos):
            continue
        if not acted:
            _apply_marks(marks_due, pend_mid, pend_ts, risk_sym, risk_acct)
            acted = True
        oi = _emit(ctr, ord_, sid, s, O.SELL, O.LIMIT_MAKER, O.GTC, qty, px, O.NEW, 0, rec.seq, rec.recv_ns, now)
        _gate(ctr, arr, ans, pend, ord_, oi, risk_sym, risk_acct, sym_lim, acct_lim, entry, t2v)
        n = gn[s, 1]
        gb[s, 1, n, 0], gb[s, 1, n, 1] = px, ord_[oi].order_id
        gn[s, 1] = n + 1
        where[oi] = 1
        open_sell += qty


@njit(cache=True, inline="always")
def _apply_marks(marks_due, pend_mid, pend_ts, risk_sym, risk_acct):
    """The mids the strategy has seen, into the risk state (lazily, as ``Backtest._marks``)."""
    for s in range(marks_due.shape[0]):
        if marks_due[s]:
            on_mid(risk_sym, risk_acct, s, pend_mid[s], pend_ts[s])
            marks_due[s] = 0


@njit(cache=True)
def _deliver(ctr, pend, ord_, slot, out_fills, out_maker, maker_flag, spos, iacc, facc, gp, gs, gb, gn, where,
             cancelling, risk_sym, risk_acct, sid):
    """``Backtest._deliver`` for one answer: the accounts, the risk state, then the strategy
    (``StrategyEngine.on_fill``, then ``Grid.on_fill``)."""
    r = pend[slot]
    nf = ctr[C_FILLS]
    out_fills[nf] = r
    out_maker[nf] = maker_flag[slot]
    ctr[C_FILLS] = nf + 1
    n_sym = spos.shape[0]
    s = r.symbol_id
    oid = r.order_id
    et = r.exec_type
    side = r.side
    qty = r.last_qty_e8
    state = r.state
    recv = r.recv_ns
    if et == F.EX_TRADE and s < n_sym:
        px, fee = r.last_px_e8, r.fee_e8
        signed = qty if side == O.BUY else -qty
        iacc[s, 0] += signed
        notional = div_e8(px, qty)
        facc[s, 0] -= (notional if signed > 0 else -notional) / E8 + fee / E8
        facc[s, 1] += fee / E8
        iacc[s, 1] += 1
        risk_on_fill(risk_sym, risk_acct, s, side, px, qty, fee, recv)
        on_done(risk_sym, risk_acct, s, side, qty)
    # the slot is free again (the free list runs through ``seq``)
    pend[slot].seq = ctr[C_FREE]
    ctr[C_FREE] = slot
    oi = (oid & ((1 << O.STRATEGY_SHIFT) - 1)) - 1
    mine = (oid >> O.STRATEGY_SHIFT) == sid and 0 <= oi < ctr[C_ORDERS]
    terminal = state == F.ST_FILLED or state == F.ST_CANCELED or state == F.ST_REJECTED or state == F.ST_EXPIRED
    if mine:
        o = ord_[oi]
        if et == F.EX_NEW:
            o.ack_ns = recv
            o.venue_order_id = r.venue_order_id
        if et == F.EX_TRADE:
            o.filled_qty_e8 += qty
        if et != F.EX_CANCEL_REJECTED:
            o.state = state
        if terminal and et != F.EX_CANCEL_REJECTED and o.verdict == O.APPROVED:
            leaves = o.qty_e8 - o.filled_qty_e8
            if leaves > 0 and s < n_sym:
                on_done(risk_sym, risk_acct, s, o.side, leaves)
    if r.strategy_id != sid:
        return
    if et == F.EX_TRADE and s < n_sym:
        spos[s] += qty if side == O.BUY else -qty
    if not mine or not where[oi]:
        return
    o = ord_[oi]
    g = o.symbol_id
    gs[g, G_DIRTY] = 1
    if terminal:
        b = 0 if o.side == O.BUY else 1
        k = _in_book(gb, gn, g, b, o.price_e8)
        if k >= 0 and gb[g, b, k, 1] == oid:
            for m in range(k, gn[g, b] - 1):
                gb[g, b, m, 0] = gb[g, b, m + 1, 0]
                gb[g, b, m, 1] = gb[g, b, m + 1, 1]
            gn[g, b] -= 1
        where[oi] = 0
        cancelling[oi] = 0
        if state == F.ST_REJECTED:
            gs[g, G_NEXT] = recv + gp[g, 6]


@njit(cache=True)
def _sample(ctr, eq, t, iacc, facc, mids, interval, final):
    """``Backtest._sample``: rows for boundaries up to ``t``, one boundary per call (the caller
    loops while this returns True: the buffer is checked in between)."""
    if ctr[C_NEXT_SAMPLE] < 0:
        ctr[C_NEXT_SAMPLE] = t // interval * interval + interval
    ctr[C_LAST_T] = max(ctr[C_LAST_T], t)
    if ctr[C_NEXT_SAMPLE] <= t:
        _row(ctr, eq, ctr[C_NEXT_SAMPLE], iacc, facc, mids)
        ctr[C_NEXT_SAMPLE] += interval
        return True
    if final:
        _row(ctr, eq, t, iacc, facc, mids)
    return False


@njit(cache=True)
def _row(ctr, eq, t, iacc, facc, mids):
    for s in range(mids.shape[0]):
        k = ctr[C_ROWS]
        e = eq[k]
        e.time_ns = t
        e.symbol_id = s
        e.mid_e8 = mids[s]
        e.position_e8 = iacc[s, 0]
        e.cash = facc[s, 0]
        e.fees = facc[s, 1]
        e.trades = iacc[s, 1]
        ctr[C_ROWS] = k + 1


@njit(cache=True)
def _decide(recs, dec, mine, gp, last, lo, hi):
    """Each record's part in the grid's decisions (D_*) for ``recs[lo:hi]``; returns ``hi``. Only
    a quote of a traded symbol can make the grid act, and one whose first levels
    (``grid_firsts``) are those of the symbol's last quote acts only where an answer or a
    cool-down left the grid dirty. ``last``: each symbol's last quote's first levels."""
    for i in range(lo, hi):
        rec = recs[i]
        dec[i] = D_NONE
        if rec.kind != M.QUOTE:
            continue
        s = rec.symbol_id
        bid, ask = rec.price_e8, rec.price2_e8
        if s >= mine.shape[0] or not mine[s] or bid <= 0 or ask < bid:
            continue
        fb, fa = grid_firsts(bid, ask, gp[s, 0], gp[s, 2], gp[s, 3])
        if fb != last[s, 0] or fa != last[s, 1] or not last[s, 2]:
            dec[i] = D_MOVE
            last[s, 0], last[s, 1], last[s, 2] = fb, fa, 1
        else:
            dec[i] = D_QUOTE
    return hi


@njit(cache=True)
def run_window(recs, local, venue, dec, last, exhausted, ctr, lat, fees, filt, qmodel, interval, arr, ans, pend,
               maker_flag, ord_, rest, books, dq, dmeta, depth, ended, gp, gs, gb, gn, where, cancelling, mine, spos,
               iacc, facc, mids, marks_due, pend_mid, pend_ts, risk_sym, risk_acct, sym_lim, acct_lim, out_fills,
               out_maker, eq, t2v, sid):
    """The loop over one window (``recs[sp:]`` for the strategy, ``recs[vp:]`` for the venue);
    returns NEED_MORE (refill: keep from min(sp, vp)), GROW (a buffer is near full) or DONE.

    The grid sends orders only at quotes of its symbols (``dec``), so only there must the venue
    wait for the strategy: the venue runs up to the next record that may make the grid act
    (``V <= L + compute + entry`` of it), through any number of records the grid only reads."""
    n = recs.shape[0]
    compute, entry, resp = lat[0], lat[1], lat[2]
    ce = compute + entry
    prob = qmodel[0] != 0.0
    power = qmodel[1]
    unlimited = qmodel[2] != 0.0
    sp, vp = ctr[C_SP], ctr[C_VP]
    levels = 0
    for s in range(gp.shape[0]):
        levels = max(levels, gp[s, 1])
    # room every event needs at most (a record can fill every resting order; a quote can cancel
    # and place a whole grid): past these, GROW (the caller enlarges and calls again)
    margin = 4 * (rest.shape[0] + 2 * levels + 8)
    lim_fills = out_fills.shape[0] - margin
    lim_orders = min(ord_.shape[0], t2v.shape[0]) - margin
    lim_ans = min(ans.shape[0], arr.shape[0]) - margin
    lim_rows = eq.shape[0] - mids.shape[0] - 1
    lim_rest = rest.shape[0] - 2
    lim_book = gb.shape[2] - 2 * levels - 2
    records = ctr[C_RECORDS]
    while True:
        ctr[C_SP], ctr[C_VP], ctr[C_RECORDS] = sp, vp, records
        if (ctr[C_FILLS] >= lim_fills or ctr[C_ORDERS] >= lim_orders or ctr[C_ANS] >= lim_ans
                or ctr[C_ARR] >= lim_ans or ctr[C_ROWS] >= lim_rows or ctr[C_T2V] >= lim_orders
                or ctr[C_REST] >= lim_rest):
            return GROW
        dirty = False
        for s in range(gn.shape[0]):
            if gn[s, 0] >= lim_book or gn[s, 1] >= lim_book:
                return GROW
            dirty = dirty or (mine[s] and gs[s, G_DIRTY] != 0)
        if (sp >= n or vp >= n) and not exhausted:
            return NEED_MORE
        l_next = local[sp] if sp < n else INF
        r_t = ans[0, 0] if ctr[C_ANS] else INF
        a_t = arr[0, 0] if ctr[C_ARR] else INF
        v_t = venue[vp] if vp < n else INF
        # the next record that may make the grid act: a quote that moves it; any quote of its
        # symbols while it is dirty; the first at or after a pending answer (which dirties it)
        d = max(ctr[C_DCUR], sp)
        while d < n:
            if d >= ctr[C_SCAN]:
                ctr[C_SCAN] = _decide(recs, dec, mine, gp, last, ctr[C_SCAN], min(n, ctr[C_SCAN] + 256))
            if dec[d] == D_MOVE:
                break
            d += 1
        q = max(ctr[C_QCUR], sp)
        while q < n and dec[q] == D_NONE:
            q += 1
        ctr[C_DCUR], ctr[C_QCUR] = d, q
        if dirty:
            d = min(d, q)
        elif r_t != INF:
            while q < d and local[q] < r_t:
                q += 1
                while q < d and dec[q] == D_NONE:
                    q += 1
            d = min(d, q)
        d = min(d, sp + ctr[C_LEAD])  # the strategy stops there too: the window stays small
        if d < n:
            bound = local[d] + ce
        elif exhausted or n == 0:
            bound = INF
        else:
            bound = local[n - 1] + ce  # a later decision comes no earlier
        if v_t != INF and v_t <= a_t and v_t <= bound:
            # md records up to the next arrival and the bound, until one makes an answer (which
            # can move the bound) or the buffers need room
            hi = min(a_t, bound)
            n_ans = ctr[C_ANS]
            while vp < n and venue[vp] <= hi:
                rec = recs[vp]
                s = rec.symbol_id
                if rec.kind == M.LEVEL and s < books.shape[0]:
                    # inline, the most frequent record where the journal has depth: the book, then
                    # the orders at its price only if any may be there (``_venue_md``'s LEVEL path)
                    books[s, B_DEPTH] = 1
                    px = rec.price_e8
                    k = 2 * s if rec.side == M.BID else 2 * s + 1
                    # ``_depth_set`` written out: no helper on the hot path (an inlined helper
                    # takes references to its array arguments: atomic counts on every record)
                    if not dmeta[k, 1]:
                        dmeta[k, 0] = px - (dq.shape[1] // 2) * dmeta[k, 2]
                        dmeta[k, 1] = 1
                        dmeta[k, 5] = -1
                    off = px - dmeta[k, 0]
                    i = -1
                    if off >= 0 and off % dmeta[k, 2] == 0 and off // dmeta[k, 2] < dmeta[k, 3]:
                        i = off // dmeta[k, 2]
                        dq[k, i] = rec.qty_e8 if rec.qty_e8 > 0 else 0
                    else:
                        _depth_set(dq, dmeta, depth, k, px, rec.qty_e8)
                    oside = O.BUY if rec.side == M.BID else O.SELL
                    if dmeta[k, 5] != ctr[C_RVER]:
                        dmeta[k, 4] = _rest_mask(ctr, rest, dmeta, k, s, oside)
                        dmeta[k, 5] = ctr[C_RVER]
                    if i >= 0 and not (dmeta[k, 4] >> (i & 63)) & 1:
                        vp += 1
                        continue
                    for j in range(ctr[C_REST]):
                        if rest[j, R_PRICE] == px and rest[j, R_LIVE] and rest[j, R_SYM] == s and \
                                rest[j, R_SIDE] == oside:
                            _on_book(ctr, ans, pend, ord_, rest, books, dq, dmeta, depth, ended, s, M.LEVEL,
                                     rec.side, px, venue[vp], resp, fees, maker_flag, prob, power, 0, 0)
                            if ctr[C_DEAD]:
                                _compact(ctr, rest)
                            break
                elif rec.kind == M.QUOTE and s < books.shape[0]:
                    # inline too (``_venue_md``'s QUOTE path): the touch, then the orders it can
                    # reach (at or inside the old or the new touch) only if there are any
                    bid = books[s, B_BID]
                    low_bid = min(bid, rec.price_e8) if bid > 0 else 0
                    high_ask = max(books[s, B_ASK], rec.price2_e8)
                    books[s, B_BID], books[s, B_BIDQ] = rec.price_e8, rec.qty_e8
                    books[s, B_ASK], books[s, B_ASKQ] = rec.price2_e8, rec.qty2_e8
                    for j in range(ctr[C_REST]):
                        if rest[j, R_LIVE] and rest[j, R_SYM] == s and \
                                (rest[j, R_PRICE] >= low_bid if rest[j, R_SIDE] == O.BUY else
                                 rest[j, R_PRICE] <= high_ask):
                            _on_book(ctr, ans, pend, ord_, rest, books, dq, dmeta, depth, ended, s, M.QUOTE,
                                     rec.side, rec.price_e8, venue[vp], resp, fees, maker_flag, prob, power, low_bid,
                                     high_ask)
                            if ctr[C_DEAD]:
                                _compact(ctr, rest)
                            break
                elif (rec.kind == M.TRADE or rec.kind == M.AGG_TRADE) and s < books.shape[0]:
                    # inline too: ``_on_trade`` only where an order is at or behind the price
                    px = rec.price_e8
                    oside = O.BUY if rec.side == M.SELL else O.SELL
                    for j in range(ctr[C_REST]):
                        if rest[j, R_LIVE] and rest[j, R_SYM] == s and rest[j, R_SIDE] == oside and \
                                (px <= rest[j, R_PRICE] if oside == O.BUY else px >= rest[j, R_PRICE]):
                            _on_trade(ctr, ans, pend, ord_, rest, ended, s, rec.side, px, rec.qty_e8, venue[vp],
                                      resp, fees, maker_flag)
                            if ctr[C_DEAD]:
                                _compact(ctr, rest)
                            break
                else:
                    _venue_md(ctr, ans, pend, ord_, rest, books, dq, dmeta, depth, ended, rec, venue[vp], resp,
                              fees, maker_flag, prob, power)
                vp += 1
                if ctr[C_ANS] != n_ans or ctr[C_REST] >= lim_rest:
                    break
            continue
        if a_t != INF and a_t < v_t and a_t <= bound:
            oi = arr[0, 2]
            ctr[C_ARR] = heap_pop(arr, ctr[C_ARR])
            _on_order(ctr, ans, pend, ord_, rest, books, dq, dmeta, depth, ended, oi, a_t, resp, fees, maker_flag,
                      filt, unlimited)
            continue
        s_t = min(r_t, l_next)
        if s_t == INF:
            return DONE
        # the strategy's next event, after the equity rows due before it
        if s_t >= ctr[C_NEXT_SAMPLE]:
            if _sample(ctr, eq, s_t, iacc, facc, mids, interval, False):
                continue
        if r_t <= l_next:
            slot = ans[0, 2]
            ctr[C_ANS] = heap_pop(ans, ctr[C_ANS])
            _deliver(ctr, pend, ord_, slot, out_fills, out_maker, maker_flag, spos, iacc, facc, gp, gs, gb, gn,
                     where, cancelling, risk_sym, risk_acct, sid)
            continue
        # md records on the local clock, up to the next answer or equity row, and through one
        # record that may make the grid act, once no venue event can come before it
        # (record ``d`` at most: the venue has run as far as it needs for it, not beyond)
        next_sample = ctr[C_NEXT_SAMPLE]
        while sp < n and sp <= d:
            lt = local[sp]
            if lt >= r_t or lt >= next_sample or (sp == d and (lt + ce >= v_t or lt + ce >= a_t)):
                break
            rec = recs[sp]
            if rec.kind == M.QUOTE:
                s = rec.symbol_id
                acts = dec[sp] == D_MOVE or (dec[sp] == D_QUOTE and gs[s, G_DIRTY] != 0)
                if acts and (lt + ce >= v_t or lt + ce >= a_t):
                    break
                if rec.price_e8 > 0 and rec.price2_e8 >= rec.price_e8 and s < mids.shape[0]:
                    mid = rec.price_e8 + (rec.price2_e8 - rec.price_e8) // 2
                    mids[s] = mid
                    pend_mid[s] = mid
                    pend_ts[s] = rec.recv_ns
                    marks_due[s] = 1
                if acts:
                    _grid_quote(ctr, arr, ans, pend, ord_, rec, gp, gs, gb, gn, where, cancelling, spos, risk_sym,
                                risk_acct, sym_lim, acct_lim, entry, t2v, lt + compute, marks_due, pend_mid,
                                pend_ts)
                    records += 1
                    sp += 1
                    break
            records += 1
            sp += 1


# --- the driver ---------------------------------------------------------------------------
def eligible(bt) -> str | None:
    """None where the compiled loop runs ``bt`` exactly; else why not (the Python engine runs it)."""
    from ..trading.builtins import Grid
    from .latency import ConstantLatency

    if len(bt.gates) != 1:
        return "it runs one venue's journal"
    if len(bt.runners) != 1:
        return "it runs one strategy"
    runner = next(iter(bt.runners.values()))
    if type(runner.strategy) is not Grid:
        return "it runs the built-in grid"
    if type(bt.lat) is not ConstantLatency:
        return "it runs the constant latency model"
    if bt.timers:
        return "it runs no timers"
    if getattr(bt, "busy", None) is not None:
        return "it runs without the strategy's busy time"
    return None


_DEPTH_DICT = types.DictType(types.int64, types.int64)


@njit(cache=True)
def _containers(n):
    """The depth dicts beyond the direct arrays, and the ended orders' states: made in compiled
    code, which is cached (made from Python, a typed container compiles its helpers in every
    process, about a second)."""
    depth = List.empty_list(_DEPTH_DICT)
    for _ in range(n):
        depth.append(Dict.empty(types.int64, types.int64))
    return depth, Dict.empty(types.int64, types.int64)


def _grow(a: np.ndarray, n: int) -> np.ndarray:
    b = np.zeros((n,) + a.shape[1:], a.dtype)
    b[: len(a)] = a
    return b


def _join(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a`` then ``b`` (one structured dtype, kept exactly), copied as bytes."""
    out = np.empty(len(a) + len(b), a.dtype)
    raw = out.view(np.uint8)
    k = len(a) * a.dtype.itemsize
    raw[:k] = np.ascontiguousarray(a).view(np.uint8)
    raw[k:] = np.ascontiguousarray(b).view(np.uint8)
    return out


def _clean(a: np.ndarray) -> np.ndarray:
    """A copy field by field onto zeros: numba's record stores leave the padding bytes undefined,
    and the run's files are byte-compared."""
    out = np.zeros(len(a), a.dtype)
    for f in a.dtype.names:
        out[f] = a[f]
    return out


def _readonly(a: np.ndarray) -> np.ndarray:
    """One array type for the loop (the journal's maps are read-only): one compiled version."""
    a.flags.writeable = False
    return a


class _Windows:
    """The loop's window over the chunks (``run_window``'s ``recs``, times and ``dec``): a chunk's
    own arrays, no copy, while both cursors are in it; across a chunk boundary a small joined
    buffer (the older cursor's tail, then the next chunk's first records, grown as needed)."""

    SMALL = 4096

    def __init__(self, chunks):
        self.it = iter(chunks)
        self.recs = _readonly(np.zeros(0, M.DTYPE))
        self.local = np.zeros(0, np.int64)
        self.venue = np.zeros(0, np.int64)
        self.dec = np.zeros(0, np.int8)
        self.cur = None  # (records, local, venue, dec) of the chunk the window ends in
        self.t = None  # joined: the window index of ``cur``'s first record; None: a view of ``cur``
        self.end = 0  # joined: ``cur[:end]`` is in the window
        self.exhausted = False

    def refill(self, k: int) -> int:
        """The next window, both cursors at or after ``k`` and one at the window's end; returns
        the shift of window indices (``k``, or 0 once the chunks are exhausted)."""
        n = len(self.recs)
        if self.t is not None:
            t = self.t
            self.cur[3][: self.end] = self.dec[t: t + self.end]  # what ``_decide`` found stays
            if k >= t:  # both cursors in ``cur``: its own arrays from there
                self._view(self.cur, k - t)
                return k
            if self.end < len(self.cur[0]):
                self._join(k, t, self.cur, min(len(self.cur[0]), 2 * self.end + self.SMALL))
                return k
        nxt = next(self.it, None)
        if nxt is None:
            self.exhausted = True
            return 0
        rec = np.ascontiguousarray(nxt.records)
        c = (_readonly(rec) if rec.flags.writeable else rec, nxt.local, nxt.venue, np.zeros(len(rec), np.int8))
        if k >= n:
            self._view(c, 0)
        else:
            self._join(k, n, c, min(len(rec), self.SMALL + n - k))
        return k

    def _view(self, c, base: int) -> None:
        self.recs, self.local, self.venue, self.dec = (a[base:] for a in c)
        self.cur, self.t = c, None

    def _join(self, k: int, t: int, c, end: int) -> None:
        self.recs = _readonly(_join(self.recs[k:t], c[0][:end]))
        self.local = np.concatenate([self.local[k:t], c[1][:end]])
        self.venue = np.concatenate([self.venue[k:t], c[2][:end]])
        self.dec = np.concatenate([self.dec[k:t], c[3][:end]])
        self.cur, self.t, self.end = c, t - k, end


def run(bt, chunks) -> dict:
    """Run ``bt`` (built by ``run.build``, ``eligible``) over ``chunks`` (``MdSource.chunks()``);
    returns what ``run.results`` and the summary need."""
    from . import stats

    why = eligible(bt)
    if why:
        raise ValueError(f"the compiled loop cannot run this backtest: {why}")
    (sid, runner), = bt.runners.items()
    g = runner.strategy
    n = bt.n
    venue = bt.venue
    lat = np.array([bt.lat.compute_ns, bt.lat.entry_ns, bt.lat.response_ns], np.int64)
    fees = np.array([venue.maker_bps, venue.taker_bps], np.float64)
    filt = np.array([[f.tick_e8, f.step_e8, f.min_notional_e8] for f in venue.filters], np.int64)
    qmodel = np.array([1.0 if venue.queue.name == "probabilistic" else 0.0, venue.queue.power,
                       1.0 if venue.unlimited else 0.0])
    gp = np.array([[g.tick[s], g.levels, g.spacing, g.step, g.qty, g.max_pos, g.cooldown, sid] for s in range(n)],
                  np.int64)
    gs = np.zeros((n, 4), np.int64)
    gs[:, G_DIRTY] = 1
    cap = INITIAL
    gb = np.zeros((n, 2, min(INITIAL, max(64, 4 * g.levels + 16)), 2), np.int64)
    gn = np.zeros((n, 2), np.int64)
    mine = np.zeros(n, np.bool_)
    mine[g.trading] = True
    ctr = np.zeros(N_CTR, np.int64)
    ctr[C_NEXT_SAMPLE] = -1
    ctr[C_LEAD] = LEAD
    arr = np.zeros((cap, 3), np.int64)
    ans = np.zeros((cap, 3), np.int64)
    pend = np.zeros(cap, F.DTYPE)
    pend["seq"] = np.arange(1, cap + 1)
    maker_flag = np.zeros(cap, np.bool_)
    ord_ = np.zeros(cap, O.DTYPE)
    where = np.zeros(cap, np.int8)
    cancelling = np.zeros(cap, np.int8)
    rest = np.zeros((min(INITIAL, 256), N_REST), np.int64)
    books = np.zeros((n, 5), np.int64)
    depth, ended = _containers(2 * n)
    # the depth by price: a direct array of DEPTH_SLOTS ticks around the first level seen, a dict
    # beyond (the same contents as ``venue.Book``'s dicts, faster where the levels are)
    dq = np.zeros((2 * n, DEPTH_SLOTS), np.int64)
    dmeta = np.zeros((2 * n, 6), np.int64)  # base price, set, tick, slots; resting orders' mask, its version
    dmeta[:, 5] = -1
    dmeta[:, 2] = np.repeat(filt[:, 0], 2)
    dmeta[:, 3] = DEPTH_SLOTS
    spos = np.zeros(n, np.int64)
    iacc = np.zeros((n, 2), np.int64)
    facc = np.zeros((n, 2), np.float64)
    mids = np.zeros(n, np.int64)
    marks_due = np.zeros(n, np.int8)
    pend_mid = np.zeros(n, np.int64)
    pend_ts = np.zeros(n, np.int64)
    out_fills = np.zeros(cap, F.DTYPE)
    out_maker = np.zeros(cap, np.bool_)
    eq = np.zeros(cap, stats.EQUITY_DTYPE)
    t2v = np.zeros(cap, np.int64)
    interval = bt.interval
    win = _Windows(chunks)
    last = np.zeros((n, 3), np.int64)  # ``_decide``'s carried state
    while True:
        try:
            code = run_window(win.recs, win.local, win.venue, win.dec, last, win.exhausted, ctr, lat, fees, filt,
                              qmodel, interval, arr, ans, pend, maker_flag, ord_, rest, books, dq, dmeta, depth, ended,
                              gp, gs, gb, gn, where, cancelling, mine, spos, iacc, facc, mids, marks_due, pend_mid,
                              pend_ts, bt.risk.symbols, bt.risk.account, bt.gate.sym_limits, bt.gate.acct_limits,
                              out_fills, out_maker, eq, t2v, sid)
        except ValueError as exc:  # fail closed, named: the only raise in the loop is div_e8's
            raise BacktestError(f"compiled loop, near md record {int(ctr[C_RECORDS])}: {exc}; "
                                "--engine python computes it with exact integers") from None
        if code == DONE:
            break
        if code == NEED_MORE:
            k = win.refill(min(ctr[C_SP], ctr[C_VP]))
            for c in (C_SP, C_VP, C_DCUR, C_QCUR, C_SCAN):
                ctr[c] -= k
            continue
        # GROW: enlarge whatever is near full (``run_window``'s margins)
        margin = 4 * (len(rest) + 2 * g.levels + 8) + n + 8
        c = len(pend)
        if max(ctr[C_ANS], ctr[C_ARR]) + margin >= c:
            arr, ans, maker_flag = _grow(arr, 2 * c + margin), _grow(ans, 2 * c + margin), \
                _grow(maker_flag, 2 * c + margin)
            pend = _grow(pend, 2 * c + margin)
            pend["seq"][c:] = np.arange(c + 1, len(pend) + 1)
        if ctr[C_FILLS] + margin >= len(out_fills):
            out_fills, out_maker = _grow(out_fills, 2 * len(out_fills) + margin), \
                _grow(out_maker, 2 * len(out_fills) + margin)
        if max(ctr[C_ORDERS], ctr[C_T2V]) + margin >= min(len(ord_), len(t2v)):
            k = 2 * len(ord_) + margin
            ord_, where, cancelling, t2v = _grow(ord_, k), _grow(where, k), _grow(cancelling, k), _grow(t2v, k)
        if ctr[C_ROWS] + margin >= len(eq):
            eq = _grow(eq, 2 * len(eq) + margin)
        if ctr[C_REST] + 4 >= len(rest):
            rest = _grow(rest, 2 * len(rest))
        if gn.max() + 2 * g.levels + 4 >= gb.shape[2]:
            gb2 = np.zeros((n, 2, 2 * gb.shape[2] + 2 * g.levels, 2), np.int64)
            gb2[:, :, : gb.shape[2]] = gb
            gb = gb2
    # the final row (``Backtest.run``'s last ``_sample``)
    while len(eq) < ctr[C_ROWS] + 4 * n + 4:
        eq = _grow(eq, 2 * len(eq))
    while _sample(ctr, eq, ctr[C_LAST_T], iacc, facc, mids, interval, True):
        if len(eq) < ctr[C_ROWS] + 2 * n:
            eq = _grow(eq, 2 * len(eq))
    fills = _clean(out_fills[: ctr[C_FILLS]])
    maker = out_maker[: ctr[C_FILLS]]
    trades = fills[(fills["exec_type"] == F.EX_TRADE) & maker]["trade_id"]
    return {"orders": _clean(ord_[: ctr[C_ORDERS]]), "fills": fills, "curve": _clean(eq[: ctr[C_ROWS]]),
            "tick_to_venue": t2v[: ctr[C_T2V]].tolist(), "maker_trades": {int(t) for t in trades},
            "position": iacc[:, 0].copy(), "fees": facc[:, 1].copy(), "trades": iacc[:, 1].copy(),
            "records": int(ctr[C_RECORDS])}
