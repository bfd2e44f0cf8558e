"""``hftshm start`` configuration: TOML (stdlib tomllib) over built-in defaults.

Every section and key is documented in docs/operations.md (config reference). Unknown keys and
bad values are errors that name the key, so a typo never silently falls back to a default.
The resolved config travels to worker processes as JSON (``HFTSHM_CONFIG``); secrets are never
part of it (execution reads them from the environment or a 0600 file).
"""

from __future__ import annotations

import dataclasses
import json
import os
import struct
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from .. import config_schema as S
from ..errors import ConfigError, HftshmError  # ConfigError: also hftshm.runtime.config.ConfigError
from ..risk.limits import Limits, LimitsError


# Defaults, types and ranges of every key: hftshm/config_schema.py (the dataclasses take their
# defaults from there; ``validate`` checks every field against it).


@dataclass
class RingConfig:
    capacity: int
    policy: str = S.RING["policy"].field()


def _default_rings():
    return {
        # market data: overwrite, so a slow journal or strategy raises an alarm rather than
        # stalling ingestion; 2^20 records is ~100 s of slack at 10k msgs/s
        "md": RingConfig(1 << 20, "overwrite"),
        "orders": RingConfig(1 << 14, "wait"),  # many-to-one: strategies -> execution
        "fills": RingConfig(1 << 14, "wait"),  # execution reports -> strategies, risk, journal
    }


@dataclass
class VenueConfig:
    kind: str = S.VENUE["kind"].field()  # "sim": start the built-in simulator; "binance" (=
    # "binance_spot") or "binance_usdm": that venue (hftshm.venues), real URLs below; "replay":
    # publish the md journal ``replay`` into the md ring instead of ingesting
    replay: str = S.VENUE["replay"].field()
    speed: str = S.VENUE["speed"].field()  # replay pace: 1 as recorded, 10 ten times faster, max at once
    stream_url: str = S.VENUE["stream_url"].field()  # e.g. wss://stream.binance.com:9443 (empty: the simulator's)
    api_url: str = S.VENUE["api_url"].field()  # e.g. wss://ws-api.binance.com:443/ws-api/v3
    symbols: list = S.VENUE["symbols"].field()
    streams: list = S.VENUE["streams"].field()
    rest_url: str = S.VENUE["rest_url"].field()  # exchangeInfo (instrument rules); empty: the venue's or the simulator's
    instruments_refresh_s: float = S.VENUE["instruments_refresh_s"].field()


@dataclass
class SimConfig:
    rate: float = S.SIM["rate"].field()  # market messages/s over all symbols
    levels: int = S.SIM["levels"].field()
    seed: int = S.SIM["seed"].field()
    replay: str = S.SIM["replay"].field()  # a capture to play instead of the synthetic market
    speed: str = S.SIM["speed"].field()  # replay pace: 1, 10, ..., or max
    port: int = S.SIM["port"].field()  # 0: a free port
    replay_orders: bool = S.SIM["replay_orders"].field()  # replay: orders match against the recorded book
    venue: str = S.SIM["venue"].field()  # the market venue it speaks: "binance_spot" or "binance_usdm"
    ticks: str = S.SIM["ticks"].field()  # "btcusdt=0.1,...": tick sizes replacing the simulator's own
    funding_interval_s: float = S.SIM["funding_interval_s"].field()  # USD-M: seconds between funding times
    liquidations_per_s: float = S.SIM["liquidations_per_s"].field()  # USD-M: forceOrder events a second per symbol


@dataclass
class FeedConfig:
    ping_interval_s: float = S.FEED["ping_interval_s"].field()
    ping_timeout_s: float = S.FEED["ping_timeout_s"].field()
    stale_after_s: float = S.FEED["stale_after_s"].field()  # no message for this long: reconnect
    reconnect_min_s: float = S.FEED["reconnect_min_s"].field()
    reconnect_max_s: float = S.FEED["reconnect_max_s"].field()
    max_connection_age_s: float = S.FEED["max_connection_age_s"].field()  # Binance closes connections at 24 h
    max_outgoing_per_s: float = S.FEED["max_outgoing_per_s"].field()  # Binance's limit per connection
    host: str = S.FEED["host"].field()  # "execution": execution runs the feed (plan.feed_hosted)


@dataclass
class JournalConfig:
    enabled: bool = S.JOURNAL["enabled"].field()
    rotate_mb: float = S.JOURNAL["rotate_mb"].field()
    lag_alarm: float = S.JOURNAL["lag_alarm"].field()  # alarm when a ring's lag passes this fraction of its capacity
    flush_ms: float = S.JOURNAL["flush_ms"].field()
    fsync: bool = S.JOURNAL["fsync"].field()
    halt_on_md_failure: bool = S.JOURNAL["halt_on_md_failure"].field()  # false: md write failures only alarm


