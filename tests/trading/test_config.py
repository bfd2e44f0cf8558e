"""The trading tables of the config, and the risk/trading areas trading.setup formats."""

import pytest

from hftshm.runtime.config import ConfigError, from_dict
from hftshm.runtime.control import ACTIVE, ControlBlock
from hftshm.risk.state import RiskState
from hftshm.trading import snapshot
from hftshm.trading.area import TradingArea
from hftshm.trading.setup import prepare


def test_defaults_and_builtins():
    cfg = from_dict({"strategies": [{"name": "mom"}, {"name": "imb", "kind": "imbalance", "symbols": ["BTCUSDT"]}]})
    assert cfg.strategies[0]["kind"] == "momentum" and cfg.strategies[0]["id"] == 1
    assert cfg.strategies[1]["symbols"] == ["btcusdt"] and cfg.strategies[1]["threshold"] == 0.6
    assert cfg.risk["max_orders_per_s_total"] == 4 and cfg.execution["timeout_ms"] == 2000
    assert cfg.risk["protection_timeout_ms"] == 1000 and cfg.execution["max_order_age_ms"] == 1000


def test_protection_and_order_age_keys_take_their_ranges():
    cfg = from_dict({"risk": {"protection_timeout_ms": 50}, "execution": {"max_order_age_ms": 1}})
    assert cfg.risk["protection_timeout_ms"] == 50 and cfg.execution["max_order_age_ms"] == 1
    cfg = from_dict({"risk": {"protection_timeout_ms": 60_000}, "execution": {"max_order_age_ms": 600_000}})
    from hftshm.runtime.config import risk_limits

    risk_limits(cfg.risk, cfg.venue.symbols)  # not a pre-trade limit: Limits never sees it


@pytest.mark.parametrize("data, words", [
    ({"strategies": [{"name": "a"}, {"name": "a"}]}, "duplicate"),
    ({"strategies": [{"name": "a", "kind": "nope"}]}, "kind"),
    ({"strategies": [{"name": "a", "qty": "0.000000001"}]}, "qty"),
    ({"strategies": [{"name": "a", "short": 50, "long": 10}]}, "short < long"),
    ({"strategies": [{"name": "a", "kind": "file"}]}, "path"),
    ({"strategies": [{"name": "a", "symbols": ["xrpusdt"]}]}, "symbols"),
    ({"risk": {"max_order_qty": -1}}, "max_order_qty"),
    ({"risk": {"bogus": 1}}, "bogus"),
    ({"risk": {"symbols": {"btcusdt": {"max_gross_exposure": 1}}}}, "keys must be"),
    ({"execution": {"timeout_ms": 1}}, "timeout_ms"),
    ({"risk": {"protection_timeout_ms": 49}}, "protection_timeout_ms"),
    ({"risk": {"protection_timeout_ms": 60_001}}, "protection_timeout_ms"),
    ({"risk": {"protection_timeout_ms": "1000"}}, "protection_timeout_ms"),
    ({"risk": {"protection_timeout_ms": 1000.0}}, "protection_timeout_ms"),
    ({"risk": {"protection_timeout_ms": True}}, "protection_timeout_ms"),
    ({"execution": {"max_order_age_ms": 0}}, "max_order_age_ms"),
    ({"execution": {"max_order_age_ms": 600_001}}, "max_order_age_ms"),
    ({"execution": {"max_order_age_ms": "5"}}, "max_order_age_ms"),
])
def test_bad_tables_name_the_key(data, words):
    with pytest.raises(ConfigError, match=words):
        from_dict(data)


def test_prepare_formats_both_blocks(instance):
    cfg = from_dict({"instance": instance})
    control = ControlBlock.create(instance)
    try:
        prepare(cfg, control)
        risk = RiskState.attach(control.risk_buffer())
        area = TradingArea(control.risk_buffer())
        assert risk.n_symbols == 2 and area.run_tag > 0 and area.live() == []
        assert control.trading_state == ACTIVE
        figs = snapshot.figures(control)
        assert figs["trading_state"] == "active" and figs["positions"] == {"s0": 0.0, "s1": 0.0}
    finally:
        control.close()
        control.unlink()


def test_a_strategy_hosted_by_execution_has_no_process_of_its_own():
    from hftshm.runtime import plan

    cfg = from_dict({"strategies": [{"name": "a"}, {"name": "b", "kind": "imbalance", "host": "execution"},
                                    {"name": "c", "kind": "file", "path": "x.py", "class": "X", "host": "own"}]})
    assert [s.host for s in cfg.strategies] == ["own", "execution", "own"]
    names = [w.name for w in plan.workers(cfg)]
    assert "strategy-a" in names and "strategy-c" in names and "strategy-b" not in names
    assert names.index("execution") < names.index("strategy-a")
    assert plan.hosted(cfg) == ["strategy-b"]
    # the key is no kind's param: a file strategy's params and the flat table keep it apart
    assert "host" not in cfg.strategies[2].params and dict(cfg.strategies[1])["host"] == "execution"
    assert "host" not in dict(cfg.strategies[0])
    again = from_dict({"strategies": [dict(t) for t in cfg.strategies]})  # a resolved config resolves the same
    assert [s.host for s in again.strategies] == ["own", "execution", "own"]


@pytest.mark.parametrize("data, words", [
    ({"strategies": [{"name": "a", "host": "risk"}]}, r"host.*one of 'own', 'execution'"),
    ({"strategies": [{"name": "a", "host": True}]}, "host"),
    ({"venue": {"kind": "bridge"}, "bridge": {"source": "box", "orders_out": True},
      "strategies": [{"name": "a", "host": "execution"}]}, 'kind "bridge" runs no execution'),
])
def test_bad_host_is_refused(data, words):
    with pytest.raises(ConfigError, match=words):
        from_dict(data)


def test_a_cross_venue_strategy_cannot_be_hosted_by_execution():
    from hftshm.runtime import group

    venues = [{"name": "usdm", "kind": "sim", "symbols": ["btcusdt"], "streams": ["bookTicker", "trade"],
               "sim": {"venue": "binance_usdm"}},
              {"name": "bybit", "kind": "sim", "symbols": ["btcusdt"], "streams": ["orderbook.1", "publicTrade"],
               "sim": {"venue": "bybit_linear"}}]
    cross = {"name": "x", "kind": "imbalance", "symbols": ["usdm:btcusdt", "bybit:btcusdt"]}
    with pytest.raises(ConfigError, match=r"\(x\) host = \"execution\": a cross-venue strategy"):
        group.expand({"instance": "arb", "venues": venues, "strategies": [{**cross, "host": "execution"}]})
    # a one-venue strategy in a config of several venues may be
    g = group.expand({"instance": "arb", "venues": venues,
                      "strategies": [cross, {"name": "y", "symbols": ["bybit:btcusdt"], "host": "execution"}]})
    assert [s.host for s in g.venues["bybit"].strategies] == ["execution"]
    assert g.venues["usdm"].strategies[0].host == "own"
