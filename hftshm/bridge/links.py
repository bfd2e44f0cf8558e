"""The bridge's two I/O loops, each a thin shell over its sans-I/O core.

``OutLink``: a named, non-gating reader of a ring -> ``Outbound`` -> async JetStream publishes,
at most ``max_pending`` unacknowledged; a message of fewer than ``batch`` records waits while one
is unacknowledged (``HOLD_SMALL_AT``), so records arriving meanwhile share the next message. At start its position is the stream's (after the
subject's last stored message); after a failed or overdue acknowledgement (server gone) it sends
again from the oldest unacknowledged message: a message the server did store is dropped by its
id, or trimmed by the receiver when cut at other boundaries.

``InLink``: an ordered push consumer on the source's stream -> ``Inbound`` -> the local ring.
Its position is the local ring (``next_src = base + published``) and the stream sequence it last
used (a counter in the control block, so a restarted worker resumes there); records it already
published are trimmed, never published twice. A message past the next source sequence (a hole,
e.g. a server that lost its unflushed tail while later messages got through) waits in a reorder
buffer until the source's resend fills the hole, or the hole is counted lost. With a counter
prefix (``fills_``) the same loop is fills in on a remote strategy host.

``OrdersOutLink`` (a remote strategy host) and ``OrdersInLink`` (the trading host): orders over a
work-queue stream, each acknowledged only after it is in the trading host's orders ring; a
redelivery is dropped by execution's per-strategy high-water mark (docs/bridge.md).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time

import numpy as np
from nats.js import api

from ..ring import header as H
from ..wait.fdwake import FdWake
from . import inbound as IB
from . import jetstream, wire
from .outbound import Outbound, resume_position

log = logging.getLogger("hftshm.bridge")

IDLE_S = 0.05  # the reader's longest sleep when the ring is idle (its producer wakes it sooner)
ACK_POLL_S = 0.001  # ... while acknowledgements are outstanding
ACK_TIMEOUT_S = 5.0  # an acknowledgement later than this: resynchronise from the stream
LAG_EVERY_S = 0.5
HOLE_CHECK_S = 0.1  # how often md in looks at an open hole
AHEAD_MAX_BYTES = 256 << 20  # reorder buffer: past this, the open hole is counted lost
HOLD_SMALL_AT = 1  # a message of fewer than ``batch`` records waits while this many are unacknowledged (0: never)
HOLE_WAIT_S = 3 * 5.0  # a hole the source has not sent again by then is lost (3 ack timeouts)


async def _ack_or_timeout(fut, timeout: float) -> None:
    """Wait until ``fut`` (an acknowledgement) is done or ``timeout`` s pass; no task made."""
    if fut.done():
        return
    loop = asyncio.get_running_loop()
    w = loop.create_future()

    def wake(_=None):
        if not w.done():
            w.set_result(None)

    fut.add_done_callback(wake)
    timer = loop.call_later(timeout, wake)
    try:
        await w
    finally:
        timer.cancel()
        fut.remove_done_callback(wake)


def ring_epoch(ring) -> int:
    return int(ring.hdr[H.W_CREATED_NS])


class OutLink:
    def __init__(self, agent, ring, instance: str, cfg):
        self.agent, self.ring, self.cfg = agent, ring, cfg
        self.wake = None  # FdWake of the current reader: its producer wakes us, no polling when idle
        self.name = ring.name
        self.subject = wire.subject(instance, ring.name)
        self.stream = wire.stream_name(instance, ring.name)
        self.epoch = ring_epoch(ring)
        self.reader = None
        self.out = None

    async def _position(self, js, from_seq: int | None = None) -> None:
        """Place ``out`` and the reader at ``from_seq`` (the oldest unacknowledged message after a
        failure), else after the last stored message, else at the ring's oldest."""
        if from_seq is not None:
            pos = from_seq
        else:
            last = await jetstream.last_payload(js, self.stream, self.subject)
            pos = resume_position(last, self.epoch)
        published = self.ring.published()
        oldest = max(0, published - self.ring.capacity)
        if pos is None:
            pos = 0
        pos = min(pos, published)
        lay = self.ring.layout
        self.out = Outbound(self.epoch, lay.fingerprint, lay.size, pos, self.cfg.batch)
        start = max(pos, oldest)
        self.close()
        self.wake = FdWake()
        self.reader = self.ring.reader(f"bridge-{self.name}", start=start, wait=self.wake)
        self.wake.attach(asyncio.get_running_loop())
        self.pending_gap = start  # sequences before ``start`` are gone from the ring
        log.info("%s out: stream %s from sequence %d (ring holds %d..%d)", self.name, self.stream, pos,
                 oldest, published - 1)

    async def run(self, js, stop: asyncio.Event) -> None:
        await jetstream.ensure_stream(js, self.stream, [self.subject], self.cfg)
        await self._position(js)
        pending: collections.deque = collections.deque()  # (message, future, sent at), oldest first
        batch_n = self.cfg.batch
        while not stop.is_set():
            if (HOLD_SMALL_AT and len(pending) >= HOLD_SMALL_AT and not self.pending_gap
                    and 0 < self.ring.published() - self.out.next_seq < batch_n):
                # fewer records than a full message wait, and HOLD_SMALL_AT messages are on their
                # way: let these ride in the next message, sent as soon as an acknowledgement
                # frees a place (Nagle's rule: at 10,000 records/s a message per record costs
                # both clients and the server more than the records, and the queueing delays
                # every record); full messages never wait
                await _ack_or_timeout(pending[0][1], ACK_POLL_S)
                if not self._reap(pending):
                    await self._fail(js, pending)
                continue
            msgs = self.out.gap(self.pending_gap) if self.pending_gap > self.out.next_seq else []
            self.pending_gap = 0
            batch = self.reader.read_batch(self.cfg.batch * 64, copy=True)
            if len(batch):
                msgs += self.out.take(batch)
            self.agent.set("lag_out", max(0, self.ring.published() - self.out.next_seq))
            ok = True
            for m in msgs:
                try:
                    # no stall timeout while fewer than max_pending + one read's messages are
                    # outstanding: the client's limit is above that (workers/bridge.py sizes it),
                    # so the acquire cannot wait, and a timeout costs a task per message
                    # (asyncio.wait_for)
                    stall = None if len(pending) < self.cfg.max_pending + 66 else ACK_TIMEOUT_S
                    fut = await js.publish_async(self.subject, m.payload, wait_stall=stall,
                                                 headers={wire.MSG_ID: m.msg_id})
                except Exception as exc:  # server gone, stalled: resynchronise from the stream
                    log.warning("%s out: publish failed (%s); resynchronising", self.name, type(exc).__name__)
                    pending.append((m, asyncio.get_running_loop().create_future(), time.monotonic()))
                    ok = False
                    break
                pending.append((m, fut, time.monotonic()))
            # acknowledgements are reaped as they come, never awaited while records wait to go out
            ok = ok and self._reap(pending)
            if ok and len(pending) >= self.cfg.max_pending:
                await asyncio.wait([pending[0][1]], timeout=ACK_TIMEOUT_S)
                ok = self._reap(pending)
            if not ok:
                await self._fail(js, pending)
                continue
            if not msgs:
                await self.wake.wait_async(ACK_POLL_S if pending else IDLE_S)

    async def _fail(self, js, pending) -> None:
        """Everything before the oldest unacknowledged message is stored; from it on, send again
        (a stored one is dropped by its message id, or trimmed by the receiver)."""
        from_seq = pending[0][0].first_seq if pending else None
        for _, fut, _ in pending:
            fut.cancel()
        pending.clear()
        await self._resync(js, from_seq)

    def _reap(self, pending) -> bool:
        """Count the acknowledged messages at the front; False when one failed or is overdue."""
        a = self.agent
        now = time.monotonic()
        while pending:
            m, fut, sent = pending[0]
            if not fut.done():
                if now - sent > ACK_TIMEOUT_S:
                    log.warning("%s out: no acknowledgement in %.0f s; resynchronising", self.name, ACK_TIMEOUT_S)
                    return False
                return True
            exc = None if fut.cancelled() else fut.exception()
            if fut.cancelled() or exc is not None:
                log.warning("%s out: publish not acknowledged (%s); resynchronising", self.name,
                            type(exc).__name__ if exc else "cancelled")
                return False
            pending.popleft()
            if not fut.result().duplicate:
                a.count("msgs_out")
                a.count("records_out" if m.kind == wire.RECORDS else "lapped_out", m.count)
        return True

    async def _resync(self, js, from_seq: int | None = None) -> None:
        self.agent.count("resyncs")
        while True:
            try:
                await self._position(js, from_seq)
                return
            except Exception as exc:
                log.warning("%s out: stream not available yet (%s)", self.name, type(exc).__name__)
                await asyncio.sleep(0.2)

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None
        if self.wake is not None:
            self.wake.close()
            self.wake = None


