"""One market-data feed, kept alive: connect, read, watch, reconnect. The asyncio layer of the
ingest worker; everything it decides is counted (``count(name)``).

Per connection: the combined-stream URL (streams that do not fit go in paced SUBSCRIBE
messages), our own keepalive pings (``ping_interval_s``; no pong within ``ping_timeout_s``:
ping_timeouts, reconnect), a staleness watchdog (no message for ``stale_after_s``: stale,
reconnect) and a planned reconnect after ``max_connection_age_s`` (Binance closes connections
at 24 h: rotations). A connection that opens and delivers nothing at all for ``stale_after_s``
is "connected but silent" (silent, reconnect; a warning names the URL and the venue's hint): the
sign of a URL path that does not serve the streams, which Binance USD-M answers with silence,
not an error. A connection that ends any other way counts in reconnects; a failed
attempt in conn_errors. Between attempts: exponential backoff with jitter
(``reconnect_min_s`` .. ``reconnect_max_s``), reset once a connection delivered messages.
Everything sent on the market connection (pings, SUBSCRIBE) spends ``OutgoingBudget`` tokens,
``max_outgoing_per_s`` a second.

The stream resumes where the venue is: trade ids and depth ids that skipped during the outage
show as gaps (the book resyncs from a fresh snapshot), never as silent holes.
"""

from __future__ import annotations

import asyncio
import logging
import time

import websockets
from websockets.exceptions import InvalidHandshake, InvalidURI

from .pacing import Backoff, OutgoingBudget
from .wsconn import factory

log = logging.getLogger("hftshm.feed")
RESYNC_AFTER_S = 5.0  # an in-band resync (resubscription) not answered by a snapshot: ask again
TICK_S = 0.02  # watchdog, pings, counters and snapshot requests are looked after this often


