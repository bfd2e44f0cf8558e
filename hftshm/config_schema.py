"""Every config key in one place: its type, its range or choices, and its default.

The loader (``hftshm.runtime.config``, the trading tables ``[risk]``, ``[execution]`` and
``[[strategies]]`` with their kinds' keys included) checks every value against its ``Key``
before anything starts; the dataclasses take their defaults from here, and the docs test
compares docs/operations.md with these tables.

A check is strict, so that a value never means something other than what it says: a bool is not
an int (``restart = "false"`` is refused, not taken as true), ``"5"`` is not a number, ``inf``
and ``nan`` are refused where a finite number is meant, and a list is never a string
(``symbols = "btcusdt"``). Each error names the key, the value and what is allowed::

    [journal] rotate_mb = -1: expected a finite number in [0.1, 1048576]

Imports nothing of hftshm but ``errors`` and two constants (the risk state's rate slots, the
wait strategies' names), so every package can build on it.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from .errors import ConfigError

E8 = 100_000_000
MAX_E8 = 2**62  # hftshm.risk.limits.MAX_E8: sums of a few amounts stay inside int64


def where_key(where: str, key: str) -> str:
    return f"{where} {key}" if where else key


def _fail(where: str, key: str, value, allowed: str):
    return ConfigError(f"{where_key(where, key)} = {value!r}: expected {allowed}")


def _real(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _bounds(lo, hi, lo_open: bool, hi_open: bool) -> str:
    def fmt(v):
        return f"{v:g}" if isinstance(v, float) else str(v)

    if hi is None:
        return f"> {fmt(lo)}" if lo_open else f">= {fmt(lo)}"
    return f"in {'(' if lo_open else '['}{fmt(lo)}, {fmt(hi)}{')' if hi_open else ']'}"


@dataclass(frozen=True)
class Key:
    """One key: ``check`` returns the value as the config keeps it, or raises ConfigError."""

    name: str
    default: Any
    doc: str = ""

    def allowed(self) -> str:
        raise NotImplementedError

    def check(self, where: str, value):
        raise NotImplementedError

    def field(self):
        """A dataclass field with this key's default (a copy per instance for lists)."""
        if isinstance(self.default, list):
            default = self.default
            return dataclasses.field(default_factory=lambda: list(default))
        return dataclasses.field(default=self.default)


@dataclass(frozen=True)
class Bool(Key):
    def allowed(self) -> str:
        return "true or false (a TOML boolean, not a string)"

    def check(self, where, value):
        if not isinstance(value, bool):
            raise _fail(where, self.name, value, self.allowed())
        return value


@dataclass(frozen=True)
class Int(Key):
    lo: int = 0
    hi: int | None = None
    optional: bool = False  # None (the key left out) is allowed
    power_of_two: bool = False

    def allowed(self) -> str:
        what = "a power of two" if self.power_of_two else "an integer"
        return f"{what} {_bounds(self.lo, self.hi, False, False)}"

    def check(self, where, value):
        if value is None and self.optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(where, self.name, value, self.allowed())
        if value < self.lo or (self.hi is not None and value > self.hi):
            raise _fail(where, self.name, value, self.allowed())
        if self.power_of_two and value & (value - 1):
            raise _fail(where, self.name, value, self.allowed())
        return value


@dataclass(frozen=True)
class Float(Key):
    """A finite number (a TOML integer or float) in [lo, hi]; kept as a float."""

    lo: float = 0.0
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False

    def allowed(self) -> str:
        return f"a finite number {_bounds(self.lo, self.hi, self.lo_open, self.hi_open)}"

    def check(self, where, value):
        if not _real(value) or not math.isfinite(value):
            raise _fail(where, self.name, value, self.allowed())
        v = float(value)
        if v < self.lo or (self.lo_open and v == self.lo):
            raise _fail(where, self.name, value, self.allowed())
        if self.hi is not None and (v > self.hi or (self.hi_open and v == self.hi)):
            raise _fail(where, self.name, value, self.allowed())
        return v


@dataclass(frozen=True)
class Choice(Key):
    choices: tuple = ()

    def allowed(self) -> str:
        return "one of " + ", ".join(repr(c) for c in self.choices)

    def check(self, where, value):
        if not isinstance(value, str) or value not in self.choices:
            raise _fail(where, self.name, value, self.allowed())
        return value