class InLink:
    """md in (fills in): the source instance's md (fills) stream -> this instance's ring."""

    def __init__(self, agent, ring, source: str, cfg, placeholder, prefix: str = ""):
        """``prefix`` names this link's counters (``""`` md in, ``"fills_"`` fills in)."""
        self.agent, self.ring, self.cfg = _Prefixed(agent, prefix) if prefix else agent, ring, cfg
        self.subject = wire.subject(source, ring.name)
        self.stream = wire.stream_name(source, ring.name)
        a = self.agent
        epoch = a.get("epoch")
        lay = ring.layout
        if epoch:  # a restarted bridge: the ring is the position
            base = a.get("src_base")
            self.inb = IB.Inbound(lay.dtype, lay.fingerprint, placeholder, epoch=epoch,
                                  next_src=base + ring.published(), base=base)
        else:
            self.inb = IB.Inbound(lay.dtype, lay.fingerprint, placeholder)
        for key, name in self.COUNTS.items():  # a restarted worker goes on counting
            self.inb.counts[key] = a.get(name)
        self.publisher = ring.publisher()
        self._slots = None  # (counter array, index) per name of _sync_counts
        if epoch:
            self._recount(ring.published())
        self.stream_seq = a.get("stream_seq")
        self.refused_logged = 0
        self.seen = self.stream_seq  # the last stream sequence delivered to us
        self.seen_before = self.stream_seq  # ... and the last one used in order
        self.hole_at = None  # stream sequence where a hole was seen (None: no hole)
        self.hole_since = 0.0
        self.hole_seen = 0  # the last stream sequence used before the hole
        self.ahead: dict[int, bytes] = {}  # reorder buffer: first source sequence -> message
        self.ahead_bytes = 0
        self.sub = None

    COUNTS = {"msgs": "msgs_in", "records": "records_in", "duplicates": "duplicates", "src_lost": "src_lost",
              "transport_lost": "gaps_lost", "refused_layout": "refused_layout", "refused_epoch": "refused_epoch",
              "refused_malformed": "refused_bad"}

    # the counts that take ring positions, and their codes in the pending_in word (see _publish)
    POSITION_COUNTS = ("records", "src_lost", "transport_lost")

    def _recount(self, held: int) -> None:
        """A worker killed between a publish and the counters after it left that publish
        uncounted (its message comes again, as a duplicate): the ring holds more positions than
        the counts say. ``pending_in`` says what the last publish was; count it."""
        c = self.inb.counts
        missing = held - sum(c[k] for k in self.POSITION_COUNTS)
        pending = self.agent.get("pending_in")
        if missing <= 0:
            return
        if missing > pending >> 2:
            log.warning("in: the ring holds %d records the counters do not account for; not counted", missing)
            return
        c[self.POSITION_COUNTS[(pending & 3) - 1]] += missing
        self._sync_counts()

    def _sync_counts(self) -> None:
        """Publish the core's counts (after each message: the array writes are cheap, the name
        lookups are done once in ``_slots``)."""
        if self._slots is None:
            self._slots = self.agent.slots([*self.COUNTS.values(), "epoch", "src_base"])
        c, inb = self.inb.counts, self.inb
        vals = [c[key] for key in self.COUNTS]
        vals += [inb.epoch, inb.base or 0]
        for (arr, i), v in zip(self._slots, vals):
            if arr is not None:
                arr[i] = v

    def _publish(self, recs: np.ndarray, counted: str) -> None:
        """Publish, then the counts: ``pending_in`` (n << 2 | code of ``counted``) says what a
        kill -9 between the two left uncounted (``_recount``)."""
        self.agent.set("pending_in", len(recs) << 2 | (self.POSITION_COUNTS.index(counted) + 1))
        cap = self.ring.capacity
        for i in range(0, len(recs), cap):
            self.publisher.publish_batch(np.ascontiguousarray(recs[i:i + cap]))
        self._sync_counts()

    async def _subscribe(self, js, stop):
        if self.stream_seq:
            cc = api.ConsumerConfig(deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
                                    opt_start_seq=self.stream_seq + 1)
        elif self.cfg.start == "last":
            cc = api.ConsumerConfig(deliver_policy=api.DeliverPolicy.LAST)
        else:
            cc = api.ConsumerConfig(deliver_policy=api.DeliverPolicy.ALL)
        return await js.subscribe(self.subject, stream=self.stream, ordered_consumer=True, config=cc,
                                  cb=self._on_msg, pending_msgs_limit=1 << 20, pending_bytes_limit=1 << 30)

    async def _on_msg(self, msg) -> None:
        sseq = stream_seq(msg.reply)
        if sseq <= self.seen:
            return  # a redelivery we already handled
        self.seen = sseq
        self._offer(msg.data, sseq)
        self._drain()
        # a restart resumes before an open hole, so that it reads what the hole is waiting for
        self.stream_seq = self.hole_at - 1 if self.hole_at is not None else sseq
        self.agent.set("stream_seq", self.stream_seq)
        self._sync_counts()

    def _offer(self, payload: bytes, sseq: int) -> bool:
        """Check one message and publish what it gives; an AHEAD message waits in ``ahead`` (a
        reorder buffer) for the hole before it to be filled or lost. False if it waits."""
        v = self.inb.on_message(payload)
        if v.kind == IB.AHEAD:
            first = self._first(payload)
            if first not in self.ahead:
                self.ahead[first] = payload
                self.ahead_bytes += len(payload)
            if self.hole_at is None:
                self.hole_at, self.hole_since, self.hole_seen = sseq, time.monotonic(), self.seen_before
                log.info("md in: %s at stream sequence %d; reading on for it", v.detail, sseq)
            return False
        self.seen_before = sseq
        if v.kind == IB.REFUSED:
            self.refused_logged += 1
            if self.refused_logged <= 10 or self.refused_logged % 1000 == 0:
                log.warning("md in: refused stream message %d (%s): %s [%d refused]", sseq, v.reason, v.detail,
                            self.refused_logged)
        elif v.kind == IB.ACCEPT and len(v.records):
            self._publish(v.records, v.counted)
        return True

    def _drain(self) -> None:
        """Use every waiting message that the sequence has now reached; close a filled hole."""
        while self.ahead:
            first = min(self.ahead)
            if first > self.inb.next_src:
                break
            payload = self.ahead.pop(first)
            self.ahead_bytes -= len(payload)
            self._offer(payload, self.seen_before)
        if self.ahead:
            if self.hole_at is None:  # after a lost hole, another one waits behind it
                self.hole_at, self.hole_since, self.hole_seen = self.seen, time.monotonic(), self.seen_before
            if self.ahead_bytes > AHEAD_MAX_BYTES:
                self._lose_hole("the reorder buffer is full")
        elif self.hole_at is not None:
            self.agent.count("gaps_filled")
            log.info("md in: hole filled (next source sequence %d)", self.inb.next_src)
            self.hole_at = None

    def _lose_hole(self, why: str) -> None:
        """Count the open hole lost (its placeholders go in), and go on with what waits after it."""
        upto = min(self.ahead)
        log.warning("md in: source sequences %d..%d are not in the stream (%s); counted lost",
                    self.inb.next_src, upto - 1, why)
        self._publish(self.inb.lose(upto), "transport_lost")
        self.hole_at = None
        self._drain()

    @staticmethod
    def _first(payload: bytes) -> int:
        return wire.decode_header(payload)[2]

    async def run(self, js, stop: asyncio.Event) -> None:
        waited = False
        while not stop.is_set():  # the source may start after us: wait for its stream, say so once
            try:
                await js.stream_info(self.stream)
                break
            except Exception as exc:
                if not waited:
                    log.warning("md in: stream %s of the source is not on the server yet (%s); waiting for "
                                "the source's bridge (md_out = true)", self.stream, type(exc).__name__)
                    waited = True
                await asyncio.sleep(0.5)
        if stop.is_set():
            return
        self.sub = await self._subscribe(js, stop)
        log.info("md in: from stream %s after stream sequence %d (next source sequence %s)", self.stream,
                 self.stream_seq, self.inb.next_src)
        next_lag = 0.0
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), HOLE_CHECK_S)
            except asyncio.TimeoutError:
                pass
            if self.hole_at is not None:
                await self._check_hole(js)
            now = time.monotonic()
            if now >= next_lag:
                next_lag = now + LAG_EVERY_S
                await self._lag(js)

    async def _check_hole(self, js) -> None:
        """A hole is lost when the stream discarded messages we never read (its limits: a slow
        receiver), or when the source has not sent it again within HOLE_WAIT_S."""
        try:
            first = await jetstream.first_seq(js, self.stream)
        except Exception:
            return
        if self.hole_at is None or not self.ahead:
            return
        if first > self.hole_seen + 1:
            self._lose_hole(f"the stream discarded sequences {self.hole_seen + 1}..{first - 1} by its limits")
        elif time.monotonic() - self.hole_since > HOLE_WAIT_S:
            self._lose_hole(f"not sent again within {HOLE_WAIT_S:.0f} s")
        else:
            return
        self.stream_seq = self.hole_at - 1 if self.hole_at is not None else self.seen
        self.agent.set("stream_seq", self.stream_seq)
        self._sync_counts()

    async def _lag(self, js) -> None:
        try:
            last = await jetstream.last_payload(js, self.stream, self.subject)
        except Exception:
            return
        if last is not None and self.inb.next_src is not None:
            _, epoch, first, count, _, _ = wire.decode_header(last)
            if epoch == self.inb.epoch:
                self.agent.set("lag_in", max(0, first + count - self.inb.next_src))

    async def close(self) -> None:
        if self.sub is not None:
            try:
                await self.sub.unsubscribe()
            except Exception:
                pass
        self.publisher.close()