# --- [bridge] (hftshm.bridge, docs/bridge.md) -------------------------------------------------
@dataclass
class BridgeConfig:
    url: str = S.BRIDGE["url"].field()  # the NATS server (JetStream enabled)
    md_out: bool = S.BRIDGE["md_out"].field()  # publish this instance's md ring to JetStream
    fills_out: bool = S.BRIDGE["fills_out"].field()  # publish this instance's fills ring to JetStream
    source: str = S.BRIDGE["source"].field()  # [venue] kind "bridge": the instance whose md stream this one takes
    storage: str = S.BRIDGE["storage"].field()  # streams this bridge creates: "file" or "memory"
    batch: int = S.BRIDGE["batch"].field()  # records per message at most (64 md records = 8 KiB)
    max_msgs: int = S.BRIDGE["max_msgs"].field()  # a stream keeps at most this many messages (oldest go first)
    max_age_s: float = S.BRIDGE["max_age_s"].field()  # ... and none older than this
    duplicate_window_s: float = S.BRIDGE["duplicate_window_s"].field()  # JetStream drops a repeated message id within this window
    start: str = S.BRIDGE["start"].field()  # md in, fresh receiver: "first" message the stream holds or "last"
    connect_timeout_s: float = S.BRIDGE["connect_timeout_s"].field()  # the server must answer at start within this
    max_pending: int = S.BRIDGE["max_pending"].field()  # publishes awaiting their acknowledgement at most
    orders_out: bool = S.BRIDGE["orders_out"].field()  # [venue] kind "bridge": strategies' orders go to the trading host
    orders_in: str = S.BRIDGE["orders_in"].field()  # the remote instance whose orders this one executes
    orders_in_strategies: str = S.BRIDGE["orders_in_strategies"].field()  # the strategy ids it may use: "8,9"

    def remote_strategy_ids(self) -> list[int]:
        return [int(x) for x in self.orders_in_strategies.split(",") if x]


# --- end [bridge] ---------------------------------------------------------------------------------


# --- [metrics] (hftshm.metrics, docs/operations.md "Metrics") ----------------------------------
@dataclass
class MetricsConfig:
    port: int = S.METRICS["port"].field()  # 0: no exporter; else the supervisor serves /metrics on it
    addr: str = S.METRICS["addr"].field()  # where it listens (loopback by default: it shows positions)


# --- end [metrics] -------------------------------------------------------------------------------


@dataclass
class WorkerConfig:
    wait: str = S.WORKER["wait"].field()
    cpu: int | None = S.WORKER["cpu"].field()
    restart: bool = S.WORKER["restart"].field()
    # backoff's longest nap (periodic's period), us: the worst extra latency when idle vs the CPU
    # its wake-ups cost; 0 = the role's default (runtime/roles.py)
    max_nap_us: float = S.WORKER["max_nap_us"].field()


# --- trading tables: [risk], [execution], [[strategies]] ---------------------------------------
# Typed like the sections above, defaults from config_schema. They also read as the dicts they
# replaced (``risk["max_order_qty"]``, ``execution.get("timeout_ms")``, ``dict(risk)``): callers
# not yet moved to attributes keep working.


class Table(Mapping):
    """A typed table whose fields are its config keys, readable as a read-only mapping too."""

    KEYS: ClassVar[tuple] = ()

    def __getitem__(self, key: str):
        if key not in self.KEYS:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self):
        return iter(self.KEYS)

    def __len__(self) -> int:
        return len(self.KEYS)


@dataclass(eq=False)
class RiskConfig(Table):
    """[risk]: the pre-trade limits (natural units), the kill-switch triggers, the protection timeout."""

    KEYS: ClassVar[tuple] = (*S.RISK.keys, "symbols")
    max_order_qty: int | float | str = S.RISK["max_order_qty"].field()
    max_order_notional: int | float | str = S.RISK["max_order_notional"].field()
    max_position: int | float | str = S.RISK["max_position"].field()
    max_gross_exposure: int | float | str = S.RISK["max_gross_exposure"].field()
    price_band_bps: int = S.RISK["price_band_bps"].field()
    max_orders_per_s: int = S.RISK["max_orders_per_s"].field()
    max_orders_per_s_total: int = S.RISK["max_orders_per_s_total"].field()
    loss_limit: float = S.RISK["loss_limit"].field()  # quote units: halt when PnL <= -this
    max_feed_age_s: float = S.RISK["max_feed_age_s"].field()  # halt when the newest md is older
    max_ring_lag: int = S.RISK["max_ring_lag"].field()  # halt when risk is this many md records behind
    protection_timeout_ms: int = S.RISK["protection_timeout_ms"].field()  # execution's watch of risk/journal
    symbols: dict = field(default_factory=dict)  # [risk.symbols.SYMBOL]: per-symbol limit overrides


@dataclass(eq=False)
class ExecutionConfig(Table):
    """[execution]: the venue session's timeouts, the key file, the stop and rate-limit policies."""

    KEYS: ClassVar[tuple] = tuple(S.EXECUTION.keys)
    key_file: str = S.EXECUTION["key_file"].field()  # 0600 file "KEY\nSECRET"; else the environment
    timeout_ms: int = S.EXECUTION["timeout_ms"].field()  # no answer by then: ask the venue (order.status)
    recv_window_ms: int = S.EXECUTION["recv_window_ms"].field()
    spins: int = S.EXECUTION["spins"].field()
    slice_us: int = S.EXECUTION["slice_us"].field()
    max_order_age_ms: int = S.EXECUTION["max_order_age_ms"].field()  # older at send time: dropped as STALE
    cancel_on_stop: bool = S.EXECUTION["cancel_on_stop"].field()  # a normal stop cancels our open orders
    backoff_ms: int = S.EXECUTION["backoff_ms"].field()  # first pause after a rate-limit answer (doubles)
    backoff_max_ms: int = S.EXECUTION["backoff_max_ms"].field()
    rate_limit_halt_after: int = S.EXECUTION["rate_limit_halt_after"].field()  # answers in 60 s that halt


