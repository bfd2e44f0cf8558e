"""Instrument rules from the venue: the exchangeInfo parsers on literal answers in the shape of
Binance's docs, the simulator serving exchangeInfo over REST, the fetch and the run's rules file,
the refresher keeping the last rules on a failure, and bad input (fail closed, named)."""

import copy
import json
import types

import orjson
import pytest

from hftshm.exchange.config import ExchangeConfig
from hftshm.exchange.thread import SimThread
from hftshm.trading import instruments
from hftshm.venues.binance_spot import exchange_info as spot
from hftshm.venues.binance_usdm import exchange_info as usdm
from hftshm.venues.instruments import InstrumentError, InstrumentRules

# Binance Spot: the exchangeInfo shape of rest-api.md "Exchange information", each filter in the
# "/exchangeInfo format" that filters.md gives for it
SPOT = {
    "timezone": "UTC", "serverTime": 1565246363776, "rateLimits": [], "exchangeFilters": [],
    "symbols": [{
        "symbol": "ETHBTC", "status": "TRADING", "baseAsset": "ETH", "baseAssetPrecision": 8,
        "quoteAsset": "BTC", "quotePrecision": 8, "quoteAssetPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.00000100", "maxPrice": "100000.00000000",
             "tickSize": "0.00000100"},
            {"filterType": "PERCENT_PRICE_BY_SIDE", "bidMultiplierUp": "1.2", "bidMultiplierDown": "0.2",
             "askMultiplierUp": "5", "askMultiplierDown": "0.8", "avgPriceMins": 1},
            {"filterType": "LOT_SIZE", "minQty": "0.00100000", "maxQty": "100000.00000000",
             "stepSize": "0.00100000"},
            {"filterType": "NOTIONAL", "minNotional": "10.00000000", "applyMinToMarket": False,
             "maxNotional": "10000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
            {"filterType": "MARKET_LOT_SIZE", "minQty": "0.00100000", "maxQty": "100000.00000000",
             "stepSize": "0.00100000"},
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 25},
        ],
        "permissions": [], "permissionSets": [["SPOT", "MARGIN"]],
    }],
}

# Binance USD-M: the answer of "Exchange Information" (GET /fapi/v1/exchangeInfo), its example symbol
USDM = {
    "exchangeFilters": [], "rateLimits": [], "serverTime": 1565613908500, "assets": [],
    "symbols": [{
        "symbol": "BLZUSDT", "pair": "BLZUSDT", "contractType": "PERPETUAL", "deliveryDate": 4133404800000,
        "onboardDate": 1598252400000, "status": "TRADING", "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000", "baseAsset": "BLZ", "quoteAsset": "USDT", "marginAsset": "USDT",
        "pricePrecision": 5, "quantityPrecision": 0, "baseAssetPrecision": 8, "quotePrecision": 8,
        "underlyingType": "COIN", "underlyingSubType": ["STORAGE"], "settlePlan": 0, "triggerProtect": "0.15",
        "filters": [
            {"filterType": "PRICE_FILTER", "maxPrice": "300", "minPrice": "0.0001", "tickSize": "0.0001"},
            {"filterType": "LOT_SIZE", "maxQty": "10000000", "minQty": "1", "stepSize": "1"},
            {"filterType": "MARKET_LOT_SIZE", "maxQty": "590119", "minQty": "1", "stepSize": "1"},
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": "5.0"},
            {"filterType": "PERCENT_PRICE", "multiplierUp": "1.1500", "multiplierDown": "0.8500",
             "multiplierDecimal": 4},
        ],
        "OrderType": ["LIMIT", "MARKET", "STOP"], "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
        "liquidationFee": "0.010000", "marketTakeBound": "0.30",
    }],
    "timezone": "UTC",
}

E8 = 100_000_000


def test_spot_literal_answer():
    rules = spot.parse(orjson.dumps(SPOT), ["ethbtc"])
    assert rules == {"ETHBTC": InstrumentRules(
        symbol="ETHBTC", base="ETH", quote="BTC", tick_e8=100, step_e8=100_000, min_qty_e8=100_000,
        max_qty_e8=100_000 * E8, min_price_e8=100, max_price_e8=100_000 * E8, market_max_qty_e8=100_000 * E8,
        min_notional_e8=10 * E8, max_notional_e8=10_000 * E8,
        buy_up_e8=120_000_000, buy_down_e8=20_000_000, sell_up_e8=5 * E8, sell_down_e8=80_000_000)}