def stream_seq(reply: str) -> int:
    """The stream sequence of a JetStream message, from its reply subject (``$JS.ACK.<stream>.
    <consumer>.<delivered>.<stream seq>.<consumer seq>.<ns>.<pending>``, 9 tokens, or the form
    with a domain and an account hash before the stream, stream seq 8th): what ``msg.metadata``
    gives, without building its objects (a datetime among them) for every message."""
    tokens = reply.split(".")
    return int(tokens[5] if len(tokens) == 9 else tokens[7])


class _Prefixed:
    """An agent's counters seen through a name prefix (``fills_`` for fills in); a name the
    agent has no prefixed counter for is not kept (a worker has 36 counters)."""

    def __init__(self, agent, prefix: str):
        self.agent, self.prefix = agent, prefix
        self.names = set(agent.counter_names)

    def get(self, name):
        key = self.prefix + name
        return self.agent.get(key) if key in self.names else 0

    def slots(self, names):
        return [self.agent.slots([self.prefix + n])[0] if self.prefix + n in self.names else (None, 0)
                for n in names]

    def set(self, name, value):
        key = self.prefix + name
        if key in self.names:
            self.agent.set(key, value)

    def count(self, name, n=1):
        key = self.prefix + name
        if key in self.names:
            self.agent.count(key, n)


