"""The ingest hot path: messages of one socket read -> normalizer -> ring, with counters and
latency samples. No I/O: the connection calls ``on_messages`` from its read callback.

Per message: ``normalize`` (orjson + field mapping into a scratch record), then ``publish`` of
that record (one numba call, ~0.3 us) or ``publish_batch`` for a depth event's levels, then one
``recv_to_publish`` sample (receive stamp of the read -> now, every message that published).
``exch_to_recv`` is sampled once per read, from its last record with an exchange time: Binance
event times are whole milliseconds, so one sample per read loses nothing a histogram could show.

The shared counters go on from what they hold when the pipeline is made: a restarted ingest
continues its predecessor's counts (the control block outlives the process). ``msgs`` and
``records`` are written after every read; the normalizer's counters every ``sync_counters`` (the
session's tick, 20 ms), so a kill -9 loses at most that tick's normalizer counts.
"""

from __future__ import annotations

import struct

from hftshm.layouts import md

# The last record's exch_ns read from its bytes (~150 ns); ``int(recs[-1]["exch_ns"])``, a numpy
# record's field by name, is ~1 us, once per socket read
_MD = md.DTYPE
_EXCH_AT, _SIZE = md.DTYPE.fields["exch_ns"][1], md.DTYPE.itemsize
_int64_at = struct.Struct("<q").unpack_from

# Shared counter name (<= 15 chars, the control block's limit) -> the normalizer counters it sums
# (the control block holds 36 counters a worker, so rarer kinds share one).
FROM_NORMALIZER = {
    "malformed": ("malformed_json",),
    "bad_fields": ("bad_fields",),
    "unknown": ("unknown_events",),
    "control_msgs": ("control_messages",),
    "venue_errors": ("venue_errors",),
    "unknown_syms": ("unknown_symbols",),
    "trade_gaps": ("trade_id_gaps",),
    "agg_gaps": ("agg_trade_id_gaps",),
    "ids_missed": ("trade_ids_missed", "agg_trade_ids_missed"),
    "bad_times": ("bad_times",),
    "bad_ids": ("bad_ids",),
    "bad_values": ("zero_values", "crossed_quotes"),
    "depth_gaps": ("depth_gaps",),
    "straddle_miss": ("straddle_misses",),
    "stale_depth": ("stale_depth_events", "unwanted_snapshots"),  # both: late, dropped
    "crossed": ("crossed_books",),
    "buf_overflows": ("buffer_overflows",),
    "snapshots": ("snapshots_applied",),
    "bad_snapshots": ("bad_snapshots",),
    "book_resets": ("book_resets",),
}
NORMALIZER_COUNTERS = tuple(a for attrs in FROM_NORMALIZER.values() for a in attrs)


def check_counters(counters) -> None:
    """TypeError naming the counters a venue's normalizer lacks: every venue keeps the set the
    shared counters sum (venues hand their normalizer in; feed names no venue)."""
    missing = [a for a in NORMALIZER_COUNTERS if not hasattr(counters, a)]
    if missing:
        raise TypeError(f"the normalizer's counters lack {', '.join(missing)}")


class _Null:
    """Stands in for a latency recorder when there is no latency book."""

    @staticmethod
    def record(ns):
        return ns

    @staticmethod
    def since(t0):
        return 0


class FeedPipeline:
    """``on_messages(messages, recv_ns)`` publishes their records; ``sync_counters`` copies the
    normalizer's counters into the shared ones (``counters``: int64 array, ``index``: name ->
    position; both may be None for a bare pipeline)."""

    def __init__(self, normalizer, publisher, counters=None, index=None, exch_to_recv=None,
                 recv_to_publish=None, hold_wakes: bool = True):
        check_counters(normalizer.counters)
        self.normalizer = normalizer
        self.publisher = publisher
        self.counters = counters
        self.index = index or {}
        # What the counters hold now (a predecessor's counts after a restart): the base to add to.
        self._base = {} if counters is None else {name: int(counters[at]) for name, at in self.index.items()}
        self.messages = self._base.get("msgs", 0)
        self.records = self._base.get("records", 0)
        self._e2r = exch_to_recv or _Null
        self._r2p = recv_to_publish or _Null
        self._since = None if recv_to_publish is None else recv_to_publish.since
        self.on_wants_snapshot = None  # called after a read that left a book waiting for one
        self.after_publish = None  # called after a read that published (an in-process reader's nudge)
        self._msgs_at = self.index.get("msgs")
        self._recs_at = self.index.get("records")
        self._hold = getattr(publisher, "hold_wakes", None) if hold_wakes else None

    def on_messages(self, messages: list, recv_ns: int) -> None:
        normalize = self.normalizer.normalize
        publish = self.publisher.publish
        since = self._since
        n = 0
        last = None
        # one wake-up per parked reader per socket read, after its last message: the reader
        # gets them all at once, and the one it would wake cannot preempt this loop halfway
        hold = self._hold
        if hold is not None:
            hold()
        try:
            for m in messages:
                recs = normalize(m, recv_ns)
                k = len(recs)
                if k == 1:
                    publish(recs)
                elif k:
                    self.publisher.publish_batch(recs)
                else:
                    continue
                if since is not None:  # no latency book (a bare pipeline, the bench): no call
                    since(recv_ns)
                n += k
                last = recs
        finally:
            if hold is not None:
                self.publisher.release_wakes()
        if n and self.after_publish is not None:
            self.after_publish()
        self.messages += len(messages)
        self.records += n
        if self.on_wants_snapshot is not None and self.normalizer.wants_snapshot():
            self.on_wants_snapshot()  # at once: diffs pile up in the book's buffer meanwhile
        if last is not None:
            if last.dtype is _MD and last.flags.c_contiguous:
                exch = _int64_at(last, _SIZE * (len(last) - 1) + _EXCH_AT)[0]
            else:
                exch = int(last[-1]["exch_ns"])
            if exch:
                self._e2r.record(recv_ns - exch)
        c = self.counters
        if c is not None:
            c[self._msgs_at] = self.messages
            c[self._recs_at] = self.records

    def apply_snapshot(self, symbol: str, raw: bytes, recv_ns: int) -> int:
        """Hand a depth snapshot reply to the book; publish what it produced. Returns records."""
        recs = self.normalizer.apply_snapshot(symbol, raw, recv_ns)
        if len(recs):
            self.publisher.publish_batch(recs)
            self.records += len(recs)
            if self.after_publish is not None:
                self.after_publish()
        return len(recs)

    def sync_counters(self) -> None:
        c = self.counters
        if c is None:
            return
        fc = self.normalizer.counters
        index, base = self.index, self._base
        for name, attrs in FROM_NORMALIZER.items():
            at = index.get(name)
            if at is not None:
                c[at] = base[name] + sum(getattr(fc, a) for a in attrs)
        for name, value in (("msgs", self.messages), ("records", self.records)):
            at = index.get(name)
            if at is not None:
                c[at] = value