@dataclass(eq=False)
class StrategyConfig(Table):
    """One [[strategies]] table, resolved: the keys every kind has, typed (``class`` is
    ``class_name``), and the kind's own keys in ``params`` (a built-in kind's checked, with the
    defaults of config_schema.KIND_KEYS filled in; a "file" strategy's as written). It reads as
    the flat table too (``table["short"]``, ``dict(table)``): what a strategy class is handed."""

    name: str
    kind: str
    id: int
    symbols: list
    path: str | None = None  # kind "file": the Python file
    class_name: str | None = None  # kind "file": the Strategy subclass in it
    params: dict = field(default_factory=dict)
    # a cross-venue strategy ([[venues]], runtime.group): venue name -> that venue's instance;
    # its symbols are then "venue:symbol". Empty: the symbols are this instance's venue's.
    venues: dict = field(default_factory=dict)
    # "own": its own worker process (strategy-<name>); "execution": run inside the execution
    # worker (trading.strategy_core, workers/execution.py), one process hop less on few cores
    host: str = "own"

    @classmethod
    def of(cls, table) -> "StrategyConfig":
        """From a flat table that is resolved already (nothing is checked here)."""
        t = dict(table)
        return cls(name=t.pop("name"), kind=t.pop("kind"), id=t.pop("id"), symbols=list(t.pop("symbols")),
                   path=t.pop("path", None), class_name=t.pop("class", None), venues=dict(t.pop("venues", {})),
                   host=t.pop("host", "own"), params=t)

    def _flat(self) -> dict:
        out = {"name": self.name, "kind": self.kind, "id": self.id, "symbols": self.symbols}
        if self.path is not None:
            out["path"] = self.path
        if self.class_name is not None:
            out["class"] = self.class_name
        if self.venues:
            out["venues"] = self.venues
        if self.host != "own":
            out["host"] = self.host
        return {**out, **self.params}

    def __getitem__(self, key: str):
        return self._flat()[key]

    def __iter__(self):
        return iter(self._flat())

    def __len__(self) -> int:
        return len(self._flat())


assert set(RiskConfig.KEYS) == {f.name for f in dataclasses.fields(RiskConfig)}
assert set(ExecutionConfig.KEYS) == {f.name for f in dataclasses.fields(ExecutionConfig)}


@dataclass
class GroupMember:
    """A venue instance's place in a config of several venues (set by ``runtime.group``, never
    written by hand): the group (the config's instance name), this venue's name, every venue's
    instance, and the ids of the cross-venue strategies hosted by another venue that trade here
    (this instance runs state, risk and execution for them)."""

    group: str
    venue: str
    venues: dict = field(default_factory=dict)  # venue name -> instance name, in config order
    remote_ids: list = field(default_factory=list)


@dataclass
class Config:
    instance: str = S.TOP["instance"].field()  # default: i<supervisor pid>
    data_dir: str = S.TOP["data_dir"].field()  # journals and logs go to <data_dir>/<instance>/
    rings: dict = field(default_factory=_default_rings)
    venue: VenueConfig = field(default_factory=VenueConfig)
    sim: SimConfig = field(default_factory=SimConfig)
    feed: FeedConfig = field(default_factory=FeedConfig)
    journal: JournalConfig = field(default_factory=JournalConfig)
    workers: dict = field(default_factory=dict)  # name -> WorkerConfig
    dashboard_hz: float = S.TOP["dashboard_hz"].field()
    latency_window_s: float = S.TOP["latency_window_s"].field()  # the dashboard's "last few seconds"
    # trading tables, as read; ``validate`` checks them and fills their defaults (validate_trading)
    strategies: list | None = None  # [[strategies]]: StrategyConfig once validated; None: the built-in default
    risk: RiskConfig | dict = field(default_factory=dict)  # [risk] limits and kill-switch triggers
    execution: ExecutionConfig | dict = field(default_factory=dict)  # [execution] timeouts, key file
    bridge: BridgeConfig = field(default_factory=BridgeConfig)  # [bridge] (docs/bridge.md)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)  # [metrics] (the Prometheus exporter)
    group: GroupMember | None = None  # one venue of a [[venues]] config (runtime.group); None: a lone venue

    def worker(self, name: str) -> WorkerConfig:
        return self.workers.get(name) or WorkerConfig()

    def strategy(self, name: str) -> StrategyConfig:
        """The [[strategies]] table called ``name`` (its worker is ``strategy-<name>``)."""
        for table in self.strategies or ():
            if table["name"] == name:
                return table
        raise ConfigError(f"[[strategies]]: no strategy named {name!r}")

    def run_dir(self) -> Path:
        return Path(self.data_dir) / self.instance

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data["strategies"] = [dict(t) for t in self.strategies or ()]  # flat, as written in the file
        return json.dumps(data)


