"""Order: one 128-byte record that gathers the order's stages as it moves from ring to ring.

The strategy fills the intent and publishes it; a published record is never written again.
Live, ``verdict``, ``reason``, ``state``, ``verdict_ns`` to ``ack_ns``, ``venue_order_id`` and
``filled_qty_e8`` stay zero on the orders ring and in its journal: risk's check runs inside
execution and is timed in the latency book (``intent_to_verdict``), and execution keeps an
order's venue state in its trading-area slot and reports it on the fills ring. The backtest
fills these fields in the order records it journals.

::

    0        8        16       24       28   30   31   32   33   34   35   36   37   38   40
    +--------+--------+--------+--------+----+----+----+----+----+----+----+----+----+----+
    | seq    |order_id|cancel_id|symbol |strat|side|type|tif |act |verd|rsn |state|flag|zero|
    +--------+--------+--------+--------+----+----+----+----+----+----+----+----+----+----+
    40       48       56       64       72       80       88       96       104
    +--------+--------+--------+--------+--------+--------+--------+--------+
    |price_e8| qty_e8 |trig_seq|trig_rcv|intent  |verdict | sent   | ack    |
    +--------+--------+--------+--------+--------+--------+--------+--------+
    104      112      120      128
    +--------+--------+--------+
    |venue_id|filled  | pub_ns |
    +--------+--------+--------+

``order_id`` is unique per instance: ``strategy_id << 40 | counter``; the venue's client order id
is derived from it (``venues.clientid.order_cid``), so a retried send can never duplicate an order.
``flags`` (``F_*`` bits): ``F_REDUCE_ONLY`` asks the venue to refuse the order unless it reduces
the position (futures ``reduceOnly``; Spot has no such order and ignores the bit).
``trig_seq`` / ``trig_rcv`` (fields ``trigger_seq`` / ``trigger_recv_ns``) are the md ring
sequence and local receive time of the tick that made the strategy act; tick-to-trade is
``sent_ns - trigger_recv_ns``.
"""

from __future__ import annotations

from .base import Layout, make_dtype

# side
BUY = 1
SELL = 2
SIDE_NAMES = {BUY: "BUY", SELL: "SELL"}

# type
LIMIT = 1
MARKET = 2
LIMIT_MAKER = 3
TYPE_NAMES = {LIMIT: "LIMIT", MARKET: "MARKET", LIMIT_MAKER: "LIMIT_MAKER"}

# time in force
GTC = 1
IOC = 2
FOK = 3
TIF_NAMES = {GTC: "GTC", IOC: "IOC", FOK: "FOK"}

# action
NEW = 1
CANCEL = 2
ACTION_NAMES = {NEW: "new", CANCEL: "cancel"}

# flags
F_REDUCE_ONLY = 1

# verdict
PENDING = 0
APPROVED = 1
REJECTED = 2
VERDICT_NAMES = {PENDING: "pending", APPROVED: "approved", REJECTED: "rejected"}

DTYPE = make_dtype(
    [
        ("seq", "<i8", 0),
        ("order_id", "<i8", 8),
        ("cancel_id", "<i8", 16),
        ("symbol_id", "<u4", 24),
        ("strategy_id", "<u2", 28),
        ("side", "u1", 30),
        ("type", "u1", 31),
        ("tif", "u1", 32),
        ("action", "u1", 33),
        ("verdict", "u1", 34),
        ("reason", "u1", 35),
        ("state", "u1", 36),
        ("flags", "u1", 37),
        ("price_e8", "<i8", 40),
        ("qty_e8", "<i8", 48),
        ("trigger_seq", "<i8", 56),
        ("trigger_recv_ns", "<i8", 64),
        ("intent_ns", "<i8", 72),
        ("verdict_ns", "<i8", 80),
        ("sent_ns", "<i8", 88),
        ("ack_ns", "<i8", 96),
        ("venue_order_id", "<i8", 104),
        ("filled_qty_e8", "<i8", 112),
        ("publish_ns", "<i8", 120),
    ],
    128,
)

LAYOUT = Layout("order.v1", DTYPE, __doc__)

STRATEGY_SHIFT = 40


def make_order_id(strategy_id: int, counter: int) -> int:
    return (strategy_id << STRATEGY_SHIFT) | counter
