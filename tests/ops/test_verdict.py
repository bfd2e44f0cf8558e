"""The exit code of a run: 0 clean, 3 when a worker was given up or trading ended halted."""

from hftshm.risk import reasons as R
from hftshm.runtime import verdict as V


def test_clean_run_is_zero():
    assert V.verdict([], R.TS_ACTIVE, R.TS_ACTIVE, R.OK) == (0, [])
    assert V.verdict([], R.TS_ACTIVE, R.TS_REDUCE_ONLY, R.MANUAL) == (0, [])
    # no trading in this instance: the word was never armed and stays unset
    assert V.verdict([], R.TS_UNSET, R.TS_UNSET, R.OK) == (0, [])
    # it started halted (a held cause): ending halted is not news
    assert V.verdict([], R.TS_HALTED, R.TS_HALTED, R.JOURNAL_DOWN) == (0, [])


def test_a_halt_it_did_not_start_with_is_three_and_says_why():
    code, why = V.verdict([], R.TS_ACTIVE, R.TS_HALTED, R.FEED_STALE)
    assert code == V.DEGRADED == 3
    assert why == ["trading ended HALTED (FEED_STALE: market data older than the allowed feed age)"]
    code, why = V.verdict([], R.TS_ACTIVE, 77, R.OK)  # an unknown word reads halted
    assert code == 3 and "treated as HALTED" in why[0]


def test_a_worker_given_up_is_three_and_named():
    code, why = V.verdict(["journal", "strategy-momentum"], R.TS_ACTIVE, R.TS_HALTED, R.JOURNAL_DOWN)
    assert code == 3
    assert why[0].startswith("worker journal was given up") and why[1].startswith("worker strategy-momentum")
    assert "JOURNAL_DOWN" in why[2]