_SECTIONS = {"venue": VenueConfig, "sim": SimConfig, "feed": FeedConfig, "journal": JournalConfig,
             "bridge": BridgeConfig, "metrics": MetricsConfig}
_SCHEMA = {VenueConfig: S.VENUE, SimConfig: S.SIM, FeedConfig: S.FEED, JournalConfig: S.JOURNAL,
           BridgeConfig: S.BRIDGE, RingConfig: S.RING, WorkerConfig: S.WORKER, MetricsConfig: S.METRICS}
_TRADING = ("strategies", "risk", "execution")
FIXED_WORKERS = ("journal", "ingest", "replay", "risk", "execution", "bridge", "state")  # and strategy-<name>: plan.py


def _build(cls, values, where: str):
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a table, got {values!r}")
    _SCHEMA[cls].unknown(values, where=where)
    return cls(**values)


def _tables(data: dict, key: str) -> dict:
    """``[key.NAME]`` tables: a table of tables."""
    value = data.pop(key)
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ConfigError(f"[{key}]: expected tables [{key}.NAME], got {value!r}")
    return value


def from_dict(data: dict) -> Config:
    if not isinstance(data, dict):
        raise ConfigError(f"config: expected a table, got {data!r}")
    data = dict(data)
    if "venues" in data:  # runtime.group expands it into one config per venue
        raise ConfigError("[[venues]]: this config runs several venues, which `hftshm start` runs; "
                          "this command takes a config of one [venue]")
    kw = {}
    for key in (*S.TOP.keys, *_TRADING):
        if key in data:
            kw[key] = data.pop(key)
    venue_keys = set(data["venue"]) if isinstance(data.get("venue"), dict) else set()
    for key, cls in _SECTIONS.items():
        if key in data:
            kw[key] = _build(cls, data.pop(key), f"[{key}]")
    if "rings" in data:
        rings = _default_rings()
        for name, values in _tables(data, "rings").items():
            if name not in rings:
                raise ConfigError(f"[rings.{name}]: unknown ring; hftshm runs {', '.join(S.RING_NAMES)}")
            rings[name] = _build(RingConfig, {**dataclasses.asdict(rings[name]), **values}, f"[rings.{name}]")
        kw["rings"] = rings
    if "workers" in data:
        kw["workers"] = {name: _build(WorkerConfig, v, f"[workers.{name}]") for name, v in _tables(data, "workers").items()}
    if data:
        known = [*S.TOP.keys, *_SECTIONS, "rings", "workers", *_TRADING]
        raise ConfigError(f"unknown top-level key {sorted(data)[0]!r}; known: {', '.join(known)}")
    cfg = Config(**kw)
    replay_markets(cfg, venue_keys)
    validate(cfg)
    return cfg


def replay_markets(cfg: Config, given: set) -> None:
    """The simulator replaying a capture (``[sim] replay``): the [venue] symbols and streams the
    config leaves unset are the capture's own, so the feed subscribes to what is replayed and
    the rules fetched are the replayed symbols'. An unreadable capture is left to ``preflight``,
    which names it."""
    if cfg.venue.kind != "sim" or not isinstance(cfg.sim.replay, str) or not cfg.sim.replay \
            or {"symbols", "streams"} <= given:
        return  # (before validate: a wrong type is left to it)
    from ..feed.capture import UNREADABLE, markets_of, stream_names

    try:
        symbols, kinds = markets_of(stream_names(cfg.sim.replay))
    except (OSError, ValueError, *UNREADABLE):
        return
    if "symbols" not in given and symbols:
        cfg.venue.symbols = symbols
    if "streams" not in given and kinds:
        cfg.venue.streams = kinds


def validate(cfg: Config) -> None:
    """Check every key of ``cfg`` against hftshm/config_schema.py, in place (numbers become
    floats where a float is meant; trading tables get their defaults); ConfigError names the
    key, the value and what is allowed. Checks nothing outside the config: see ``preflight``."""
    S.TOP.check_object(cfg)
    for name, ring in cfg.rings.items():
        if name not in S.RING_NAMES:
            raise ConfigError(f"[rings.{name}]: unknown ring; hftshm runs {', '.join(S.RING_NAMES)}")
        S.RING.check_object(ring, f"[rings.{name}]")
    for section in _SECTIONS:
        S.SECTIONS[section].check_object(getattr(cfg, section))
    validate_bridge(cfg)
    if cfg.venue.kind == "replay" and not cfg.venue.replay:
        raise ConfigError("[venue] kind 'replay' needs replay = the md journal (a file or directory)")
    if cfg.sim.replay_orders and not (cfg.venue.kind == "sim" and cfg.sim.replay and cfg.sim.speed != "max"):
        raise ConfigError('[sim] replay_orders needs [venue] kind = "sim", [sim] replay = a capture, and a '
                          'finite [sim] speed (the orders\' clock)')
    validate_market_venue(cfg)
    for name, w in cfg.workers.items():
        S.WORKER.check_object(w, f"[workers.{name}]")
    refuse_market_data_only_orders(cfg)
    validate_trading(cfg)
    refuse_usdm_orders(cfg)
    validate_bridge_ids(cfg)
    validate_feed_host(cfg)
    known = [*FIXED_WORKERS, *(f"strategy-{s.name}" for s in cfg.strategies)]
    for name in cfg.workers:
        if name not in known:
            raise ConfigError(f"[workers.{name}]: no such worker; the workers are {', '.join(known)}")


