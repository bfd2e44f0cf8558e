"""Descriptor of an instance's latency segment (``naming.latency_segment``): every offset in it.

Segment (offsets in bytes; ``S`` = max stages, ``N`` = snapshot slots, both set at creation)::

    0      +------------------------------------------------------------------+
           | preamble   magic | version | kind=LATENCY | owner | created | size|  64 B
    64     +------------------------------------------------------------------+   (preamble.py)
           | geometry   max stages | buckets | sub bits | slots | period ns    |  64 B
           |            stage length | snapshots offset | slot length          |
    128    +------------------------------------------------------------------+
           | ticker     last period | ticks taken                              |  64 B
    192    +------------------------------------------------------------------+
           | (zero)                                                           |  64 B
    256    +------------------------------------------------------------------+ = STAGES_OFFSET
           | live stages   S x STAGE_LENGTH (16,640 B): counters + buckets    |
           +------------------------------------------------------------------+ = snapshots offset
           | snapshot ring N x slot length, slot length = 64 + S x STAGE_LENGTH |
           +------------------------------------------------------------------+ page aligned

One stage block (offsets relative to the block)::

    0      +--------+--------+------------------------------------------------+
           | count  | sum    |  written by every record (fetch_add)           |  line 0
    64     +--------+--------+--------+--------+--------------------------------+
           | max    | min    | imax   | imin   |  read by every record,        |  line 1
    128    +--------+--------+--------+--------+  written on a new extreme      |
           | state  | negat. | over   | added  |  cold                          |  line 2
    192    +--------+--------+--------+--------+--------------------------------+
           | name [64], NUL-padded ASCII: "publish_to_read." + a worker name    |  line 3
    256    +--------------------------------------------------------------------+
           | bucket counts  BUCKETS x 8 B (buckets.py)                          |  256 lines
    16640  +--------------------------------------------------------------------+

``count`` and ``sum`` change on every sample while the extremes almost never do, so they sit on
different cache lines: a process checking ``max`` keeps its line shared instead of losing it to
every other process's ``count`` increment (false sharing). ``imax``/``imin`` are the extremes
since the last tick (``EMPTY_MIN`` = none yet); the ticker moves them into the snapshot.
``negative`` counts samples below 0 (recorded as 0), ``over`` samples above
``buckets.MAX_VALUE`` (recorded in the last bucket; sum and max keep the true value).

``state`` holds FREE, CLAIMING or ACTIVE in its low 8 bits and the pid that set it above them.
Stages are never freed, so the stages in use are a prefix of the table.

One snapshot slot::

    0      +--------+--------+--------+--------------------------------------+
           | seq    | stamp  | period |  (zero)                              |  line 0
    64     +--------+--------+--------+--------------------------------------+
           | S stage blocks as above; only count, sum, imax, imin, negative, |
           | over and the buckets are written                                 |
           +------------------------------------------------------------------+

Commit protocols. The creator release-stores ``magic`` last (``hftshm.preamble.publish``). A snapshot slot is a seqlock: the
ticker takes it by compare-and-swap of ``seq`` from even to odd, copies, writes ``stamp`` (ns,
0 = never taken) and release-stores ``seq + 2``; a reader's copy is intact iff ``seq`` was the
same even value before and after it. Slot ``p % N`` holds the snapshot of tick period ``p``.

All words are little-endian int64; ``W_*`` are word indices into the int64 view of the segment.
"""

from __future__ import annotations

from .. import preamble as P
from ..ring import header as H
from . import buckets as B

CACHE_LINE = H.CACHE_LINE
PAGE = H.PAGE
WORD = H.WORD

# --- preamble (line 0): the common hftshm preamble, kind KIND_LATENCY -------------------------
KIND = P.KIND_LATENCY

# --- geometry (line 1): written once by the creator, before the magic ------------------------
GEOMETRY_OFFSET = P.PREAMBLE_LENGTH
MAX_STAGES_OFFSET = GEOMETRY_OFFSET + 0
BUCKETS_OFFSET = GEOMETRY_OFFSET + 8  # buckets.BUCKETS when created, checked on attach
SUB_BITS_OFFSET = GEOMETRY_OFFSET + 16  # buckets.SUB_BITS when created, checked on attach
SLOTS_OFFSET = GEOMETRY_OFFSET + 24  # snapshot slots
PERIOD_NS_OFFSET = GEOMETRY_OFFSET + 32  # tick period: at most one snapshot per period
STAGE_LENGTH_OFFSET = GEOMETRY_OFFSET + 40
SNAPSHOTS_OFFSET_OFFSET = GEOMETRY_OFFSET + 48
SLOT_LENGTH_OFFSET = GEOMETRY_OFFSET + 56
GEOMETRY_LENGTH = CACHE_LINE

