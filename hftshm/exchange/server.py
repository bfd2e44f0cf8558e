"""The I/O layer: one websockets server, one port, every endpoint of the simulator.

Paths (web-socket-streams.md "General WSS information", web-socket-api.md):

* ``/ws/<stream>[/<stream>..]`` and ``/ws``: raw streams, payloads unwrapped
* ``/stream?streams=<a>/<b>`` and ``/stream``: combined streams, ``{"stream", "data"}``
* ``/ws-api/v3[?returnRateLimits=false]``: the WebSocket API
* ``/v5/public/spot``, ``/v5/public/linear`` (Bybit v5) and ``/ws/v5/public`` (OKX v5): public
  market data, synthetic (``inband.py``)
* ``/v5/trade``, ``/v5/private`` and ``GET /v5/order/realtime``, ``/v5/order/history``: Bybit v5
  linear orders on a book of their own (``bybit_trade.py``)
* ``GET /api/v3/exchangeInfo`` (``/fapi/v1/exchangeInfo`` when it speaks USD-M): the REST
  exchangeInfo answer, plain HTTP, from which hftshm takes its instrument rules

Speaking USD-M (``ExchangeConfig.venue = "binance_usdm"``: the synthetic market in USD-M's shape,
``usdm_streams.py``) or replaying a Binance USD-M capture, the paths are USD-M's (Binance
derivatives docs, USDⓈ-M Futures, "Websocket Market Streams"): ``/public/ws..``,
``/public/stream..`` for bookTicker, depth and trade, ``/market/ws..``, ``/market/stream..`` for
aggTrade, markPrice and forceOrder, and ``/ws-fapi/v1`` for the WebSocket API (``depth``
answers the futures snapshot). As on
the venue, a connection with no routed path (``/ws``, ``/stream``) gets the /public streams only,
and a stream asked for on the wrong path is accepted and never delivered: no error, silence.

Market data is written as ready frames straight to each connection's transport (``wsframe.py``),
one ``write`` per connection per flush; everything else here is plumbing between the sans-I/O
parts: ``Venue`` (books, orders), ``stream_control`` (SUBSCRIBE..), ``wsapi`` (requests), ``streams``
(payloads), ``replay`` (captures) and ``faults``.

Limits, as web-socket-streams.md "Websocket Limits" states them: a market-stream connection that
sends more than 5 messages (text, ping or pong frames) in a second is closed with 1008 "Too many
requests"; a connection holds at most 1024 streams (more in the URL: HTTP 400; by SUBSCRIBE: an
error answer). The server pings every ``ping_interval`` seconds and drops a connection whose
pong does not come within ``ping_timeout``. A connection with more than ``max_buffer`` unsent
bytes is aborted (it cannot keep up).
"""

from __future__ import annotations

import asyncio
import dataclasses
import http
import logging
import time
from collections import defaultdict
from urllib.parse import parse_qs, urlsplit

import orjson

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

from ..venues.binance_usdm.urls import PATH_OF
from . import inband, stream_control
from .bybit_trade import PRIVATE_PATH as BYBIT_PRIVATE_PATH, REST_PATHS as BYBIT_REST_PATHS, TRADE_PATH as BYBIT_TRADE_PATH
from ..feed.e8 import format_e8
from .config import ExchangeConfig
from .depth import DepthDiff
from .connection import ApiPeer, Connection, MarketPeer, Peer, Stats
from .futures import FuturesEvents, user_frames
from .playback import Applied, play
from .ratelimit import RateLimits
from .loaded_capture import Capture
from .streams import KINDS, USDM_KINDS, Renderer, parse_stream
from .usdm_streams import FuturesFeed, StreamMessage, UsdmRenderer
from .venue import MarketRows, UserEvents, Venue, warm_up
from .wsapi import ApiSession, WsApi, event_frame_payloads
from .wsframe import envelope_prefix, text_frame

