"""``hftshm start`` configuration: TOML (stdlib tomllib) over built-in defaults.

Every section and key is documented in docs/operations.md (config reference). Unknown keys and
bad values are errors that name the key, so a typo never silently falls back to a default.
The resolved config travels to worker processes as JSON (``HFTSHM_CONFIG``); secrets are never
part of it (execution reads them from the environment or a 0600 file).
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .. import naming
from ..errors import HftshmError, RingConfigError
from ..wait import STRATEGIES

BINANCE_STREAM_URL = "wss://stream.binance.com:9443"
BINANCE_API_URL = "wss://ws-api.binance.com:443/ws-api/v3"


class ConfigError(HftshmError, ValueError):
    """A config file or value that cannot be used; the message names the key."""


@dataclass
class RingConfig:
    capacity: int
    policy: str = "wait"


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
    kind: str = "sim"  # "sim": start the built-in simulator; "binance": real URLs below;
    # "replay": publish the md journal ``replay`` into the md ring instead of ingesting
    replay: str = ""
    speed: str = "1"  # replay pace: 1 as recorded, 10 ten times faster, max at once
    stream_url: str = ""  # e.g. wss://stream.binance.com:9443 (empty: the simulator's)
    api_url: str = ""  # e.g. wss://ws-api.binance.com:443/ws-api/v3
    symbols: list = field(default_factory=lambda: ["btcusdt", "ethusdt"])
    streams: list = field(default_factory=lambda: ["trade", "bookTicker", "depth@100ms"])


@dataclass
class SimConfig:
    rate: float = 2000.0  # market messages/s over all symbols
    levels: int = 20
    seed: int = 1
    replay: str = ""  # a capture to play instead of the synthetic market
    speed: str = "1"  # replay pace: 1, 10, ..., or max
    port: int = 0  # 0: a free port


@dataclass
class FeedConfig:
    ping_interval_s: float = 20.0
    ping_timeout_s: float = 20.0
    stale_after_s: float = 5.0  # no message for this long: reconnect
    reconnect_min_s: float = 0.1
    reconnect_max_s: float = 10.0
    max_connection_age_s: float = 23.5 * 3600  # Binance closes connections at 24 h
    max_outgoing_per_s: float = 5.0  # Binance's limit on messages we send per connection


@dataclass
class JournalConfig:
    enabled: bool = True
    rotate_mb: float = 256.0
    lag_alarm: float = 0.5  # alarm when a ring's lag passes this fraction of its capacity
    flush_ms: float = 100.0
    fsync: bool = False


# --- [bridge] (hftshm.bridge, docs/bridge.md) -------------------------------------------------
@dataclass
class BridgeConfig:
    url: str = "nats://127.0.0.1:4222"  # the NATS server (JetStream enabled)
    md_out: bool = False  # publish this instance's md ring to JetStream
    fills_out: bool = False  # publish this instance's fills ring to JetStream
    source: str = ""  # [venue] kind "bridge": the instance whose md stream this one takes
    storage: str = "file"  # streams this bridge creates: "file" or "memory"
    batch: int = 64  # records per message at most (64 md records = 8 KiB)
    max_msgs: int = 1_000_000  # a stream keeps at most this many messages (oldest go first)
    max_age_s: float = 86_400.0  # ... and none older than this
    duplicate_window_s: float = 120.0  # JetStream drops a repeated message id within this window
    start: str = "first"  # md in, fresh receiver: "first" message the stream holds or "last"
    connect_timeout_s: float = 2.0  # the server must answer at start within this
    max_pending: int = 1024  # publishes awaiting their acknowledgement at most


BRIDGE_STORAGE = ("file", "memory")
BRIDGE_START = ("first", "last")
# --- end [bridge] ---------------------------------------------------------------------------------


@dataclass
class WorkerConfig:
    wait: str = "backoff"
    cpu: int | None = None
    restart: bool = True
    # backoff's longest nap, us: the worst extra latency when idle vs the CPU its wake-ups cost;
    # 0 = the role's default (50 for latency-critical workers, 1000 for the journal)
    max_nap_us: float = 0.0


@dataclass
class Config:
    instance: str = ""  # default: i<supervisor pid>
    data_dir: str = "hftshm-data"  # journals and logs go to <data_dir>/<instance>/
    rings: dict = field(default_factory=_default_rings)
    venue: VenueConfig = field(default_factory=VenueConfig)
    sim: SimConfig = field(default_factory=SimConfig)
    feed: FeedConfig = field(default_factory=FeedConfig)
    journal: JournalConfig = field(default_factory=JournalConfig)
    workers: dict = field(default_factory=dict)  # name -> WorkerConfig
    dashboard_hz: float = 4.0
    latency_window_s: float = 5.0  # the dashboard's "last few seconds"
    # trading tables, validated (and defaulted) by hftshm.trading.config
    strategies: list | None = None  # [[strategies]] tables; None: the built-in default
    risk: dict = field(default_factory=dict)  # [risk] limits and kill-switch triggers
    execution: dict = field(default_factory=dict)  # [execution] timeouts, key file
    bridge: BridgeConfig = field(default_factory=BridgeConfig)  # [bridge] (docs/bridge.md)

    def worker(self, name: str) -> WorkerConfig:
        return self.workers.get(name) or WorkerConfig()

    def run_dir(self) -> Path:
        return Path(self.data_dir) / self.instance

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))


_SECTIONS = {"venue": VenueConfig, "sim": SimConfig, "feed": FeedConfig, "journal": JournalConfig,
             "bridge": BridgeConfig}


def _build(cls, values: dict, where: str):
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a table, got {type(values).__name__}")
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; known: {', '.join(known)}")
    return cls(**values)


def from_dict(data: dict) -> Config:
    data = dict(data)
    kw = {}
    for key in ("instance", "data_dir", "dashboard_hz", "latency_window_s", "strategies", "risk", "execution"):
        if key in data:
            kw[key] = data.pop(key)
    for key, cls in _SECTIONS.items():
        if key in data:
            kw[key] = _build(cls, data.pop(key), f"[{key}]")
    if "rings" in data:
        rings = _default_rings()
        for name, values in data.pop("rings").items():
            base = dataclasses.asdict(rings.get(name, RingConfig(1 << 16)))
            base.update(values if isinstance(values, dict) else {"?": values})
            rings[name] = _build(RingConfig, base, f"[rings.{name}]")
        kw["rings"] = rings
    if "workers" in data:
        kw["workers"] = {name: _build(WorkerConfig, v, f"[workers.{name}]") for name, v in data.pop("workers").items()}
    if data:
        raise ConfigError(f"unknown top-level key {sorted(data)[0]!r}")
    cfg = Config(**kw)
    validate(cfg)
    return cfg


def validate(cfg: Config) -> None:
    if cfg.instance:
        naming.check_name("instance", cfg.instance)
    for name, ring in cfg.rings.items():
        naming.check_name("ring", name)
        if not isinstance(ring.capacity, int) or ring.capacity < 2 or ring.capacity & (ring.capacity - 1):
            raise ConfigError(f"[rings.{name}] capacity must be a power of two >= 2, got {ring.capacity!r}")
        if ring.policy not in ("wait", "overwrite"):
            raise ConfigError(f"[rings.{name}] policy must be 'wait' or 'overwrite', got {ring.policy!r}")
    if cfg.venue.kind not in ("sim", "binance", "replay", "bridge"):
        raise ConfigError(f"[venue] kind must be 'sim', 'binance', 'replay' or 'bridge', got {cfg.venue.kind!r}")
    validate_bridge(cfg)
    if cfg.venue.kind == "replay" and not cfg.venue.replay:
        raise ConfigError("[venue] kind 'replay' needs replay = the md journal (a file or directory)")
    parse_speed(cfg.venue.speed, "[venue] speed")
    if not cfg.venue.symbols or not all(isinstance(s, str) and s.isalnum() for s in cfg.venue.symbols):
        raise ConfigError(f"[venue] symbols must be a non-empty list of names, got {cfg.venue.symbols!r}")
    streams = len(cfg.venue.symbols) * len(cfg.venue.streams)
    if streams > 1024:
        raise ConfigError(f"[venue] {streams} streams exceed Binance's 1024 per connection")
    allowed = {"trade", "aggTrade", "bookTicker", "depth@100ms", "depth"}
    bad = [s for s in cfg.venue.streams if s not in allowed]
    if bad:
        raise ConfigError(f"[venue] unknown stream {bad[0]!r}; use {', '.join(sorted(allowed))}")
    if cfg.venue.kind == "binance" and not cfg.venue.stream_url:
        cfg.venue.stream_url = BINANCE_STREAM_URL
    if cfg.venue.kind == "binance" and not cfg.venue.api_url:
        cfg.venue.api_url = BINANCE_API_URL
    if not 0 < cfg.sim.rate <= 2_000_000:
        raise ConfigError(f"[sim] rate must be in (0, 2000000], got {cfg.sim.rate!r}")
    for name, w in cfg.workers.items():
        if w.wait not in STRATEGIES:
            raise ConfigError(f"[workers.{name}] wait must be one of {', '.join(STRATEGIES)}, got {w.wait!r}")
        if not isinstance(w.max_nap_us, (int, float)) or not 0 <= w.max_nap_us <= 100_000:
            raise ConfigError(f"[workers.{name}] max_nap_us must be in [0, 100000], got {w.max_nap_us!r}")
        if w.cpu is not None and not isinstance(w.cpu, int):
            raise ConfigError(f"[workers.{name}] cpu must be a core number, got {w.cpu!r}")
    if not 0 < cfg.journal.lag_alarm <= 1:
        raise ConfigError(f"[journal] lag_alarm must be in (0, 1], got {cfg.journal.lag_alarm!r}")
    if cfg.dashboard_hz < 1:
        raise ConfigError(f"dashboard_hz must be >= 1, got {cfg.dashboard_hz!r}")
    if not 0.5 <= cfg.latency_window_s <= 60:
        raise ConfigError(f"latency_window_s must be in [0.5, 60], got {cfg.latency_window_s!r}")
    from ..trading import config as trading_config  # late: trading imports the runtime

    trading_config.validate(cfg)


def validate_bridge(cfg: Config) -> None:
    """[bridge] values, and ``[venue] kind = "bridge"`` (md from another instance's stream)."""
    b = cfg.bridge
    if not isinstance(b.url, str) or not b.url.startswith(("nats://", "tls://")):
        raise ConfigError(f"[bridge] url must be a nats:// or tls:// URL, got {b.url!r}")
    for key in ("md_out", "fills_out"):
        if not isinstance(getattr(b, key), bool):
            raise ConfigError(f"[bridge] {key} must be true or false, got {getattr(b, key)!r}")
    if b.storage not in BRIDGE_STORAGE:
        raise ConfigError(f"[bridge] storage must be 'file' or 'memory', got {b.storage!r}")
    if b.start not in BRIDGE_START:
        raise ConfigError(f"[bridge] start must be 'first' or 'last', got {b.start!r}")
    if not isinstance(b.batch, int) or not 1 <= b.batch <= 4096:
        raise ConfigError(f"[bridge] batch must be an integer in [1, 4096], got {b.batch!r}")
    if not isinstance(b.max_msgs, int) or b.max_msgs < 1:
        raise ConfigError(f"[bridge] max_msgs must be an integer >= 1, got {b.max_msgs!r}")
    if not isinstance(b.max_pending, int) or not 1 <= b.max_pending <= 65536:
        raise ConfigError(f"[bridge] max_pending must be an integer in [1, 65536], got {b.max_pending!r}")
    for key in ("max_age_s", "duplicate_window_s", "connect_timeout_s"):
        v = getattr(b, key)
        if not isinstance(v, (int, float)) or not v > 0:
            raise ConfigError(f"[bridge] {key} must be a positive number of seconds, got {v!r}")
    if b.duplicate_window_s > b.max_age_s:
        raise ConfigError("[bridge] duplicate_window_s may not exceed max_age_s")
    if cfg.venue.kind == "bridge":
        if not b.source:
            raise ConfigError('[venue] kind "bridge" needs [bridge] source = the instance whose md it takes')
        try:
            naming.check_name("[bridge] source", b.source)
        except RingConfigError as exc:
            raise ConfigError(str(exc)) from None
        if b.md_out:
            raise ConfigError('[bridge] md_out with [venue] kind "bridge": this instance relays, it does not '
                              "re-publish; take the source's stream directly")
        if cfg.strategies != []:  # fail closed: no venue here, and orders are not bridged back yet
            raise ConfigError('[venue] kind "bridge" has no venue to trade on: set strategies = [] '
                              "(orders of remote strategies are not bridged yet, docs/bridge.md)")
    elif b.source:
        raise ConfigError('[bridge] source is only for [venue] kind = "bridge"')


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
    data = {}
    if path is not None:
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    try:
        return from_dict(data)
    except TypeError as exc:
        raise ConfigError(f"{path or 'config'}: {exc}") from None


def from_json(text: str) -> Config:
    """The resolved config a supervisor handed its workers: exactly its rings, no defaults added."""
    data = json.loads(text)
    cfg = from_dict(data)
    cfg.rings = {name: cfg.rings[name] for name in data.get("rings", cfg.rings)}
    return cfg