def test_spot_websocket_api_result_and_legacy_filters():
    """The WebSocket API wraps the same object in ``result``; MIN_NOTIONAL and PERCENT_PRICE (the
    older filters) give the same fields."""
    answer = copy.deepcopy(SPOT)
    f = answer["symbols"][0]["filters"]
    f[1] = {"filterType": "PERCENT_PRICE", "multiplierUp": "1.3000", "multiplierDown": "0.7000", "avgPriceMins": 5}
    f[3] = {"filterType": "MIN_NOTIONAL", "minNotional": "0.00100000", "applyToMarket": True, "avgPriceMins": 5}
    r = spot.parse({"id": 1, "status": 200, "result": answer})["ETHBTC"]
    assert (r.min_notional_e8, r.max_notional_e8) == (100_000, 0)
    assert (r.buy_up_e8, r.buy_down_e8, r.sell_up_e8, r.sell_down_e8) == (130_000_000, 70_000_000) * 2


def test_usdm_literal_answer():
    r = usdm.parse(json.dumps(USDM), ["BLZUSDT"])["BLZUSDT"]
    assert r == InstrumentRules(
        symbol="BLZUSDT", base="BLZ", quote="USDT", tick_e8=10_000, step_e8=E8, min_qty_e8=E8,
        max_qty_e8=10_000_000 * E8, min_price_e8=10_000, max_price_e8=300 * E8, market_max_qty_e8=590_119 * E8,
        min_notional_e8=5 * E8, buy_up_e8=115_000_000, buy_down_e8=85_000_000, sell_up_e8=115_000_000,
        sell_down_e8=85_000_000)
    assert (r.price_down(123_456), r.price_up(123_456), r.qty_down(3 * E8 + 5)) == (120_000, 130_000, 3 * E8)


def _drop(answer, filter_type):
    a = copy.deepcopy(answer)
    a["symbols"][0]["filters"] = [f for f in a["symbols"][0]["filters"] if f["filterType"] != filter_type]
    return a


def _set(answer, filter_type, key, value):
    a = copy.deepcopy(answer)
    for f in a["symbols"][0]["filters"]:
        if f["filterType"] == filter_type:
            f[key] = value
    return a


@pytest.mark.parametrize("parser, answer, symbols, message", [
    (spot.parse, SPOT, ["BTCUSDT"], "BTCUSDT: not in the venue's exchangeInfo answer"),
    (spot.parse, _drop(SPOT, "LOT_SIZE"), None, "ETHBTC: exchangeInfo has no LOT_SIZE filter"),
    (spot.parse, _drop(SPOT, "NOTIONAL"), None, "ETHBTC: exchangeInfo has no NOTIONAL or MIN_NOTIONAL filter"),
    (spot.parse, _set(SPOT, "PRICE_FILTER", "tickSize", "0.00000000"), None,
     "ETHBTC: PRICE_FILTER.tickSize is 0 \\(disabled\\)"),
    (spot.parse, _set(SPOT, "LOT_SIZE", "stepSize", "-1"), None, "ETHBTC: LOT_SIZE.stepSize = '-1': not a decimal"),
    (spot.parse, _set(SPOT, "PRICE_FILTER", "minPrice", "0.000000001"), None, "ETHBTC: PRICE_FILTER.minPrice"),
    (spot.parse, _set(SPOT, "LOT_SIZE", "maxQty", None), None, "ETHBTC: LOT_SIZE.maxQty = None"),
    (spot.parse, _set(SPOT, "LOT_SIZE", "minQty", "200000"), None, "ETHBTC: min_qty_e8 .* is above max_qty_e8"),
    (usdm.parse, _drop(USDM, "MARKET_LOT_SIZE"), None, "BLZUSDT: exchangeInfo has no MARKET_LOT_SIZE filter"),
    (usdm.parse, _drop(USDM, "PERCENT_PRICE"), None, "BLZUSDT: exchangeInfo has no PERCENT_PRICE filter"),
    (usdm.parse, _set(USDM, "MIN_NOTIONAL", "notional", "5.0.0"), None, "BLZUSDT: MIN_NOTIONAL.notional = '5.0.0'"),
    (usdm.parse, b"<html>", None, "exchangeInfo: not JSON"),
    (usdm.parse, {"code": -1121, "msg": "Invalid symbol."}, None, "the venue answered an error: -1121"),
    (usdm.parse, {"symbols": [{"filters": []}]}, None, "symbols\\[0\\] has no 'symbol' name"),
])
def test_bad_answers_name_the_symbol_and_filter(parser, answer, symbols, message):
    with pytest.raises(InstrumentError, match=message):
        parser(answer, symbols)


