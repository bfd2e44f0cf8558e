"""Risk limits: a validated config (defaults plus per-symbol overrides) and its numpy form.

Config values are in natural units (``max_order_qty=0.5`` BTC, ``max_order_notional=25_000``
USDT) as int, float, str or Decimal; ``arrays()`` turns them into exact int64 1e-8 fixed point,
the unit of ``order.price_e8``/``qty_e8``, indexed by symbol_id for ``checks.check_order``. A value
with more than 8 decimals is refused rather than rounded: a limit should mean what it says.

Every limit is required and positive; there is no "unlimited" sentinel (set a large value).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from typing import Mapping, Union

import numpy as np

from ..layouts.base import make_dtype
from .layout import ACCOUNT_RATE_SLOTS, SYMBOL_RATE_SLOTS

E8 = 100_000_000
MAX_E8 = 2**62  # headroom below int64 so that sums of a few limits cannot overflow
MAX_BAND_BPS = 10_000  # 100%: the band check's arithmetic assumes no more

Amount = Union[int, float, str, Decimal]

# One row per symbol_id: line 0, everything check_order reads about the symbol's own limits;
# lines 1-2, the venue's instrument rules (hftshm.venues.instruments, set by instrument_rows).
# ``rules``: 0 none given (offline callers: backtests, unit tests; those checks are skipped),
# 1 the venue's rules below apply, anything else (NO_RULES) refuses every new order.
RULES_NONE, RULES_SET, NO_RULES = 0, 1, 2
SYMBOL_LIMITS_DTYPE = make_dtype(
    [
        ("max_order_qty_e8", "<i8", 0),
        ("max_order_notional_e8", "<i8", 8),
        ("max_position_e8", "<i8", 16),
        ("price_band_bps", "<i8", 24),
        ("max_orders_per_s", "<i8", 32),
        ("rules", "<i8", 64),
        ("tick_e8", "<i8", 72),
        ("min_price_e8", "<i8", 80),
        ("max_price_e8", "<i8", 88),
        ("step_e8", "<i8", 96),
        ("min_qty_e8", "<i8", 104),
        ("max_qty_e8", "<i8", 112),
        ("market_max_qty_e8", "<i8", 120),
        ("min_notional_e8", "<i8", 128),
        ("max_notional_e8", "<i8", 136),
        ("buy_up_e8", "<i8", 144),
        ("buy_down_e8", "<i8", 152),
        ("sell_up_e8", "<i8", 160),
        ("sell_down_e8", "<i8", 168),
    ],
    192,
)
RULE_FIELDS = ("tick_e8", "min_price_e8", "max_price_e8", "step_e8", "min_qty_e8", "max_qty_e8",
               "market_max_qty_e8", "min_notional_e8", "max_notional_e8", "buy_up_e8", "buy_down_e8",
               "sell_up_e8", "sell_down_e8")


def instrument_rows(rows: np.ndarray, rules) -> None:
    """Write the venue's rules into ``rows`` (SYMBOL_LIMITS_DTYPE, symbol-id order) in place;
    ``rules[i]`` is an ``InstrumentRules`` or None (that symbol then refuses every new order).
    ``rules`` is written last per row (a reader in this process sees it after the values; the
    gate runs on the same thread as a refresh, so no row is read half-written)."""
    if len(rules) != rows.shape[0]:
        raise LimitsError(f"instrument rules for {len(rules)} symbols, limits for {rows.shape[0]}")
    for i, r in enumerate(rules):
        if r is None:
            rows[i]["rules"] = NO_RULES
            continue
        for name in RULE_FIELDS:
            rows[i][name] = getattr(r, name)
        rows[i]["rules"] = RULES_SET

# One row (shape (1,)): limits across all symbols.
ACCOUNT_LIMITS_DTYPE = make_dtype(
    [
        ("max_gross_exposure_e8", "<i8", 0),
        ("max_orders_per_s", "<i8", 8),
    ],
    64,
)


class LimitsError(ValueError):
    """A limit is missing, of the wrong type, out of range, or too precise."""


@dataclass(frozen=True)
class SymbolLimits:
    """Overrides for one symbol; None keeps the default."""

    max_order_qty: Amount | None = None
    max_order_notional: Amount | None = None
    max_position: Amount | None = None
    price_band_bps: int | None = None
    max_orders_per_s: int | None = None


PER_SYMBOL = tuple(f.name for f in fields(SymbolLimits))


@dataclass(frozen=True)
class Limits:
    """Defaults for every symbol id below ``n_symbols``, overrides by symbol id, account limits.

    ``max_position`` is the largest |position| in base units, counting open orders on the side
    of a new order; ``max_gross_exposure`` bounds the sum over symbols of the worst-case |position|
    (open orders included) times the mid, in quote units; ``price_band_bps`` is the largest
    distance of a limit price from the last mid in basis points of the mid;
    ``max_orders_per_s`` counts accepted new orders in any one-second window, per symbol, and
    ``max_orders_per_s_total`` across symbols.
    """

    n_symbols: int
    max_order_qty: Amount
    max_order_notional: Amount
    max_position: Amount
    max_gross_exposure: Amount
    price_band_bps: int
    max_orders_per_s: int
    max_orders_per_s_total: int
    overrides: Mapping[int, SymbolLimits | Mapping] = field(default_factory=dict)

    def __post_init__(self):
        _check_count("n_symbols", self.n_symbols, 1, 1 << 32)
        object.__setattr__(self, "overrides", _normalize_overrides(self.overrides, self.n_symbols))
        for name in PER_SYMBOL:
            _convert(f"limits.{name}", name, getattr(self, name))
        _convert("limits.max_gross_exposure", "max_gross_exposure", self.max_gross_exposure)
        _check_count("limits.max_orders_per_s_total", self.max_orders_per_s_total, 1, ACCOUNT_RATE_SLOTS)
        for sid, over in self.overrides.items():
            for name in PER_SYMBOL:
                value = getattr(over, name)
                if value is not None:
                    _convert(f"limits.overrides[{sid}].{name}", name, value)

    def for_symbol(self, symbol_id: int) -> dict:
        """The effective limits of one symbol, in config units."""
        over = self.overrides.get(symbol_id, SymbolLimits())
        return {n: getattr(self, n) if getattr(over, n) is None else getattr(over, n) for n in PER_SYMBOL}

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(per-symbol limits, shape (n_symbols,) of SYMBOL_LIMITS_DTYPE; account limits, shape (1,)
        of ACCOUNT_LIMITS_DTYPE), the arguments check_order takes."""
        rows = np.zeros(self.n_symbols, SYMBOL_LIMITS_DTYPE)
        columns = SYMBOL_LIMITS_DTYPE.names[:len(PER_SYMBOL)]  # line 0, in PER_SYMBOL's order
        for col, n in zip(columns, PER_SYMBOL):
            rows[col] = _convert("", n, getattr(self, n))
        for sid, over in self.overrides.items():
            for col, (n, v) in zip(columns, self.for_symbol(sid).items()):
                rows[sid][col] = _convert("", n, v)
        account = np.zeros(1, ACCOUNT_LIMITS_DTYPE)
        account[0] = (_convert("", "max_gross_exposure", self.max_gross_exposure), self.max_orders_per_s_total)
        return rows, account


