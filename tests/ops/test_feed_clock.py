"""The risk worker's feed clock: the staleness and lag triggers arm at the feed's first record."""

from hftshm.risk import feed_clock as FC
from hftshm.risk import killswitch
from hftshm.risk import reasons as R

S = 1_000_000_000


def _verdict(clock, now, lag=0):
    return killswitch.evaluate(0.0, 1000.0, clock.age_ns(now), 5 * S, clock.lag(lag), 100)


def test_a_feed_that_has_not_delivered_never_trips():
    clock = FC.FeedClock()
    # a first run compiling for a minute, then ingest connecting: no data, no trigger
    for now in (1 * S, 6 * S, 60 * S, 3600 * S):
        assert _verdict(clock, now, lag=10_000) == (R.TS_ACTIVE, R.OK)
        assert clock.state(now, 5 * S) == FC.WAITING


def test_armed_at_the_first_record_then_stale_and_lagging_trip():
    clock = FC.FeedClock()
    clock.delivered(0, 2 * S)  # an empty read arms nothing
    assert not clock.armed
    clock.delivered(3, 10 * S)
    assert clock.armed and clock.records == 3
    assert _verdict(clock, 14 * S) == (R.TS_ACTIVE, R.OK)
    assert clock.state(14 * S, 5 * S) == FC.LIVE
    assert _verdict(clock, 15 * S + 1) == (R.TS_HALTED, R.FEED_STALE)
    assert clock.state(15 * S + 1, 5 * S) == FC.STALE
    clock.delivered(1, 16 * S)
    assert _verdict(clock, 16 * S, lag=101) == (R.TS_HALTED, R.RING_LAG)
    assert _verdict(clock, 16 * S, lag=100) == (R.TS_ACTIVE, R.OK)


def test_a_restarted_worker_judges_a_feed_that_delivered_before():
    clock = FC.FeedClock()
    clock.delivered(0, 100 * S, resumed=True)
    assert clock.armed and clock.records == 0
    assert _verdict(clock, 105 * S) == (R.TS_ACTIVE, R.OK)
    assert _verdict(clock, 105 * S + 1) == (R.TS_HALTED, R.FEED_STALE)