@dataclass(frozen=True)
class Text(Key):
    """A string; ``pattern`` (a full match) and ``what`` (its description) when it has a form."""

    pattern: str | None = None
    what: str = "a string"
    empty: bool = True  # "" is allowed (it means "not set")

    def allowed(self) -> str:
        return self.what

    def check(self, where, value):
        if not isinstance(value, str):
            raise _fail(where, self.name, value, self.allowed())
        if value == "":
            if self.empty:
                return value
            raise _fail(where, self.name, value, self.allowed())
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            raise _fail(where, self.name, value, self.allowed())
        return value


@dataclass(frozen=True)
class Names(Key):
    """A non-empty list of distinct strings: each from ``choices``, or matching ``pattern``."""

    choices: tuple = ()
    pattern: str = r"[A-Za-z0-9]+"
    what: str = "names"
    max_len: int = 1024

    def allowed(self) -> str:
        items = ("any of " + ", ".join(self.choices)) if self.choices else self.what
        return f"a non-empty list (TOML array) of distinct {items}"

    def check(self, where, value):
        if not isinstance(value, list) or not value or len(value) > self.max_len:
            raise _fail(where, self.name, value, self.allowed())
        for item in value:
            ok = isinstance(item, str) and (item in self.choices if self.choices else re.fullmatch(self.pattern, item))
            if not ok:
                raise ConfigError(f"{where_key(where, self.name)} = {value!r}: item {item!r} is not allowed; "
                                  f"expected {self.allowed()}")
        folded = [v.lower() for v in value]
        if len(set(folded)) != len(folded):
            raise _fail(where, self.name, value, self.allowed())
        return list(value)


@dataclass(frozen=True)
class Speed(Key):
    """A replay pace: a positive finite factor (a number, or its text), or "max"; kept as text."""

    def allowed(self) -> str:
        return 'a positive finite factor ("1", "10", 0.5, ...) or "max"'

    def check(self, where, value):
        if isinstance(value, str) and value.strip().lower() == "max":
            return "max"
        try:
            factor = float(value) if isinstance(value, str) or _real(value) else math.nan
        except ValueError:
            factor = math.nan
        if not (factor > 0 and math.isfinite(factor)):
            raise _fail(where, self.name, value, self.allowed())
        return value if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class Amount(Key):
    """A positive decimal amount in natural units (BTC, USDT): a number or its exact text
    ("0.001"), at most 8 decimals, exact in 1e-8 fixed point; kept as given. ``plain``: its
    text must be plain digits (no sign, no exponent), as ``hftshm.feed.e8.parse_e8`` reads it."""

    plain: bool = False

    def allowed(self) -> str:
        return 'a positive amount with at most 8 decimals (a number, or text such as "0.001")'

    def check(self, where, value):
        if not (_real(value) or isinstance(value, str)):
            raise _fail(where, self.name, value, self.allowed())
        try:
            # repr of a float is its shortest round-trip text: 0.1 is 0.1, not 0.1000000000000000055
            amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        except InvalidOperation:
            raise _fail(where, self.name, value, self.allowed()) from None
        if not amount.is_finite():
            raise _fail(where, self.name, value, self.allowed())
        scaled = amount * E8
        if scaled != scaled.to_integral_value() or not 0 < scaled <= MAX_E8:
            raise _fail(where, self.name, value, self.allowed())
        if self.plain and not re.fullmatch(r"[0-9]+(\.[0-9]{1,8})?", str(value)):
            raise _fail(where, self.name, value, 'plain decimal text such as "0.001" (no sign or exponent)')
        return value