ORDERS_ACK_WAIT_S = 2.0  # an order offered but not acknowledged (a crash) is delivered again after this


class OrdersOutLink:
    """Orders out (a remote strategy host): a gating reader of the orders ring -> one message per
    order on the work-queue stream ``HFTSHM_<instance>_orders``. The batch read stays unreleased
    until every message of it is acknowledged (``read_batch`` releases the previous batch), so a
    crash resumes at the first order not known stored; its message id (``<epoch>.<seq>.1``, the
    same on a resend) lets JetStream drop a second publish within ``duplicate_window_s``."""

    def __init__(self, agent, ring, instance: str, cfg):
        self.agent, self.ring, self.cfg = agent, ring, cfg
        self.subject = wire.subject(instance, ring.name)
        self.stream = wire.stream_name(instance, ring.name)
        self.epoch = ring_epoch(ring)
        self.wake = FdWake()
        self.reader = ring.reader("bridge-orders", gating=True, start="oldest", wait=self.wake)
        self.out = None

    async def run(self, js, stop: asyncio.Event) -> None:
        await jetstream.ensure_stream(js, self.stream, [self.subject], self.cfg, work_queue=True)
        self.wake.attach(asyncio.get_running_loop())
        lay = self.ring.layout
        batch = np.zeros(0, lay.dtype)
        while not stop.is_set():
            if not len(batch):
                batch = self.reader.read_batch(self.cfg.batch, copy=True)  # releases the previous one
                if not len(batch):
                    await self.wake.wait_async(IDLE_S)
                    continue
            if self.out is None:
                self.out = Outbound(self.epoch, lay.fingerprint, lay.size, int(batch[0]["seq"]), 1)
            msgs = self.out.take(batch)
            try:
                futs = [await js.publish_async(self.subject, m.payload, wait_stall=ACK_TIMEOUT_S,
                                               headers={wire.MSG_ID: m.msg_id}) for m in msgs]
                acks = await asyncio.wait_for(asyncio.gather(*futs), ACK_TIMEOUT_S)
            except Exception as exc:  # not stored (server gone): the same messages again
                log.warning("orders out: publish failed (%s); sending the batch again", type(exc).__name__)
                self.agent.count("resyncs")
                self.out = None
                await asyncio.sleep(0.2)
                continue
            for m, ack in zip(msgs, acks):
                if m.kind == wire.RECORDS and not ack.duplicate:
                    self.agent.count("orders_out", m.count)
            batch = np.zeros(0, lay.dtype)

    def close(self) -> None:
        self.reader.close()
        self.wake.close()