# --- validation ------------------------------------------------------------------------------

def _convert(where: str, name: str, value) -> int:
    """One config value as stored in the arrays; raises LimitsError naming ``where``."""
    if name == "price_band_bps":
        return _check_count(where, value, 1, MAX_BAND_BPS)
    if name == "max_orders_per_s":
        return _check_count(where, value, 1, SYMBOL_RATE_SLOTS)
    return to_e8(where, value)


def to_e8(where: str, value: Amount) -> int:
    """A positive amount in natural units as exact 1e-8 fixed point."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise LimitsError(f"{where}: expected a number, got {value!r} ({type(value).__name__})")
    if isinstance(value, float) and not math.isfinite(value):
        raise LimitsError(f"{where}: must be finite, got {value!r}")
    try:
        # repr of a float is its shortest round-trip text: 0.1 is Decimal("0.1"), not 0.1000000000000000055
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise LimitsError(f"{where}: not a number: {value!r}") from None
    if not amount.is_finite():
        raise LimitsError(f"{where}: must be finite, got {value!r}")
    scaled = amount * E8
    if scaled != scaled.to_integral_value():
        raise LimitsError(f"{where}: {value!r} has more than 8 decimals")
    e8 = int(scaled)
    if e8 <= 0:
        raise LimitsError(f"{where}: must be > 0, got {value!r}")
    if e8 > MAX_E8:
        raise LimitsError(f"{where}: {value!r} is too large (at most {MAX_E8 / E8:.0f})")
    return e8


def _check_count(where: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise LimitsError(f"{where}: expected an integer, got {value!r} ({type(value).__name__})")
    if not low <= value <= high:
        raise LimitsError(f"{where}: must be in [{low}, {high}], got {value}")
    return int(value)


def _normalize_overrides(overrides, n_symbols: int) -> dict[int, SymbolLimits]:
    if not isinstance(overrides, Mapping):
        raise LimitsError(f"limits.overrides: expected a mapping of symbol_id to SymbolLimits, got {type(overrides).__name__}")
    out = {}
    for sid, over in overrides.items():
        where = f"limits.overrides[{sid!r}]"
        if isinstance(sid, bool) or not isinstance(sid, (int, np.integer)) or not 0 <= sid < n_symbols:
            raise LimitsError(f"{where}: symbol id must be an integer in [0, {n_symbols}) (n_symbols)")
        if isinstance(over, Mapping):
            unknown = sorted(set(over) - set(PER_SYMBOL))
            if unknown:
                raise LimitsError(f"{where}: unknown field(s) {', '.join(map(str, unknown))}; "
                                  f"known: {', '.join(PER_SYMBOL)}")
            over = SymbolLimits(**over)
        elif not isinstance(over, SymbolLimits):
            raise LimitsError(f"{where}: expected SymbolLimits or a mapping, got {type(over).__name__}")
        out[int(sid)] = over
    return out
