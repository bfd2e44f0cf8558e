"""The pre-trade check for Python callers, one order per call.

Numba code calls ``checks.check_order`` directly. From Python, a dispatcher call costs ~500 ns
of type resolution before the check runs, and each array argument ~40 ns more (a meminfo and
two reference-count updates, see ``hftshm.ring.pointers``). So the gate calls the compiled entry
point (``hftshm.ring.fast``) with the order as its only array and the state and limits by
address: the gate keeps those arrays alive, and the entry point does not check types, so
``check`` and ``admit`` only let through a one-record array of ``order.DTYPE``.
"""

from __future__ import annotations

import numpy as np
from numba import carray, njit

from ..layouts.order import DTYPE as ORDER_DTYPE, NEW
from ..ring.fast import entry_point
from ..ring.pointers import _pointer_to, address, words_at
from . import layout as L
from . import reasons as R
from .checks import check_order
from .limits import ACCOUNT_LIMITS_DTYPE, SYMBOL_LIMITS_DTYPE, Limits
from .orders import on_accepted, on_sent
from .state import RiskState

# element types for _pointer_to (numba freezes these globals; only their dtype matters)
_SYMBOL = np.zeros(0, L.SYMBOL_DTYPE)
_ACCOUNT = np.zeros(0, L.ACCOUNT_DTYPE)
_SYMBOL_LIMITS = np.zeros(0, SYMBOL_LIMITS_DTYPE)
_ACCOUNT_LIMITS = np.zeros(0, ACCOUNT_LIMITS_DTYPE)


@njit(cache=True, inline="always")
def _views(block, sym_limits, n_limits, acct_limits):
    n = words_at(block, L.HEADER_WORDS)[L.W_N_SYMBOLS]
    return (carray(_pointer_to(block + L.SYMBOLS_OFFSET, _SYMBOL), n),
            carray(_pointer_to(block + L.ACCOUNT_OFFSET, _ACCOUNT), 1),
            carray(_pointer_to(sym_limits, _SYMBOL_LIMITS), n_limits),
            carray(_pointer_to(acct_limits, _ACCOUNT_LIMITS), 1))


@njit(cache=True)
def check_at(orders, block, sym_limits, n_limits, acct_limits, trading_state, now_ns):
    """``check_order(orders[0], ...)`` with the state block and limit arrays passed by address;
    BAD_ORDER unless ``orders`` holds exactly one record."""
    if orders.shape[0] != 1:
        return R.BAD_ORDER
    symbols, account, sl, al = _views(block, sym_limits, n_limits, acct_limits)
    return check_order(orders[0], symbols, account, sl, al, trading_state, now_ns)


@njit(cache=True)
def admit_at(orders, block, sym_limits, n_limits, acct_limits, trading_state, now_ns):
    """``check_at``, and when it passes, count the order in the rate windows and as open."""
    if orders.shape[0] != 1:
        return R.BAD_ORDER
    symbols, account, sl, al = _views(block, sym_limits, n_limits, acct_limits)
    order = orders[0]
    reason = check_order(order, symbols, account, sl, al, trading_state, now_ns)
    if reason == R.OK and order.action == NEW:  # a passing cancel adds nothing open
        on_accepted(order, symbols, account, now_ns)
        on_sent(symbols, account, np.int64(order.symbol_id), order.side, order.qty_e8)
    return reason


class PreTradeGate:
    """``check(order, trading_state, now_ns) -> reason`` over one RiskState and its limits."""

    def __init__(self, state: RiskState, limits: Limits | tuple[np.ndarray, np.ndarray]):
        self.state = state
        self.set_limits(limits)

    def set_limits(self, limits: Limits | tuple[np.ndarray, np.ndarray]) -> None:
        """Swap in new limits (a Limits, or the two arrays of ``Limits.arrays()``)."""
        sym_limits, acct_limits = limits.arrays() if isinstance(limits, Limits) else limits
        for arr, dtype, what in ((sym_limits, SYMBOL_LIMITS_DTYPE, "symbol limits"),
                                 (acct_limits, ACCOUNT_LIMITS_DTYPE, "account limits")):
            if not isinstance(arr, np.ndarray) or arr.dtype != dtype or not arr.flags.c_contiguous or arr.ndim != 1:
                raise TypeError(f"{what}: expected a contiguous 1-d array of {dtype}, as Limits.arrays() makes")
        if acct_limits.shape[0] != 1:
            raise ValueError(f"account limits: expected 1 row, got {acct_limits.shape[0]}")
        self.sym_limits, self.acct_limits = sym_limits, acct_limits  # kept alive: used by address
        args = (address(self.state.raw), address(sym_limits), sym_limits.shape[0], address(acct_limits))
        example = np.zeros(1, ORDER_DTYPE)
        self.check = _fast(entry_point(check_at, example, *args, R.TS_ACTIVE, 0), args, self._slow(check_at, args))
        self.admit = _fast(entry_point(admit_at, example, *args, R.TS_ACTIVE, 0), args, self._slow(admit_at, args))

    @staticmethod
    def _slow(kernel, args):
        def slow(order, trading_state, now_ns):
            if not isinstance(order, np.ndarray) or order.dtype != ORDER_DTYPE or order.ndim != 1:
                raise TypeError(f"order: expected a 1-record array of order.DTYPE, got {order!r:.80}")
            return kernel(np.ascontiguousarray(order), *args, int(trading_state), int(now_ns))
        return slow


def _fast(entry, args, slow):
    """The per-order call as a closure: no attribute lookups; the kernel checks the length."""
    block, sym_limits, n_limits, acct_limits = args
    ndarray = np.ndarray

    def call(order, trading_state: int, now_ns: int) -> int:
        """Reason code for ``order``, a 1-record array of ``order.DTYPE``."""
        if order.__class__ is ndarray and order.dtype is ORDER_DTYPE:
            return entry(order, block, sym_limits, n_limits, acct_limits, trading_state, now_ns)
        return slow(order, trading_state, now_ns)

    return call
