"""Descriptor of a ring segment: every offset that any hftshm code uses to find something in it.

A ring segment, one per ring, in /dev/shm (all offsets in bytes)::

    0      +------------------------------------------------------------------+
           | preamble     magic | version | kind | owner pid/ticks | created  |  64 B
    64     +------------------------------------------------------------------+
           | geometry     fingerprint | capacity | record size | policy | ... |  64 B
    128    +------------------------------------------------------------------+
           | names        ring name [32] | layout name [32]                   |  64 B
    192    +------------------------------------------------------------------+
           | hot words, one per 64 B cache line (HOT_WORDS below)             | 13 x 64 B
    1024   +------------------------------------------------------------------+
           | reader table   READER_SLOTS x 256 B  (reader_table.py)           |  8 KiB
    9216   +------------------------------------------------------------------+
           | producer table PRODUCER_SLOTS x 128 B (many-to-one; zero else)   |  2 KiB
    11264  +------------------------------------------------------------------+
           | symbol table   SYMBOL_SLOTS x 32 B, NUL-padded ASCII names       | 32 KiB
    44032  +------------------------------------------------------------------+
           | (zero to the next page)                                          |
    45056  +------------------------------------------------------------------+ = COMMITS_OFFSET
           | commit words   capacity x 8 B (many-to-one only)                 |
           +------------------------------------------------------------------+ page aligned
           | records        capacity x record_size                            |
           +------------------------------------------------------------------+

Line 0 is the segment preamble every hftshm segment starts with, and the commit protocol is
theirs: ``magic`` is release-stored last (``hftshm.preamble``, whose names this module re-exports
so ring code reads every offset from one descriptor).

Hot words each sit alone on a 64-byte cache line because different processes write them: if two
shared a line, every write by one process would invalidate the other's cached copy (false sharing),
turning each publish into a cross-core cache-line transfer for unrelated readers.

All words are little-endian int64; ``W_*`` names are word indices into the int64 view of the
header that ``hftshm.atomics`` operates on (``W_X == X_OFFSET // 8``). That view spans every byte
before the records, so a many-to-one ring's commit words are ``W_COMMITS + (seq & mask)``.
"""

from __future__ import annotations

from ..preamble import (  # noqa: F401 (line 0 of a ring segment: the segment preamble)
    CREATED_NS_OFFSET, KIND_BROADCAST, KIND_CONTROL, KIND_LATENCY, KIND_MANY_TO_ONE, KIND_NAMES,
    KIND_OFFSET, MAGIC, MAGIC_OFFSET, OWNER_PID_OFFSET, OWNER_TICKS_OFFSET, PREAMBLE_LENGTH,
    PREAMBLE_OFFSET, SEGMENT_SIZE_OFFSET, VERSION, VERSION_OFFSET, W_CREATED_NS, W_MAGIC,
    W_OWNER_PID, W_OWNER_TICKS, W_SEGMENT_SIZE, W_VERSION_KIND,
)

CACHE_LINE = 64
PAGE = 4096
WORD = 8

# Overflow policies of a broadcast ring (a many-to-one ring always waits: orders are never lost).
POLICY_WAIT = 0  # the producer waits for the slowest gating reader
POLICY_OVERWRITE = 1  # the producer never waits; records a gating reader had not read are counted
POLICY_NAMES = {POLICY_WAIT: "wait", POLICY_OVERWRITE: "overwrite"}

# --- preamble: line 0 (hftshm.preamble) ------------------------------------------------------

# --- geometry: line 1 (written once by the creator, before the magic) -------------------------
GEOMETRY_OFFSET = PREAMBLE_OFFSET + PREAMBLE_LENGTH
FINGERPRINT_OFFSET = GEOMETRY_OFFSET + 0  # layout fingerprint, u64 stored as i64
CAPACITY_OFFSET = GEOMETRY_OFFSET + 8  # records, a power of two
RECORD_SIZE_OFFSET = GEOMETRY_OFFSET + 16  # bytes, a multiple of 64
POLICY_OFFSET = GEOMETRY_OFFSET + 24
SYMBOL_COUNT_OFFSET = GEOMETRY_OFFSET + 32
DATA_OFFSET_OFFSET = GEOMETRY_OFFSET + 40  # where the records start
STALE_AFTER_NS_OFFSET = GEOMETRY_OFFSET + 48  # a gating reader this silent, blocking us, is evicted
GEOMETRY_LENGTH = CACHE_LINE

# --- names: line 2 ------------------------------------------------------------------------------
NAMES_OFFSET = GEOMETRY_OFFSET + GEOMETRY_LENGTH
NAME_LENGTH = 32
RING_NAME_OFFSET = NAMES_OFFSET + 0
LAYOUT_NAME_OFFSET = NAMES_OFFSET + NAME_LENGTH
NAMES_LENGTH = CACHE_LINE

