"""The ingest worker: a venue's market streams -> normalizer -> the ``md`` ring.

Wiring only: the venue (``hftshm.venues``, by ``[venue] kind``) gives the connections (one per
routed path: USD-M has two), the normalizer and the book rules; the feed's pieces live in
``hftshm.feed`` (``session`` keeps each connection alive, ``wsconn`` stamps reads and splits
frames, ``pipeline`` normalizes and publishes, ``snapshots`` fetches depth snapshots over the
WebSocket API). See docs/ingest.md and docs/venues.md.

Config: ``[venue]`` stream_url, api_url, symbols, streams; ``[feed]`` ping, staleness, backoff,
connection age, outgoing rate. Worker params (``HFTSHM_WORKER_PARAMS``, all optional):
``depth_limit`` (snapshot levels, default 1000), ``frames`` ("fast" or "websockets"),
``hold_wakes`` (default true: one wake-up per parked reader per socket read; false: at once).
"""

from __future__ import annotations

import asyncio
import logging
import time

from hftshm import venues
from hftshm.feed.pipeline import FeedPipeline
from hftshm.feed.resume import read_resume_point
from hftshm.feed.session import FeedSession
from hftshm.feed.snapshots import SnapshotFetcher
from hftshm.layouts import md
from hftshm.ring import BroadcastRing
from hftshm.runtime.agent import Agent

log = logging.getLogger("hftshm.ingest")

COUNTERS = (
    "msgs",  # text messages received
    "records",  # md records published
    "connects",  # market connections opened
    "reconnects",  # connections that ended unasked (closed, dropped)
    "conn_errors",  # connection attempts that failed
    "stale",  # watchdog: no message for stale_after_s
    "ping_timeouts",  # no pong within ping_timeout_s
    "rotations",  # planned reconnects before Binance's 24 h limit
    "malformed",  # frames that are not JSON
    "bad_fields",  # known events with a missing or mistyped field
    "unknown",  # valid JSON we do not handle
    "control_msgs",  # replies to SUBSCRIBE etc.
    "venue_errors",  # {"code","msg"} from the venue
    "unknown_syms",  # events for symbols not in the ring's table
    "trade_gaps",  # trade id not previous + 1 (also across an ingest restart)
    "agg_gaps",  # aggTrade id not previous + 1
    "ids_missed",  # trade + aggTrade ids skipped over by those gaps (their sizes summed)
    "bad_times",  # refused: E or T not a plausible time (<= 0, past int64 ns)
    "bad_ids",  # refused: a venue id negative or past int64
    "bad_values",  # refused: zero price/qty, zero-price level, crossed bookTicker
    "depth_gaps",  # diff U not previous u + 1 (book reset, resync)
    "straddle_miss",  # first diff after a snapshot did not straddle it
    "stale_depth",  # diffs older than the snapshot, and snapshots no longer wanted: dropped
    "crossed",  # crossed book caught: reset, resync
    "buf_overflows",  # too many diffs buffered waiting for a snapshot
    "snap_requests",  # depth snapshots requested
    "snapshots",  # snapshots applied
    "bad_snapshots",  # snapshot replies that did not parse
    "snap_errors",  # API connection failures and error replies
    "book_resets",  # BOOK_RESET records published
    "connected",  # market connections open now (a gauge, for the dashboard)
    "silent",  # connections that opened and delivered nothing (wrong URL path?); reconnected
)


