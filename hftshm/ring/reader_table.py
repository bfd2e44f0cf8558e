"""Descriptor of one reader slot in a ring's reader table (``header.READER_TABLE_OFFSET``).

Each of the ``READER_SLOTS`` slots is 256 B, four cache lines; offsets relative to the slot::

    0        8                                                                   64
    +--------+-------------------------------------------------------------------+
    | cursor |  (alone: the reader writes it on every batch, the producer reads)  |  line 0
    +--------+--------+--------+--------+--------+--------+--------+--------+
    | state  | flags  | pid    | ticks  | hbeat  | wait   | attach | gener. |     line 1
    +--------+--------+--------+--------+--------+--------+--------+--------+
    | lost   | lapped | resumes| evicted|          (zero)                    |     line 2
    +--------+--------+--------+--------+--------------------------------------+
    | name [32], NUL-padded ASCII      | wake [32]: semaphore suffix        |     line 3
    +----------------------------------+------------------------------------+

``cursor`` is the next sequence the reader will use: it has finished with every record below it.
The producer of a ``wait`` ring never writes sequence ``s`` while a gating reader's cursor is
``<= s - capacity``.

``state`` holds the slot state in its low 8 bits and, above them, the pid of the process that set
it, so a claim names its claimer atomically: a CLAIMING slot whose claimer died can be taken over,
one whose claimer lives cannot. Slot states move FREE -> CLAIMING (compare-and-swap by the
attaching process, which then fills the slot) -> ACTIVE (release store). A clean detach returns the slot to FREE. When the process dies
the slot becomes ORPHANED: it no longer gates, but keeps its name and cursor so that a restarted
reader of the same name resumes where the dead one stopped.

``wake`` names the semaphore a blocking reader sleeps on (``naming.semaphore(instance, wake)``);
a producer that finds the reader's bit in the ring's ``parked`` word posts it.
"""

from __future__ import annotations

from . import header as H

CURSOR = 0
STATE = 64
FLAGS = 72
PID = 80
PID_TICKS = 88
HEARTBEAT_NS = 96
WAIT_CODE = 104
ATTACHED_NS = 112
GENERATION = 120
LOST = 128
LAPPED = 136
RESUMES = 144
EVICTED = 152
NAME = 192
NAME_LENGTH = 32
WAKE = 224
WAKE_LENGTH = 32

FREE, CLAIMING, ACTIVE, ORPHANED = 0, 1, 2, 3
STATE_MASK = 0xFF
STATE_PID_SHIFT = 8


def state_word(state: int, pid: int) -> int:
    return (pid << STATE_PID_SHIFT) | state
STATE_NAMES = {FREE: "free", CLAIMING: "claiming", ACTIVE: "active", ORPHANED: "orphaned"}

FLAG_GATING = 1  # holds the producer back (or, on an overwrite ring, has its overruns counted)
FLAG_EVICTED = 2  # the producer ungated this reader; the reader must validate and rejoin

# Wait strategy codes, as shown by `hftshm status` (hftshm.wait names them).
WAIT_CODES = {"busy-spin": 0, "yielding": 1, "backoff": 2, "blocking": 3, "periodic": 4}
WAIT_NAMES = {v: k for k, v in WAIT_CODES.items()}


def slot_offset(slot: int) -> int:
    return H.READER_TABLE_OFFSET + slot * H.READER_SLOT_LENGTH


def word(slot: int, field: int) -> int:
    """Word index, in the header's int64 view, of ``field`` of reader ``slot``."""
    return (slot_offset(slot) + field) // H.WORD


assert H.READER_SLOT_LENGTH == 256 and WAKE + WAKE_LENGTH <= H.READER_SLOT_LENGTH