# --- ticker (line 2): tickers compare-and-swap last_period to claim a period ------------------
TICKER_OFFSET = GEOMETRY_OFFSET + GEOMETRY_LENGTH
LAST_PERIOD_OFFSET = TICKER_OFFSET + 0
TICKS_OFFSET = TICKER_OFFSET + 8
TICKER_LENGTH = CACHE_LINE

STAGES_OFFSET = 4 * CACHE_LINE

# --- one stage block ---------------------------------------------------------------------------
COUNT = 0
SUM = 8
MAX = 64
MIN = 72
IMAX = 80
IMIN = 88
STATE = 128
NEGATIVE = 136
OVER = 144
ADDED_NS = 152
NAME = 192
NAME_LENGTH = 64  # 63 ASCII characters and a NUL: "publish_to_read." + any worker name
BUCKETS_AT = 256
STAGE_LENGTH = BUCKETS_AT + B.BUCKETS * WORD

EMPTY_MIN = (1 << 63) - 1  # min and imin before any sample
FREE, CLAIMING, ACTIVE = 0, 1, 2
STATE_MASK = 0xFF
STATE_PID_SHIFT = 8

# --- one snapshot slot -------------------------------------------------------------------------
SEQ = 0
STAMP_NS = 8
PERIOD = 16
SLOT_STAGES_AT = CACHE_LINE

# Defaults and limits of the creation parameters.
DEFAULT_MAX_STAGES = 32
MAX_MAX_STAGES = 256
DEFAULT_SLOTS = 32
MAX_SLOTS = 4096
DEFAULT_PERIOD_NS = 1_000_000_000


def state_word(state: int, pid: int) -> int:
    return (pid << STATE_PID_SHIFT) | state


def slot_length(max_stages: int) -> int:
    return SLOT_STAGES_AT + max_stages * STAGE_LENGTH


def snapshots_offset(max_stages: int) -> int:
    return STAGES_OFFSET + max_stages * STAGE_LENGTH


def segment_size(max_stages: int, slots: int) -> int:
    end = snapshots_offset(max_stages) + slots * slot_length(max_stages)
    return (end + PAGE - 1) // PAGE * PAGE


def stage_offset(stage: int) -> int:
    return STAGES_OFFSET + stage * STAGE_LENGTH


# Word indices for the int64 view of the segment.
W_MAGIC = P.W_MAGIC
W_OWNER_PID = P.W_OWNER_PID
W_OWNER_TICKS = P.W_OWNER_TICKS
W_CREATED_NS = P.W_CREATED_NS
W_SEGMENT_SIZE = P.W_SEGMENT_SIZE
W_MAX_STAGES = MAX_STAGES_OFFSET // WORD
W_BUCKETS = BUCKETS_OFFSET // WORD
W_SUB_BITS = SUB_BITS_OFFSET // WORD
W_SLOTS = SLOTS_OFFSET // WORD
W_PERIOD_NS = PERIOD_NS_OFFSET // WORD
W_STAGE_LENGTH = STAGE_LENGTH_OFFSET // WORD
W_SNAPSHOTS_OFFSET = SNAPSHOTS_OFFSET_OFFSET // WORD
W_SLOT_LENGTH = SLOT_LENGTH_OFFSET // WORD
W_LAST_PERIOD = LAST_PERIOD_OFFSET // WORD
W_TICKS = TICKS_OFFSET // WORD
W_STAGES = STAGES_OFFSET // WORD
STAGE_WORDS = STAGE_LENGTH // WORD
# Relative word indices inside a stage block and a snapshot slot.
S_COUNT, S_SUM, S_MAX, S_MIN = COUNT // WORD, SUM // WORD, MAX // WORD, MIN // WORD
S_IMAX, S_IMIN, S_STATE = IMAX // WORD, IMIN // WORD, STATE // WORD
S_NEGATIVE, S_OVER, S_ADDED_NS = NEGATIVE // WORD, OVER // WORD, ADDED_NS // WORD
S_BUCKETS = BUCKETS_AT // WORD
T_SEQ, T_STAMP_NS, T_PERIOD = SEQ // WORD, STAMP_NS // WORD, PERIOD // WORD
T_STAGES = SLOT_STAGES_AT // WORD

assert GEOMETRY_OFFSET == 64 and TICKER_OFFSET == 128 and STAGES_OFFSET == 256
assert STAGE_LENGTH == 16640 and STAGE_LENGTH % CACHE_LINE == 0
assert NAME + NAME_LENGTH <= BUCKETS_AT
