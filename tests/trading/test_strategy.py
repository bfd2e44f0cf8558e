"""Strategies on recorded market data, without rings: determinism, hooks, positions from fills."""

import itertools
import textwrap

import numpy as np
import pytest

from hftshm.venues.binance_spot import BinanceSpotNormalizer
from hftshm.feed.capture import iter_capture
from hftshm.layouts import exec_report as F
from hftshm.layouts import md as M
from hftshm.layouts import order as O
from hftshm.trading import loader
from hftshm.trading.builtins import check_params
from hftshm.trading.strategy import Strategy, StrategyEngine
from hftshm.venues.instruments import InstrumentError, InstrumentRules
from support import CAPTURE

SYMBOLS = ["BTCUSDT"]
# Binance Spot's BTCUSDT rules (tick 0.01, step 0.00001, min notional 5), as exchangeInfo gives them
RULES = {"BTCUSDT": InstrumentRules(symbol="BTCUSDT", base="BTC", quote="USDT", tick_e8=1_000_000, step_e8=1_000,
                                    min_qty_e8=1_000, min_notional_e8=500_000_000)}


@pytest.fixture(scope="module")
def records():
    norm = BinanceSpotNormalizer({"BTCUSDT": 0})
    parts = [norm.normalize(frame, recv_ns).copy() for recv_ns, frame in itertools.islice(iter_capture(CAPTURE), 20000)]
    recs = np.concatenate([p for p in parts if len(p)])
    recs["seq"] = np.arange(len(recs))
    assert (recs["kind"] == M.TRADE).sum() > 200 and (recs["kind"] == M.QUOTE).sum() > 200
    return recs


def run(table, records, rules=RULES):
    check_params(table["kind"], table)
    out = []
    engine = StrategyEngine(loader.load(table, SYMBOLS, rules), 3, lambda rec: out.append(rec.copy()) or True,
                            clock=lambda: 0)
    for lo in range(0, len(records), 1000):  # batches, as the worker reads them
        engine.on_md_batch(records[lo: lo + 1000])
    return np.concatenate(out) if out else np.zeros(0, O.DTYPE)


@pytest.mark.parametrize("table", [
    {"name": "m", "kind": "momentum", "short": 5, "long": 30, "cooldown_ms": 0},
    {"name": "i", "kind": "imbalance", "threshold": 0.3, "max_spread_bps": 50, "cooldown_ms": 10,
     "max_position": "1"},
])
def test_same_records_same_intents(table, records):
    a = run(dict(table), records)
    b = run(dict(table), records)
    assert len(a) > 3
    assert a.tobytes() == b.tobytes()  # every field, ids and triggers included (clock fixed)
    assert (a["strategy_id"] == 3).all() and (a["order_id"] == O.make_order_id(3, np.arange(1, len(a) + 1))).all()
    trig = records[a["trigger_seq"]]
    assert (trig["recv_ns"] == a["trigger_recv_ns"]).all()
    assert (a["price_e8"] % 1_000_000 == 0).all()  # btcusdt tick 0.01


@pytest.mark.parametrize("kind", ["momentum", "imbalance"])
def test_prices_and_quantities_follow_the_venue_rules(kind, records):
    """The tick and step come from the rules the strategy is given (the venue's exchangeInfo):
    a coarser tick makes every price a multiple of it; qty is rounded down onto the step."""
    table = ({"name": "m", "kind": "momentum", "short": 5, "long": 30, "cooldown_ms": 0, "qty": "0.00157"}
             if kind == "momentum" else
             {"name": "i", "kind": "imbalance", "threshold": 0.3, "max_spread_bps": 50, "cooldown_ms": 10,
              "max_position": "1", "qty": "0.00157"})
    coarse = {"BTCUSDT": InstrumentRules(symbol="BTCUSDT", base="BTC", quote="USDT", tick_e8=10_000_000,
                                         step_e8=50_000, min_qty_e8=50_000)}
    a = run(dict(table), records, coarse)
    assert len(a) > 3
    if kind == "momentum":  # IOC through the last trade: rounded onto the rules' tick (0.1)
        assert (a["price_e8"] % 10_000_000 == 0).all()
    assert (a["qty_e8"] == 150_000).all()  # 0.00157 rounded down onto the step 0.0005
    fine = run(dict(table), records)
    assert (fine["qty_e8"] == 157_000).all()
    if kind == "momentum":
        assert (fine["price_e8"] % 10_000_000 != 0).any()  # the finer tick really was used