class FeedSession:
    def __init__(self, stream_url: str, streams: list[str], pipeline, feed, count, snapshots=None,
                 fast_frames: bool = True, max_message: int = 1 << 20, connection=None,
                 silent_hint: str = ""):
        """``feed``: the ``[feed]`` config (runtime.config.FeedConfig). ``count(name, n=1)``
        bumps a shared counter. ``snapshots``: a SnapshotFetcher, or None (no depth streams).
        ``connection``: a venue's ``hftshm.venues.Connection`` (required: its URL, the streams
        left to subscribe, how the venue words a subscription, and its application keepalive);
        ``stream_url`` and ``streams`` are kept for callers that still pass them.
        ``silent_hint``: what the warning about a silent connection suggests checking."""
        if connection is None:
            raise ValueError("FeedSession needs the venue's Connection (hftshm.venues: "
                             "MarketVenue.connections)")
        self.url, self.subscribe = connection.url, list(connection.subscribe)
        self.connection = connection
        self.silent_hint = silent_hint
        self.silent = 0  # connections that opened and delivered nothing
        self.pipeline = pipeline
        self.feed = feed
        self.count = count
        self.snapshots = snapshots
        self.fast_frames = fast_frames
        self.max_message = max_message
        self.backoff = Backoff(feed.reconnect_min_s, feed.reconnect_max_s)
        self.conn = None
        if snapshots is not None:
            pipeline.on_wants_snapshot = self._poll_snapshots

    def _poll_snapshots(self) -> None:
        self.snapshots.poll(self.pipeline.normalizer.snapshot_requests())

    async def run(self, stop: asyncio.Event) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                conn = await self._connect(stopping)
                if conn is None:
                    continue
                reason = await self._serve(conn, stopping)
                log.info("feed connection ended: %s", reason)
                if reason == "stop":
                    break
                if reason == "age":
                    self.backoff.reset()
                    continue
                await self._pause(stopping, self.backoff.next())
        finally:
            stopping.cancel()
            self.pipeline.sync_counters()
            if self.snapshots is not None:
                await self.snapshots.close()

    async def _pause(self, stopping, seconds: float) -> None:
        await asyncio.wait([stopping], timeout=seconds)

    async def _connect(self, stopping):
        make = factory(self.pipeline.on_messages, self.fast_frames, self.max_message)
        attempt = asyncio.ensure_future(websockets.connect(
            self.url, create_connection=make, compression=None, ping_interval=None,
            max_size=self.max_message, open_timeout=10, close_timeout=1))
        await asyncio.wait([attempt, stopping], return_when=asyncio.FIRST_COMPLETED)
        if not attempt.done():
            attempt.cancel()
            await asyncio.gather(attempt, return_exceptions=True)
            return None
        try:
            conn = attempt.result()
        except (OSError, InvalidHandshake, InvalidURI, asyncio.TimeoutError) as exc:
            log.warning("connect %s: %s", self.url, exc)
            self.count("conn_errors")
            await self._pause(stopping, self.backoff.next())
            return None
        self.count("connects")
        return conn

    async def _serve(self, conn, stopping) -> str:
        loop = asyncio.get_running_loop()
        feed = self.feed
        opened = loop.time()
        budget = OutgoingBudget(feed.max_outgoing_per_s, opened)
        link = self.connection
        pending_subs = list(link.subscribe_messages(self.subscribe)) if self.subscribe else []
        app_ping = getattr(link, "app_ping", b"")  # a venue's keepalive message (Bybit, OKX)
        app_ping_s = getattr(link, "app_ping_s", 0.0)
        app_idle = getattr(link, "app_ping_idle", False)
        next_app_ping = opened + app_ping_s
        resync = getattr(link, "resync_messages", None)
        asked: dict[str, tuple] = {}  # symbol -> (when its resubscription went out, snapshots then)
        next_ping = opened + feed.ping_interval_s
        ping_waiter = None
        ping_sent = 0.0
        stale_ns = int(feed.stale_after_s * 1e9)
        opened_ns = conn.last_message_ns = time.time_ns()  # the watchdog's clock starts at the open
        closed = asyncio.ensure_future(conn.wait_closed())
        self.count("connected", 1)
        delivered = False
        reason = "closed"
        try:
            while True:
                await asyncio.wait([closed, stopping], timeout=TICK_S, return_when=asyncio.FIRST_COMPLETED)
                if stopping.done():
                    reason = "stop"
                    break
                if closed.done():
                    self.count("reconnects")
                    break
                now = loop.time()
                self.pipeline.sync_counters()
                if self.snapshots is not None:
                    self._poll_snapshots()
                if not delivered and conn.last_message_ns != opened_ns:  # this connection's own
                    delivered = True
                    self.backoff.reset()
                while pending_subs and budget.try_take(now):
                    await conn.send(pending_subs.pop(0).decode())
                if resync is not None:  # a book without a snapshot: resubscribe its topic
                    await self._resync(conn, resync, asked, now, budget)
                if app_ping and now >= next_app_ping:
                    idle_ns = time.time_ns() - conn.last_message_ns
                    if app_idle and idle_ns < app_ping_s * 1e9:  # OKX: only when idle
                        next_app_ping = now + app_ping_s - idle_ns / 1e9
                    elif budget.try_take(now):
                        await conn.send(app_ping.decode())
                        next_app_ping = now + app_ping_s
                if time.time_ns() - conn.last_message_ns > stale_ns:
                    if conn.last_message_ns == opened_ns:  # nothing at all since the open
                        self.silent += 1
                        self.count("silent")
                        reason = "silent"
                        log.warning("connected but silent: %s delivered nothing in %.1f s; wrong URL "
                                    "path or streams it does not serve? %s", self.url,
                                    feed.stale_after_s, self.silent_hint)
                    else:
                        self.count("stale")
                        reason = "stale"
                    break
                if ping_waiter is not None:
                    if ping_waiter.done():
                        ping_waiter = None
                    elif now - ping_sent > feed.ping_timeout_s:
                        self.count("ping_timeouts")
                        reason = "ping"
                        break
                elif now >= next_ping and budget.try_take(now):
                    ping_waiter = await conn.ping()
                    ping_sent = now
                    next_ping = now + feed.ping_interval_s
                if now - opened >= feed.max_connection_age_s:
                    self.count("rotations")
                    reason = "age"
                    break
        except websockets.ConnectionClosed:
            self.count("reconnects")
            reason = "closed"
        finally:
            self.count("connected", -1)
            closed.cancel()
            await self._close(conn, reason)
        return reason

    async def _resync(self, conn, resync, asked: dict, now: float, budget) -> None:
        """Venues that send their book snapshots in band (Bybit, OKX) resync a book by
        subscribing its topic again; asked again after RESYNC_AFTER_S if no snapshot came."""
        norm = self.pipeline.normalizer
        wanted = norm.snapshot_requests() if norm.wants_snapshot() else ()
        for symbol in list(asked):
            if symbol not in wanted:
                del asked[symbol]
        applied = norm.counters.snapshots_applied
        for symbol in wanted:
            when, seen = asked.get(symbol, (-RESYNC_AFTER_S, -1))
            # asked already, and no snapshot came since: wait (a snapshot since means this
            # is a new gap, before this tick saw the book live)
            if now - when < RESYNC_AFTER_S and seen == applied:
                continue
            messages = resync([symbol])
            if not messages:
                continue
            if not budget.try_take(now):
                return
            asked[symbol] = (now, applied)
            self.count("snap_requests")
            for m in messages:
                await conn.send(m.decode())

    async def _close(self, conn, reason: str) -> None:
        """Stop ingesting first (what was read is already published: the sink runs in the read
        callback), then close: politely when the peer is alive (the closing handshake still
        reads its close frame), by abort when it is not answering."""
        conn.sink = _discard
        transport = conn.transport
        if reason in ("stale", "silent", "ping"):
            transport.abort()
            return
        try:
            await asyncio.wait_for(conn.close(), 2.0)
        except Exception:
            transport.abort()


def _discard(messages, recv_ns) -> None:
    """The sink of a connection being closed: what arrives after the decision is not ingested."""
