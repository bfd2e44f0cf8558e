"""Named counters the Binance normalizer and its books keep: what was skipped, and why.

The hot path never raises on bad venue input; it bumps one of these and moves on, so a monitor
can tell "the venue sent garbage" from "we fell behind" from "the book resynced".
"""

from __future__ import annotations

COUNTER_NAMES = (
    "frames",  # normalize() calls
    "malformed_json",  # orjson could not parse the frame
    "bad_fields",  # a known event with a field missing or of the wrong type; skipped
    "unknown_events",  # valid JSON that is no stream event we handle (other "e", arrays, ...)
    "control_messages",  # subscription responses like {"result":null,"id":1}
    "venue_errors",  # {"code":..,"msg":..} error replies
    "unknown_symbols",  # an event for a symbol missing from the symbol table
    "trade_id_gaps",  # trade "t" not previous + 1 for its symbol (records still published)
    "agg_trade_id_gaps",  # aggTrade "a" not previous + 1 for its symbol (records still published)
    "trade_ids_missed",  # trade ids skipped over by those gaps: the sum of (t - previous - 1) > 0
    "agg_trade_ids_missed",  # aggTrade ids skipped over, likewise
    "bad_times",  # refused: event or trade time not in 1 .. int64 ns (E, T <= 0 or past 2262)
    "bad_ids",  # refused: a venue id (t, a, f, u, U) negative or past int64
    "zero_values",  # refused: zero price or quantity on a trade, bookTicker or depth level price
    "crossed_quotes",  # refused: a bookTicker whose bid >= ask
    "depth_gaps",  # live book: diff "U" not previous "u" + 1; book reset and resynced
    "straddle_misses",  # first event after a snapshot not covering lastUpdateId + 1
    "stale_depth_events",  # diff events dropped because u <= the snapshot's lastUpdateId
    "crossed_books",  # best bid >= best ask after a snapshot or diff; book reset and resynced
    "buffer_overflows",  # too many diffs buffered while waiting for a snapshot; buffer restarted
    "snapshots_applied",  # snapshots accepted into a book
    "bad_snapshots",  # snapshot handed in that does not parse or lacks fields; still requested
    "unwanted_snapshots",  # snapshot handed in for a book that did not ask for one; ignored
    "book_resets",  # BOOK_RESET records published
)


class FeedCounters:
    """Plain int attributes (``counters.depth_gaps``); ``as_dict()`` for a monitor's snapshot."""

    __slots__ = COUNTER_NAMES

    def __init__(self):
        for name in COUNTER_NAMES:
            setattr(self, name, 0)

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNTER_NAMES}

    def __repr__(self) -> str:
        nonzero = ", ".join(f"{k}={v}" for k, v in self.as_dict().items() if v)
        return f"FeedCounters({nonzero})"