class Section:
    """The keys of one config table, in documentation order."""

    def __init__(self, where: str, *keys: Key, extra: Callable[[str, dict], None] | None = None):
        self.where = where
        self.keys = {k.name: k for k in keys}
        self.extra = extra  # checks across keys, on the checked values

    def __getitem__(self, name: str) -> Key:
        return self.keys[name]

    def __iter__(self):
        return iter(self.keys.values())

    def defaults(self) -> dict:
        return {k.name: (list(k.default) if isinstance(k.default, list) else k.default) for k in self}

    def unknown(self, values: dict, also=(), where: str | None = None) -> None:
        bad = sorted(set(values) - set(self.keys) - set(also))
        if bad:
            known = ", ".join([*self.keys, *also])
            where = self.where if where is None else where
            raise ConfigError(f"{where + ': ' if where else ''}unknown key {bad[0]!r}; known: {known}")

    def check(self, values, where: str | None = None, also=()) -> dict:
        """``values`` (a table) checked key by key with the defaults filled in; keys in ``also``
        pass through unchecked (the caller checks them)."""
        where = self.where if where is None else where
        if not isinstance(values, dict):
            raise ConfigError(f"{where or 'config'}: expected a table, got {values!r}")
        self.unknown(values, also, where)
        out = {**self.defaults(), **values}
        for key in self:
            out[key.name] = key.check(where, out[key.name])
        if self.extra is not None:
            self.extra(where, out)
        return out

    def check_object(self, obj, where: str | None = None) -> None:
        """Check (and normalize) a dataclass's fields in place."""
        where = self.where if where is None else where
        for key in self:
            setattr(obj, key.name, key.check(where, getattr(obj, key.name)))
        if self.extra is not None:
            self.extra(where, {k.name: getattr(obj, k.name) for k in self})


# --- the tables -------------------------------------------------------------------------------
# Ranges keep a value inside what the code handles well: a bound is where a larger value stops
# making sense (an hour for a network timeout, a day for a connection's age), not a preference.

from .risk.layout import ACCOUNT_RATE_SLOTS, SYMBOL_RATE_SLOTS  # noqa: E402 (after the types)
from .wait import STRATEGIES as WAITS  # noqa: E402

RING_NAMES = ("md", "orders", "fills")  # hftshm.runtime.rings.SPECS
INSTANCE_NAME = r"[A-Za-z0-9_-]{1,24}"  # hftshm.naming
URL = r"wss?://\S+"
SYMBOL = r"[A-Za-z0-9]{1,32}"
STREAMS = ("trade", "aggTrade", "bookTicker", "depth@100ms", "depth",
           # USD-M (hftshm.venues.binance_usdm.urls); which venue serves which: runtime.config
           "depth@0ms", "markPrice@1s", "markPrice", "forceOrder",
           # Bybit v5 (hftshm.venues.bybit.urls) and OKX v5 (hftshm.venues.okx.urls)
           "orderbook.1", "orderbook.50", "publicTrade", "tickers", "bbo-tbt", "books", "trades")
MARKET_VENUES = ("binance_spot", "binance_usdm",  # hftshm.venues; "binance" is binance_spot
                 "bybit_spot", "bybit_linear", "okx")  # bybit_linear also takes orders; the others market data only
HOUR = 3600.0

TOP = Section(
    "",  # errors at the top level name the bare key: "data_dir = 123: expected ..."
    Text("instance", "", pattern=INSTANCE_NAME, what="1 to 24 of A-Z a-z 0-9 _ - (or \"\": i<pid>)"),
    Text("data_dir", "hftshm-data", empty=False, what="a directory path (a non-empty string)"),
    Float("dashboard_hz", 4.0, lo=1.0, hi=60.0),
    Float("latency_window_s", 5.0, lo=0.5, hi=60.0),
)

RING = Section(
    "[rings.NAME]",
    Int("capacity", None, lo=2, hi=1 << 30, power_of_two=True),  # default per ring
    Choice("policy", "wait", choices=("wait", "overwrite")),
)


def _venue_extra(where: str, v: dict) -> None:
    streams = len(v["symbols"]) * len(v["streams"])
    if streams > 1024:
        raise ConfigError(f"{where} symbols x streams = {streams}: Binance allows at most 1024 per connection")


