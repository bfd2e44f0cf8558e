"""Binance USD-M futures' ``exchangeInfo`` answer -> ``InstrumentRules`` per symbol, sans I/O.

Follows Binance derivatives docs, USDⓈ-M Futures, Market Data REST API, "Exchange Information"
(``GET /fapi/v1/exchangeInfo``) and "Common Definition" (Filters): PRICE_FILTER (minPrice,
maxPrice, tickSize), LOT_SIZE (minQty, maxQty, stepSize), MARKET_LOT_SIZE (the same for MARKET
orders), MIN_NOTIONAL (the field is ``notional``, not Spot's ``minNotional``), PERCENT_PRICE
(multiplierUp, multiplierDown, multiplierDecimal; one band for both sides)::

    {"symbols": [{"symbol": "BLZUSDT", "pair": "BLZUSDT", "contractType": "PERPETUAL",
                  "status": "TRADING", "baseAsset": "BLZ", "quoteAsset": "USDT", "marginAsset": "USDT",
                  "filters": [{"filterType": "PRICE_FILTER", "maxPrice": "300", "minPrice": "0.0001",
                               "tickSize": "0.0001"}, ...,
                              {"filterType": "MIN_NOTIONAL", "notional": "5.0"},
                              {"filterType": "PERCENT_PRICE", "multiplierUp": "1.1500",
                               "multiplierDown": "0.8500", "multiplierDecimal": 4}]}], ...}

The USD-M WebSocket API has no exchangeInfo method: the rules come from REST. All five filters
are required (every USD-M symbol lists them).
"""

from __future__ import annotations

from ..instruments import (InstrumentRules, decimal_e8, filters_by_type, parse_answer, price_and_lot,
                           require)

PATH = "/fapi/v1/exchangeInfo"  # REST, on fapi.binance.com


def parse_symbol(symbol: str, entry: dict) -> InstrumentRules:
    by = filters_by_type(symbol, entry)
    price = require(symbol, by, "PRICE_FILTER")
    lot = require(symbol, by, "LOT_SIZE")
    market = require(symbol, by, "MARKET_LOT_SIZE")
    notional = require(symbol, by, "MIN_NOTIONAL")
    band = require(symbol, by, "PERCENT_PRICE")
    up, down = decimal_e8(symbol, "PERCENT_PRICE", band, "multiplierUp"), decimal_e8(symbol, "PERCENT_PRICE", band, "multiplierDown")
    return InstrumentRules(
        **price_and_lot(symbol, entry, price, lot),
        market_max_qty_e8=decimal_e8(symbol, "MARKET_LOT_SIZE", market, "maxQty"),
        min_notional_e8=decimal_e8(symbol, "MIN_NOTIONAL", notional, "notional"),
        buy_up_e8=up, buy_down_e8=down, sell_up_e8=up, sell_down_e8=down,
    )


def parse(answer, symbols=None) -> dict[str, InstrumentRules]:
    """``{SYMBOL: rules}`` of this venue's exchangeInfo answer for ``symbols`` (None: all)."""
    return parse_answer(answer, symbols, parse_symbol)