log = logging.getLogger("hftshm.exchange")
API_PATH = "/ws-api/v3"
USDM_API_PATH = "/ws-fapi/v1"
EXCHANGE_INFO_PATHS = ("/api/v3/exchangeInfo", "/fapi/v1/exchangeInfo")  # REST, plain HTTP GET
WRITE_LIMIT = 1 << 20  # transport high-water mark; past it frames wait in the peer's backlog


def replay_ticks(cfg: ExchangeConfig, capture: Capture) -> tuple[tuple[str, str], ...]:
    """(symbol, tick) for each replayed symbol whose recorded prices are finer than its tick in
    the simulator's table (a symbol it does not know gets 0.01): the finest price step recorded,
    so that exchangeInfo, the strategies' rounding and the matching use a tick the book's own
    prices are on. A tick set in ``cfg.ticks`` wins."""
    given = {s.lower() for s, _ in cfg.ticks}
    out = []
    for s, spec in cfg.specs.items():
        places = None if s in given else capture.price_decimals(s)
        if places is not None and 10 ** (8 - places) < spec.tick_e8:
            out.append((s, f"{10.0 ** -places:.{places}f}"))
    return tuple(out)


def replay_balances(cfg: ExchangeConfig) -> tuple[tuple[str, str], ...]:
    """A balance for each replayed symbol's base and quote asset the account lacks (the default
    account holds USDT, BTC and ETH): ten times the symbol's maxQty of the base, 100,000 of the
    quote, so that a strategy can sell before it has bought, as on BTCUSDT."""
    have = {a for a, _ in cfg.balances}
    out: dict[str, str] = {}
    for spec in cfg.specs.values():
        if spec.base not in have:
            out.setdefault(spec.base, format_e8(10 * spec.max_qty_e8))
        if spec.quote not in have:
            out.setdefault(spec.quote, "100000")
    return tuple(out.items())


