"""Bybit linear instrument rules: the "Get Instruments Info" answer (the docs' example, literal)
parsed into InstrumentRules, bad answers refused by name, and the simulator's own answer (what
``hftshm start`` fetches from it) parsed into the rules its matching uses."""

import orjson
import pytest

from hftshm.exchange.bybit_trade import INSTRUMENTS_PATH, BybitTrade
from hftshm.exchange.config import symbol_spec
from hftshm.trading import instruments
from hftshm.venues.bybit import exchange_info as X
from hftshm.venues.instruments import InstrumentError

E8 = 100_000_000
# "Market" > "Get Instruments Info", the response example (category linear), trimmed of fields
# no rule reads
DOC = {"retCode": 0, "retMsg": "OK", "result": {"category": "linear", "list": [{
    "symbol": "BTCUSDT", "contractType": "LinearPerpetual", "status": "Trading", "baseCoin": "BTC",
    "quoteCoin": "USDT", "launchTime": "1585526400000", "deliveryTime": "0", "deliveryFeeRate": "",
    "priceScale": "2", "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
    "priceFilter": {"minPrice": "0.10", "maxPrice": "199999.80", "tickSize": "0.10"},
    "lotSizeFilter": {"maxOrderQty": "100.000", "minOrderQty": "0.001", "qtyStep": "0.001",
                      "postOnlyMaxOrderQty": "1000.000", "maxMktOrderQty": "100.000", "minNotionalValue": "5"},
    "unifiedMarginTrade": True, "fundingInterval": 480, "settleCoin": "USDT", "copyTrading": "both",
    "upperFundingRate": "0.00375", "lowerFundingRate": "-0.00375"}], "nextPageCursor": ""},
    "retExtInfo": {}, "time": 1707186451514}


def test_the_documented_answer_gives_the_rules():
    (r,) = X.parse(orjson.dumps(DOC), ["btcusdt"]).values()
    assert (r.symbol, r.base, r.quote) == ("BTCUSDT", "BTC", "USDT")
    assert r.tick_e8 == E8 // 10 and r.min_price_e8 == E8 // 10 and r.max_price_e8 == 19_999_980 * E8 // 100
    assert r.step_e8 == E8 // 1000 and r.min_qty_e8 == E8 // 1000 and r.max_qty_e8 == 100 * E8
    assert r.market_max_qty_e8 == 100 * E8 and r.min_notional_e8 == 5 * E8
    assert r.buy_up_e8 == r.sell_down_e8 == 0  # no percent band


def _doc(**change):
    d = orjson.loads(orjson.dumps(DOC))
    d["result"]["list"][0].update(change)
    return d


@pytest.mark.parametrize("answer,match", [
    ({"retCode": 10001, "retMsg": "params error"}, "answered an error: 10001"),
    ({"retCode": 0, "result": {}}, "no 'result.list'"),
    (_doc(status="PreLaunch"), "status 'PreLaunch'"),
    (_doc(priceFilter=None), "no 'priceFilter'"),
    (_doc(lotSizeFilter={"minOrderQty": "0.001", "maxOrderQty": "1", "qtyStep": "0", "maxMktOrderQty": "1",
                         "minNotionalValue": "5"}), "qtyStep is 0"),
    (_doc(baseCoin=""), "no 'baseCoin'"),
])
def test_bad_answers_are_refused_by_name(answer, match):
    with pytest.raises(InstrumentError, match=match):
        X.parse(orjson.dumps(answer), ["BTCUSDT"])


def test_a_symbol_not_listed_is_refused():
    with pytest.raises(InstrumentError, match="ETHUSDT: not in the venue's instruments-info answer"):
        X.parse(DOC, ["ethusdt"])


def test_the_simulators_answer_is_its_matching_rules():
    sim = BybitTrade(["btcusdt", "ethusdt"], "k", "s", 0, 0)
    body = sim.rest(INSTRUMENTS_PATH, "category=linear", {}, 1)  # public: no signature needed
    rules = X.parse(orjson.dumps(body), ["BTCUSDT", "ETHUSDT"])
    for sym, r in rules.items():
        spec = symbol_spec(sym.lower())
        assert (r.tick_e8, r.step_e8, r.min_qty_e8, r.min_notional_e8) == (spec.tick_e8, spec.step_e8,
                                                                          spec.min_qty_e8, spec.min_notional_e8)
    assert sim.rest(INSTRUMENTS_PATH, "category=spot", {}, 1)["retCode"] == 10001


def test_execution_fetches_bybit_linear_rules_from_instruments_info():
    assert instruments.SOURCES["bybit_linear"][0].startswith("/v5/market/instruments-info?category=linear")

    class V:
        kind, api_url, rest_url = "bybit_linear", "wss://stream.bybit.com/v5/trade", ""

    class Cfg:
        venue = V()

    assert instruments.url_of(Cfg()) == "https://api.bybit.com/v5/market/instruments-info?category=linear&limit=1000"
    V.kind, V.api_url = "sim", "ws://127.0.0.1:9000/v5/trade"

    class Sim:
        venue = "bybit_linear"

    Cfg.sim = Sim()
    assert instruments.url_of(Cfg()) == "http://127.0.0.1:9000/v5/market/instruments-info?category=linear&limit=1000"
