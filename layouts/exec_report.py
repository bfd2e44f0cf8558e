"""Execution report: what the venue said about an order (ack, fill, cancel, reject, expiry).

::

    0        8        16       24       32       36   38   39   40   41   42       44       48
    +--------+--------+--------+--------+--------+----+----+----+----+----+--------+--------+
    | seq    |order_id|venue_id|trade_id|symbol  |strat|side|exec|stat|rsn | (zero) |vcode   |
    +--------+--------+--------+--------+--------+----+----+----+----+----+--------+--------+
    48       56       64       72       80       88       96       104      112      120     128
    +--------+--------+--------+--------+--------+--------+--------+--------+--------+--------+
    |last_px |last_qty|cum_qty |price_e8|fee_e8  |venue_ns|recv_ns |sent_ns |trig_rcv| pub_ns |
    +--------+--------+--------+--------+--------+--------+--------+--------+--------+--------+

``exec_type`` says what happened (Binance ``executionReport.x``), ``state`` the order's status
after it (``X``); ``venue_code`` is the venue's error code for rejects (e.g. -1022 bad signature,
-1013 filter failure, -2010 insufficient balance, -1015 rate limit), 0 otherwise. Prices and
quantities are 1e-8 fixed point (see ``layouts.md``).
"""

from __future__ import annotations

import numpy as np

from .base import Layout, make_dtype

# exec_type (Binance executionReport "x", plus TIMEOUT and UNKNOWN for our own resolution steps)
EX_NEW = 1
EX_TRADE = 2
EX_CANCELED = 3
EX_REJECTED = 4
EX_EXPIRED = 5
EX_CANCEL_REJECTED = 6  # a cancel the venue refused (the order is still live or already done)
EX_RESOLVED = 7  # the outcome of a timed-out request, learnt by querying the venue
EXEC_NAMES = {
    EX_NEW: "NEW", EX_TRADE: "TRADE", EX_CANCELED: "CANCELED", EX_REJECTED: "REJECTED",
    EX_EXPIRED: "EXPIRED", EX_CANCEL_REJECTED: "CANCEL_REJECTED", EX_RESOLVED: "RESOLVED",
}

# state (order status after the event)
ST_NEW = 1  # sent, not yet acknowledged
ST_ACKED = 2
ST_PARTIAL = 3
ST_FILLED = 4
ST_CANCELED = 5
ST_REJECTED = 6
ST_EXPIRED = 7
STATE_NAMES = {
    ST_NEW: "new", ST_ACKED: "acknowledged", ST_PARTIAL: "partially_filled", ST_FILLED: "filled",
    ST_CANCELED: "canceled", ST_REJECTED: "rejected", ST_EXPIRED: "expired",
}
TERMINAL_STATES = frozenset({ST_FILLED, ST_CANCELED, ST_REJECTED, ST_EXPIRED})

DTYPE = make_dtype(
    [
        ("seq", "<i8", 0),
        ("order_id", "<i8", 8),
        ("venue_order_id", "<i8", 16),
        ("trade_id", "<i8", 24),
        ("symbol_id", "<u4", 32),
        ("strategy_id", "<u2", 36),
        ("side", "u1", 38),
        ("exec_type", "u1", 39),
        ("state", "u1", 40),
        ("reason", "u1", 41),
        ("venue_code", "<i4", 44),
        ("last_px_e8", "<i8", 48),
        ("last_qty_e8", "<i8", 56),
        ("cum_qty_e8", "<i8", 64),
        ("price_e8", "<i8", 72),
        ("fee_e8", "<i8", 80),
        ("venue_ns", "<i8", 88),
        ("recv_ns", "<i8", 96),
        ("sent_ns", "<i8", 104),
        ("trigger_recv_ns", "<i8", 112),
        ("publish_ns", "<i8", 120),
    ],
    128,
)

LAYOUT = Layout("exec_report.v1", DTYPE, __doc__)


def record(order_id: int, venue_order_id: int, symbol_id: int, strategy_id: int, side: int, exec_type: int,
           state: int, *, reason: int = 0, venue_code: int = 0, last_px_e8: int = 0, last_qty_e8: int = 0,
           cum_qty_e8: int = 0, price_e8: int = 0, fee_e8: int = 0, venue_ns: int = 0, recv_ns: int = 0,
           sent_ns: int = 0, trigger_recv_ns: int = 0, trade_id: int = 0) -> np.ndarray:
    """One report as a 1-record array (``seq`` and ``publish_ns`` are the ring's to stamp): the one
    builder live execution and the backtest's venue share."""
    rec = np.zeros(1, DTYPE)
    r = rec[0]
    r["order_id"] = order_id
    r["venue_order_id"] = venue_order_id
    r["trade_id"] = trade_id
    r["symbol_id"] = symbol_id
    r["strategy_id"] = strategy_id
    r["side"] = side
    r["exec_type"] = exec_type
    r["state"] = state
    r["reason"] = reason
    r["venue_code"] = venue_code
    r["last_px_e8"] = last_px_e8
    r["last_qty_e8"] = last_qty_e8
    r["cum_qty_e8"] = cum_qty_e8
    r["price_e8"] = price_e8
    r["fee_e8"] = fee_e8
    r["venue_ns"] = venue_ns
    r["recv_ns"] = recv_ns
    r["sent_ns"] = sent_ns
    r["trigger_recv_ns"] = trigger_recv_ns
    return rec
