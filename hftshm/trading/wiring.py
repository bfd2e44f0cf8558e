"""Build what the execution worker wires together, from its worker context: the rings, the
pre-trade gate over the shared risk state, the protocol with the venue's credentials, the
order router, the protection watch, the session duties around them (``order_session``), the
venue's other links (``order_links``), the strategies it hosts (``hosted_strategies``) and the
feed it hosts (``hosted_feed``); it
also asks for the wake-up time slice. One builder, so
the worker file stays wiring."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

from ..layouts import exec_report as F
from ..layouts import order as O
from ..risk import killswitch
from ..risk import reasons as R
from ..risk.limits import instrument_rows
from ..risk.live_gate import LiveGate
from ..risk.state import RiskState
from ..ring import BroadcastRing, ManyToOneRing
from ..ring import header as RH
from ..runtime.config import risk_limits
from ..runtime.plan import feed_hosted, hosted
from ..venues import clientid, order_venue_of
from . import credentials, instruments
from ..state.store import history, path_for, unfinished
from .area import TradingArea
from .order_links import OrderLinks, links_for
from .order_session import OrderSession
from .rate_backoff import RateBackoff
from .hosted_feed import HostedFeed
from .hosted_strategies import HostedStrategies
from .protection import Protection, ProtectionWatch
from .router import OrderRouter
from . import undo
from ..wait.slice import request_slice

log = logging.getLogger("hftshm.execution")
PARK_TIMEOUT_S = 0.05  # a parked pump re-polls at least this often (a safety net, not the wake-up)
STAGES = ("intent_to_verdict", "verdict_to_sent", "sent_to_ack", "tick_to_trade", "risk_check")


@dataclass
class Execution:
    router: OrderRouter
    published: dict  # published_fills() at start, for router.adopt
    recover: list  # state.store.unfinished(): earlier runs' orders not seen to end, for router.recover
    ring_trades: dict  # this run's fills ring: order id -> {trade id: qty}, for router.recover
    ended: set  # this run's fills ring: order ids with a final report, for router.recover
    reader: object  # the orders ring's gating reader (a HostedStrategies running strategies before each read)
    publisher: object  # the fills ring's publisher
    protection: Protection
    wait_name: str
    spins: int
    slice_us: int
    cancel_on_stop: bool
    instruments: instruments.Refresher  # the venue's rules in the gate, refreshed
    session: OrderSession  # connecting, reconciling, housekeeping, stopping (order_session.py)
    links: OrderLinks  # the venue's report stream, REST queries and pings (order_links.py)
    park_s: float  # the pump's longest park (a hosted strategy's timer shortens it)
    feed: HostedFeed | None  # the ingest it runs ([feed] host = "execution"), else None

    def hosted_feed(self, stop):
        """An async context the hosted feed runs in (``HostedFeed.running``); with none, nothing."""
        return contextlib.nullcontext() if self.feed is None else self.feed.running(stop)

    def close(self) -> None:
        """The hosted feed first (its md publisher), then the orders reader, the fills publisher."""
        if self.feed is not None:
            self.feed.close()
        self.reader.close()
        self.publisher.close()


def published_fills(fills: BroadcastRing) -> dict:
    """Order id -> the highest cumulative filled quantity of its trade reports still in the
    fills ring (what a dead execution process published)."""
    return ring_reports(fills)[0]


def ring_reports(fills: BroadcastRing) -> tuple[dict, dict, set]:
    """What the fills ring holds (a dead execution process published): order id -> highest
    cumulative filled quantity of its trade reports; order id -> {venue trade id: quantity};
    the order ids with a final report."""
    reader = fills.reader(None, start="oldest")
    try:
        recs = reader.read_batch(1 << 30, copy=True)
    finally:
        reader.close()
    cum: dict = {}
    trades: dict = {}
    for r in recs[recs["exec_type"] == F.EX_TRADE]:
        oid = int(r["order_id"])
        cum[oid] = max(cum.get(oid, 0), int(r["cum_qty_e8"]))
        if int(r["trade_id"]):
            trades.setdefault(oid, {})[int(r["trade_id"])] = int(r["last_qty_e8"])
    ended = {int(r["order_id"]) for r in recs if int(r["state"]) in F.TERMINAL_STATES}
    return cum, trades, ended


def execution_router(ctx, count, gauge, wake) -> Execution:
    cfg, control = ctx.config, ctx.control
    symbols = [s.upper() for s in cfg.venue.symbols]
    buf = control.risk_buffer()
    risk, area = RiskState.attach(buf), TradingArea(buf)
    gate = LiveGate(risk, risk_limits(cfg.risk, [s.lower() for s in symbols]), control.words,
                    control.trading_word_index())
    orders = ManyToOneRing.attach(ctx.instance, "orders", O.LAYOUT)
    fills = BroadcastRing.attach(ctx.instance, "fills", F.LAYOUT)
    reader = orders.reader("execution", gating=True, start="oldest", wait=wake)
    publisher = fills.publisher()
    ex = cfg.execution  # a resolved config: typed, defaults filled (runtime.config.ExecutionConfig)
    watch = ProtectionWatch(control, cfg.risk.protection_timeout_ms * 1_000_000, bool(cfg.journal.enabled))
    signer = credentials.load(cfg.venue.kind, ex.key_file)
    try:  # the venue's rules, fetched at start (trading.instruments): without them, no trading
        rules = instruments.load(cfg)
    except instruments.I.InstrumentError:
        killswitch.trip(control, R.NO_INSTRUMENT_RULES)
        raise
    instrument_rows(gate.sym_limits, rules)
    refresher = instruments.Refresher(cfg, lambda new: instrument_rows(gate.sym_limits, new),
                                      cfg.venue.instruments_refresh_s)
    assets = [(r.base, r.quote) for r in rules]
    proto = order_venue_of(cfg).protocol(signer, symbols, assets, clientid.tag(area.run_tag), ex.recv_window_ms,
                                         ex.timeout_ms)
    lat = {name: ctx.latency.recorder(name, add=True) for name in STAGES}
    backoff = RateBackoff(ex.backoff_ms, ex.backoff_max_ms, ex.rate_limit_halt_after)
    # a report an earlier execution was applying when it died: kept if the fills ring has it,
    # else undone (before the router reads the slots: undo.py)
    found = undo.recover(area, risk, fills.published())
    if found is not None:
        log.warning("an earlier execution died applying a report of order %#x: %s", found[1],
                    "it was published, kept" if found[0] == "kept" else
                    "not published, undone (the venue is asked again; it is applied once)")
    router = OrderRouter(risk, area, gate, proto, publisher.publish, count, lat,
                         lambda cause: killswitch.trip(control, cause).written,
                         ex.max_order_age_ms * 1_000_000, backoff, cursor=(fills.hdr, RH.W_CURSOR))
    found = router.funding.recover(risk.symbols)  # a funding payment it was applying (funding_record.py)
    if found is not None:
        log.warning("an earlier execution died applying the funding of symbol %d at %d ms: %s", found[1], found[2],
                    "it was complete, kept" if found[0] == "kept" else "undone (the venue is asked again)")
    if router.funding_by_time:  # Bybit: its funding query starts where the applied funding ends (the run's start)
        proto.funding_from_ms = router.funding.from_ms or area.run_tag
    cum, trades, ended = ring_reports(fills)
    recover = unfinished(path_for(cfg), area.run_tag)  # earlier runs (a whole-instance restart)
    hist = history(path_for(cfg), area.run_tag)
    fills_known = {oid: {**hist.orphans.get(oid, {}), **trades.get(oid, {})} for oid in {*hist.orphans, *trades}}
    proto.set_history(hist.after, hist.since_ms, hist.stored, fills_known, ended)
    protection = Protection(control, watch, count, gauge)
    venue = order_venue_of(cfg)
    session = OrderSession(router, protection, control, count, gauge, ex.cancel_on_stop,
                           venue.user_stream_url is not None)
    links = links_for(venue, session, proto, cfg.venue.api_url)
    if ex.slice_us:
        request_slice(ex.slice_us)  # an order's wake-up preempts a busy core (wait/slice.py)
    park_s = PARK_TIMEOUT_S
    if hosted(cfg):  # [[strategies]] host = "execution": built after the router, as their workers start after it
        reader = HostedStrategies(ctx, reader, wake, park_s, local_md=feed_hosted(cfg))
        park_s = reader.park_s
    # the feed last: its md publisher starts after every hosted reader exists, as ingest starts last
    try:  # the pump's nudge only where something in this process waits for md
        feed = HostedFeed(ctx, wake if hosted(cfg) else None) if feed_hosted(cfg) else None
    except BaseException:
        reader.close()
        publisher.close()
        raise
    return Execution(router, cum, recover, trades, ended, reader, publisher, protection,
                     cfg.worker(ctx.name).wait, ex.spins, ex.slice_us, ex.cancel_on_stop, refresher, session, links,
                     park_s, feed)
