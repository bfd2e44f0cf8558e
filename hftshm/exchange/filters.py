"""Symbol filters (filters.md): PRICE_FILTER, LOT_SIZE, NOTIONAL and MAX_NUM_ORDERS, shown and
enforced.

A failing order gets -1013 "Filter failure: <NAME>" (errors.md "Filter failures").
MARKET orders are checked against NOTIONAL's minimum with the current mid price standing in
for Binance's 5-minute average (``applyMinToMarket``), not against its maximum.
"""

from __future__ import annotations

from hftshm.layouts.md import E8, format_e8

from . import errors
from .config import SymbolSpec

MAX_PRICE_E8 = 1_000_000 * E8
MAX_NUM_ORDERS = 200  # open orders per symbol, as on Binance Spot


def filter_list(spec: SymbolSpec) -> list[dict]:
    """The ``filters`` of a symbol in exchangeInfo."""
    return [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": format_e8(spec.tick_e8),
            "maxPrice": format_e8(MAX_PRICE_E8),
            "tickSize": format_e8(spec.tick_e8),
        },
        {
            "filterType": "LOT_SIZE",
            "minQty": format_e8(spec.min_qty_e8),
            "maxQty": format_e8(spec.max_qty_e8),
            "stepSize": format_e8(spec.step_e8),
        },
        {
            "filterType": "NOTIONAL",
            "minNotional": format_e8(spec.min_notional_e8),
            "applyMinToMarket": True,
            "maxNotional": format_e8(spec.max_notional_e8),
            "applyMaxToMarket": False,
            "avgPriceMins": 5,
        },
        {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": MAX_NUM_ORDERS},
    ]


def usdm_filter_list(spec: SymbolSpec) -> list[dict]:
    """The ``filters`` of a symbol in USD-M's ``/fapi/v1/exchangeInfo`` (derivatives docs, USDⓈ-M
    Futures, "Exchange Information"): MIN_NOTIONAL's field is ``notional``; PERCENT_PRICE is shown
    only (the simulator does not enforce a band)."""
    lot = {"minQty": format_e8(spec.min_qty_e8), "maxQty": format_e8(spec.max_qty_e8),
           "stepSize": format_e8(spec.step_e8)}
    return [
        {"filterType": "PRICE_FILTER", "minPrice": format_e8(spec.tick_e8), "maxPrice": format_e8(MAX_PRICE_E8),
         "tickSize": format_e8(spec.tick_e8)},
        {"filterType": "LOT_SIZE", **lot},
        {"filterType": "MARKET_LOT_SIZE", **lot},
        {"filterType": "MAX_NUM_ORDERS", "limit": MAX_NUM_ORDERS},
        {"filterType": "MIN_NOTIONAL", "notional": format_e8(spec.min_notional_e8)},
        {"filterType": "PERCENT_PRICE", "multiplierUp": "1.1500", "multiplierDown": "0.8500", "multiplierDecimal": "4"},
    ]


def check_price(spec: SymbolSpec, price_e8: int) -> None:
    if price_e8 < spec.tick_e8 or price_e8 > MAX_PRICE_E8 or price_e8 % spec.tick_e8:
        raise errors.filter_failure("PRICE_FILTER")


def check_qty(spec: SymbolSpec, qty_e8: int) -> None:
    if qty_e8 < spec.min_qty_e8 or qty_e8 > spec.max_qty_e8 or qty_e8 % spec.step_e8:
        raise errors.filter_failure("LOT_SIZE")


def check_notional(spec: SymbolSpec, notional_e8: int, market: bool) -> None:
    if notional_e8 < spec.min_notional_e8:
        raise errors.filter_failure("NOTIONAL")
    if not market and notional_e8 > spec.max_notional_e8:
        raise errors.filter_failure("NOTIONAL")


def check_open_orders(open_now: int) -> None:
    if open_now >= MAX_NUM_ORDERS:
        raise errors.filter_failure("MAX_NUM_ORDERS")


def notional_e8(price_e8: int, qty_e8: int) -> int:
    return price_e8 * qty_e8 // E8