VENUE = Section(
    "[venue]",
    Choice("kind", "sim", choices=("sim", "binance", "replay", "bridge", *MARKET_VENUES)),
    Text("replay", "", what="a path (an md journal file or directory)"),
    Speed("speed", "1"),
    Text("stream_url", "", pattern=URL, what="a ws:// or wss:// URL, or \"\""),
    Text("api_url", "", pattern=URL, what="a ws:// or wss:// URL, or \"\""),
    Names("symbols", ["btcusdt", "ethusdt"], pattern=SYMBOL, what="symbol names (letters and digits)"),
    Names("streams", ["trade", "bookTicker", "depth@100ms"], choices=STREAMS),
    # instrument rules (hftshm.trading.instruments): exchangeInfo over REST, fetched at start
    Text("rest_url", "", pattern=r"https?://\S+", what="an http:// or https:// URL, or \"\" (the venue's, or the simulator's)"),
    Float("instruments_refresh_s", 300.0, lo=1.0, hi=86400.0),  # execution refetches the rules this often
    extra=_venue_extra,
)

# --- [[venues]]: several venues in one instance (hftshm.runtime.group) ------------------------
VENUE_NAME = r"[a-z][a-z0-9]{0,7}"  # the "venue" of "venue:symbol"; the venue's instance is <instance>-<name>
QUALIFIED = re.compile(f"({VENUE_NAME}):({SYMBOL})")  # an instrument of several venues: "usdm:btcusdt"
VENUE_TABLES = ("sim", "risk", "execution")  # a venue's own [sim], [risk] and [execution] keys


def _venues_extra(where: str, v: dict) -> None:
    if v["kind"] in ("replay", "bridge"):
        raise ConfigError(f"{where} kind = {v['kind']!r}: a venue of several is a market: expected one of "
                          + ", ".join(repr(k) for k in ("sim", "binance", *MARKET_VENUES)))
    _venue_extra(where, v)


VENUES = Section(  # one [[venues]] table: a name, the keys of [venue], and its own sub-tables
    "[[venues]]",
    Text("name", None, pattern=VENUE_NAME, empty=False, what="1 to 8 of a-z 0-9, starting with a letter"),
    *(k for k in VENUE if k.name not in ("replay", "speed")),
    extra=_venues_extra,
)

# across every venue of a [[venues]] config: checked by the supervisor, which halts every venue
RISK_TOTAL = Section(
    "[risk_total]",
    Amount("max_gross_exposure", 100_000),  # quote units, summed over the venues' risk workers
    Float("loss_limit", 2_000.0, lo=0.0, hi=1e15, lo_open=True),  # halt every venue when summed PnL <= -this
)
# --- end [[venues]] ---------------------------------------------------------------------------

SIM = Section(
    "[sim]",
    Float("rate", 2000.0, lo=1.0, hi=2_000_000.0),  # the simulator's own range
    Int("levels", 20, lo=2, hi=1000),
    Int("seed", 1, lo=0, hi=2**63 - 1),
    Text("replay", "", what="a path (a capture file)"),
    Speed("speed", "1"),
    Int("port", 0, lo=0, hi=65535),
    Bool("replay_orders", False),  # replay: orders match against the recorded book
    Choice("venue", "binance_spot", choices=MARKET_VENUES),  # the venue the simulator speaks
    # tick sizes that replace the simulator's own (what its exchangeInfo serves and it enforces)
    Text("ticks", "", pattern=r"[A-Za-z0-9]+=[0-9]+(\.[0-9]{1,8})?(,[A-Za-z0-9]+=[0-9]+(\.[0-9]{1,8})?)*",
         what='"symbol=tick" pairs, comma-separated, such as "btcusdt=0.1", or ""'),
    # USD-M (venue = "binance_usdm"): funding times (Binance: 8 h; compress it to see funding) and
    # forceOrder liquidations a second per symbol (hftshm.exchange.usdm_streams)
    Float("funding_interval_s", 28800.0, lo=0.001, hi=86400.0 * 30),
    Float("liquidations_per_s", 0.2, lo=0.0, hi=1000.0),
)


def _feed_extra(where: str, v: dict) -> None:
    if v["reconnect_max_s"] < v["reconnect_min_s"]:
        raise ConfigError(f"{where} reconnect_max_s = {v['reconnect_max_s']!r}: expected >= reconnect_min_s "
                          f"({v['reconnect_min_s']!r})")