def validate_feed_host(cfg: Config) -> None:
    """``[feed] host = "execution"`` needs both: an ingest (a venue's feed, not a replay or a
    bridge) and an execution worker (an instance that trades) to run it in."""
    from . import plan

    if cfg.feed.host != "execution":
        return
    if cfg.venue.kind in ("replay", "bridge"):
        raise ConfigError(f'[feed] host = "execution": [venue] kind "{cfg.venue.kind}" runs no ingest '
                          '(its md comes from the ' + ("journal" if cfg.venue.kind == "replay" else "bridge") +
                          '); leave host = "own"')
    if not any(w.role == "execution" for w in plan.workers(cfg)):
        raise ConfigError('[feed] host = "execution": this instance runs no execution worker (no '
                          '[[strategies]] trade here); leave host = "own"')


def validate_market_venue(cfg: Config) -> None:
    """The venue that ingest reads (``[venue] kind``, or ``[sim] venue`` with the simulator)
    serves every stream asked for; live venues get their URLs when left empty."""
    from .. import venues

    if cfg.venue.kind in ("replay", "bridge"):
        return
    venue = venues.market_venue_of(cfg)
    try:
        venue.check_streams(cfg.venue.streams)
    except ValueError as exc:
        raise ConfigError(f"[venue] streams: {exc}") from None
    per_connection = len(cfg.venue.symbols) * len(cfg.venue.streams)
    if per_connection > venue.max_streams and venue.kind == "binance_usdm":
        try:
            venue.connections("wss://x", cfg.venue.symbols, cfg.venue.streams)
        except ValueError as exc:
            raise ConfigError(f"[venue] symbols x streams: {exc}") from None
    if cfg.venue.kind != "sim":
        if not cfg.venue.stream_url:
            cfg.venue.stream_url = venue.live_stream_url
        if not cfg.venue.api_url:  # Bybit's market data needs no API: its orders' trade API then
            cfg.venue.api_url = venue.live_api_url or _order_api_url(venue.kind)


def _order_api_url(kind: str) -> str:
    from .. import venues

    try:
        return venues.order_venue(kind).live_api_url
    except KeyError:  # market data only
        return ""


def refuse_usdm_orders(cfg: Config) -> None:
    """USD-M orders go to Binance USD-M (``[venue] kind = "binance_usdm"``, its order protocol in
    hftshm.venues.binance_usdm) or to the simulator's synthetic USD-M market. A replayed USD-M
    capture takes no orders: strategies with it are refused rather than left unanswered
    (after the trading tables, which give the simulator a default strategy)."""
    if cfg.venue.kind != "sim" or not cfg.strategies or not cfg.sim.replay:
        return
    from .. import venues

    if venues.market_venue_of(cfg).kind == "binance_usdm":
        raise ConfigError('[sim] venue = "binance_usdm" with [sim] replay: a replayed USD-M capture takes no '
                          "orders: set strategies = [] (or drop replay: the synthetic USD-M market trades)")


MARKET_DATA_ONLY = ("bybit_spot", "okx")  # venues with no order entry here (bybit_linear has: venues/bybit)


def refuse_market_data_only_orders(cfg: Config) -> None:
    """Bybit spot and OKX are market data only: no default strategy on the simulator speaking
    them, and a configured one is refused rather than sent to another venue's API. Bybit linear
    trades (its own order protocol), but only with configured strategies: no default one."""
    if cfg.venue.kind in ("replay", "bridge"):
        return
    from .. import venues

    kind = venues.market_venue_of(cfg).kind
    if kind == "bybit_linear" and cfg.strategies is None:
        cfg.strategies = []  # the default strategy's quantity is sized for Binance's rules
    if kind not in MARKET_DATA_ONLY:
        return
    if cfg.strategies is None:
        cfg.strategies = []
    elif cfg.strategies:
        where = "[venue] kind" if cfg.venue.kind != "sim" else "[sim] venue"
        raise ConfigError(f'{where} = "{kind}": market data only (no order entry for this venue): set '
                          "strategies = []")


DEFAULT_STRATEGY = {"name": "momentum", "kind": S.STRATEGY["kind"].default}  # with no [[strategies]], on the simulator
STRATEGY_COMMON = ("name", "kind", "id", "symbols", "path", "class", "host")  # the keys of every kind