# --- hot words: one cache line each ------------------------------------------------------------
HOT_OFFSET = NAMES_OFFSET + NAMES_LENGTH
HOT_WORDS = (
    "cursor",  # next sequence to publish: every record < cursor is complete and visible
    "claim",  # next sequence to claim: a producer may be writing any record in [cursor, claim)
    "parked",  # bit i set: reader slot i sleeps on its semaphore and wants a post on publish
    "overruns",  # records overwritten before the slowest gating reader read them (overwrite policy)
    "waits",  # times a producer found the ring full and had to wait
    "lost",  # records readers lost to lapping, summed over readers
    "skipped",  # many-to-one: slots of producers that died between claim and commit, skipped
    "abandoned",  # many-to-one: late commits that found their slot skipped (producer told)
    "evictions",  # gating readers ungated because their process died or went silent
    "gating_min",  # slowest gating reader cursor the producer last saw (for status displays)
    "producer_heartbeat",  # ns, the broadcast producer's last publish or idle check
    "producer_pid",  # pid of the broadcast producer attached now (0 if none)
    "producer_limit",  # broadcast producer's private cache: may publish below this unchecked
)
_hot = {name: HOT_OFFSET + i * CACHE_LINE for i, name in enumerate(HOT_WORDS)}
# The broadcast producer's stamp, beside its limit on its private line: one byte it writes into
# every record it publishes (md's ``venue``), as ``STAMP_SET | offset << 8 | value``; 0: none.
PRODUCER_STAMP_OFFSET = _hot["producer_limit"] + WORD
STAMP_SET = 1 << 32
CURSOR_OFFSET = _hot["cursor"]
CLAIM_OFFSET = _hot["claim"]
PARKED_OFFSET = _hot["parked"]
OVERRUNS_OFFSET = _hot["overruns"]
WAITS_OFFSET = _hot["waits"]
LOST_OFFSET = _hot["lost"]
SKIPPED_OFFSET = _hot["skipped"]
ABANDONED_OFFSET = _hot["abandoned"]
EVICTIONS_OFFSET = _hot["evictions"]
GATING_MIN_OFFSET = _hot["gating_min"]
PRODUCER_HEARTBEAT_OFFSET = _hot["producer_heartbeat"]
PRODUCER_PID_OFFSET = _hot["producer_pid"]
PRODUCER_LIMIT_OFFSET = _hot["producer_limit"]
HOT_LENGTH = len(HOT_WORDS) * CACHE_LINE

# --- tables -------------------------------------------------------------------------------------
READER_TABLE_OFFSET = HOT_OFFSET + HOT_LENGTH
READER_SLOTS = 32  # at most 64: the parked mask has one bit per slot
READER_SLOT_LENGTH = 4 * CACHE_LINE
READER_TABLE_LENGTH = READER_SLOTS * READER_SLOT_LENGTH

PRODUCER_TABLE_OFFSET = READER_TABLE_OFFSET + READER_TABLE_LENGTH
PRODUCER_SLOTS = 16
PRODUCER_SLOT_LENGTH = 2 * CACHE_LINE
PRODUCER_TABLE_LENGTH = PRODUCER_SLOTS * PRODUCER_SLOT_LENGTH

SYMBOL_TABLE_OFFSET = PRODUCER_TABLE_OFFSET + PRODUCER_TABLE_LENGTH
SYMBOL_SLOTS = 1024  # Binance allows 1024 streams per connection
SYMBOL_LENGTH = 32
SYMBOL_TABLE_LENGTH = SYMBOL_SLOTS * SYMBOL_LENGTH


def _page_up(n: int) -> int:
    return (n + PAGE - 1) // PAGE * PAGE


HEADER_LENGTH = _page_up(SYMBOL_TABLE_OFFSET + SYMBOL_TABLE_LENGTH)
COMMITS_OFFSET = HEADER_LENGTH


def data_offset(kind: int, capacity: int) -> int:
    """Where records start: after the header, and after the commit words of a many-to-one ring."""
    if kind == KIND_MANY_TO_ONE:
        return _page_up(COMMITS_OFFSET + capacity * WORD)
    return HEADER_LENGTH


def segment_size(kind: int, capacity: int, record_size: int) -> int:
    return _page_up(data_offset(kind, capacity) + capacity * record_size)


# Word indices for the int64 view of the header.
W_FINGERPRINT = FINGERPRINT_OFFSET // WORD
W_CAPACITY = CAPACITY_OFFSET // WORD
W_RECORD_SIZE = RECORD_SIZE_OFFSET // WORD
W_POLICY = POLICY_OFFSET // WORD
W_SYMBOL_COUNT = SYMBOL_COUNT_OFFSET // WORD
W_DATA_OFFSET = DATA_OFFSET_OFFSET // WORD
W_STALE_AFTER_NS = STALE_AFTER_NS_OFFSET // WORD
W_CURSOR = CURSOR_OFFSET // WORD
W_CLAIM = CLAIM_OFFSET // WORD
W_PARKED = PARKED_OFFSET // WORD
W_OVERRUNS = OVERRUNS_OFFSET // WORD
W_WAITS = WAITS_OFFSET // WORD
W_LOST = LOST_OFFSET // WORD
W_SKIPPED = SKIPPED_OFFSET // WORD
W_ABANDONED = ABANDONED_OFFSET // WORD
W_EVICTIONS = EVICTIONS_OFFSET // WORD
W_GATING_MIN = GATING_MIN_OFFSET // WORD
W_PRODUCER_HEARTBEAT = PRODUCER_HEARTBEAT_OFFSET // WORD
W_PRODUCER_PID = PRODUCER_PID_OFFSET // WORD
W_PRODUCER_LIMIT = PRODUCER_LIMIT_OFFSET // WORD
W_PRODUCER_STAMP = PRODUCER_STAMP_OFFSET // WORD
W_COMMITS = COMMITS_OFFSET // WORD

assert READER_SLOTS <= 64
assert HOT_OFFSET % CACHE_LINE == 0 and READER_TABLE_OFFSET % CACHE_LINE == 0
assert READER_TABLE_OFFSET == 1024 and PRODUCER_TABLE_OFFSET == 9216
assert SYMBOL_TABLE_OFFSET == 11264 and HEADER_LENGTH == 45056
