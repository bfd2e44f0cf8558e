"""The risk worker's clock of a market-data feed: when it last delivered, and whether its
staleness and lag triggers are armed yet.

A feed arms on its first record, never before. Until then the instance is still starting (a
first run compiling kernels, ingest connecting, a snapshot on its way): the FEED_STALE and
RING_LAG triggers have nothing to judge and do not trip. Nothing trades meanwhile anyway: with
no mid, every new order is refused NO_REFERENCE_PRICE (``checks.check_order``).

Once armed, the age is counted from the last time this worker *saw* new records arrive (its own
clock), not from their recorded ``recv_ns``: a replayed journal carries the times of its
recording, and live data's ``recv_ns`` is at most a read behind the observation anyway.

Pure: the caller passes the time in.
"""

from __future__ import annotations

WAITING, LIVE, STALE = 0, 1, 2
STATE_NAMES = {WAITING: "waiting", LIVE: "live", STALE: "stale"}


class FeedClock:
    """``delivered(n, now_ns)`` after each read; ``age_ns(now_ns)`` is 0 until the first record."""

    __slots__ = ("armed_ns", "last_ns", "records")

    def __init__(self):
        self.armed_ns = 0  # when the first record was seen; 0 = not yet (triggers disarmed)
        self.last_ns = 0  # when new records were last seen
        self.records = 0

    @property
    def armed(self) -> bool:
        return self.armed_ns != 0

    def delivered(self, n: int, now_ns: int, resumed: bool = False) -> None:
        """``n`` new records seen at ``now_ns``. ``resumed``: a restarted worker whose feed had
        delivered before it started arms at once (with ``n`` = 0), as if it had just seen one."""
        if n <= 0 and not resumed:
            return
        if not self.armed_ns:
            self.armed_ns = now_ns
        self.last_ns = now_ns
        self.records += n

    def age_ns(self, now_ns: int) -> int:
        """How long since the feed last delivered; 0 while it has never delivered."""
        return max(0, now_ns - self.last_ns) if self.armed_ns else 0

    def lag(self, ring_lag: int) -> int:
        """The ring lag the RING_LAG trigger should judge: 0 while disarmed."""
        return ring_lag if self.armed_ns else 0

    def state(self, now_ns: int, max_age_ns: int) -> int:
        if not self.armed_ns:
            return WAITING
        return STALE if self.age_ns(now_ns) > max_age_ns else LIVE