def validate_trading(cfg) -> None:
    """Check ``cfg.strategies``, ``cfg.risk`` and ``cfg.execution`` in place: risk and execution
    become ``RiskConfig`` and ``ExecutionConfig``, each strategy a dict with its defaults filled
    in. ConfigError names the key. ``cfg`` needs ``venue.kind`` and ``venue.symbols`` besides."""
    if cfg.strategies is None:
        # the simulator trades out of the box; a real venue, or a replay, only when configured
        # on the first symbol only: its default qty is above every simulated symbol's minimum
        # notional only for BTC-priced ones (0.001 ETH is under 5 USDT)
        first = cfg.venue.symbols[:1]
        cfg.strategies = [dict(DEFAULT_STRATEGY, symbols=first)] if cfg.venue.kind == "sim" and first else []
    if not isinstance(cfg.strategies, list):
        raise ConfigError(f"[[strategies]]: expected an array of tables, got {cfg.strategies!r}")
    if cfg.strategies and cfg.venue.kind == "replay" and not cfg.venue.api_url:
        raise ConfigError("[venue] kind 'replay' has no venue for the strategies' orders: set [venue] api_url "
                          "(a running `hftshm exchange`, say) or configure no [[strategies]]")
    symbols = [s.lower() for s in cfg.venue.symbols]
    cfg.risk = _risk(cfg.risk, symbols)
    cfg.execution = ExecutionConfig(**S.EXECUTION.check(_plain(cfg.execution)))
    seen_names, seen_ids = set(), set()
    for i, table in enumerate(cfg.strategies):
        # a cross-venue strategy validated again: its venues and venue:symbol names were checked
        # by the expansion (runtime.group), which alone sets cfg.group
        venues = (dict(table.get("venues") or {}) if getattr(cfg, "group", None) is not None
                  and isinstance(table, Mapping) else None)
        allowed = [s.lower() for s in table["symbols"]] if venues else symbols
        cfg.strategies[i] = resolve_strategy(table, f"[[strategies]] #{i + 1}", i + 1, allowed, seen_names, seen_ids,
                                             venues)
        if cfg.strategies[i].host == "execution" and cfg.venue.kind == "bridge":
            raise ConfigError(f"[[strategies]] #{i + 1} ({cfg.strategies[i].name}) host = \"execution\": "
                              "[venue] kind \"bridge\" runs no execution worker here (the trading host does)")


def resolve_strategy(table, where: str, default_id: int, symbols: list[str], seen_names: set, seen_ids: set,
                     venues: dict | None = None) -> StrategyConfig:
    """One [[strategies]] table checked and resolved (``symbols``: those it may name, its default;
    ``venues``: a cross-venue strategy's venue instances). ``seen_*`` collect names and ids so
    that a second use is refused."""
    if not isinstance(table, Mapping):  # a dict as read, or a StrategyConfig validated before
        raise ConfigError(f"{where}: expected a table, got {table!r}")
    table = dict(table)
    if "venues" in table and not venues:
        raise ConfigError(f"{where}: unknown key 'venues' (a strategy's venues come from its venue:symbol "
                          "names, in a config of several [[venues]])")
    table.pop("venues", None)  # the caller's (runtime.group), never the file's
    table["name"] = S.STRATEGY["name"].check(where, table.get("name"))
    name = table["name"]
    if name in seen_names:
        raise ConfigError(f"{where}: duplicate strategy name {name!r}")
    seen_names.add(name)
    where = f"{where} ({name})"
    kind = table["kind"] = S.STRATEGY["kind"].check(where, table.get("kind", S.STRATEGY["kind"].default))
    sid = table["id"] = S.STRATEGY["id"].check(where, table.get("id", default_id))
    if sid in seen_ids:
        raise ConfigError(f"{where} id = {sid!r}: expected a unique id (another strategy has it)")
    seen_ids.add(sid)
    key = S.STRATEGY["symbols"]
    if venues:  # "venue:symbol" names: the same check, on the names' two parts
        key = dataclasses.replace(key, pattern=rf"{S.VENUE_NAME}:{S.SYMBOL}", what="venue:symbol names")
    syms = key.check(where, table.get("symbols", list(symbols)))
    if any(s.lower() not in symbols for s in syms):
        raise ConfigError(f"{where} symbols = {syms!r}: expected a subset of the venue symbols {symbols}")
    table["symbols"] = [s.lower() for s in syms]
    host = table["host"] = S.STRATEGY["host"].check(where, table.get("host", S.STRATEGY["host"].default))
    if host == "execution" and venues:
        raise ConfigError(f"{where} host = \"execution\": a cross-venue strategy reads and trades several venues' "
                          "rings, each venue's execution its own; it runs in its own process (host = \"own\")")
    if kind == "file":  # a file strategy reads its own keys
        for key in ("path", "class"):
            if key not in table:
                raise ConfigError(f"{where}: kind 'file' needs {key} = \"...\"")
            S.STRATEGY[key].check(where, table[key])
    else:
        params = {k: v for k, v in table.items() if k not in STRATEGY_COMMON}
        try:
            table.update(S.KIND_KEYS[kind].check(params, where=""))
            if kind == "spread":  # its legs: one instrument on two venues, checked at load
                S.spread_legs(table["symbols"])
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    if venues:
        table["venues"] = dict(venues)
    return StrategyConfig.of(table)


def _plain(values):
    """A table as a dict again (a validated config is validated again the same way)."""
    return dict(values) if isinstance(values, Table) else values


