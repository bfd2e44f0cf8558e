"""Binance Spot's ``exchangeInfo`` answer -> ``InstrumentRules`` per symbol, sans I/O.

Follows Binance Spot API docs, "filters.md" (Symbol filters): PRICE_FILTER (minPrice, maxPrice,
tickSize; each disabled when 0), LOT_SIZE (minQty, maxQty, stepSize), MARKET_LOT_SIZE (the same
for MARKET orders), MIN_NOTIONAL (minNotional) or its successor NOTIONAL (minNotional,
maxNotional), PERCENT_PRICE_BY_SIDE (bid/ask multipliers up and down) or PERCENT_PRICE
(multiplierUp, multiplierDown). The answer is the same from REST ``GET /api/v3/exchangeInfo``
("rest-api.md", General endpoints, Exchange information) and from the WebSocket API method
``exchangeInfo`` ("web-socket-api.md", Exchange information: the same object in ``result``)::

    {"timezone": "UTC", "serverTime": 1565246363776, "rateLimits": [...], "exchangeFilters": [],
     "symbols": [{"symbol": "ETHBTC", "status": "TRADING", "baseAsset": "ETH", "quoteAsset": "BTC",
                  "filters": [{"filterType": "PRICE_FILTER", "minPrice": "0.00000100",
                               "maxPrice": "100000.00000000", "tickSize": "0.00000100"}, ...]}]}

Required: PRICE_FILTER (with a tick), LOT_SIZE (with a step) and a notional filter; the
percent-price filters and MARKET_LOT_SIZE are optional (absent: no such venue rule; the
``[risk] price_band_bps`` band still holds).
"""

from __future__ import annotations

from ..instruments import (InstrumentRules, decimal_e8, filters_by_type, parse_answer, price_and_lot,
                           require)

PATH = "/api/v3/exchangeInfo"  # REST, on the venue's API host


def parse_symbol(symbol: str, entry: dict) -> InstrumentRules:
    by = filters_by_type(symbol, entry)
    price = require(symbol, by, "PRICE_FILTER")
    lot = require(symbol, by, "LOT_SIZE")
    notional = require(symbol, by, "NOTIONAL", "MIN_NOTIONAL")
    kw = {}
    if "MARKET_LOT_SIZE" in by:
        kw["market_max_qty_e8"] = decimal_e8(symbol, "MARKET_LOT_SIZE", by["MARKET_LOT_SIZE"], "maxQty")
    if notional["filterType"] == "NOTIONAL":
        kw["max_notional_e8"] = decimal_e8(symbol, "NOTIONAL", notional, "maxNotional")
    if "PERCENT_PRICE_BY_SIDE" in by:
        f, name = by["PERCENT_PRICE_BY_SIDE"], "PERCENT_PRICE_BY_SIDE"
        kw.update(buy_up_e8=decimal_e8(symbol, name, f, "bidMultiplierUp"),
                  buy_down_e8=decimal_e8(symbol, name, f, "bidMultiplierDown"),
                  sell_up_e8=decimal_e8(symbol, name, f, "askMultiplierUp"),
                  sell_down_e8=decimal_e8(symbol, name, f, "askMultiplierDown"))
    elif "PERCENT_PRICE" in by:
        f, name = by["PERCENT_PRICE"], "PERCENT_PRICE"
        up, down = decimal_e8(symbol, name, f, "multiplierUp"), decimal_e8(symbol, name, f, "multiplierDown")
        kw.update(buy_up_e8=up, buy_down_e8=down, sell_up_e8=up, sell_down_e8=down)
    return InstrumentRules(
        **price_and_lot(symbol, entry, price, lot),
        min_notional_e8=decimal_e8(symbol, notional["filterType"], notional, "minNotional"),
        **kw,
    )


def parse(answer, symbols=None) -> dict[str, InstrumentRules]:
    """``{SYMBOL: rules}`` of this venue's exchangeInfo answer for ``symbols`` (None: all)."""
    return parse_answer(answer, symbols, parse_symbol)