FEED = Section(
    "[feed]",
    Float("ping_interval_s", 20.0, lo=0.0, hi=HOUR, lo_open=True),
    Float("ping_timeout_s", 20.0, lo=0.0, hi=HOUR, lo_open=True),
    Float("stale_after_s", 5.0, lo=0.0, hi=HOUR, lo_open=True),
    Float("reconnect_min_s", 0.1, lo=0.0, hi=HOUR, lo_open=True),
    Float("reconnect_max_s", 10.0, lo=0.0, hi=HOUR, lo_open=True),
    Float("max_connection_age_s", 23.5 * 3600, lo=1.0, hi=24 * HOUR),  # Binance closes at 24 h
    Float("max_outgoing_per_s", 5.0, lo=0.0, hi=1000.0, lo_open=True),
    Choice("host", "own", choices=("own", "execution")),  # the ingest worker, or inside execution (plan.py)
    extra=_feed_extra,
)

JOURNAL = Section(
    "[journal]",
    Bool("enabled", True),
    Float("rotate_mb", 256.0, lo=0.1, hi=1 << 20),
    Float("lag_alarm", 0.5, lo=0.0, hi=1.0, lo_open=True),
    Float("flush_ms", 100.0, lo=1.0, hi=60_000.0),
    Bool("fsync", False),
    # false: an md-journal write failure raises the alarm but trading goes on (orders and fills
    # are journaled regardless; their failure always halts)
    Bool("halt_on_md_failure", True),
)

BRIDGE = Section(  # hftshm.bridge, docs/bridge.md
    "[bridge]",
    Text("url", "nats://127.0.0.1:4222", pattern=r"(nats|tls)://\S+", empty=False, what="a nats:// or tls:// URL"),
    Bool("md_out", False),
    Bool("fills_out", False),
    Text("source", "", pattern=INSTANCE_NAME, what="an instance name (1 to 24 of A-Z a-z 0-9 _ -), or \"\""),
    Choice("storage", "file", choices=("file", "memory")),
    Int("batch", 64, lo=1, hi=4096),
    Int("max_msgs", 1_000_000, lo=1, hi=2**62),
    Float("max_age_s", 86_400.0, lo=0.0, hi=365 * 24 * HOUR, lo_open=True),
    Float("duplicate_window_s", 120.0, lo=0.0, hi=365 * 24 * HOUR, lo_open=True),
    Choice("start", "first", choices=("first", "last")),
    Float("connect_timeout_s", 2.0, lo=0.0, hi=HOUR, lo_open=True),
    Int("max_pending", 1024, lo=1, hi=65536),
    # orders in (docs/bridge.md, "A remote strategy host")
    Bool("orders_out", False),
    Text("orders_in", "", pattern=INSTANCE_NAME, what="an instance name (1 to 24 of A-Z a-z 0-9 _ -), or \"\""),
    Text("orders_in_strategies", "", pattern=r"([0-9]{1,2}(,[0-9]{1,2})*)?",
         what="strategy ids 1..63, comma-separated (\"8,9\"), or \"\""),
)

# --- [metrics] (ops: the Prometheus exporter, hftshm.metrics) ---------------------------------
METRICS = Section(
    "[metrics]",
    Int("port", 0, lo=0, hi=65535),  # 0: no exporter; else the supervisor serves /metrics here
    Text("addr", "127.0.0.1", empty=False, what="an address to listen on (\"127.0.0.1\", \"0.0.0.0\", ...)"),
)
# --- end [metrics] ---------------------------------------------------------------------------

WORKER = Section(
    "[workers.NAME]",
    Choice("wait", "auto", choices=("auto",) + tuple(WAITS)),  # auto: the role's (runtime/roles.py)
    Int("cpu", None, lo=0, hi=4095, optional=True),  # and a core this process may run on: preflight
    Bool("restart", True),
    Float("max_nap_us", 0.0, lo=0.0, hi=100_000.0),
)

# --- trading: [risk], [execution], [[strategies]] ----------------------------------------------

RISK_LIMITS = ("max_order_qty", "max_order_notional", "max_position", "max_gross_exposure", "price_band_bps",
               "max_orders_per_s", "max_orders_per_s_total")  # hftshm.risk.limits.Limits' keywords
