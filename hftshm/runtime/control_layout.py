"""Descriptor of an instance's control block (``naming.control_segment``), written by the
supervisor and its workers, read by ``hftshm status``, ``top`` and ``halt``.

::

    0      +--------------------------------------------------------------+
           | preamble (hftshm/preamble.py): magic ... kind CONTROL ... own.|  64 B
    64     +--------------------------------------------------------------+
           | instance: state | supervisor pid | ticks | started ns | ...   |  64 B
    128    +--------------------------------------------------------------+
           | name [32] | venue [32]                                       |  64 B
    192    +--------------------------------------------------------------+
           | trading: state | reason | changed ns | cancel open | changes  |  64 B  (the kill switch)
           |          | protection cause | protection ns | held cause       |
    256    +--------------------------------------------------------------+
           | (zero)                                                       |
    1024   +--------------------------------------------------------------+
           | worker table: WORKER_SLOTS x 1024 B                          |
    17408  +--------------------------------------------------------------+
           | (zero to the next page)                                      |
    20480  +--------------------------------------------------------------+ = RISK_OFFSET
           | risk state (hftshm.risk.state), RISK_LENGTH bytes            |
           +--------------------------------------------------------------+

Worker slot (1024 B), written by its worker except where noted::

    +0     state | pid | ticks | heartbeat ns | restarts (supervisor) | started ns | exit code
    +64    name [32] | role [32]
    +128   counters: COUNTERS x int64 (values)
    +416   counter names: COUNTERS x 16 B, NUL-padded (written once at start)
    +992   (zero)

The trading line is the kill switch: ``hftshm halt`` release-stores HALTED there and execution
acquire-loads it before sending every order. Its state word holds ``risk.reasons.TS_*`` as they
are, the one encoding of the trading state: 0 is unset and reads as HALTED, like any value but
ACTIVE and REDUCE_ONLY (a zeroed block stops trading). Every write goes through
``hftshm.risk.killswitch``; the state is stored last (release), then ``changes`` is
fetch-added, so whoever sees the new count sees the new state, reason and time.
``protection cause`` is the verdict of execution's protection watch (RISK_DOWN, JOURNAL_DOWN or
0), written by execution only; ``held cause`` is a cause another worker holds until it clears it
(the journal's JOURNAL_DOWN while it cannot write). ``hftshm resume`` refuses while either is set.
"""

from __future__ import annotations

from ..ring import header as H
from ..risk.reasons import TS_ACTIVE, TS_HALTED, TS_REDUCE_ONLY, TS_UNSET  # noqa: F401 (the encoding)

# instance line
INSTANCE_OFFSET = 64
INSTANCE_STATE = INSTANCE_OFFSET + 0
SUPERVISOR_PID = INSTANCE_OFFSET + 8
SUPERVISOR_TICKS = INSTANCE_OFFSET + 16
STARTED_NS = INSTANCE_OFFSET + 24
STOPPING_NS = INSTANCE_OFFSET + 32
NAMES_OFFSET = 128
NAME = NAMES_OFFSET
VENUE = NAMES_OFFSET + 32
NAME_LENGTH = 32

STARTING, RUNNING, STOPPING, STOPPED = 1, 2, 3, 4
INSTANCE_STATES = {STARTING: "starting", RUNNING: "running", STOPPING: "stopping", STOPPED: "stopped"}

# trading line (kill switch)
TRADING_OFFSET = 192
TRADING_STATE = TRADING_OFFSET + 0
TRADING_REASON = TRADING_OFFSET + 8
TRADING_CHANGED_NS = TRADING_OFFSET + 16
CANCEL_OPEN = TRADING_OFFSET + 24
TRADING_CHANGES = TRADING_OFFSET + 32
PROTECTION_CAUSE = TRADING_OFFSET + 40
PROTECTION_NS = TRADING_OFFSET + 48
HELD_CAUSE = TRADING_OFFSET + 56
TRADING_STATE_NAMES = {TS_ACTIVE: "active", TS_REDUCE_ONLY: "reduce-only", TS_HALTED: "halted"}

# worker table
WORKER_TABLE_OFFSET = 1024
WORKER_SLOTS = 16
WORKER_SLOT_LENGTH = 1024
W_STATE = 0
W_PID = 8
W_TICKS = 16
W_HEARTBEAT_NS = 24
W_RESTARTS = 32
W_STARTED_NS = 40
W_EXIT_CODE = 48
W_NAME = 64
W_ROLE = 96
W_COUNTERS = 128
COUNTERS = 36  # 128 + 36 x 8 + 36 x 16 = 992 B of the 1024 B slot
COUNTER_NAME_LENGTH = 16
W_COUNTER_NAMES = W_COUNTERS + COUNTERS * 8

FREE, W_STARTING, W_RUNNING, W_STOPPING, W_STOPPED, W_CRASHED, W_RESTARTING = 0, 1, 2, 3, 4, 5, 6
WORKER_STATES = {FREE: "free", W_STARTING: "starting", W_RUNNING: "running", W_STOPPING: "stopping",
                 W_STOPPED: "stopped", W_CRASHED: "crashed", W_RESTARTING: "restarting"}

RISK_OFFSET = (WORKER_TABLE_OFFSET + WORKER_SLOTS * WORKER_SLOT_LENGTH + H.PAGE - 1) // H.PAGE * H.PAGE
RISK_LENGTH = 64 * 1024  # room for the risk state block


def worker_offset(slot: int) -> int:
    return WORKER_TABLE_OFFSET + slot * WORKER_SLOT_LENGTH


def word(offset: int) -> int:
    return offset // H.WORD


SEGMENT_SIZE = RISK_OFFSET + RISK_LENGTH

assert W_COUNTER_NAMES + COUNTERS * COUNTER_NAME_LENGTH <= WORKER_SLOT_LENGTH
assert RISK_OFFSET == 20480