def test_no_rules_or_a_qty_below_the_minimum_refuses_to_start():
    table = {"name": "m", "kind": "momentum", "qty": "0.001"}
    check_params("momentum", table)
    with pytest.raises(InstrumentError, match="no instrument rules"):
        StrategyEngine(loader.load(dict(table), SYMBOLS), 1, lambda rec: True)
    big_min = {"BTCUSDT": InstrumentRules(symbol="BTCUSDT", base="BTC", quote="USDT", tick_e8=1_000_000,
                                          step_e8=1_000, min_qty_e8=1_000_000)}
    with pytest.raises(InstrumentError, match=r"BTCUSDT trades in steps of 0.00001000 from 0.01000000 \(the venue.s LOT_SIZE\)"):
        StrategyEngine(loader.load(dict(table), SYMBOLS, big_min), 1, lambda rec: True)
    with pytest.raises(InstrumentError, match="no such symbol"):
        StrategyEngine(loader.load(dict(table), SYMBOLS, {}), 1, lambda rec: True)


def test_momentum_alternates_sides(records):
    a = run({"name": "m", "kind": "momentum", "short": 5, "long": 30, "cooldown_ms": 0}, records)
    assert (a["side"][1:] != a["side"][:-1]).all()  # one intent per crossing, crossings alternate
    assert (a["tif"] == O.IOC).all() and (a["qty_e8"] == 100_000).all()


def test_position_from_fills_only():
    strat = Strategy({"symbols": ["btcusdt"]}, SYMBOLS)
    engine = StrategyEngine(strat, 2, lambda rec: True, clock=lambda: 0)
    oid = strat.buy(0, 300, 100)
    assert strat.position[0] == 0 and strat.open_e8[0] == 300  # an intent is not a position
    rep = np.zeros(1, F.DTYPE)
    rep[0]["order_id"], rep[0]["strategy_id"], rep[0]["side"] = oid, 2, O.BUY
    rep[0]["exec_type"], rep[0]["state"], rep[0]["last_qty_e8"] = F.EX_TRADE, F.ST_PARTIAL, 100
    engine.on_fill(rep[0])
    assert strat.position[0] == 100 and strat.open_e8[0] == 200
    rep[0]["exec_type"], rep[0]["state"], rep[0]["last_qty_e8"] = F.EX_EXPIRED, F.ST_EXPIRED, 0
    engine.on_fill(rep[0])
    assert strat.position[0] == 100 and strat.open_e8[0] == 0
    rep[0]["strategy_id"] = 9  # another strategy's fill is not ours
    rep[0]["exec_type"], rep[0]["last_qty_e8"] = F.EX_TRADE, 50
    engine.on_fill(rep[0])
    assert strat.position[0] == 100


def test_file_strategy_with_hooks(tmp_path, records):
    path = tmp_path / "mine.py"
    path.write_text(textwrap.dedent("""
        from hftshm.trading.strategy import Strategy

        class EveryTenthTrade(Strategy):
            def on_start(self):
                self.trades = 0
            def on_trade(self, r):
                self.trades += 1
                if self.trades % 10 == 0:
                    self.sell(int(r["symbol_id"]), 1000, int(r["price_e8"]))
    """))
    out = run({"name": "f", "kind": "file", "path": str(path), "class": "EveryTenthTrade"}, records)
    n_trades = int((records["kind"] == M.TRADE).sum())
    assert len(out) == n_trades // 10 and (out["side"] == O.SELL).all()
    with pytest.raises(TypeError):
        loader.load_class(str(path), "Strategy_missing")