# The simulator (like Binance) allows 50 orders per 10 s: the default rates stay below it.
RISK = Section(
    "[risk]",
    Amount("max_order_qty", 1),
    Amount("max_order_notional", 10_000),
    Amount("max_position", 2),
    Amount("max_gross_exposure", 50_000),
    Int("price_band_bps", 100, lo=1, hi=10_000),
    Int("max_orders_per_s", 2, lo=1, hi=SYMBOL_RATE_SLOTS),
    Int("max_orders_per_s_total", 4, lo=1, hi=ACCOUNT_RATE_SLOTS),
    # kill-switch triggers
    Float("loss_limit", 1_000.0, lo=0.0, hi=1e15, lo_open=True),  # quote units: halt when PnL <= -this
    Float("max_feed_age_s", 5.0, lo=0.0, hi=HOUR, lo_open=True),  # halt when the newest md is older
    Int("max_ring_lag", 1 << 19, lo=1, hi=1 << 30),  # halt when risk is this many md records behind
    # execution halts when the risk worker's or the journal's heartbeat is older (not a Limits key)
    Int("protection_timeout_ms", 1000, lo=50, hi=60_000),
)
RISK_SYMBOL = Section("[risk.symbols.SYMBOL]", *(RISK[k] for k in (
    "max_order_qty", "max_order_notional", "max_position", "price_band_bps", "max_orders_per_s")))

EXECUTION = Section(
    "[execution]",
    Text("key_file", "", what="a path (a 0600 file: key, then secret), or \"\""),
    Int("timeout_ms", 2000, lo=10, hi=600_000),
    Int("recv_window_ms", 5000, lo=100, hi=60_000),
    Int("spins", 200, lo=0, hi=1_000_000),
    Int("slice_us", 0, lo=0, hi=100_000),
    Int("max_order_age_ms", 1000, lo=1, hi=600_000),  # older at send time: dropped as STALE
    Bool("cancel_on_stop", True),  # a normal stop cancels the orders still open at the venue
    Int("backoff_ms", 1000, lo=1, hi=600_000),  # first pause after a venue rate-limit answer (doubles)
    Int("backoff_max_ms", 60_000, lo=1, hi=3_600_000),  # longest pause
    Int("rate_limit_halt_after", 3, lo=1, hi=1000),  # this many rate-limit answers in 60 s halt trading
)

KINDS = ("momentum", "imbalance", "grid", "spread", "file")
MAX_STRATEGY_ID = 63  # area_layout.STRATEGIES - 1
STRATEGY = Section(  # the keys of every kind; "id" and "symbols" default per strategy
    "[[strategies]]",
    Text("name", None, pattern=r"[a-z0-9][a-z0-9_-]{0,23}", empty=False,
         what="1 to 24 of a-z 0-9 _ - (starting with a letter or digit)"),
    Choice("kind", "momentum", choices=KINDS),
    Int("id", None, lo=1, hi=MAX_STRATEGY_ID),
    Names("symbols", None, pattern=SYMBOL, what="venue symbols"),
    Text("path", None, empty=False, what="a path to a Python file"),
    Text("class", None, pattern=r"[A-Za-z_][A-Za-z0-9_]*", what="a class name"),
    Choice("host", "own", choices=("own", "execution")),  # its own process, or inside execution (plan.py)
)


def _momentum_extra(where: str, v: dict) -> None:
    if not v["short"] < v["long"]:
        raise ConfigError(f"{where_key(where, 'short')} = {v['short']!r}, long = {v['long']!r}: momentum needs short < long")


MOMENTUM = Section(
    "[[strategies]] kind = \"momentum\"",
    Int("short", 20, lo=1, hi=1_000_000),
    Int("long", 100, lo=2, hi=1_000_000),
    Amount("qty", "0.001", plain=True),
    Float("slip_bps", 5.0, lo=0.0, hi=1000.0),
    Int("cooldown_ms", 500, lo=0, hi=86_400_000),
    extra=_momentum_extra,
)
IMBALANCE = Section(
    "[[strategies]] kind = \"imbalance\"",
    Float("threshold", 0.6, lo=0.0, hi=1.0, lo_open=True, hi_open=True),
    Amount("qty", "0.001", plain=True),
    Amount("max_position", "0.005", plain=True),
    Float("max_spread_bps", 5.0, lo=0.0, hi=10_000.0, lo_open=True),
    Int("cooldown_ms", 500, lo=0, hi=86_400_000),
)
GRID = Section(  # a post-only grid market maker (hftshm.trading.builtins.Grid)
    "[[strategies]] kind = \"grid\"",
    Int("levels", 10, lo=1, hi=1000),
    Int("spacing_ticks", 10, lo=1, hi=1000),
    Int("step_ticks", 10, lo=1, hi=1000),
    Amount("qty", "0.001", plain=True),
    Amount("max_position", "0.01", plain=True),
    Text("tick", "", pattern=r"(?=.*[1-9])[0-9]+(\.[0-9]{1,8})?", what='a positive decimal such as "0.1", or "" (the venue table\'s)'),
    Int("cooldown_ms", 100, lo=0, hi=86_400_000),
)


