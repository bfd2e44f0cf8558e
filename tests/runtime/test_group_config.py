"""A config of several venues (``[[venues]]``, hftshm.runtime.group): one ordinary venue config
per venue, strategies placed by their ``venue:symbol`` names, and every bad input refused with a
message naming the venue, the strategy or the key."""

from __future__ import annotations

import pytest

from hftshm.errors import ConfigError
from hftshm.runtime import config as C
from hftshm.runtime import group, plan

USDM = {"name": "usdm", "kind": "sim", "symbols": ["btcusdt"], "streams": ["bookTicker", "trade"],
        "sim": {"venue": "binance_usdm"}}
BYBIT = {"name": "bybit", "kind": "sim", "symbols": ["btcusdt", "ethusdt"],
         "streams": ["orderbook.1", "publicTrade", "tickers"], "sim": {"venue": "bybit_linear"}}


def _data(**over):
    data = {"instance": "arb", "venues": [dict(USDM), dict(BYBIT)],
            "strategies": [{"name": "cross", "kind": "imbalance", "symbols": ["usdm:btcusdt", "bybit:btcusdt"]},
                           {"name": "eth", "kind": "momentum", "symbols": ["bybit:ethusdt"]}]}
    data.update(over)
    return data


def test_each_venue_is_an_ordinary_instance_and_strategies_are_placed_by_their_symbols():
    g = group.expand(_data(risk={"max_position": 3}))
    assert list(g.venues) == ["usdm", "bybit"]
    usdm, bybit = g.venues["usdm"], g.venues["bybit"]
    assert (usdm.instance, bybit.instance) == ("arb-usdm", "arb-bybit")
    assert (usdm.sim.venue, bybit.sim.venue) == ("binance_usdm", "bybit_linear")
    assert usdm.sim.seed != bybit.sim.seed  # two markets, not one copied
    # the cross-venue strategy lives with its first symbol's venue, keeps its names, knows its venues
    (cross,) = usdm.strategies
    assert cross.symbols == ["usdm:btcusdt", "bybit:btcusdt"]
    assert cross.venues == {"usdm": "arb-usdm", "bybit": "arb-bybit"}
    assert cross.id == 1
    # a one-venue strategy is an ordinary one there: unqualified symbols, its id by position
    (eth,) = bybit.strategies
    assert (eth.symbols, eth.id, eth.venues) == (["ethusdt"], 2, {})
    # the other venue runs risk and execution for the cross-venue strategy
    assert bybit.group.remote_ids == [1] and usdm.group.remote_ids == []
    assert usdm.group.venues == {"usdm": "arb-usdm", "bybit": "arb-bybit"}
    assert usdm.risk.max_position == bybit.risk.max_position == 3
    assert [c.instance for c in g.home_first()] == ["arb-usdm", "arb-bybit"]
    for cfg in g.venues.values():
        assert {"state", "risk", "execution", "ingest", "journal"} <= {w.name for w in plan.workers(cfg)}


def test_a_venue_that_only_serves_a_remote_strategy_still_runs_execution():
    g = group.expand(_data(strategies=[{"name": "cross", "kind": "imbalance",
                                        "symbols": ["bybit:btcusdt", "usdm:btcusdt"]}]))
    assert g.venues["usdm"].strategies == [] and g.venues["usdm"].group.remote_ids == [1]
    assert "execution" in {w.name for w in plan.workers(g.venues["usdm"])}
    assert [c.instance for c in g.home_first()] == ["arb-bybit", "arb-usdm"]


def test_venue_tables_override_the_shared_ones():
    usdm = dict(USDM, risk={"max_position": 1}, execution={"timeout_ms": 500}, sim={"venue": "binance_usdm", "seed": 9})
    g = group.expand(_data(venues=[usdm, dict(BYBIT)], risk={"max_position": 5}, sim={"rate": 100.0}))
    assert g.venues["usdm"].risk.max_position == 1 and g.venues["bybit"].risk.max_position == 5
    assert g.venues["usdm"].execution.timeout_ms == 500 and g.venues["bybit"].execution.timeout_ms == 2000
    assert g.venues["usdm"].sim.seed == 9 and g.venues["usdm"].sim.rate == g.venues["bybit"].sim.rate == 100.0


def test_the_resolved_venue_config_travels_as_json_and_validates_again():
    g = group.expand(_data())
    usdm = g.venues["usdm"]
    back = C.from_json(usdm.to_json())
    assert back.group == usdm.group and back.strategies[0].venues == usdm.strategies[0].venues
    C.validate(usdm)  # a validated config is validated again the same way
    assert usdm.strategies[0].symbols == ["usdm:btcusdt", "bybit:btcusdt"]


def test_risk_total_defaults_and_checks():
    assert group.expand(_data()).risk_total == {"max_gross_exposure": 100_000, "loss_limit": 2000.0}
    g = group.expand(_data(risk_total={"max_gross_exposure": "2500.5", "loss_limit": 10}))
    assert g.risk_total["loss_limit"] == 10.0
    with pytest.raises(ConfigError, match=r"\[risk_total\] loss_limit = -1"):
        group.expand(_data(risk_total={"loss_limit": -1}))
    with pytest.raises(ConfigError, match=r"\[risk_total\]: unknown key 'max_position'"):
        group.expand(_data(risk_total={"max_position": 1}))