def _cfg(tmp_path, api_url, kind="sim", symbols=("btcusdt", "ethusdt"), rest_url=""):
    venue = types.SimpleNamespace(kind=kind, api_url=api_url, rest_url=rest_url, symbols=list(symbols),
                                  instruments_refresh_s=300.0)
    return types.SimpleNamespace(venue=venue, sim=types.SimpleNamespace(venue="binance_spot"),
                                 run_dir=lambda: tmp_path / "inst")


def test_rest_url_of_each_venue_kind(tmp_path):
    assert instruments.url_of(_cfg(tmp_path, "ws://127.0.0.1:5/ws-api/v3")) == "http://127.0.0.1:5/api/v3/exchangeInfo"
    assert instruments.url_of(_cfg(tmp_path, "wss://ws-api.binance.com:443/ws-api/v3", kind="binance")) == \
        "https://api.binance.com/api/v3/exchangeInfo"
    assert instruments.url_of(_cfg(tmp_path, "wss://ws-fapi.binance.com/ws-fapi/v1", kind="binance_usdm")) == \
        "https://fapi.binance.com/fapi/v1/exchangeInfo"
    assert instruments.url_of(_cfg(tmp_path, "", kind="binance", rest_url="https://testnet.binance.vision/")) == \
        "https://testnet.binance.vision/api/v3/exchangeInfo"
    with pytest.raises(InstrumentError, match="set \\[venue\\] rest_url"):
        instruments.url_of(_cfg(tmp_path, "", kind="bridge"))


def test_the_simulator_serves_exchange_info_and_the_rules_file_round_trips(tmp_path):
    """GET /api/v3/exchangeInfo on the simulator, in Binance's shape, from its own table (with a
    tick changed by its config); the fetch writes the run's rules file, which the workers load."""
    sim = SimThread(ExchangeConfig(port=0, ticks=(("btcusdt", "0.1"),)))
    try:
        cfg = _cfg(tmp_path, f"ws://127.0.0.1:{sim.port}/ws-api/v3")
        rules = instruments.fetch(cfg)
        assert [(r.symbol, r.base, r.quote, r.tick_e8, r.step_e8, r.min_notional_e8) for r in rules] == [
            ("BTCUSDT", "BTC", "USDT", 10_000_000, 1_000, 5 * E8), ("ETHUSDT", "ETH", "USDT", 1_000_000, 10_000, 5 * E8)]
        instruments.write(cfg, rules, "test")
        path = instruments.path_for(cfg)
        assert path.stat().st_mode & 0o077 == 0  # owner-only
        assert instruments.load(cfg) == rules
        bad = _cfg(tmp_path, f"ws://127.0.0.1:{sim.port}/ws-api/v3", symbols=("btcusdt", "solusdt"))
        with pytest.raises(InstrumentError, match="SOLUSDT: not in the venue's exchangeInfo answer"):
            instruments.fetch(bad)
        with pytest.raises(InstrumentError, match="SOLUSDT: the venue's exchangeInfo has no such symbol"):
            instruments.load(bad)  # the file holds the rules of the symbols fetched, no others
        wrong = _cfg(tmp_path, f"ws://127.0.0.1:{sim.port}/ws-api/v3", kind="binance_usdm",
                     rest_url=f"http://127.0.0.1:{sim.port}")
        with pytest.raises(InstrumentError, match="HTTP 404"):  # a Spot simulator has no /fapi path
            instruments.fetch(wrong)
    finally:
        sim.close()


