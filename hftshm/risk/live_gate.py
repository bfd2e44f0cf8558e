"""The pre-trade gate as execution runs it: the kill-switch word is acquire-loaded inside the same
compiled call as the check, right before the verdict, so an order admitted after ``hftshm halt``
stored HALTED is impossible.

Marks: the risk worker stores each symbol's mid (``mid_e8``/``mid_ns``, plain aligned stores it
alone makes); execution is the only writer of everything else in the block. Before checking a
new order the gate re-values that symbol's worst-case exposure at the current mid (``refresh``),
so the gross-exposure check sees it; other symbols keep the value of their last order or fill.

The control block's trading word holds ``reasons.TS_*`` as they are (one encoding, see
``runtime/control_layout.py``): 0 is unset and, like any unknown value, check_order refuses it as
HALTED, so a zeroed word or block stops every new order.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .. import atomics as A
from ..layouts.order import DTYPE as ORDER_DTYPE, NEW
from ..ring.fast import entry_point
from ..ring.pointers import address, words_at
from . import reasons as R
from .checks import check_order
from .exposure import refresh
from .gate import _views
from .limits import Limits
from .orders import on_accepted, on_sent
from .state import RiskState


@njit(cache=True, inline="always")
def trading_state_at(control, word):
    """The kill switch, a reasons.TS_* value (acquire: what its writer stored before is visible)."""
    return A.load_acquire(words_at(control, word + 1), word)


@njit(cache=True)
def admit_live_at(orders, block, sym_limits, n_limits, acct_limits, control, word, now_ns):
    """Reason code for ``orders[0]``; on OK a new order is counted in the rate windows and open."""
    if orders.shape[0] != 1:
        return R.BAD_ORDER
    symbols, account, sl, al = _views(block, sym_limits, n_limits, acct_limits)
    order = orders[0]
    state = trading_state_at(control, word)
    s = order.symbol_id
    if order.action == NEW and s < symbols.shape[0]:
        refresh(symbols[s], account[0])
    reason = check_order(order, symbols, account, sl, al, state, now_ns)
    if reason == R.OK and order.action == NEW:
        on_accepted(order, symbols, account, now_ns)
        on_sent(symbols, account, np.int64(order.symbol_id), order.side, order.qty_e8)
    return reason


@njit(cache=True)
def trading_state_of(control, word):
    return trading_state_at(control, word)


class LiveGate:
    """``admit(order, now_ns) -> reason`` and ``state() -> TS_*`` over a RiskState, its limits and
    the control block's words. ``order``: a 1-record array of ``order.DTYPE`` (a ring slice)."""

    def __init__(self, state: RiskState, limits: Limits, control_words: np.ndarray, trading_word: int):
        self.state = state
        self.sym_limits, self.acct_limits = limits.arrays()
        self.control_words = control_words  # kept alive: used by address
        args = (address(state.raw), address(self.sym_limits), self.sym_limits.shape[0],
                address(self.acct_limits), address(control_words), trading_word)
        entry = entry_point(admit_live_at, np.zeros(1, ORDER_DTYPE), *args, 0)
        ts_entry = entry_point(trading_state_of, address(control_words), trading_word)
        ndarray = np.ndarray
        block, sl, nl, al, ctl, word = args

        def admit(order, now_ns: int) -> int:
            if order.__class__ is ndarray and order.dtype is ORDER_DTYPE and order.flags.c_contiguous:
                return entry(order, block, sl, nl, al, ctl, word, now_ns)
            raise TypeError("admit takes a contiguous 1-record array of order.DTYPE")

        def state_now() -> int:
            return ts_entry(ctl, word)

        self.admit = admit
        self.trading_state = state_now