@pytest.mark.parametrize("over, message", [
    ({"venues": []}, r"\[\[venues\]\]: expected a non-empty array"),
    ({"venues": [dict(USDM), dict(USDM)]}, r"duplicate venue name 'usdm'"),
    ({"venues": [dict(USDM, name="USDM")]}, r"\[\[venues\]\] #1 name = 'USDM': expected 1 to 8 of a-z"),
    ({"venues": [dict(USDM, kind="replay")]}, r"kind = 'replay': a venue of several is a market"),
    ({"venues": [dict(USDM, extra=1)]}, r"\[\[venues\]\] #1: unknown key 'extra'"),
    ({"venues": [dict(USDM, sim=3)]}, r"\[\[venues\]\] #1 sim: expected a table"),
    ({"venues": [dict(USDM), dict(BYBIT, streams=["bookTicker"])]}, r"\[\[venues\]\] bybit: \[venue\] streams"),
    ({"venues": [dict(USDM)]}, r"\[\[venues\]\]: one venue \('usdm'\); write it as a \[venue\] table"),
    ({"strategies": [{"name": "m", "symbols": ["usdm:btcusdt"]}, {"name": "m", "symbols": ["bybit:btcusdt"]}]},
     r"#2: duplicate strategy name 'm' \(strategy #1 has it\)"),
    ({"risk": 5}, r"\[risk\]: expected a table, got 5"),
    ({"sim": {"seed": "x"}}, r"\[\[venues\]\] usdm: .*seed"),
    ({"metrics": {"port": "9000"}}, r"\[\[venues\]\] usdm: .*port"),
    ({"instance": "a-very-long-group-name"}, r"instance 'a-very-long-group-name-usdm' is longer than 24"),
    ({"venue": {"kind": "sim"}}, r"\[venue\] with \[\[venues\]\]"),
    ({"bridge": {"md_out": True}}, r"\[bridge\] with \[\[venues\]\]"),
    ({"risk": {"symbols": {"btcusdt": {"max_position": 1}}}}, r"\[risk.symbols\] with \[\[venues\]\]"),
    ({"strategies": [{"name": "s", "symbols": ["btcusdt"]}]}, r"'btcusdt' is not venue:symbol"),
    ({"strategies": [{"name": "s"}]}, r"names its symbols as venue:symbol"),
    ({"strategies": [{"name": "s", "symbols": ["okx:btcusdt"]}]}, r"no venue 'okx' \(venues: usdm, bybit\)"),
    ({"strategies": [{"name": "s", "symbols": ["usdm:ethusdt"]}]}, r"not a symbol of venue 'usdm' \(btcusdt\)"),
    ({"strategies": [{"name": "s", "symbols": ["usdm:btcusdt"]}, {"name": "t", "id": 1, "symbols": ["bybit:btcusdt"]}]},
     r"#2 id = 1: expected a unique id \(strategy #1 has it\)"),
    ({"strategies": [{"name": "s", "symbols": ["usdm:btcusdt"]}, {"name": "s", "symbols": ["usdm:btcusdt", "bybit:btcusdt"]}]},
     r"duplicate strategy name 's'"),
    ({"strategies": [{"name": "s", "kind": "imbalance", "threshold": 2, "symbols": ["usdm:btcusdt", "bybit:btcusdt"]}]},
     r"\[\[strategies\]\] #1 \(s\): .*threshold = 2"),
    ({"workers": {"strategy-nobody": {"restart": False}}}, r"\[workers.strategy-nobody\]: no such strategy"),
    ({"strategies": [{"name": "s", "kind": "spread", "symbols": ["usdm:btcusdt", "bybit:ethusdt"]}]},
     r"#1 \(s\): spread: instrument 'btcusdt' has 1 leg"),
])
def test_bad_input_is_refused_by_name(over, message):
    with pytest.raises(ConfigError, match=message):
        group.expand(_data(**over))


def test_a_market_data_only_venue_takes_no_cross_venue_orders():
    okx = {"name": "okx", "kind": "sim", "symbols": ["btcusdt"], "streams": ["bbo-tbt"], "sim": {"venue": "okx"}}
    g = group.expand(_data(venues=[dict(USDM), okx], strategies=[]))  # market data from it: fine
    assert g.venues["okx"].strategies == []
    with pytest.raises(ConfigError, match=r"venue 'okx' is market data only"):
        group.expand(_data(venues=[dict(USDM), okx],
                           strategies=[{"name": "s", "kind": "imbalance", "symbols": ["usdm:btcusdt", "okx:btcusdt"]}]))


def test_a_strategy_worker_table_goes_to_the_strategys_venue():
    g = group.expand(_data(workers={"strategy-cross": {"restart": False}, "ingest": {"max_nap_us": 10.0}}))
    assert g.venues["usdm"].workers["strategy-cross"].restart is False
    assert "strategy-cross" not in g.venues["bybit"].workers
    assert g.venues["usdm"].workers["ingest"].max_nap_us == g.venues["bybit"].workers["ingest"].max_nap_us == 10.0


def test_one_venue_commands_refuse_a_config_of_several():
    with pytest.raises(ConfigError, match=r"\[\[venues\]\]: this config runs several venues"):
        C.from_dict(_data())


def test_a_venues_key_in_a_one_venue_strategy_is_refused():
    with pytest.raises(ConfigError, match=r"unknown key 'venues'"):
        C.from_dict({"strategies": [{"name": "s", "kind": "file", "path": "x.py", "class": "X",
                                     "venues": {"a": "b"}}]})


def test_a_spread_on_one_venue_is_refused_at_load():
    with pytest.raises(ConfigError, match=r"\(s\): spread: symbol 'btcusdt' is not a venue:symbol name"):
        C.from_dict({"strategies": [{"name": "s", "kind": "spread", "symbols": ["btcusdt"]}]})