def _risk(values, symbols: list[str]) -> RiskConfig:
    out = S.RISK.check(_plain(values), also=("symbols",))
    over = out.get("symbols") or {}
    if not isinstance(over, dict):
        raise ConfigError(f"[risk.symbols]: expected a table of symbol tables, got {over!r}")
    for sym, table in over.items():
        if sym.lower() not in symbols:
            raise ConfigError(f"[risk.symbols.{sym}]: not a venue symbol ({', '.join(symbols)})")
        if not isinstance(table, dict) or set(table) - set(S.RISK_SYMBOL.keys):
            raise ConfigError(f"[risk.symbols.{sym}]: keys must be among {', '.join(S.RISK_SYMBOL.keys)}")
        for key, value in table.items():
            S.RISK[key].check(f"[risk.symbols.{sym}]", value)
    out["symbols"] = {k.lower(): dict(v) for k, v in over.items()}
    risk = RiskConfig(**out)
    try:
        risk_limits(risk, symbols)
    except LimitsError as exc:
        raise ConfigError(f"[risk] {exc}") from None
    return risk


def risk_limits(risk, symbols: list[str]) -> Limits:
    """The risk library's Limits from a validated [risk] table; symbol ids are venue order."""
    overrides = {symbols.index(s): t for s, t in (risk["symbols"] or {}).items()}
    return Limits(n_symbols=len(symbols), overrides=overrides, **{k: risk[k] for k in S.RISK_LIMITS})


def preflight(cfg: Config) -> None:
    """What the config names outside itself, checked before anything starts: the data directory
    can be created and written, each ``cpu`` is a core this process may run on, and every input
    file (a capture, a replayed journal, a key file, a strategy file) exists and is readable."""
    _check_dir(cfg.data_dir, "data_dir")
    if cfg.venue.kind == "sim":  # the simulator must know them to serve them (live rules: exchangeInfo)
        from ..exchange.config import symbol_spec

        for s in cfg.venue.symbols:
            try:
                symbol_spec(s)
            except ValueError as exc:
                raise ConfigError(f"[venue] symbols: {exc}") from None
    cores = os.sched_getaffinity(0)
    for name, w in cfg.workers.items():
        if w.cpu is not None and w.cpu not in cores:
            raise ConfigError(f"[workers.{name}] cpu = {w.cpu}: not a core this process may run on "
                              f"(allowed: {', '.join(map(str, sorted(cores)))})")
    if cfg.venue.kind == "sim" and cfg.sim.replay:
        check_capture(cfg.sim.replay, "[sim] replay")
    if cfg.venue.kind == "replay":
        check_md_journal(cfg.venue.replay, "[venue] replay")
    if cfg.execution.key_file:
        _check_file(cfg.execution.key_file, "[execution] key_file")
    for i, s in enumerate(cfg.strategies or []):
        if s.get("kind") == "file":
            _check_file(s["path"], f"[[strategies]] #{i + 1} ({s['name']}) path")