def test_usdm_simulator_serves_fapi_exchange_info(tmp_path):
    from support import USDM_CAPTURE

    sim = SimThread(ExchangeConfig(port=0, replay=USDM_CAPTURE))
    try:
        cfg = _cfg(tmp_path, f"ws://127.0.0.1:{sim.port}/ws-fapi/v1", symbols=("btcusdt",))
        cfg.sim.venue = "binance_usdm"
        assert instruments.url_of(cfg).endswith("/fapi/v1/exchangeInfo")
        (r,) = instruments.fetch(cfg)
        assert (r.symbol, r.tick_e8 > 0, r.buy_up_e8, r.sell_down_e8) == ("BTCUSDT", True, 115_000_000, 85_000_000)
    finally:
        sim.close()


def test_unreachable_venue_and_a_missing_file_are_named(tmp_path):
    cfg = _cfg(tmp_path, "ws://127.0.0.1:1/ws-api/v3")
    with pytest.raises(InstrumentError, match="GET http://127.0.0.1:1/api/v3/exchangeInfo"):
        instruments.fetch(cfg, timeout=2)
    with pytest.raises(InstrumentError, match="cannot read the instrument rules"):
        instruments.load(cfg)
    instruments.path_for(cfg).parent.mkdir(parents=True)
    instruments.path_for(cfg).write_text("{\"version\": 9}")
    with pytest.raises(InstrumentError, match="not an hftshm instruments file"):
        instruments.load(cfg)


def test_refresher_applies_new_rules_and_keeps_the_last_on_failure(tmp_path):
    cfg = _cfg(tmp_path, "ws://127.0.0.1:1/ws-api/v3", symbols=("ethbtc",))
    applied = []
    ref = instruments.Refresher(cfg, applied.append, 60)
    first = list(spot.parse(SPOT).values())
    ref.succeeded(first)
    ref.failed(InstrumentError("GET x: timed out"))
    assert (ref.ok, ref.failed_count, ref.last_error) == (1, 1, "GET x: timed out")
    assert applied == [first] and instruments.load(cfg) == first  # the last good rules stay
    second = list(spot.parse(_set(SPOT, "PRICE_FILTER", "tickSize", "0.00001000")).values())
    ref.succeeded(second)
    assert applied[-1][0].tick_e8 == 1_000 and instruments.load(cfg)[0].tick_e8 == 1_000


def test_nothing_on_the_live_side_reads_the_simulators_table():
    """The simulator's symbol table serves exchangeInfo only: no live module names it."""
    from pathlib import Path

    import hftshm
    import hftshm.workers

    roots = [Path(hftshm.__file__).parent / d for d in ("trading", "risk", "venues", "feed", "runtime")]
    roots.append(Path(hftshm.workers.__file__).parent)
    found = [str(p) for root in roots for p in root.rglob("*.py")
             if "symbol_spec" in p.read_text() or "KNOWN_SYMBOLS" in p.read_text()]
    # runtime/config.py checks [venue] symbols against the simulator's table when it starts one
    assert [f for f in found if not f.endswith("runtime/config.py")] == []


def test_refresh_loop_counts_and_applies_on_its_own_thread(tmp_path, monkeypatch):
    import asyncio
    import threading

    cfg = _cfg(tmp_path, "ws://127.0.0.1:1/ws-api/v3", symbols=("ethbtc",))
    good = list(spot.parse(SPOT).values())
    answers = [InstrumentError("GET x: refused"), good]
    threads = []

    def fake_fetch(_cfg):
        threads.append(threading.get_ident())
        answer = answers.pop(0) if answers else good
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(instruments, "fetch", fake_fetch)
    applied, counted = [], []
    ref = instruments.Refresher(cfg, lambda rules: applied.append((rules, threading.get_ident())), 0.01)

    async def main():
        stop = asyncio.Event()
        task = asyncio.create_task(instruments.refresh_loop(ref, stop, counted.append))
        while counted.count("rules_ok") < 2:
            await asyncio.sleep(0.005)
        stop.set()
        await task
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert counted[:3] == ["rules_failed", "rules_ok", "rules_ok"] and ref.failed_count == 1
    assert all(t != loop_thread for t in threads)  # the fetch blocks a thread, never the loop
    assert all(t == loop_thread for _, t in applied) and applied[0][0] == good  # applied on the gate's thread
