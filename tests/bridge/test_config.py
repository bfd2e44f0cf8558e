"""[bridge] and [venue] kind = "bridge": bad values are errors naming the key; the plan runs the
bridge worker exactly when something is bridged."""

import pytest

from hftshm.runtime import config as C
from hftshm.runtime import plan

RECEIVER = {"venue": {"kind": "bridge"}, "bridge": {"source": "box"}, "strategies": []}


@pytest.mark.parametrize("bridge, words", [
    ({"url": "http://x"}, "url = 'http://x': expected a nats:// or tls:// URL"),
    ({"storage": "disk"}, "storage = 'disk': expected"),
    ({"batch": 0}, "batch = 0: expected"),
    ({"start": "middle"}, "start = 'middle': expected"),
    ({"max_msgs": 0}, "max_msgs = 0: expected"),
    ({"duplicate_window_s": 10.0, "max_age_s": 5.0}, "duplicate_window_s may not exceed"),
    ({"md_out": "yes"}, "md_out = 'yes': expected true or false"),
    ({"source": "box"}, "source is only for"),
    ({"bogus": 1}, "unknown key 'bogus'"),
])
def test_bad_bridge_values_name_the_key(bridge, words):
    with pytest.raises(C.ConfigError, match=words):
        C.from_dict({"bridge": bridge})


def test_a_receiver_needs_a_source_and_no_strategies():
    with pytest.raises(C.ConfigError, match="needs \\[bridge\\] source"):
        C.from_dict({"venue": {"kind": "bridge"}, "strategies": []})
    with pytest.raises(C.ConfigError, match="strategies = \\[\\]"):
        C.from_dict({"venue": {"kind": "bridge"}, "bridge": {"source": "box"}})
    with pytest.raises(C.ConfigError, match="md_out"):
        C.from_dict({**RECEIVER, "bridge": {"source": "box", "md_out": True}})


def test_the_plan_runs_the_bridge_only_when_something_is_bridged():
    assert [w.role for w in plan.workers(C.from_dict(RECEIVER))] == ["journal", "bridge"]
    assert "bridge" not in [w.role for w in plan.workers(C.from_dict({}))]
    names = [w.name for w in plan.workers(C.from_dict({"bridge": {"fills_out": True}}))]
    assert names[-2:] == ["ingest", "bridge"]
    cfg = C.from_json(C.from_dict(RECEIVER).to_json())  # what a worker gets
    assert cfg.bridge.source == "box" and cfg.venue.kind == "bridge"


def test_a_bad_source_name_is_a_config_error():
    with pytest.raises(C.ConfigError, match="source"):
        C.from_dict({**RECEIVER, "bridge": {"source": "no.dots"}})


REMOTE = {"venue": {"kind": "bridge"}, "bridge": {"source": "box", "orders_out": True},
          "strategies": [{"name": "far", "kind": "momentum", "id": 9}]}
TRADING = {"venue": {"kind": "sim"}, "bridge": {"orders_in": "far", "orders_in_strategies": "9,10"},
           "strategies": [{"name": "near", "kind": "momentum", "id": 1}]}


def test_a_remote_strategy_host_sends_orders_and_runs_no_execution():
    cfg = C.from_dict(REMOTE)
    roles = [w.role for w in plan.workers(cfg)]
    assert "execution" not in roles and "risk" not in roles
    assert roles.count("strategy") == 1 and roles[-1] == "bridge"
    with pytest.raises(C.ConfigError, match="orders_out = true"):
        C.from_dict({**REMOTE, "bridge": {"source": "box"}})
    with pytest.raises(C.ConfigError, match="orders_out is only for"):
        C.from_dict({"bridge": {"orders_out": True}})
    with pytest.raises(C.ConfigError, match="only the trading host"):
        C.from_dict({**REMOTE, "bridge": {"source": "box", "orders_out": True, "orders_in": "x",
                                          "orders_in_strategies": "3"}})


def test_the_trading_host_takes_orders_of_declared_distinct_strategy_ids():
    cfg = C.from_dict(TRADING)
    assert cfg.bridge.remote_strategy_ids() == [9, 10]
    roles = [w.role for w in plan.workers(cfg)]
    assert roles.count("execution") == 1 and roles[-1] == "bridge"
    # no strategies of its own: still risk and execution for the remote ones
    roles = [w.role for w in plan.workers(C.from_dict({**TRADING, "strategies": []}))]
    assert "execution" in roles and "risk" in roles and "bridge" in roles
    with pytest.raises(C.ConfigError, match="strategy id 1 is also this instance's strategy 'near'"):
        C.from_dict({**TRADING, "bridge": {"orders_in": "far", "orders_in_strategies": "9,1"}})
    with pytest.raises(C.ConfigError, match="needs orders_in_strategies"):
        C.from_dict({**TRADING, "bridge": {"orders_in": "far"}})
    with pytest.raises(C.ConfigError, match="out of range 1..63"):
        C.from_dict({**TRADING, "bridge": {"orders_in": "far", "orders_in_strategies": "64"}})
    with pytest.raises(C.ConfigError, match="listed twice"):
        C.from_dict({**TRADING, "bridge": {"orders_in": "far", "orders_in_strategies": "9,9"}})
    with pytest.raises(C.ConfigError, match="orders_in_strategies = '9;10': expected strategy ids"):
        C.from_dict({**TRADING, "bridge": {"orders_in": "far", "orders_in_strategies": "9;10"}})
    with pytest.raises(C.ConfigError, match="only for orders_in"):
        C.from_dict({"bridge": {"orders_in_strategies": "9"}})
