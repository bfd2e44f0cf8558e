"""The bridge worker: rings to and from other hosts over NATS JetStream (docs/bridge.md).

Wiring only: ``hftshm.bridge.outbound`` / ``inbound`` are the sans-I/O cores, ``links`` their
I/O loops, ``jetstream`` the server calls. What it runs follows ``[bridge]`` and ``[venue]``:

* ``md_out`` / ``fills_out``: a non-gating reader of the ring publishes it to the stream
  ``HFTSHM_<instance>_<ring>`` (subject ``hftshm.<instance>.<ring>``);
* ``[venue] kind = "bridge"``: md in, from ``[bridge] source``'s md stream into this md ring;
  with ``orders_out`` (a remote strategy host) also orders out, to the work-queue stream
  ``HFTSHM_<instance>_orders``, and fills in, from the source's fills stream;
* ``orders_in`` (the trading host): that remote instance's orders into this orders ring.

An unreachable server at start is a clear error (the supervisor shows it and restarts the
worker); once connected, the client reconnects by itself and the links resynchronise.
"""

from __future__ import annotations

import asyncio
import logging

from hftshm.bridge import jetstream
from hftshm.bridge.links import InLink, OrdersInLink, OrdersOutLink, OutLink
from hftshm.bridge.placeholders import fill_gap, md_gap
from hftshm.ring import BroadcastRing
from hftshm.runtime import rings
from hftshm.runtime.agent import Agent

log = logging.getLogger("hftshm.bridge")

COUNTERS = (
    "connected",  # 1 while connected to the NATS server (a gauge)
    "reconnects",  # connections lost and made again
    "msgs_out",  # messages stored by JetStream (acknowledged, not duplicates)
    "records_out",  # records in them
    "lapped_out",  # source sequences overwritten before the bridge read them (sent as GAP)
    "lag_out",  # records published in the ring and not yet sent (a gauge)
    "resyncs",  # outbound restarts from the stream's last message after a failed publish
    "msgs_in",  # stream messages accepted (md in)
    "records_in",  # records published into the local ring from them
    "lag_in",  # records the stream holds beyond the local ring (a gauge)
    "gaps_filled",  # holes in the source sequence later filled from the stream (a resend)
    "gaps_lost",  # source sequences lost in transport (not in the stream any more): placeholders
    "src_lost",  # source sequences lost at the source (GAP messages): placeholders
    "duplicates",  # records received again and not republished
    "refused_layout",  # messages with a foreign layout fingerprint
    "refused_epoch",  # messages of another source epoch (a restarted source)
    "refused_bad",  # messages that do not decode
    "epoch",  # md in: the source ring epoch followed (a gauge; kept across restarts)
    "src_base",  # md in: source sequence of local position 0 (a gauge)
    "stream_seq",  # md in: the last stream sequence used (a gauge; where a restart resumes)
    "pending_in",  # md in: what the last ring publish was (a restart counts it if a kill -9 left it uncounted)
    # orders (docs/bridge.md, "A remote strategy host")
    "orders_out",  # remote host: orders stored in the work-queue stream (acknowledged, not duplicates)
    "orders_in",  # trading host: orders offered into the local orders ring
    "orders_msgs_in",  # ... the messages acknowledged after that
    "orders_resent",  # ... messages delivered again (a crash before the acknowledgement)
    "orders_refused",  # ... orders of a strategy id not in orders_in_strategies: never offered
    # fills in (a remote strategy host: its strategies' positions), as md in's for the fills ring;
    # a worker has 36 counters: fills in's refusals and duplicates are logged, not counted
    "fills_records_in", "fills_lag_in", "fills_gaps_lost", "fills_src_lost",
    "fills_epoch", "fills_src_base", "fills_stream_seq", "fills_pending_in",
)


class BridgeAgent(Agent):
    role = "bridge"
    counter_names = COUNTERS

    def get(self, name: str) -> int:
        return int(self.counters[self.counter[name]])

    def slots(self, names) -> list:
        """``(counter array, index)`` per name: a link that writes many counters per message
        looks their places up once."""
        return [(self.counters, self.counter[n]) for n in names]

    def on_start(self) -> None:
        ctx = self.ctx
        cfg = ctx.config
        self.bcfg = cfg.bridge
        self.set("connected", 0)
        self.links_out = []
        for name, on in (("md", self.bcfg.md_out), ("fills", self.bcfg.fills_out)):
            if on:
                ring = rings.attach(ctx.instance, name)
                if not isinstance(ring, BroadcastRing):
                    raise ValueError(f"[bridge] {name}_out: ring {name!r} is not a broadcast ring")
                self.links_out.append(OutLink(self, ring, ctx.instance, self.bcfg))
        self.link_in = None
        self.links_in = []
        if cfg.venue.kind == "bridge":
            self.md_ring = rings.attach(ctx.instance, "md")
            self.link_in = InLink(self, self.md_ring, self.bcfg.source, self.bcfg, md_gap)
            self.links_in.append(self.link_in)
        if self.bcfg.orders_out:  # a remote strategy host: orders out, fills in
            self.links_out.append(OrdersOutLink(self, rings.attach(ctx.instance, "orders"), ctx.instance, self.bcfg))
            self.links_in.append(InLink(self, rings.attach(ctx.instance, "fills"), self.bcfg.source, self.bcfg,
                                        fill_gap, prefix="fills_"))
        if self.bcfg.orders_in:
            self.links_in.append(OrdersInLink(self, rings.attach(ctx.instance, "orders"), ctx.instance,
                                              self.bcfg.orders_in, self.bcfg.remote_strategy_ids(), self.bcfg))
        self.nc = None

    def _on_event(self, what: str) -> None:
        if what == "disconnected":
            self.set("connected", 0)
        elif what == "reconnected":
            self.set("connected", 1)
            self.count("reconnects")

    async def run_async(self, stop: asyncio.Event) -> None:
        self.nc = await jetstream.connect(self.bcfg.url, self.bcfg.connect_timeout_s,
                                          f"hftshm-{self.ctx.instance}-bridge", self._on_event)
        self.set("connected", 1)
        # room for every link's outstanding publishes (each OutLink at most max_pending plus one
        # read's messages, 64 and a gap; orders out one batch): publish_async's acquire then
        # never waits, so md out needs no stall timeout (it costs a task per publish)
        b = self.bcfg
        js = self.nc.jetstream(timeout=5.0, publish_async_max_pending=2 * (b.max_pending + 66) + b.batch + 64)
        log.info("bridge %s: connected to %s", self.ctx.name, self.bcfg.url)
        tasks = [asyncio.create_task(link.run(js, stop)) for link in self.links_out]
        tasks += [asyncio.create_task(link.run(js, stop)) for link in self.links_in]
        stopper = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                if t is not stopper and t.exception() is not None:
                    raise t.exception()
        finally:
            for t in [*tasks, stopper]:
                t.cancel()
            await asyncio.gather(*tasks, stopper, return_exceptions=True)
            for link in self.links_in:
                await link.close()
            try:
                await self.nc.drain()
            except Exception:
                pass
            self.set("connected", 0)

    def on_close(self) -> None:
        for link in getattr(self, "links_out", []):
            link.close()