class IngestAgent(Agent):
    role = "ingest"
    counter_names = COUNTERS

    def on_start(self) -> None:
        ctx = self.ctx
        self.set("connected", 0)  # a predecessor may have died connected
        venue, params = ctx.config.venue, ctx.params or {}
        self.ring = BroadcastRing.attach(ctx.instance, "md", md.LAYOUT)
        table = list(self.ring.symbols)
        ids = {}
        for s in venue.symbols:
            if s.upper() not in table:
                raise ValueError(f"[venue] symbol {s!r} is not in the md ring's symbol table {table}")
            ids[s.upper()] = table.index(s.upper())
        market = venues.market_venue_of(ctx.config)
        # refuses while a predecessor still publishes; names the venue in every record it publishes
        self.publisher = self.ring.publisher(stamp={"venue": md.VENUE_CODES[market.kind]})
        market.check_streams(venue.streams)
        normalizer = market.normalizer(ids)
        # A restart: go on from the predecessor's last records (its counters go on by themselves,
        # the control block keeps them; FeedPipeline adds to them).
        mine = set(ids.values())
        depth = any(k in market.depth_streams for k in venue.streams)
        point = read_resume_point(self.ring, mine, trades="trade" in venue.streams,
                                  aggs="aggTrade" in venue.streams, books=depth)
        resets = normalizer.resume({k: v for k, v in point.last_trade.items() if k in mine},
                                   {k: v for k, v in point.last_agg.items() if k in mine},
                                   point.books & mine, time.time_ns())
        if point.last_trade or point.last_agg or point.books:
            log.info("ingest %s: resuming after trade ids %s, aggTrade ids %s; books reset %s",
                     ctx.name, point.last_trade, point.last_agg, sorted(point.books & mine))
        lat = ctx.latency
        e2r = lat.recorder("exch_to_recv", add=True) if lat is not None else None
        r2p = lat.recorder("recv_to_publish", add=True) if lat is not None else None
        # hold_wakes (default on): wake parked md readers once per socket read, after its last
        # message (FeedPipeline); off wakes them at the first publish that finds them parked
        self.pipeline = FeedPipeline(normalizer, self.publisher, self.counters,
                                     self.counter, e2r, r2p, hold_wakes=bool(params.get("hold_wakes", True)))
        if len(resets):
            self.publisher.publish_batch(resets)
            self.pipeline.records += len(resets)
        self.pipeline.sync_counters()  # the resets count even if this process dies before a tick
        if not venue.stream_url:
            raise ValueError("[venue] stream_url is empty (the supervisor sets it for the simulator)")
        connections = market.connections(venue.stream_url, venue.symbols, venue.streams)
        snapshots = None
        if depth and market.snapshots_over_api:  # Bybit, OKX: snapshots come on the stream
            if not venue.api_url:
                raise ValueError("[venue] api_url is needed for depth snapshots (depth streams are on)")
            snapshots = SnapshotFetcher(venue.api_url, self._on_snapshot,
                                        limit=int(params.get("depth_limit", 1000)),
                                        on_error=lambda what: self.count("snap_errors"),
                                        on_request=lambda symbol: self.count("snap_requests"))
        self.snapshots = snapshots
        fast = params.get("frames", "fast") == "fast"
        # The connection with the depth streams asks for the snapshots; the others only read.
        self.sessions = [FeedSession(venue.stream_url, c.streams, self.pipeline, ctx.config.feed, self.count,
                                     snapshots if any("@depth" in n for n in c.streams) else None,
                                     fast_frames=fast, connection=c, silent_hint=market.silent_hint)
                         for c in connections]
        self.session = self.sessions[0]
        for c in connections:
            log.info("ingest %s: %s, %d streams from %s", ctx.name, market.title, len(c.streams), c.url)

    def _on_snapshot(self, symbol: str, raw: bytes, recv_ns: int) -> None:
        self.pipeline.apply_snapshot(symbol, raw, recv_ns)

    async def run_async(self, stop: asyncio.Event) -> None:
        """Every connection's session until ``stop``; one that fails stops the others, and they
        have closed before this returns or raises (no socket reads into a ring being let go)."""
        tasks = [asyncio.create_task(s.run(stop)) for s in self.sessions]
        try:
            await asyncio.gather(*tasks)
        finally:
            stop.set()
            await asyncio.wait(tasks)

    def on_close(self) -> None:
        pipeline = getattr(self, "pipeline", None)
        if pipeline is not None:
            pipeline.sync_counters()
        if getattr(self, "publisher", None) is not None and hasattr(self.publisher, "close"):
            self.publisher.close()
        if getattr(self, "ring", None) is not None:
            self.ring.close()
