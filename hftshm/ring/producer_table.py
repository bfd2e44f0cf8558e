"""Descriptor of one producer slot of a many-to-one ring (``header.PRODUCER_TABLE_OFFSET``).

Each of the ``PRODUCER_SLOTS`` slots is 128 B, two cache lines, written by its producer alone;
offsets relative to the slot::

    0        8        16       24       32       40       48       56       64
    +--------+--------+--------+--------+--------+--------+--------+--------+
    | state  | pid    | ticks  |claiming| lo     | hi     | hbeat  | commits|   line 0
    +--------+--------+--------+--------+--------+--------+--------+--------+
    | name [32], NUL-padded             | abandon| fulls  |   (zero)        |   line 1
    +-----------------------------------+--------+--------+-----------------+

Claim protocol (``kernels.m2o_claim``): the producer sets ``lo = -1`` and ``claiming = 1``
(seq_cst), claims ``[c, c + n)`` by compare-and-swap on the ring's claim word, records
``lo = c, hi = c + n``, writes the records, commits each, then sets ``claiming = 0``.

A consumer stuck on sequence ``s`` (claimed, never committed) may skip it only when no live
producer could still own it: none is ``claiming`` with ``lo == -1`` (claim not yet recorded) or
``lo <= s < hi``. A dead process cannot write, so skipping its slot can never tear a later record.
"""

from __future__ import annotations

from . import header as H

STATE = 0
PID = 8
PID_TICKS = 16
CLAIMING = 24
CLAIM_LO = 32
CLAIM_HI = 40
HEARTBEAT_NS = 48
COMMITS = 56
NAME = 64
NAME_LENGTH = 32
ABANDONED = 96
FULLS = 104

FREE, CLAIMING_SLOT, ACTIVE = 0, 1, 2


def slot_offset(slot: int) -> int:
    return H.PRODUCER_TABLE_OFFSET + slot * H.PRODUCER_SLOT_LENGTH


def word(slot: int, field: int) -> int:
    return (slot_offset(slot) + field) // H.WORD


assert FULLS + 8 <= H.PRODUCER_SLOT_LENGTH
