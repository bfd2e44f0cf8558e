"""The trading area's funding record (hftshm/trading/funding_record.py): a funding payment is
applied once per symbol and funding time, and a ``kill -9`` in the middle of one leaves it
either whole (committed: kept) or not at all (undone, to be applied when the venue lists it
again). The crashes are written as the record would be left at each point.

Forbidden outcomes: a payment applied twice, a payment half applied, one lost after its commit."""

import numpy as np
import pytest

from hftshm.errors import SegmentCorrupt
from hftshm.risk.state import RiskState
from hftshm.runtime import control_layout as C
from hftshm.trading import area_layout as L
from hftshm.trading.area import TradingArea
from hftshm.trading.funding_record import FundingRecord

E8 = 100_000_000
T = 1_700_000_000_000  # a funding time, ms


def area():
    buf = np.zeros(C.RISK_LENGTH, np.uint8)
    a = TradingArea.format(buf, 2)
    return buf, RiskState(2, buf), FundingRecord(a)


def funding(risk, sid):
    return round(float(risk.symbols[sid]["funding"]) * E8)


def test_each_symbol_and_funding_time_is_applied_once():
    _, risk, rec = area()
    assert rec.apply(risk.symbols, risk.account, 1, -8_435_000, T)
    assert not rec.apply(risk.symbols, risk.account, 1, -8_435_000, T)  # the same payment
    assert not rec.apply(risk.symbols, risk.account, 1, -1_000_000, T - 1)  # an earlier one: applied already
    assert rec.apply(risk.symbols, risk.account, 0, 2_000_000, T)  # another symbol, the same time
    assert rec.apply(risk.symbols, risk.account, 1, 1_000_000, T + 1)
    assert (funding(risk, 0), funding(risk, 1)) == (2_000_000, -7_435_000)
    assert not rec.apply(risk.symbols, risk.account, 2, 1, T)  # no such symbol
    assert int(rec.words[L.FR_STATE]) == L.IDLE and rec.recover(risk.symbols) is None
    rec.set_from(T)
    rec.set_from(T - 5)  # only forward
    assert rec.from_ms == T


def test_a_crash_before_the_commit_is_undone_and_applied_once_later():
    buf, risk, rec = area()
    rec.apply(risk.symbols, risk.account, 1, -1_000_000, T - 1000)
    # died after adding to funding, before last[1] was stored
    rec.words[L.FR_SYMBOL], rec.words[L.FR_TIME] = 1, T
    rec.floats[L.FR_BEFORE] = risk.symbols[1]["funding"]
    rec.words[L.FR_STATE] = L.OPEN
    risk.symbols[1]["funding"] += -0.05
    restarted = FundingRecord(TradingArea(buf))
    assert restarted.recover(risk.symbols) == ("undone", 1, T)
    assert funding(risk, 1) == -1_000_000 and int(restarted.words[L.FR_STATE]) == L.IDLE
    assert restarted.apply(risk.symbols, risk.account, 1, -5_000_000, T)  # listed again: applied once
    assert funding(risk, 1) == -6_000_000


def test_a_crash_after_the_commit_is_kept():
    buf, risk, rec = area()
    rec.words[L.FR_SYMBOL], rec.words[L.FR_TIME] = 0, T
    rec.floats[L.FR_BEFORE] = 0.0
    rec.words[L.FR_STATE] = L.OPEN
    risk.symbols[0]["funding"] += 0.05
    rec.last[0] = T  # committed, then died before IDLE
    restarted = FundingRecord(TradingArea(buf))
    assert restarted.recover(risk.symbols) == ("kept", 0, T)
    assert funding(risk, 0) == 5_000_000
    assert not restarted.apply(risk.symbols, risk.account, 0, 5_000_000, T)  # not twice


def test_an_open_record_refuses_a_new_payment_and_a_bad_state_is_named():
    _, risk, rec = area()
    rec.words[L.FR_STATE] = L.OPEN
    with pytest.raises(SegmentCorrupt, match="funding record still open"):
        rec.apply(risk.symbols, risk.account, 0, 1, T)
    rec.words[L.FR_STATE] = 7
    with pytest.raises(SegmentCorrupt, match="funding record state 7"):
        rec.recover(risk.symbols)
