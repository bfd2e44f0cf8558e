"""Descriptor of the trading area: execution's write-ahead table of live orders and its tallies.

It sits at the end of the control block's 64 KiB risk area (``control.risk_buffer()``), after
the risk state block, which starts at the area's beginning (``hftshm.risk.layout``)::

    0      risk state block (block_size(n_symbols) bytes)
           (zero)
    AREA_OFFSET = RISK_LENGTH - AREA_LENGTH
           +----------------------------------------------------------------------+
    +0     | header: magic | version | run tag | slots | trigger | trigger ns      |  64 B
    +64    | rejects[REASONS]: rejects counted by reason code (int64)             | 1024 B
    +1088  | ended[STATES]: orders ended, by final fill.ST_* state                | 128 B
    +1216  | hwm[STRATEGIES]: highest order counter handled, per strategy id      | 512 B
    +1728  | undo record: the report being applied and the pre-image of every     | 320 B
           |              word its application changes (see below)                |
    +2048  | slots: SLOTS x SLOT_DTYPE (64 B): the orders execution sent and has   |
           |        not seen end (a slot is free when its order_id is 0)          |
    +18432 | funding record: Bybit's funding applied, per symbol (see below)      | 576 B
           +----------------------------------------------------------------------+

Write-ahead: execution fills a slot and raises its strategy's ``hwm`` *before* it sends the
order, and frees the slot once the order is final. After a ``kill -9`` the new execution reads
the live slots and resolves each with the venue (``order.status``), and skips any order the
orders ring delivers again whose counter is at or below ``hwm``: an order is never sent twice.

Undo record (int64 words from UNDO_OFFSET; ``U_*`` index them)::

    +0    state | fills seq | order id | symbol id | slot | ended index | rejects index |
          worst_gross_e8 (pre-image)
    +64   ended[ended index] | rejects[rejects index] (pre-images) | (zero)
    +128  the symbol record's lines 0-1 (128 B, pre-image)
    +256  the slot (64 B, pre-image)

Every report execution applies (a fill, an end, a refusal) is one transaction over the risk
state, the slot and the tallies, made durable by publishing the report on the fills ring
(``trading/undo.py``): execution writes the record (its pre-images), release-stores ``state`` =
OPEN, applies the report, publishes it (the ring's cursor passes ``fills seq``), then stores
IDLE. A restarted execution finding OPEN keeps the application if the fills ring's cursor is past
``fills seq`` (the report was published, and everything is applied before the publish), else
restores the pre-images: the report is then as if never seen, and resolving the order with the
venue applies it once. The symbol words the risk worker writes (``mid_e8``, ``mid_ns``,
``mark_e8``) are never restored.

Funding record (int64 words from FUNDING_OFFSET; ``FR_*`` index them), for venues whose
funding is one settlement per symbol per funding time (Bybit linear, one-way mode), so that the
pair (symbol, funding time) names a payment and a restarted execution applies none twice
(``trading/funding_record.py``)::

    +0    state | symbol id | funding time (ms) being applied | funding (float64, pre-image) |
          from (ms): funding before it is known applied, where the next venue query starts |
          (zero)
    +64   last[FUNDING_SYMBOLS]: per symbol id, the funding time (ms) of the last one applied

Applying one: the pre-image and the time into the header, release-store ``state`` = OPEN, add
to the symbol's ``funding``, release-store ``last[symbol]`` = the time (the commit point), store
IDLE. A restart finding OPEN keeps it when ``last[symbol]`` reached the time, else writes the
pre-image back.

One writer (the execution process); ``hftshm status`` and the risk worker read. ``trigger``
is the kill-switch cause the risk worker currently sees (``risk.reasons``, 0 = none), written
by the risk worker: ``hftshm resume`` refuses while one holds.
"""

from __future__ import annotations

from ..layouts.base import make_dtype
from ..runtime import control_layout as C

MAGIC = int.from_bytes(b"HFTTRAD\x01", "little")
VERSION = 4  # 2: rejects has 128 reason codes (codes above 63 exist: risk.reasons); 3: the undo record;
# 4: the funding record
CACHE_LINE = 64
REASONS = 128
STATES = 16
STRATEGIES = 64  # strategy ids 1..63
SLOTS = 256

# header words (int64 index into the area's int64 view)
W_MAGIC = 0
W_VERSION = 1
W_RUN_TAG = 2  # client order ids carry it: ids of an earlier run never collide
W_SLOTS = 3
W_TRIGGER = 4
W_TRIGGER_NS = 5

REJECTS_OFFSET = 64
ENDED_OFFSET = REJECTS_OFFSET + REASONS * 8
HWM_OFFSET = ENDED_OFFSET + STATES * 8
UNDO_OFFSET = HWM_OFFSET + STRATEGIES * 8
UNDO_LENGTH = 320
SLOTS_OFFSET = UNDO_OFFSET + UNDO_LENGTH
assert UNDO_OFFSET % CACHE_LINE == 0 and SLOTS_OFFSET == 2048

# undo record words (int64 index from UNDO_OFFSET)
U_STATE = 0  # IDLE or OPEN (release-stored)
U_SEQ = 1  # the fills ring's cursor before the report is published
U_ORDER = 2
U_SYMBOL = 3  # -1: no symbol row saved
U_SLOT = 4  # -1: no slot saved
U_ENDED = 5  # index into ended, -1: none
U_REJECTS = 6  # index into rejects, -1: none
U_GROSS = 7  # the account's worst_gross_e8
U_ENDED_VALUE = 8
U_REJECTS_VALUE = 9
U_SYMBOL_IMAGE = 16  # 16 words: the symbol record's lines 0-1
U_SLOT_IMAGE = 32  # 8 words: the slot
SYMBOL_IMAGE_WORDS = 16
SLOT_WORDS = 8
IDLE, OPEN = 0, 1
assert (U_SLOT_IMAGE + SLOT_WORDS) * 8 == UNDO_LENGTH

SLOT_DTYPE = make_dtype(
    [
        ("order_id", "<i8", 0),  # 0: free
        ("symbol_id", "<u4", 8),
        ("strategy_id", "<u2", 12),
        ("side", "u1", 14),
        ("state", "u1", 15),  # fill.ST_*
        ("qty_e8", "<i8", 16),
        ("price_e8", "<i8", 24),
        ("filled_e8", "<i8", 32),  # fills applied to the risk state and published
        ("sent_ns", "<i8", 40),
        ("trigger_recv_ns", "<i8", 48),
        ("venue_order_id", "<i8", 56),
    ],
    64,
)

FUNDING_OFFSET = SLOTS_OFFSET + SLOTS * SLOT_DTYPE.itemsize
FUNDING_SYMBOLS = 64  # more than fit before the area (risk.layout.block_size)
FUNDING_LENGTH = CACHE_LINE + FUNDING_SYMBOLS * 8
# funding record words (int64 index from FUNDING_OFFSET)
FR_STATE = 0  # IDLE or OPEN (release-stored)
FR_SYMBOL = 1
FR_TIME = 2  # the funding time (ms) being applied
FR_BEFORE = 3  # the symbol's funding before it (float64 bits)
FR_FROM = 4  # ms: the next venue query starts here (0: the run's start)
FR_LAST = CACHE_LINE // 8  # last[symbol id]

AREA_LENGTH = FUNDING_OFFSET + FUNDING_LENGTH
AREA_OFFSET = C.RISK_LENGTH - AREA_LENGTH  # within the risk area
assert AREA_OFFSET % CACHE_LINE == 0