class OrdersInLink:
    """Orders in (the trading host): the remote instance's orders stream -> this instance's orders
    ring, where execution takes them like its own strategies' orders. A durable pull consumer with
    one unacknowledged message at most (so a redelivery never comes after a later order: execution's
    per-strategy high-water mark would drop it), acknowledged only after every order in it was
    offered into the ring. A redelivered order that was offered before a crash is dropped by
    execution (its ``duplicates``), never sent twice."""

    def __init__(self, agent, ring, instance: str, remote: str, allowed, cfg):
        from ..layouts import order as O

        self.O = O
        self.agent, self.ring, self.cfg = agent, ring, cfg
        self.remote = remote
        self.subject = wire.subject(remote, "orders")
        self.stream = wire.stream_name(remote, "orders")
        self.durable = f"hftshm_{instance}_orders_in".replace("-", "_")
        self.allowed = frozenset(allowed)
        self.producer = ring.producer("bridge-orders-in")
        self.refused_logged = 0
        self.epoch = 0  # the remote orders ring's epoch last seen

    def _refuse(self, key: str, why: str) -> None:
        self.agent.count(key)
        self.refused_logged += 1
        if self.refused_logged <= 10 or self.refused_logged % 1000 == 0:
            log.warning("orders in from %s: refused (%s) [%d refused]", self.remote, why, self.refused_logged)

    async def _offer(self, rec, stop) -> bool:
        while not self.producer.offer(rec):  # ring full: execution drains it
            if stop.is_set():
                return False
            await asyncio.sleep(0.001)
        return True

    async def run(self, js, stop: asyncio.Event) -> None:
        try:
            await jetstream.ensure_stream(js, self.stream, [self.subject], self.cfg, work_queue=True)
        except Exception:  # the remote host made it at the same moment: use it
            await js.stream_info(self.stream)
        cc = api.ConsumerConfig(durable_name=self.durable, ack_policy=api.AckPolicy.EXPLICIT,
                                ack_wait=ORDERS_ACK_WAIT_S, max_ack_pending=1,
                                deliver_policy=api.DeliverPolicy.ALL)
        sub = await js.pull_subscribe(self.subject, durable=self.durable, stream=self.stream, config=cc)
        log.info("orders in: from stream %s (strategy ids %s)", self.stream, sorted(self.allowed))
        lay = self.O.LAYOUT
        while not stop.is_set():
            try:
                msgs = await sub.fetch(1, timeout=0.2)
            except asyncio.TimeoutError:  # nothing waiting
                continue
            except Exception as exc:  # the server is away: ask again (the client reconnects)
                log.debug("orders in: fetch failed (%s)", type(exc).__name__)
                await asyncio.sleep(0.2)
                continue
            for msg in msgs:
                if msg.metadata.num_delivered > 1:
                    self.agent.count("orders_resent")
                try:
                    kind, epoch, first, count, fp, size = wire.decode_header(msg.data)
                except wire.WireError as exc:
                    self._refuse("refused_bad", str(exc))
                    await msg.term()
                    continue
                if fp != lay.fingerprint or size != lay.size:
                    self._refuse("refused_layout", f"layout fingerprint {fp & (2**64 - 1):#018x}, not the order layout's")
                    await msg.term()
                    continue
                if epoch != self.epoch:
                    if self.epoch:  # its strategies' counters began again: execution drops them
                        log.warning("orders in from %s: the remote instance restarted (epoch %d -> %d); its "
                                    "orders are dropped as duplicates until this instance restarts too, or "
                                    "its strategies get new ids (docs/bridge.md)", self.remote, self.epoch, epoch)
                    self.epoch = epoch
                if kind == wire.RECORDS:
                    recs = np.frombuffer(msg.data, lay.dtype, count, wire.HEADER_LENGTH)
                    for i in range(count):
                        rec = recs[i:i + 1].copy()
                        sid, oid = int(rec[0]["strategy_id"]), int(rec[0]["order_id"])
                        if sid not in self.allowed or oid >> self.O.STRATEGY_SHIFT != sid:
                            self._refuse("orders_refused", f"order {oid:#x} of strategy id {sid}; "
                                         f"orders_in_strategies = {sorted(self.allowed)}")
                            continue
                        if not await self._offer(rec, stop):
                            return  # stopping: not acknowledged, so delivered again
                        self.agent.count("orders_in")
                self.agent.count("orders_msgs_in")
                await msg.ack()  # only now: every order of it is in the ring

    async def close(self) -> None:
        self.producer.close()