def _spread_extra(where: str, v: dict) -> None:
    enter = v["fee_bps"] + v["threshold_bps"]
    if v["exit_bps"] > enter:  # an exit rule met at the entry itself: every pair taken back at once
        raise ConfigError(f"{where_key(where, 'exit_bps')} = {v['exit_bps']!r}: expected at most fee_bps + "
                          f"threshold_bps ({enter:g})")


SPREAD = Section(  # the same instrument on two venues (hftshm.trading.builtins.Spread)
    "[[strategies]] kind = \"spread\"",
    Float("threshold_bps", 2.0, lo=0.0, hi=10_000.0),
    Float("fee_bps", 10.0, lo=0.0, hi=10_000.0),
    Float("exit_bps", 0.0, lo=-10_000.0, hi=10_000.0),
    Amount("qty", "0.001", plain=True),
    Amount("max_position", "0.005", plain=True),
    Int("max_quote_age_ms", 500, lo=1, hi=60_000),
    Int("cooldown_ms", 500, lo=0, hi=86_400_000),
    extra=_spread_extra,
)


def spread_legs(symbols: list[str]) -> list[tuple[int, int]]:
    """The legs of a ``spread`` strategy's ``symbols`` (qualified ``venue:symbol`` names, any
    case): one (leg A, leg B) pair of indexes per instrument, grouped by the part after the colon,
    A the one listed first, pairs in the order their first leg is listed. ConfigError naming the
    problem unless every name is qualified and every instrument has exactly two legs, on two
    venues. Here beside the kind's keys, so a config loader can check a table without numba."""
    if not symbols:
        raise ConfigError("spread: no symbols; list the same instrument on two venues, e.g. "
                          "symbols = [\"usdm:btcusdt\", \"bybit:btcusdt\"]")
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(symbols):
        m = QUALIFIED.fullmatch(name.lower())
        if m is None:
            raise ConfigError(f"spread: symbol {name!r} is not a venue:symbol name (such as \"usdm:btcusdt\"); "
                              "a spread trades one instrument on two venues")
        groups.setdefault(m.group(2), []).append(i)
    for instrument, legs in groups.items():
        names = ", ".join(repr(symbols[i]) for i in legs)
        if len(legs) != 2:
            raise ConfigError(f"spread: instrument {instrument!r} has {len(legs)} leg{'s' * (len(legs) > 1)} "
                              f"({names}); each needs exactly two, one per venue")
        if symbols[legs[0]].lower().partition(":")[0] == symbols[legs[1]].lower().partition(":")[0]:
            raise ConfigError(f"spread: instrument {instrument!r} is listed twice on one venue ({names}); "
                              "its two legs must be on two venues")
    return [(a, b) for a, b in groups.values()]


KIND_KEYS = {"momentum": MOMENTUM, "imbalance": IMBALANCE, "grid": GRID, "spread": SPREAD}

# Every documented table, by the name docs/operations.md marks it with (<!-- config NAME -->).
SECTIONS = {
    "top": TOP, "rings": RING, "venue": VENUE, "sim": SIM, "feed": FEED, "journal": JOURNAL,
    "bridge": BRIDGE, "workers": WORKER, "risk": RISK, "execution": EXECUTION, "strategies": STRATEGY,
    "strategies.momentum": MOMENTUM, "strategies.imbalance": IMBALANCE, "strategies.grid": GRID,
    "strategies.spread": SPREAD,
    "metrics": METRICS, "venues": VENUES, "risk_total": RISK_TOTAL,
}
