"""Bybit v5 linear instruments -> ``InstrumentRules`` per symbol, sans I/O.

Follows Bybit's v5 docs, "Market" > "Get Instruments Info" (``GET
/v5/market/instruments-info?category=linear``, public, no signature; ``limit`` at most 1000)::

    {"retCode": 0, "retMsg": "OK", "result": {"category": "linear", "list": [{
        "symbol": "BTCUSDT", "contractType": "LinearPerpetual", "status": "Trading",
        "baseCoin": "BTC", "quoteCoin": "USDT", "settleCoin": "USDT",
        "priceFilter": {"minPrice": "0.10", "maxPrice": "199999.80", "tickSize": "0.10"},
        "lotSizeFilter": {"maxOrderQty": "100.000", "minOrderQty": "0.001", "qtyStep": "0.001",
                          "postOnlyMaxOrderQty": "1000.000", "maxMktOrderQty": "100.000",
                          "minNotionalValue": "5"}, ...}], "nextPageCursor": ""}, ...}

Rules: tick ``priceFilter.tickSize``, price bounds ``minPrice``/``maxPrice``; step
``lotSizeFilter.qtyStep``, quantity bounds ``minOrderQty``/``maxOrderQty``, market orders'
``maxMktOrderQty``, minimum notional ``minNotionalValue``. Bybit's price limits are not a
percent band of this shape: none is set (the gate's own ``price_band_bps`` still applies). A
symbol whose ``status`` is not ``Trading`` is refused (no trading on it).
"""

from __future__ import annotations

import json

from ..instruments import InstrumentError, InstrumentRules, decimal_e8

PATH = "/v5/market/instruments-info?category=linear&limit=1000"  # REST, on api.bybit.com


def parse_symbol(symbol: str, entry: dict) -> InstrumentRules:
    price, lot = entry.get("priceFilter"), entry.get("lotSizeFilter")
    for name, table in (("priceFilter", price), ("lotSizeFilter", lot)):
        if not isinstance(table, dict):
            raise InstrumentError(f"{symbol}: instruments-info has no {name!r} object; no trading without it")
    if entry.get("status") != "Trading":
        raise InstrumentError(f"{symbol}: status {entry.get('status')!r}, not 'Trading'")
    coins = {}
    for key in ("baseCoin", "quoteCoin"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise InstrumentError(f"{symbol}: instruments-info symbol has no {key!r}")
        coins[key] = entry[key]
    return InstrumentRules(
        symbol=symbol, base=coins["baseCoin"], quote=coins["quoteCoin"],
        tick_e8=decimal_e8(symbol, "priceFilter", price, "tickSize", zero_ok=False),
        min_price_e8=decimal_e8(symbol, "priceFilter", price, "minPrice"),
        max_price_e8=decimal_e8(symbol, "priceFilter", price, "maxPrice"),
        step_e8=decimal_e8(symbol, "lotSizeFilter", lot, "qtyStep", zero_ok=False),
        min_qty_e8=decimal_e8(symbol, "lotSizeFilter", lot, "minOrderQty"),
        max_qty_e8=decimal_e8(symbol, "lotSizeFilter", lot, "maxOrderQty"),
        market_max_qty_e8=decimal_e8(symbol, "lotSizeFilter", lot, "maxMktOrderQty"),
        min_notional_e8=decimal_e8(symbol, "lotSizeFilter", lot, "minNotionalValue"),
    )


def parse(answer, symbols=None) -> dict[str, InstrumentRules]:
    """``{SYMBOL: rules}`` of an instruments-info answer for ``symbols`` (None: all listed)."""
    if isinstance(answer, (bytes, str)):
        try:
            answer = json.loads(answer)
        except ValueError as exc:
            raise InstrumentError(f"instruments-info: not JSON: {exc}") from None
    if not isinstance(answer, dict):
        raise InstrumentError(f"instruments-info: expected an object, got {type(answer).__name__}")
    if answer.get("retCode") != 0:
        raise InstrumentError(f"instruments-info: the venue answered an error: {answer.get('retCode')} "
                              f"{answer.get('retMsg')!r}")
    result = answer.get("result")
    listed = result.get("list") if isinstance(result, dict) else None
    if not isinstance(listed, list):
        raise InstrumentError("instruments-info: no 'result.list' array in the answer")
    entries = {}
    for i, entry in enumerate(listed):
        if not isinstance(entry, dict) or not isinstance(entry.get("symbol"), str):
            raise InstrumentError(f"instruments-info: list[{i}] has no 'symbol' name")
        entries[entry["symbol"].upper()] = entry
    wanted = list(entries) if symbols is None else [s.upper() for s in symbols]
    out = {}
    for s in wanted:
        if s not in entries:
            raise InstrumentError(f"{s}: not in the venue's instruments-info answer (it lists "
                                  f"{', '.join(sorted(entries)[:20]) or 'none'}); no trading without rules")
        out[s] = parse_symbol(s, entries[s])
    return out
