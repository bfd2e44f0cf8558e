"""Instrument rules: what a venue allows for one symbol's orders, in one typed record.

Every venue's ``exchangeInfo`` parser (``binance_spot.exchange_info``,
``binance_usdm.exchange_info``) returns ``{SYMBOL: InstrumentRules}``; the live side (strategies'
rounding, execution's pre-trade gate) reads nothing else. The simulator's own table
(``hftshm.exchange.config``) only serves an exchangeInfo answer; it never reaches the live side.

All amounts are 1e-8 fixed point (``*_e8``), like ``order.price_e8``/``qty_e8``. As in Binance's
filters, 0 means "no such rule" for a bound (``max_price_e8``, ``max_qty_e8``, ...); the tick and
the step are never 0 (a venue that disables its tick gets refused here: hftshm rounds on it).

Fail closed: a symbol with no rules, a required filter missing, or a value that is not a
positive decimal with at most 8 places raises ``InstrumentError`` naming the symbol, the filter
and the field; no trading starts for that symbol.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

from ..feed.e8 import parse_e8

E8 = 100_000_000


class InstrumentError(ValueError):
    """Rules missing or unreadable; the message names the symbol, the filter and the field."""


@dataclass(frozen=True)
class InstrumentRules:
    symbol: str  # upper case, as the venue writes it: "BTCUSDT"
    base: str
    quote: str
    tick_e8: int  # PRICE_FILTER tickSize: a limit price is a multiple of it
    step_e8: int  # LOT_SIZE stepSize: a quantity is a multiple of it
    min_qty_e8: int = 0  # LOT_SIZE minQty
    max_qty_e8: int = 0  # LOT_SIZE maxQty
    min_price_e8: int = 0  # PRICE_FILTER minPrice
    max_price_e8: int = 0  # PRICE_FILTER maxPrice
    market_max_qty_e8: int = 0  # MARKET_LOT_SIZE maxQty (MARKET orders; 0: LOT_SIZE's)
    min_notional_e8: int = 0  # MIN_NOTIONAL / NOTIONAL minNotional (USD-M: notional)
    max_notional_e8: int = 0  # NOTIONAL maxNotional
    # percent-price band around the reference price, multipliers as e8 (1.15 -> 115000000);
    # Spot's PERCENT_PRICE_BY_SIDE has one pair per side, PERCENT_PRICE one for both
    buy_up_e8: int = 0
    buy_down_e8: int = 0
    sell_up_e8: int = 0
    sell_down_e8: int = 0

    def __post_init__(self):
        for f in fields(self):
            v = getattr(self, f.name)
            if f.type == "str":
                if not isinstance(v, str) or not v:
                    raise InstrumentError(f"{self.symbol!r}: {f.name} must be a non-empty string, got {v!r}")
                continue
            if isinstance(v, bool) or not isinstance(v, int) or v < 0 or v >= 1 << 62:
                raise InstrumentError(f"{self.symbol}: {f.name} must be an integer in [0, 2^62), got {v!r}")
        for name in ("tick_e8", "step_e8"):
            if getattr(self, name) <= 0:
                raise InstrumentError(f"{self.symbol}: {name} must be > 0 (hftshm rounds prices and quantities "
                                      f"on it), got {getattr(self, name)}")
        for lo, hi in (("min_qty_e8", "max_qty_e8"), ("min_price_e8", "max_price_e8"),
                       ("min_notional_e8", "max_notional_e8"), ("buy_down_e8", "buy_up_e8"),
                       ("sell_down_e8", "sell_up_e8")):
            if getattr(self, hi) and getattr(self, lo) > getattr(self, hi):
                raise InstrumentError(f"{self.symbol}: {lo} ({getattr(self, lo)}) is above {hi} ({getattr(self, hi)})")

    # --- what the strategies round with ------------------------------------------------------
    def price_down(self, price_e8: int) -> int:
        """The tick at or below ``price_e8``."""
        return price_e8 // self.tick_e8 * self.tick_e8

    def price_up(self, price_e8: int) -> int:
        return -(-price_e8 // self.tick_e8) * self.tick_e8

    def qty_down(self, qty_e8: int) -> int:
        """The step at or below ``qty_e8`` (never rounded up: a strategy never sends more than it meant)."""
        return qty_e8 // self.step_e8 * self.step_e8

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "InstrumentRules":
        if not isinstance(d, dict):
            raise InstrumentError(f"instrument rules: expected an object, got {type(d).__name__}")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise InstrumentError(f"{d.get('symbol')!r}: unknown rule field(s) {', '.join(unknown)}")
        try:
            return cls(**d)
        except TypeError as exc:
            raise InstrumentError(f"{d.get('symbol')!r}: {exc}") from None


# --- helpers for the venue parsers ---------------------------------------------------------------

def decimal_e8(symbol: str, filter_type: str, table: dict, key: str, *, zero_ok: bool = True) -> int:
    """Field ``key`` of filter ``filter_type`` as e8; InstrumentError naming all three otherwise.
    Binance writes decimals as strings ("0.01000000"); a JSON number is accepted only when it is
    an integer or has a short exact text form (USD-M writes some small values as numbers)."""
    if key not in table:
        raise InstrumentError(f"{symbol}: filter {filter_type} has no {key!r}")
    raw = table[key]
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise InstrumentError(f"{symbol}: {filter_type}.{key} = {raw!r}: expected a decimal string")
    text = raw if isinstance(raw, str) else repr(raw)
    try:
        value = parse_e8(text)
    except ValueError:
        raise InstrumentError(f"{symbol}: {filter_type}.{key} = {raw!r}: not a decimal >= 0 with at most "
                              "8 places") from None
    if value == 0 and not zero_ok:
        raise InstrumentError(f"{symbol}: {filter_type}.{key} is 0 (disabled): hftshm needs it to trade")
    return value


def filters_by_type(symbol: str, entry: dict) -> dict[str, dict]:
    """The ``filters`` array of one exchangeInfo symbol, by ``filterType``."""
    flist = entry.get("filters")
    if not isinstance(flist, list):
        raise InstrumentError(f"{symbol}: exchangeInfo symbol has no 'filters' array")
    out: dict[str, dict] = {}
    for i, f in enumerate(flist):
        if not isinstance(f, dict) or not isinstance(f.get("filterType"), str):
            raise InstrumentError(f"{symbol}: filters[{i}] is not an object with a filterType")
        out[f["filterType"]] = f
    return out


def require(symbol: str, by_type: dict[str, dict], *names: str) -> dict:
    """The first of ``names`` present; InstrumentError naming them all if none is."""
    for n in names:
        if n in by_type:
            return by_type[n]
    raise InstrumentError(f"{symbol}: exchangeInfo has no {' or '.join(names)} filter "
                          f"(it has {', '.join(sorted(by_type)) or 'none'}); no trading without it")


def symbol_entries(answer) -> dict[str, dict]:
    """``{SYMBOL: entry}`` of an exchangeInfo answer (a REST body, or a WebSocket API ``result``)."""
    if isinstance(answer, (bytes, str)):
        try:
            answer = json.loads(answer)
        except ValueError as exc:
            raise InstrumentError(f"exchangeInfo: not JSON: {exc}") from None
    if not isinstance(answer, dict):
        raise InstrumentError(f"exchangeInfo: expected an object, got {type(answer).__name__}")
    if "result" in answer and isinstance(answer["result"], dict):  # a WebSocket API response
        answer = answer["result"]
    if "code" in answer and "symbols" not in answer:
        raise InstrumentError(f"exchangeInfo: the venue answered an error: {answer.get('code')} {answer.get('msg')!r}")
    symbols = answer.get("symbols")
    if not isinstance(symbols, list):
        raise InstrumentError("exchangeInfo: no 'symbols' array in the answer")
    out = {}
    for i, entry in enumerate(symbols):
        if not isinstance(entry, dict) or not isinstance(entry.get("symbol"), str):
            raise InstrumentError(f"exchangeInfo: symbols[{i}] has no 'symbol' name")
        out[entry["symbol"].upper()] = entry
    return out


def parse_answer(answer, symbols, parse_symbol) -> dict[str, InstrumentRules]:
    """``{SYMBOL: rules}`` of an exchangeInfo answer (bytes, text or decoded) for ``symbols`` (any
    case; None: every symbol listed), each by the venue's ``parse_symbol(symbol, entry)``.
    InstrumentError names the symbol and filter at fault."""
    entries = symbol_entries(answer)
    wanted = list(entries) if symbols is None else [s.upper() for s in symbols]
    out = {}
    for s in wanted:
        if s not in entries:
            raise InstrumentError(f"{s}: not in the venue's exchangeInfo answer (it lists "
                                  f"{', '.join(sorted(entries)[:20]) or 'none'}); no trading without rules")
        out[s] = parse_symbol(s, entries[s])
    return out


def price_and_lot(symbol: str, entry: dict, price: dict, lot: dict) -> dict:
    """The InstrumentRules fields every Binance market has: assets, PRICE_FILTER and LOT_SIZE."""
    return dict(
        symbol=symbol, base=asset(symbol, entry, "baseAsset"), quote=asset(symbol, entry, "quoteAsset"),
        tick_e8=decimal_e8(symbol, "PRICE_FILTER", price, "tickSize", zero_ok=False),
        min_price_e8=decimal_e8(symbol, "PRICE_FILTER", price, "minPrice"),
        max_price_e8=decimal_e8(symbol, "PRICE_FILTER", price, "maxPrice"),
        step_e8=decimal_e8(symbol, "LOT_SIZE", lot, "stepSize", zero_ok=False),
        min_qty_e8=decimal_e8(symbol, "LOT_SIZE", lot, "minQty"),
        max_qty_e8=decimal_e8(symbol, "LOT_SIZE", lot, "maxQty"),
    )


def asset(symbol: str, entry: dict, key: str) -> str:
    v = entry.get(key)
    if not isinstance(v, str) or not v:
        raise InstrumentError(f"{symbol}: exchangeInfo symbol has no {key!r}")
    return v


def select(table: dict[str, InstrumentRules], symbols) -> list[InstrumentRules]:
    """The rules of ``symbols`` (any case, for a table keyed in upper case; else as keyed), in
    that order; InstrumentError naming the first symbol the table lacks (fail closed: no trading
    for a symbol without rules)."""
    out = []
    for s in symbols:
        rules = table.get(s.upper()) or table.get(s)
        if rules is None:
            raise InstrumentError(f"{s.upper()}: the venue's exchangeInfo has no such symbol "
                                  f"(it lists {', '.join(sorted(table)[:20]) or 'none'}); no trading without rules")
        out.append(rules)
    return out


# --- the rules file a run shares with its workers ------------------------------------------------

FILE_NAME = "instruments.json"
FILE_VERSION = 1


def dumps(rules: list[InstrumentRules], source: str, fetched_ns: int) -> str:
    return json.dumps({"version": FILE_VERSION, "source": source, "fetched_ns": fetched_ns,
                       "symbols": {r.symbol: r.to_dict() for r in rules}}, indent=1)


def loads(text: str, where: str = FILE_NAME) -> tuple[dict[str, InstrumentRules], dict]:
    """(rules by symbol, {"source", "fetched_ns"}) of a rules file's text."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InstrumentError(f"{where}: not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("version") != FILE_VERSION or not isinstance(data.get("symbols"), dict):
        raise InstrumentError(f"{where}: not an hftshm instruments file of version {FILE_VERSION}")
    rules = {k.upper(): InstrumentRules.from_dict(v) for k, v in data["symbols"].items()}
    return rules, {"source": data.get("source", ""), "fetched_ns": int(data.get("fetched_ns", 0))}
