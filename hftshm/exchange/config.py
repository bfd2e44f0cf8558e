"""What one simulator run is: symbols, rates, keys, limits and faults, checked once, here.

Every field is validated in ``__post_init__`` with an error that names the field and the bad
value, so the CLI, the supervisor and the tests all get the same messages. The API secret is kept
out of ``repr`` so a logged config never shows it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from hftshm.feed.e8 import parse_e8
from hftshm.layouts.md import E8

DEFAULT_API_KEY = "hftshm-demo-key"
DEFAULT_API_SECRET = "hftshm-demo-secret"
QUOTE_ASSETS = ("USDT", "USDC", "FDUSD", "BUSD", "BTC", "ETH", "BNB")


@dataclass(frozen=True)
class SymbolSpec:
    """Trading rules and a starting price for one symbol; all amounts in 1e-8 units (``*_e8``).

    ``tick_e8 * step_e8`` must be a multiple of 1e8 so that every price * quantity is exact in
    1e-8 units of the quote asset (true for Binance's BTCUSDT and ETHUSDT rules).
    """

    symbol: str  # upper case, as in payloads: "BTCUSDT"
    base: str
    quote: str
    tick_e8: int
    step_e8: int
    price_e8: int  # starting mid price
    min_qty_e8: int
    max_qty_e8: int
    min_notional_e8: int
    max_notional_e8: int
    level_qty_e8: int  # mean resting quantity of a book level
    trade_qty_e8: int  # mean quantity of a synthetic taker order

    def __post_init__(self):
        for name in ("tick_e8", "step_e8", "price_e8", "min_qty_e8", "max_qty_e8",
                     "min_notional_e8", "max_notional_e8", "level_qty_e8", "trade_qty_e8"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{self.symbol}: {name} must be > 0, got {getattr(self, name)}")
        if (self.tick_e8 * self.step_e8) % E8:
            raise ValueError(
                f"{self.symbol}: tickSize * stepSize must be a multiple of 1e-8 so notionals are "
                f"exact (tick_e8={self.tick_e8}, step_e8={self.step_e8})"
            )
        if self.price_e8 % self.tick_e8:
            raise ValueError(f"{self.symbol}: starting price is not a multiple of the tick size")

    @property
    def stream_symbol(self) -> str:
        return self.symbol.lower()

    @property
    def quote_per_tick_lot(self) -> int:
        """Quote e8 units of one tick of price times one step of quantity."""
        return self.tick_e8 * self.step_e8 // E8


def _spec(symbol, base, quote, tick, step, price, min_qty, level_qty, trade_qty) -> SymbolSpec:
    return SymbolSpec(
        symbol=symbol, base=base, quote=quote,
        tick_e8=parse_e8(tick), step_e8=parse_e8(step), price_e8=parse_e8(price),
        min_qty_e8=parse_e8(min_qty), max_qty_e8=parse_e8("9000"),
        min_notional_e8=parse_e8("5"), max_notional_e8=parse_e8("9000000"),
        level_qty_e8=parse_e8(level_qty), trade_qty_e8=parse_e8(trade_qty),
    )


# Tick and step sizes as Binance Spot lists them; prices near the recorded capture's.
KNOWN_SYMBOLS = {
    "btcusdt": _spec("BTCUSDT", "BTC", "USDT", "0.01", "0.00001", "61837.63", "0.00001", "0.5", "0.02"),
    "ethusdt": _spec("ETHUSDT", "ETH", "USDT", "0.01", "0.0001", "2650.00", "0.0001", "8", "0.3"),
}


def symbol_spec(name: str) -> SymbolSpec:
    """The spec for a stream symbol (``"btcusdt"``); unknown ones get generic rules."""
    if not name or not name.isascii() or not name.isalnum():
        raise ValueError(f"symbol {name!r} must be ASCII letters and digits, like 'btcusdt'")
    low = name.lower()
    if low in KNOWN_SYMBOLS:
        return KNOWN_SYMBOLS[low]
    up = name.upper()
    for quote in QUOTE_ASSETS:
        if up.endswith(quote) and len(up) > len(quote):
            return _spec(up, up[: -len(quote)], quote, "0.01", "0.001", "100.00", "0.001", "40", "1")
    raise ValueError(f"symbol {name!r} does not end in a known quote asset {QUOTE_ASSETS}")


@dataclass(frozen=True)
class Faults:
    """Fault injection, all off by default (0). Periods in seconds, counts in messages."""

    drop_every_s: float = 0.0  # abort each connection this long after it opened
    stall_every_s: float = 0.0  # every this many seconds of a connection...
    stall_for_s: float = 0.0  # ...hold its outgoing frames this long, then flush them
    malformed_every: int = 0  # before every Nth market message, one bad frame (JSON / missing "s")
    gap_every: int = 0  # drop every Nth trade and every Nth depth update (ids skip)
    burst_every_s: float = 0.0  # every this many seconds...
    burst_size: int = 0  # ...this many extra messages generated in one instant

    def __post_init__(self):
        for name in ("drop_every_s", "stall_every_s", "stall_for_s", "burst_every_s"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"faults: {name} must be a finite number >= 0, got {v!r}")
        for name in ("malformed_every", "gap_every", "burst_size"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 0:
                raise ValueError(f"faults: {name} must be an integer >= 0, got {v!r}")
        if (self.stall_every_s > 0) != (self.stall_for_s > 0):
            raise ValueError("faults: stall needs both stall_every_s and stall_for_s")
        if self.stall_every_s and self.stall_for_s >= self.stall_every_s:
            raise ValueError("faults: stall_for_s must be shorter than stall_every_s")
        if (self.burst_every_s > 0) != (self.burst_size > 0):
            raise ValueError("faults: a burst needs both burst_every_s and burst_size")
        if self.gap_every == 1:
            raise ValueError("faults: gap_every=1 would drop every message; use 0 (off) or >= 2")
        if self.malformed_every == 1:
            raise ValueError("faults: malformed_every must be 0 (off) or >= 2")


@dataclass(frozen=True)
class SimLimits:
    """Binance's connection and request limits (web-socket-streams.md "Websocket Limits",
    web-socket-api.md "Rate limits"); tests lower them to hit them quickly."""

    incoming_per_s: int = 5  # market-stream connections: messages (text, ping, pong) per second
    streams_per_connection: int = 1024
    weight_per_minute: int = 6000  # WS API REQUEST_WEIGHT, shared by all connections (one IP)
    orders_per_10s: int = 50  # WS API ORDERS per account
    orders_per_day: int = 160000

    def __post_init__(self):
        for name in ("incoming_per_s", "streams_per_connection", "weight_per_minute",
                     "orders_per_10s", "orders_per_day"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"limits: {name} must be an integer >= 1, got {v!r}")


DEFAULT_BALANCES = (("USDT", "100000"), ("BTC", "1"), ("ETH", "10"))


@dataclass(frozen=True)
class ExchangeConfig:
    host: str = "127.0.0.1"
    port: int = 9443  # Binance's stream port; 0 picks a free one
    port_file: Path | None = None
    symbols: tuple[str, ...] = ("btcusdt", "ethusdt")
    rate: float = 1000.0  # trade + aggTrade + bookTicker messages per second, all symbols
    count: int | None = None  # stop market streams after this many messages were delivered
    levels: int = 20
    seed: int = 1
    replay: Path | None = None
    speed: float = 1.0  # replay pace; math.inf plays as fast as possible
    replay_orders: bool = False  # replay: orders match against the recorded book (replay_trading.py)
    ping_interval: float = 20.0
    ping_timeout: float = 60.0  # Binance disconnects when no pong arrives within a minute
    api_key: str = DEFAULT_API_KEY
    api_secret: str = field(default=DEFAULT_API_SECRET, repr=False)
    maker_fee: str = "0.001"
    taker_fee: str = "0.001"
    balances: tuple[tuple[str, str], ...] = DEFAULT_BALANCES
    faults: Faults = Faults()
    limits: SimLimits = SimLimits()
    tick_s: float = 0.001  # how often the synthetic market is advanced and flushed (asyncio sleeps are whole ms)
    max_buffer: int = 64 << 20  # a connection with more unsent bytes than this is dropped
    # USD-M futures orders (exchange/futures.py): "binance_usdm" serves /ws-fapi/v1 on the synthetic market
    venue: str = "binance_spot"
    funding_interval_s: float = 28800.0  # Binance's 8 h; tests compress it
    funding_rate: str = "0.0001"  # per funding time, signed
    leverage: int = 20
    liquidations_per_s: float = 0.2  # USD-M forceOrder: liquidations a second per symbol (usdm_streams.py)
    # (symbol, tick) pairs that replace a symbol's tick size in its rules (what exchangeInfo
    # serves and the matching enforces): ("btcusdt", "0.1")
    ticks: tuple[tuple[str, str], ...] = ()

    def __post_init__(self):
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0..65535 (an integer), got {self.port!r}")
        if not self.symbols:
            raise ValueError("symbols: give at least one symbol")
        specs = [symbol_spec(s) for s in self.symbols]  # raises on a bad name
        lows = [s.stream_symbol for s in specs]
        if len(set(lows)) != len(lows):
            raise ValueError(f"symbols: duplicates in {list(self.symbols)}")
        object.__setattr__(self, "symbols", tuple(lows))
        if not (_real(self.rate) and math.isfinite(self.rate) and 1 <= self.rate <= 2_000_000):
            raise ValueError(f"rate must be between 1 and 2000000 messages/s, got {self.rate!r}")
        if self.count is not None and (not isinstance(self.count, int) or self.count < 1):
            raise ValueError(f"count must be a positive integer, got {self.count!r}")
        if not isinstance(self.levels, int) or not (2 <= self.levels <= 1000):
            raise ValueError(f"levels must be an integer 2..1000, got {self.levels!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {self.seed!r}")
        if not (_real(self.speed) and self.speed > 0):
            raise ValueError(f"speed must be > 0 (or inf for as fast as possible), got {self.speed!r}")
        if self.replay is not None:
            _check_readable(Path(self.replay))
        if self.replay_orders and (self.replay is None or not math.isfinite(self.speed)):
            raise ValueError("replay_orders needs a replay capture and a finite speed (the orders' clock)")
        for name in ("ping_interval", "ping_timeout", "tick_s"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
        if not self.api_key or not self.api_secret:
            raise ValueError("api_key and api_secret must not be empty")
        for name in ("maker_fee", "taker_fee"):
            if fee_e8(getattr(self, name)) > E8 // 10:
                raise ValueError(f"{name} must be at most 0.1 (10%), got {getattr(self, name)!r}")
        for asset, amount in self.balances:
            if not asset.isalnum() or not asset.isupper():
                raise ValueError(f"balance asset {asset!r} must be upper-case letters/digits")
            parse_e8(amount)
        if self.venue not in ("binance_spot", "binance_usdm"):
            raise ValueError(f"venue must be 'binance_spot' or 'binance_usdm', got {self.venue!r}")
        if not (_real(self.funding_interval_s) and math.isfinite(self.funding_interval_s)
                and self.funding_interval_s >= 0.001):
            raise ValueError(f"funding_interval_s must be a number >= 0.001, got {self.funding_interval_s!r}")
        rate = self.funding_rate[1:] if self.funding_rate.startswith("-") else self.funding_rate
        try:
            parse_e8(rate)
        except ValueError:
            raise ValueError(f"funding_rate must be a signed decimal like '0.0001', got {self.funding_rate!r}") from None
        if not isinstance(self.leverage, int) or not 1 <= self.leverage <= 125:
            raise ValueError(f"leverage must be an integer 1..125, got {self.leverage!r}")
        if not (_real(self.liquidations_per_s) and math.isfinite(self.liquidations_per_s)
                and 0 <= self.liquidations_per_s <= 1000):
            raise ValueError(f"liquidations_per_s must be a number 0..1000, got {self.liquidations_per_s!r}")
        if self.max_buffer < 1 << 16:
            raise ValueError("max_buffer must be at least 64 KiB")
        for symbol, tick in self.ticks:
            if symbol.lower() not in self.symbols:
                raise ValueError(f"ticks: {symbol!r} is not one of the symbols {list(self.symbols)}")
            _with_tick(symbol_spec(symbol), tick)  # raises on a bad tick

    @cached_property
    def specs(self) -> dict[str, SymbolSpec]:
        ticks = {sym.lower(): tick for sym, tick in self.ticks}
        return {s: _with_tick(symbol_spec(s), ticks[s]) if s in ticks else symbol_spec(s) for s in self.symbols}


def _with_tick(spec: SymbolSpec, tick: str) -> SymbolSpec:
    """``spec`` with tick size ``tick`` (a decimal string); its starting price rounded onto it."""
    import dataclasses

    try:
        tick_e8 = parse_e8(tick)
    except ValueError as exc:
        raise ValueError(f"ticks: {spec.stream_symbol} tick {tick!r}: {exc}") from None
    if tick_e8 <= 0:
        raise ValueError(f"ticks: {spec.stream_symbol} tick must be > 0, got {tick!r}")
    price = max(spec.price_e8 // tick_e8, 1) * tick_e8
    step = spec.step_e8
    while (tick_e8 * step) % E8:  # a finer tick needs a coarser step for exact notionals (1e-8: step 1)
        step *= 10
    return dataclasses.replace(spec, tick_e8=tick_e8, price_e8=price, step_e8=step,
                               min_qty_e8=max(spec.min_qty_e8, step))


def _real(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_readable(path: Path) -> None:
    """A replay capture must be a file this process can read: name it otherwise."""
    if not path.exists():
        raise ValueError(f"replay file {str(path)!r} does not exist")
    if not path.is_file():
        raise ValueError(f"replay file {str(path)!r} is not a file")
    try:
        with open(path, "rb") as f:
            f.read(1)
    except OSError as exc:
        raise ValueError(f"replay file {str(path)!r} cannot be read: {exc.strerror or exc}") from None


def fee_e8(text: str) -> int:
    """A fee rate such as ``"0.001"`` as an e8 integer (0.1% -> 100000)."""
    try:
        return parse_e8(text)
    except ValueError as exc:
        raise ValueError(f"fee {text!r} is not a decimal fraction like '0.001': {exc}") from None
