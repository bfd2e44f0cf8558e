"""The one commit protocol of every segment (hftshm.preamble): the magic is written last, and
every reader refuses a block whose magic is not there, naming what it found and expected."""

from __future__ import annotations

import numpy as np
import pytest

from hftshm import preamble, procinfo
from hftshm.errors import SegmentCorrupt
from hftshm.risk import layout as RL
from hftshm.risk.state import RiskState
from hftshm.runtime import control_layout as C
from hftshm.trading import area_layout as AL
from hftshm.trading.area import TradingArea


def test_stamp_then_publish_makes_a_segment_check_accepts():
    buf = bytearray(4096)
    pid, ticks = preamble.stamp(buf, preamble.KIND_LATENCY, len(buf))
    assert (pid, ticks) == procinfo.me()
    with pytest.raises(SegmentCorrupt, match=r"bad magic 0x0000000000000000, expected 0x"):
        preamble.check(buf, "seg", preamble.KIND_LATENCY, "a latency book")  # stamped, not published
    preamble.publish(np.frombuffer(buf, np.int64))
    preamble.check(buf, "seg", preamble.KIND_LATENCY, "a latency book")
    words = np.frombuffer(buf, np.int64)
    assert words[preamble.W_OWNER_PID] == pid and words[preamble.W_SEGMENT_SIZE] == len(buf)
    with pytest.raises(SegmentCorrupt, match="is a latency book, expected a instance control block"):
        preamble.check(buf, "seg", preamble.KIND_CONTROL, "a control block")


def test_risk_state_without_its_magic_is_refused():
    buf = bytearray(RL.block_size(2))
    RiskState(2, buf)
    assert RiskState.attach(buf).n_symbols == 2
    np.frombuffer(buf, np.int64)[RL.W_MAGIC] = 0  # as if its creator died before the last store
    with pytest.raises(SegmentCorrupt, match=r"risk state: bad magic 0x0+, expected 0x[0-9a-f]+ \(not a risk block"):
        RiskState.attach(buf)


def test_trading_area_without_its_magic_is_refused():
    buf = bytearray(C.RISK_LENGTH)
    with pytest.raises(SegmentCorrupt, match=r"trading area: bad magic 0x0+, expected 0x[0-9a-f]+ \(not prepared by trading.setup\)"):
        TradingArea(buf)
    TradingArea.format(buf, 2)
    assert TradingArea(buf).slots.shape[0] == AL.SLOTS
    np.frombuffer(buf, np.int64)[(AL.AREA_OFFSET // 8) + AL.W_VERSION] = 9
    with pytest.raises(SegmentCorrupt, match=f"trading area: version 9, expected {AL.VERSION}"):
        TradingArea(buf)
