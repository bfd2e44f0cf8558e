"""Venues, one folder each, and the registry by ``[venue] kind`` that ingest uses.

A venue folder (``binance_spot/``, ``binance_usdm/``) holds the venue's URLs and stream names,
its sans-I/O normalizer (frames -> ``layouts.md`` records) and its book-sync rules. It describes
itself with one ``MarketVenue``; ingest needs nothing else to connect, route streams, normalize
and keep books (docs/venues.md says how to add one). A venue that takes orders also has one
``OrderVenue``: its sans-I/O order protocol (frames, signing, error codes) that the order router
drives, so execution gets the protocol from here, never by importing one venue's module.

``kind`` names: ``binance_spot`` (also ``binance``, for configs written before USD-M),
``binance_usdm``, ``bybit_spot``, ``bybit_linear`` and ``okx`` (Bybit v5 and OKX v5 public
market data: their book snapshots come in band, so they need no snapshot API). Order venues:
``binance_spot``, ``binance_usdm`` and ``bybit_linear`` (``bybit/protocol.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional


def _binance_subscribe(names: list[str]) -> list[bytes]:
    from .binance_spot.urls import subscribe_messages

    return subscribe_messages(names)


@dataclass(frozen=True)
class Connection:
    """One market-data WebSocket: its URL (carrying as many streams as fit), the streams
    left to subscribe once it is open, and how this venue words what the session sends."""

    url: str
    subscribe: list[str]
    streams: list[str]  # every stream this connection carries (for messages naming them)
    # streams -> the messages that subscribe them (Binance: SUBSCRIBE in chunks of 200)
    subscribe_messages: Callable[[list[str]], list[bytes]] = _binance_subscribe
    app_ping: bytes = b""  # an application-level keepalive to send (Bybit's ping op, OKX's "ping")
    app_ping_s: float = 0.0  # ...every this many seconds
    app_ping_idle: bool = False  # ...only after that long without a message (OKX)
    # symbols whose book waits for a snapshot -> messages that get one in band (resubscribe);
    # None: the venue's snapshots come from its API (SnapshotFetcher)
    resync_messages: Optional[Callable[[list[str]], list[bytes]]] = None


@dataclass(frozen=True)
class MarketVenue:
    """What ingest needs to know about a venue's market data."""

    kind: str  # the [venue] kind: "binance_spot"
    title: str  # for messages: "Binance Spot"
    streams: tuple[str, ...]  # stream kinds it serves ("trade", "depth@100ms", ...)
    depth_streams: tuple[str, ...]  # those that are diff depth (need a book and snapshots)
    live_stream_url: str
    live_api_url: str  # WebSocket API: depth snapshots
    testnet_stream_url: str
    testnet_api_url: str
    max_streams: int  # per connection
    normalizer: Callable  # (symbols: {"BTCUSDT": id}) -> a normalizer (normalize, apply_snapshot, ...)
    connections: Callable  # (stream_url, symbols, stream kinds) -> [Connection]
    silent_hint: str  # what to check when a connection opens and nothing arrives
    snapshots_over_api: bool = True  # False: book snapshots come in band (Bybit, OKX)

    def check_streams(self, kinds) -> None:
        """ValueError naming a stream kind this venue does not serve, and what it does."""
        bad = [k for k in kinds if k not in self.streams]
        if bad:
            raise ValueError(f"{self.title} does not serve stream {bad[0]!r}; it serves "
                             f"{', '.join(self.streams)}")


@dataclass(frozen=True)
class OrderVenue:
    """What execution needs to know about a venue's order entry."""

    kind: str  # the [venue] kind: "binance_usdm"
    title: str
    # (signer, symbols, assets, prefix, recv_window_ms, timeout_ms) -> a protocol with the
    # methods and attributes of binance_spot.protocol.Protocol (the router's side of it)
    protocol: Callable
    live_api_url: str  # the WebSocket API orders go to
    testnet_api_url: str
    # user data on a stream of its own: (api_url, listenKey) -> the URL to read it from;
    # None when execution reports come on the WebSocket API connection (Spot's subscribe)
    user_stream_url: Callable | None = None
    # Bybit: reports on an authenticated private stream of its own: api_url -> that stream's URL
    # (the protocol's ``private_frames`` authenticate and subscribe it), and order queries over
    # REST: api_url -> the REST base URL (the protocol's ``HttpRequest``s go there)
    private_stream_url: Callable | None = None
    rest_url: Callable | None = None


ALIASES = {"binance": "binance_spot"}


def _registry() -> dict[str, MarketVenue]:
    from .binance_spot.venue import VENUE as SPOT  # late: the venue modules import hftshm.feed
    from .binance_usdm.venue import VENUE as USDM
    from .bybit.venue import LINEAR as BYBIT_LINEAR, SPOT as BYBIT_SPOT
    from .okx.venue import VENUE as OKX

    return {v.kind: v for v in (SPOT, USDM, BYBIT_SPOT, BYBIT_LINEAR, OKX)}


def _order_registry() -> dict[str, OrderVenue]:
    from .binance_spot.venue import ORDERS as SPOT_ORDERS
    from .binance_usdm.venue import ORDERS as USDM_ORDERS
    from .bybit.venue import LINEAR_ORDERS as BYBIT_LINEAR_ORDERS

    return {v.kind: v for v in (SPOT_ORDERS, USDM_ORDERS, BYBIT_LINEAR_ORDERS)}


def order_venue(kind: str) -> OrderVenue:
    """The order entry of a ``[venue] kind`` (aliases resolved); KeyError naming the known ones."""
    registry = _order_registry()
    venue = registry.get(ALIASES.get(kind, kind))
    if venue is None:
        raise KeyError(f"no order venue {kind!r}; known: {', '.join([*registry, *ALIASES])}")
    return venue


def order_venue_of(cfg) -> OrderVenue:
    """The order venue a runtime config trades on (the simulator: the one ``[sim] venue`` speaks)."""
    kind = cfg.venue.kind
    if kind == "sim":
        kind = getattr(cfg.sim, "venue", "binance_spot")
    return order_venue(kind)


def kinds() -> tuple[str, ...]:
    return tuple(_registry())


def get(kind: str) -> MarketVenue:
    """The venue of a ``[venue] kind`` (aliases resolved); KeyError naming the known ones."""
    registry = _registry()
    venue = registry.get(ALIASES.get(kind, kind))
    if venue is None:
        raise KeyError(f"no market venue {kind!r}; known: {', '.join([*registry, *ALIASES])}")
    return venue


def market_venue_of(cfg) -> MarketVenue:
    """The market venue a runtime config ingests from: ``[venue] kind``, or with the simulator
    (``kind = "sim"``) the one ``[sim] venue`` says it speaks."""
    kind = cfg.venue.kind
    if kind == "sim":
        kind = getattr(cfg.sim, "venue", "binance_spot")
    return get(kind)


__all__ = ["ALIASES", "Connection", "MarketVenue", "OrderVenue", "get", "kinds", "market_venue_of", "order_venue",
           "order_venue_of"]