def test_imbalance_kernel_matches_its_python_hook(records):
    """The imbalance kernel and its reference hook ``on_quote`` give the same intents, the
    worst-case position limit included (a small ``max_position`` makes it bind often)."""
    from hftshm.trading.builtins import Imbalance

    class HookImbalance(Imbalance):
        kernel = None

    table = {"name": "i", "kind": "imbalance", "threshold": 0.3, "max_spread_bps": 50, "cooldown_ms": 1,
             "max_position": "0.002"}
    check_params("imbalance", table)
    outs = []
    for cls in (Imbalance, HookImbalance):
        out = []
        strategy = cls(dict(table), SYMBOLS, RULES)
        engine = StrategyEngine(strategy, 3, lambda rec: out.append(rec.copy()) or True,
                                clock=lambda: 0)
        for lo in range(0, len(records), 700):
            engine.on_md_batch(records[lo: lo + 700])
        outs.append(np.concatenate(out))
    assert len(outs[0]) > 3
    assert outs[0].tobytes() == outs[1].tobytes()


def test_restored_position_and_a_fill_reported_twice_counts_once():
    """A restarted strategy starts from the position the persisted state gave it (before its
    on_start runs), and a trade report seen twice (already stored, or published again by a
    restarted execution) moves the position once."""
    seen_at_start = []

    class Probe(Strategy):
        def on_start(self):
            seen_at_start.append(int(self.position[0]))

    oid = O.make_order_id(3, 7)
    engine = StrategyEngine(Probe({}, SYMBOLS), 3, lambda rec: True, clock=lambda: 0,
                            positions={0: 150_000}, seen={(0, 41, oid)})
    assert seen_at_start == [150_000]

    def trade(trade_id, qty=50_000):
        r = np.zeros(1, F.DTYPE)
        r["order_id"], r["strategy_id"], r["symbol_id"], r["side"] = oid, 3, 0, O.BUY
        r["exec_type"], r["state"], r["last_qty_e8"], r["trade_id"] = F.EX_TRADE, F.ST_PARTIAL, qty, trade_id
        return r[0]

    engine.on_fill(trade(41))  # stored already: in the restored position
    assert engine.s.position[0] == 150_000
    engine.on_fill(trade(42))
    engine.on_fill(trade(42))  # published twice
    assert engine.s.position[0] == 200_000 and engine.duplicates == 2


@pytest.mark.parametrize("kind", ["momentum", "imbalance"])
def test_a_kernel_is_compiled_before_the_first_tick(kind, records):
    """The engine (built in the worker's start, before it reports RUNNING) compiles the kernel
    for the exact types the hot path passes: the first batch compiles nothing more."""
    from numba import njit

    from hftshm.trading import builtins

    base = {"momentum": builtins.Momentum, "imbalance": builtins.Imbalance}[kind]
    fresh = njit(base.kernel.py_func)  # a dispatcher of its own, nothing compiled yet
    cls = type("Fresh", (base,), {"kernel": staticmethod(fresh)})
    table = {"name": "k", "kind": kind}
    check_params(kind, table)
    assert fresh.signatures == []
    engine = StrategyEngine(_with_rules(cls(table, SYMBOLS)), 3,
                            lambda rec: True, clock=lambda: 0)
    assert len(fresh.signatures) == 1, "not compiled at start"
    batch = records[:1000].copy()  # as the worker's copying read returns it
    engine.on_md_batch(batch)
    assert len(fresh.signatures) == 1, "the first tick compiled another signature"


def _with_rules(strategy):
    strategy.instruments = RULES  # as loader.load sets them
    return strategy