class ExchangeSimulator:
    """``async with ExchangeSimulator(cfg) as sim: sim.port``; ``sim.venue`` is the in-process
    view of books, orders, balances and ``sim.venue.engine.executions``."""

    def __init__(self, cfg: ExchangeConfig):
        self.capture = Capture.load(cfg.replay) if cfg.replay is not None else None
        if self.capture is not None:
            cfg = dataclasses.replace(cfg, symbols=tuple(self.capture.symbols))
            cfg = dataclasses.replace(cfg, ticks=cfg.ticks + replay_ticks(cfg, self.capture))
            cfg = dataclasses.replace(cfg, balances=cfg.balances + replay_balances(cfg))
        self.cfg = cfg
        self.venue = Venue(cfg, self.capture.snapshots if self.capture else None)
        self.applied = None  # replay with orders: the frames the venue has applied (playback.Applied)
        if cfg.replay_orders:
            from .config import fee_e8
            from .replay_trading import ReplayEngine
            from .venue import UserEvents

            v = self.venue
            v.engine = ReplayEngine(v.markets, v.account, fee_e8(cfg.maker_fee), fee_e8(cfg.taker_fee), cfg.specs,
                                    self.capture)
            v.engine.sink = lambda events: v.outbox.append(UserEvents(events))
        self.limits = RateLimits(cfg.limits)
        # USD-M orders on the synthetic market (futures.py); a replayed USD-M capture takes none
        self.futures = None
        if cfg.venue == "binance_usdm" and self.capture is None:
            from .futures import FuturesApi

            self.futures = FuturesApi(self.venue, cfg, self.limits)
        self.api = self.futures or WsApi(self.venue, cfg, self.limits)
        self._users: set = set()  # /ws/<listenKey> connections (futures user data)
        self.usdm = (self.capture.venue if self.capture is not None else cfg.venue) == "binance_usdm"
        renderer = UsdmRenderer if self.usdm else Renderer
        self.renderers = {s: renderer(spec) for s, spec in cfg.specs.items()}
        # the synthetic USD-M market's mark price and liquidation streams
        self.futures_feed = None if self.futures is None else FuturesFeed(cfg, self.venue.markets, self.renderers)
        # --- Bybit v5 linear orders (bybit_trade.py): /v5/trade, /v5/private, /v5/order/* ---
        from .bybit_trade import BybitTrade, BybitTradeServer
        from .config import fee_e8 as _fee_e8

        self.bybit = BybitTradeServer(BybitTrade(cfg.symbols, cfg.api_key, cfg.api_secret, _fee_e8(cfg.maker_fee),
                                                 _fee_e8(cfg.taker_fee), cfg.levels, cfg.seed,
                                                 cfg.funding_interval_s, cfg.funding_rate))  # funding as USD-M's
        # --- end Bybit ---
        self.prefixes: dict[str, bytes] = {}
        self.stats = Stats()
        self._markets: set[MarketPeer] = set()
        self._apis: set[ApiPeer] = set()
        self._server = None
        self._pump_task: asyncio.Task | None = None
        self._valid = self.capture.streams if self.capture else None
        self.failed = asyncio.Event()

    # ----- lifecycle

    async def start(self) -> ExchangeSimulator:
        warm_up()  # before the first client: compiling later would stall the stream
        self._server = await serve(
            self._handler, self.cfg.host, self.cfg.port,
            process_request=self._route, create_connection=Connection, compression=None,
            ping_interval=self.cfg.ping_interval, ping_timeout=self.cfg.ping_timeout,
            max_size=1 << 20, write_limit=WRITE_LIMIT,
        )
        if self.capture is None:
            self._pump_task = asyncio.create_task(self._pump())
        return self

    async def stop(self) -> None:
        if self._pump_task is not None:
            self._pump_task.cancel()
            await asyncio.gather(self._pump_task, return_exceptions=True)
        for peer in list(self._markets) + list(self._apis):
            peer.stop()
        await self.bybit.stop()  # Bybit v5 orders: its market ticks
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def __aenter__(self) -> ExchangeSimulator:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._server.sockets[0].getsockname()[1]

    def url(self, path: str = "") -> str:
        return f"ws://{self.cfg.host}:{self.port}{path}"

    @property
    def open_connections(self) -> int:
        return len(self._markets) + len(self._apis)

    # ----- handshake routing

    def check_stream(self, name: str) -> None:
        """ValueError naming the problem unless this server serves stream ``name``."""
        symbol, _ = parse_stream(name, USDM_KINDS if self.usdm else KINDS)
        if self._valid is not None:
            if name not in self._valid:
                raise ValueError(f"stream {name!r} is not in the replayed capture")
        elif symbol not in self.cfg.specs:
            raise ValueError(f"stream {name!r}: unknown symbol {symbol!r}, this server has "
                             f"{', '.join(self.cfg.specs)}")

    def _route(self, conn: Connection, request):
        url = urlsplit(request.path)
        path = url.path.rstrip("/") or "/"
        query = parse_qs(url.query)
        route = None
        if path in EXCHANGE_INFO_PATHS and request.headers.get("Upgrade") is None:
            return self._exchange_info_http(conn, path)
        if path in (BYBIT_TRADE_PATH, BYBIT_PRIVATE_PATH):  # Bybit v5 orders (bybit_trade.py)
            conn.route = ("bybit", path)
            return None
        if path in BYBIT_REST_PATHS and request.headers.get("Upgrade") is None:
            resp = conn.respond(http.HTTPStatus.OK, "")
            resp.body = self.bybit.rest_body(path, url.query, request.headers)
            resp.headers["Content-Type"] = "application/json"
            del resp.headers["Content-Length"]
            resp.headers["Content-Length"] = str(len(resp.body))
            return resp
        if path in inband.BYBIT_PATHS or path == inband.OKX_PATH:  # Bybit v5, OKX v5 (inband.py)
            try:
                tweaks = inband.options_from_query(query)
            except ValueError as exc:
                return conn.respond(http.HTTPStatus.BAD_REQUEST, f"{exc}\n")
            conn.route = ("inband", inband.BYBIT_PATHS.get(path, "okx"), tweaks)
            return None
        if self.usdm:
            route, path = _usdm_route(path)
        if self.futures is not None and path.startswith("/ws/") and path[4:] in self.futures.listen_keys:
            conn.route = ("user", path[4:])
            return None
        if path == (USDM_API_PATH if self.usdm or self.futures is not None else API_PATH):
            flag = query.get("returnRateLimits", ["true"])[-1].lower()
            conn.route = ("api", flag != "false")
            return None
        if path == "/stream":
            combined = True
            names = [n for n in query.get("streams", [""])[-1].split("/") if n]
        elif path == "/ws" or path.startswith("/ws/"):
            combined = False
            names = [n for n in path[len("/ws/"):].split("/") if n]
        else:
            api = USDM_API_PATH if self.usdm else API_PATH
            return conn.respond(http.HTTPStatus.NOT_FOUND,
                                f"unknown path {url.path!r}: use /ws/<stream>, /stream?streams=<a>/<b> "
                                f"or {api}\n")
        if len(set(names)) > self.cfg.limits.streams_per_connection:
            return conn.respond(http.HTTPStatus.BAD_REQUEST,
                                f"{len(set(names))} streams: a connection can listen to at most "
                                f"{self.cfg.limits.streams_per_connection}\n")
        for name in names:
            try:
                self.check_stream(name)
            except ValueError as exc:
                return conn.respond(http.HTTPStatus.BAD_REQUEST, f"{exc}\n")
        if self.usdm:  # the venue accepts streams of another path on this one and sends nothing
            names = [n for n in names if PATH_OF.get(n.partition("@")[2]) == route]
        conn.route = ("market", combined, names)
        conn.incoming_limit = self.cfg.limits.incoming_per_s
        return None

    def _exchange_info_http(self, conn: Connection, path: str):
        """REST ``GET /api/v3/exchangeInfo`` (Spot) or ``GET /fapi/v1/exchangeInfo`` (USD-M),
        whichever venue this simulator speaks; the other path gets 404 naming the right one."""
        want = EXCHANGE_INFO_PATHS[1] if self.usdm else EXCHANGE_INFO_PATHS[0]
        if path != want:
            return conn.respond(http.HTTPStatus.NOT_FOUND, f"this simulator speaks "
                                f"{'USD-M' if self.usdm else 'Spot'}: exchangeInfo is at {want}\n")
        now_ms = time.time_ns() // 1_000_000
        body = (self.venue.usdm_exchange_info(now_ms) if self.usdm else
                self.venue.exchange_info(None, self.limits.exchange_info(), now_ms))
        resp = conn.respond(http.HTTPStatus.OK, "")
        resp.body = orjson.dumps(body)
        resp.headers["Content-Type"] = "application/json"
        del resp.headers["Content-Length"]
        resp.headers["Content-Length"] = str(len(resp.body))
        return resp

    async def _handler(self, conn: Connection) -> None:
        self.stats.connections += 1
        if conn.route[0] == "inband":
            cfg = self.cfg
            opts = inband.InbandOptions(rate=cfg.rate, levels=cfg.levels, seed=cfg.seed,
                                        gap_every=cfg.faults.gap_every, count=cfg.count or 0)
            opts = dataclasses.replace(opts, **conn.route[2])
            # Bybit linear shows the book its orders match against (bybit_trade.py)
            shared = self.bybit.venue.markets if conn.route[1] == "bybit_linear" else None
            await inband.serve(conn, conn.route[1], opts, [s.upper() for s in cfg.specs], self.stats, shared)
        elif conn.route[0] == "bybit":  # Bybit v5 orders (bybit_trade.py)
            serve = self.bybit.serve_trade if conn.route[1] == BYBIT_TRADE_PATH else self.bybit.serve_private
            await serve(conn)
        elif conn.route[0] == "api":
            await self._serve_api(conn, conn.route[1])
        elif conn.route[0] == "user":
            await self._serve_user(conn)
        else:
            await self._serve_market(conn, conn.route[1], conn.route[2])

    # ----- market streams

    async def _serve_market(self, conn, combined: bool, names: list[str]) -> None:
        peer = MarketPeer(conn, self.stats, self.cfg, combined, names)
        self._markets.add(peer)
        self._update_wanted()
        self.venue.start(time.time_ns())
        peer.start_faults(self.cfg.faults)
        self._maybe_play(peer)
        try:
            async for message in conn:
                try:
                    resp = stream_control.handle(message, peer.session, self.check_stream,
                                          self.cfg.limits.streams_per_connection)
                except Exception:  # a bug, not bad input: answer and keep serving
                    log.exception("control message failed")
                    resp = {"error": {"code": 2, "msg": "Invalid request: internal error"}, "id": None}
                peer.send_json(resp)
                self._update_wanted()
                self._maybe_play(peer)
        except ConnectionClosed:
            pass
        finally:
            peer.stop()
            self._markets.discard(peer)
            self._update_wanted()

    def _update_wanted(self) -> None:
        wanted = set()
        for peer in self._markets:
            wanted.update(peer.session.streams)
        self.venue.wanted = wanted

    async def _pump(self) -> None:
        """Advance the synthetic markets and flush what they published, every ``tick_s``.
        Should it ever fail, ``failed`` is set (``run`` then exits non-zero) rather than the
        server going on with frozen markets."""
        faults = self.cfg.faults
        next_burst = None
        try:
            while True:
                now = time.time_ns()
                if self.venue.started:
                    self.venue.advance(now)
                    if faults.burst_every_s:
                        if next_burst is None:
                            next_burst = now + int(faults.burst_every_s * 1e9)
                        elif now >= next_burst:
                            self.venue.burst(now, faults.burst_size)
                            next_burst = now + int(faults.burst_every_s * 1e9)
                if self.futures is not None:
                    self.futures.tick(now)
                    self.futures.absorb()
                    if self.venue.started:
                        for msg in self.futures_feed.tick(now):
                            self.venue.publish_message(msg)
                self.publish(self.venue.drain())
                await asyncio.sleep(self.cfg.tick_s)
        except Exception:
            log.exception("the market pump failed")
            self.failed.set()

    def publish(self, items: list) -> None:
        """Render what the venue published and write it, one ``write`` per connection."""
        if not items:
            return
        out: dict[Peer, list[bytes]] = defaultdict(list)
        for item in items:
            if isinstance(item, MarketRows):
                renderer = self.renderers[item.symbol]
                kinds = frozenset(k for k, name in renderer.stream_of_kind.items()
                                  if name in self.venue.wanted)
                if kinds:
                    names = {renderer.stream_of_kind[k] for k in kinds}
                    self._fan_out(names, lambda combined: renderer.rows(item.rows, kinds, combined), out)
            elif isinstance(item, DepthDiff):
                stream = f"{item.symbol}@{item.stream}"
                if stream in self.venue.wanted:
                    payload = self.renderers[item.symbol].depth(item)
                    self._fan_out({stream}, lambda combined: (
                        [stream], [self._wrap(stream, payload) if combined else payload]), out)
            elif isinstance(item, StreamMessage):
                if item.stream in self.venue.wanted:
                    self._fan_out({item.stream}, lambda combined, m=item: (
                        [m.stream], [self._wrap(m.stream, m.payload) if combined else m.payload]), out)
            elif isinstance(item, FuturesEvents):
                for peer in self._users:
                    out[peer].extend(text_frame(p) for p in user_frames(item.events))
            elif isinstance(item, UserEvents):
                for peer in self._apis:
                    if peer.session.subscriptions:
                        payloads = event_frame_payloads(peer.session, item.events)
                        out[peer].extend(text_frame(p) for p in payloads)
        for peer, frames in out.items():
            peer.write(frames)

    def _wrap(self, stream: str, payload: bytes) -> bytes:
        prefix = self.prefixes.get(stream)
        if prefix is None:
            prefix = self.prefixes[stream] = envelope_prefix(stream)
        return prefix + payload + b"}"

    def _fan_out(self, names: set[str], render, out) -> None:
        """Give each market connection the frames of its streams among ``names``;
        ``render(combined)`` makes (streams, payloads) in one variant, at most once each."""
        variants: dict[bool, tuple] = {}
        for peer in self._markets:
            wanted = peer.session.streams
            if names.isdisjoint(wanted):
                continue
            combined = peer.session.combined
            variant = variants.get(combined)
            if variant is None:
                streams, payloads = render(combined)
                if not variants:  # each message counts once, whichever variants are made
                    self.stats.messages += len(payloads)
                frames = [text_frame(p) for p in payloads]
                variant = variants[combined] = (streams, payloads, set(streams), frames)
            streams, payloads, present, frames = variant
            if present.isdisjoint(wanted):
                continue
            if present.issubset(wanted):
                idx = None
                chosen = frames
            else:
                idx = [i for i, s in enumerate(streams) if s in wanted]
                chosen = [frames[i] for i in idx]
            if peer.malformer is not None:
                bodies = payloads if idx is None else [payloads[i] for i in idx]
                chosen = peer.malformer.apply(bodies, chosen)
            out[peer].extend(chosen)

    # ----- replay

    def _maybe_play(self, peer: MarketPeer) -> None:
        if self.capture is not None and not peer.playing and peer.session.streams:
            peer.playing = True
            if self.cfg.replay_orders:
                self._start_replay()
                peer.tasks.append(asyncio.create_task(play(
                    peer, self.capture, self.cfg.speed, self.cfg.count, self.cfg.faults.gap_every, self.stats,
                    applied=self.applied)))
                return
            peer.tasks.append(asyncio.create_task(play(
                peer, self.capture, self.cfg.speed, self.cfg.count, self.cfg.faults.gap_every, self.stats)))

    def _start_replay(self) -> None:
        """Replay with orders: the one schedule starts with the first playing connection."""
        if self.applied is not None:
            return
        from .replay_trading import schedule

        engine = self.venue.engine
        self.applied = Applied(self.capture, engine.applied_ms)
        engine.on_applied = self.applied.notify
        engine.start(schedule(self.capture, time.time_ns() + 100_000_000, self.cfg.speed))  # (100 ms to settle)
        self._pump_task = asyncio.create_task(self._replay_pump())

    async def _replay_pump(self) -> None:
        """Apply each frame to the recorded book when it is due (the connections then send it,
        stamped with that moment), and send the fills of resting orders it causes (orders
        arriving in between catch the book up themselves)."""
        engine = self.venue.engine
        try:
            while not engine.done:
                engine.advance(time.time_ns())
                self.publish(self.venue.drain())
                nxt = engine.next_due()
                if nxt is not None:
                    await asyncio.sleep(max(nxt - time.time_ns(), 0) / 1e9)
        except Exception:
            log.exception("the replay pump failed")
            self.failed.set()

    # ----- futures user data

    async def _serve_user(self, conn) -> None:
        """A ``/ws/<listenKey>`` connection: futures user-data events, nothing read."""
        peer = Peer(conn, self.stats, self.cfg.max_buffer)
        self._users.add(peer)
        try:
            async for _ in conn:
                pass
        except ConnectionClosed:
            pass
        finally:
            peer.stop()
            self._users.discard(peer)

    # ----- WebSocket API

    async def _serve_api(self, conn, return_rate_limits: bool) -> None:
        now = time.time_ns()
        peer = ApiPeer(conn, self.stats, self.cfg, ApiSession(now // 1_000_000, return_rate_limits))
        self._apis.add(peer)
        self.limits.connect(now // 1_000_000)
        self.venue.start(now)
        peer.start_faults(self.cfg.faults)
        try:
            async for message in conn:
                resp = self.api.handle(message, peer.session, time.time_ns())
                peer.send_json(resp)
                if self.futures is not None:
                    self.futures.absorb()  # every fill reaches the ledger before it is published
                self.publish(self.venue.drain())
        except ConnectionClosed:
            pass
        finally:
            peer.stop()
            self._apis.discard(peer)


def _usdm_route(path: str) -> tuple[str, str]:
    """(routed path, the rest): ``/market/stream`` -> ("/market", "/stream"); no routed path is
    /public's, as on the venue."""
    for route in ("/public", "/market"):
        if path == route or path.startswith(route + "/"):
            return route, path[len(route):] or "/"
    return "/public", path