def _check_dir(path: str, what: str) -> None:
    """``path`` is a directory we may write, or can be created (its nearest existing ancestor
    is a directory we may write)."""
    p = Path(path)
    probe = p
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise ConfigError(f"{what} = {path!r}: {probe} is not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(f"{what} = {path!r}: {probe} is not writable by this user")


def _check_file(path: str, what: str) -> Path:
    p = Path(path)
    try:
        with open(p, "rb") as f:
            f.read(1)
    except FileNotFoundError:
        raise ConfigError(f"{what} = {path!r}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{what} = {path!r}: a directory, not a file") from None
    except OSError as exc:
        raise ConfigError(f"{what} = {path!r}: cannot read it: {exc.strerror}") from None
    return p


def check_capture(path: str, what: str = "capture") -> None:
    """``path`` is a readable capture (``<recv_ns> <frame>`` lines, plain or gzip) with a frame."""
    from ..feed.capture import UNREADABLE, iter_capture

    _check_file(path, what)
    try:
        first = next(iter(iter_capture(path)), None)
    except (OSError, ValueError, *UNREADABLE) as exc:
        raise ConfigError(f"{what} = {path!r}: not a capture: {exc}") from None
    if first is None:
        raise ConfigError(f"{what} = {path!r}: an empty capture (no frames)")


def check_md_journal(path: str, what: str = "journal") -> None:
    """``path`` is an md journal: a readable ``.hftj`` file of ring md, or a directory of them."""
    from ..journal import files
    from ..journal import format as F

    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{what} = {path!r}: no such file or directory")
    if p.is_dir():
        found = sorted(p.glob(f"*{F.SUFFIX}"))
        if not found:
            raise ConfigError(f"{what} = {path!r}: no journal files (*{F.SUFFIX}) in this directory")
    else:
        found = [p]
    for f in found:
        try:
            meta = files.read_meta(f)
        except OSError as exc:
            raise ConfigError(f"{what} = {path!r}: cannot read {f}: {exc.strerror or exc}") from None
        except (ValueError, KeyError, struct.error, HftshmError) as exc:  # the format's errors name the file
            raise ConfigError(f"{what} = {path!r}: not a journal: {exc}") from None
        if meta.get("ring") != "md":
            raise ConfigError(f"{what} = {path!r}: {f} is the {meta.get('ring')!r} journal; replay needs md")


def validate_bridge(cfg: Config) -> None:
    """[bridge] across keys (each key's type and range: config_schema.BRIDGE), and ``[venue] kind =
    "bridge"`` (md from another instance's stream)."""
    b = cfg.bridge
    if b.duplicate_window_s > b.max_age_s:
        raise ConfigError("[bridge] duplicate_window_s may not exceed max_age_s")
    if cfg.venue.kind == "bridge":
        if not b.source:
            raise ConfigError('[venue] kind "bridge" needs [bridge] source = the instance whose md it takes')
        if b.md_out:
            raise ConfigError('[bridge] md_out with [venue] kind "bridge": this instance relays, it does not '
                              "re-publish; take the source's stream directly")
        if cfg.strategies != [] and not b.orders_out:  # fail closed: no venue here
            raise ConfigError('[venue] kind "bridge" has no venue to trade on: set strategies = [], or '
                              "[bridge] orders_out = true to send their orders to the trading host "
                              "(docs/bridge.md)")
        if b.orders_in:
            raise ConfigError('[bridge] orders_in with [venue] kind "bridge": only the trading host (the '
                              "instance with a venue) takes orders in")
    elif b.source:
        raise ConfigError('[bridge] source is only for [venue] kind = "bridge"')
    elif b.orders_out:
        raise ConfigError('[bridge] orders_out is only for [venue] kind = "bridge" (a remote strategy '
                          "host); an instance with a venue sends its own orders")
    ids = b.remote_strategy_ids()
    if b.orders_in:
        if cfg.venue.kind == "replay":
            raise ConfigError('[bridge] orders_in: [venue] kind "replay" has no venue to trade on')
        if not ids:
            raise ConfigError('[bridge] orders_in needs orders_in_strategies = the strategy ids the remote '
                              'host\'s strategies use ("8,9"): orders of any other id are refused')
        if b.orders_in == cfg.instance:
            raise ConfigError("[bridge] orders_in names this instance itself")
        bad = [i for i in ids if not 1 <= i <= S.MAX_STRATEGY_ID]
        if bad:
            raise ConfigError(f"[bridge] orders_in_strategies: id {bad[0]} is out of range 1..{S.MAX_STRATEGY_ID} "
                              "(a strategy's id)")
        if len(set(ids)) != len(ids):
            raise ConfigError("[bridge] orders_in_strategies: an id is listed twice")
    elif ids:
        raise ConfigError("[bridge] orders_in_strategies is only for orders_in")


def validate_bridge_ids(cfg: Config) -> None:
    """After the strategies got their ids: a remote host's strategy ids are not this host's.
    One order id space per instance (strategy id << 40 | counter): a shared id would let
    execution's per-strategy high-water mark drop one host's orders as the other's duplicates."""
    ids = cfg.bridge.remote_strategy_ids()
    own = {s.id: s.name for s in cfg.strategies or ()}  # StrategyConfig: validate_trading ran
    clash = [i for i in ids if i in own]
    if clash:
        raise ConfigError(f"[bridge] orders_in_strategies: strategy id {clash[0]} is also this instance's "
                          f"strategy {own[clash[0]]!r}; the remote host's strategies need ids of their own")


def parse_speed(text, where: str = "speed") -> float:
    """A replay pace: a positive factor (1 = as recorded), or 'max' (as fast as possible: inf)."""
    if str(text).strip().lower() == "max":
        return float("inf")
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"{where} must be a positive factor or 'max', got {text!r}")
    return value


def load(path: str | Path | None, overrides: dict | None = None) -> Config:
    """The config in ``path`` (None: the defaults), with ``overrides`` (tables merged key by key,
    as the command line sets them) applied before anything is validated or defaulted."""
    data = read(path, overrides)
    try:
        return from_dict(data)
    except TypeError as exc:
        raise ConfigError(f"{path or 'config'}: {exc}") from None


def read(path: str | Path | None, overrides: dict | None = None) -> dict:
    """The TOML of ``path`` (None: empty) with ``overrides`` merged in, unchecked."""
    data = {}
    if path is not None:
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"config file {path}: cannot read it: {exc.strerror or exc}") from None
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def from_json(text: str) -> Config:
    """The resolved config a supervisor handed its workers (``Config.to_json`` of a validated
    config): exactly its rings, typed again and trusted, with nothing checked or defaulted a
    second time (the process that resolved it did that, once)."""
    data = json.loads(text)
    kw = {key: data[key] for key in S.TOP.keys if key in data}
    kw.update({key: cls(**data[key]) for key, cls in _SECTIONS.items() if key in data})
    kw["rings"] = {name: RingConfig(**rc) for name, rc in data.get("rings", {}).items()}
    kw["workers"] = {name: WorkerConfig(**w) for name, w in data.get("workers", {}).items()}
    kw["strategies"] = [StrategyConfig.of(t) for t in data.get("strategies") or ()]
    kw["risk"] = RiskConfig(**data.get("risk", {}))
    kw["execution"] = ExecutionConfig(**data.get("execution", {}))
    if data.get("group"):
        kw["group"] = GroupMember(**data["group"])
    return Config(**kw)
