"""A cross-venue strategy's rings (hftshm.trading.venue_rings): each venue's md records reach the
strategy with ``symbol_id`` in the strategy's one table (symbols it does not name dropped), and
each intent goes to its own venue's orders ring with that venue's id."""

from __future__ import annotations

import numpy as np
import pytest

from hftshm import instances
from hftshm.layouts import md as M
from hftshm.layouts import order as O
from hftshm.runtime import config as C
from hftshm.runtime import rings
from hftshm.trading.venue_rings import Leg, VenueRings


@pytest.fixture
def two_venues(instance):
    names = {"usdm": f"{instance}-usdm", "bybit": f"{instance}-bybit"}
    made = []
    for inst, symbols in ((names["usdm"], ["btcusdt"]), (names["bybit"], ["ethusdt", "btcusdt", "solusdt"])):
        cfg = C.Config(instance=inst)
        cfg.venue.symbols = symbols
        made += rings.create_all(cfg)
    yield names
    for r in made:
        r.close()
    for name in names.values():
        inst = instances.scan().get(name)
        if inst is not None:
            instances.remove(inst)


def _table(names):
    return C.StrategyConfig(name="x", kind="imbalance", id=7, symbols=["usdm:btcusdt", "bybit:btcusdt", "bybit:ethusdt"],
                            venues=names)


def test_md_ids_map_into_the_strategys_table(two_venues):
    table = [s.upper() for s in _table(two_venues).symbols]
    leg = Leg("bybit", two_venues["bybit"], table, "strategy-x")
    try:
        recs = np.zeros(4, M.DTYPE)
        recs["symbol_id"] = [0, 1, 2, 1]  # bybit's ids: ETHUSDT, BTCUSDT, SOLUSDT (not named), BTCUSDT
        recs["seq"] = [10, 11, 12, 13]
        recs["venue"] = M.VENUE_CODES["bybit_linear"]
        out = leg.mapped(recs)
        assert out["seq"].tolist() == [10, 11, 13]  # SOLUSDT dropped, order kept
        assert set(out["venue"].tolist()) == {M.VENUE_CODES["bybit_linear"]}  # each still names its venue
        assert out["symbol_id"].tolist() == [2, 1, 1]  # BYBIT:ETHUSDT = 2, BYBIT:BTCUSDT = 1
        bad = np.zeros(1, M.DTYPE)
        bad["symbol_id"] = 99  # past the venue's table: never indexes out of it
        assert leg.mapped(bad).shape[0] == 0
    finally:
        leg.close()


def test_a_symbol_missing_from_the_venue_is_refused(two_venues):
    with pytest.raises(ValueError, match=r"USDM:ETHUSDT: not in venue 'usdm'"):
        Leg("usdm", two_venues["usdm"], ["USDM:ETHUSDT"], "strategy-x")


def test_each_intent_goes_to_its_venue_with_the_venues_id(two_venues):
    vr = VenueRings(_table(two_venues), "strategy-x", "unused")
    try:
        vr.open({"usdm": "oldest", "bybit": "oldest"})
        consumers = {v: rings.attach(inst, "orders").reader("exec", gating=True, start="oldest")
                     for v, inst in two_venues.items()}
        for tid, oid in ((0, 100), (1, 101), (2, 102)):
            rec = np.zeros(1, O.DTYPE)
            rec["symbol_id"], rec["order_id"] = tid, oid
            assert vr.offer(rec)
            assert rec[0]["symbol_id"] == tid  # the engine's record is left as it was
        got = {v: [(int(r["order_id"]), int(r["symbol_id"])) for r in c.read_batch(16)] for v, c in consumers.items()}
        assert got == {"usdm": [(100, 0)], "bybit": [(101, 1), (102, 0)]}
        assert len(vr.readers()) == 4  # md and fills of each venue: the runner parks on all of them
        for c in consumers.values():
            c.close()
    finally:
        vr.close()


def test_a_venues_persisted_state_resumes_in_the_strategys_table_ids():
    """What a (re)started strategy takes from one venue's stored state (``restored``, used by a
    one-venue and a cross-venue strategy alike): its own positions and fills only, in table ids;
    its fills reader starts just after the state's cut, or at the oldest fill with no state."""
    from types import SimpleNamespace

    from hftshm.trading.venue_rings import restored

    mine, other = 7 << O.STRATEGY_SHIFT, 8 << O.STRATEGY_SHIFT
    back = SimpleNamespace(by_strategy={7: {"BTCUSDT": 5, "solusdt": 9}, 8: {"ETHUSDT": 3}},
                           keys=[("BTCUSDT", 10, mine | 1), ("btcusdt", 11, mine | 2), ("ETHUSDT", 12, other | 1),
                                 ("SOLUSDT", 13, mine | 3), ("ETHUSDT", 14, mine | 4)],
                           fills_seq=41)
    positions, seen, start = restored(back, 7, {"BTCUSDT": 1, "ETHUSDT": 2})
    assert positions == {1: 5}  # SOLUSDT is not in the table; strategy 8's ETHUSDT is not ours
    assert seen == {(1, 10, mine | 1), (1, 11, mine | 2), (2, 14, mine | 4)}
    assert start == 42
    back.fills_seq = -1
    assert restored(back, 7, {"BTCUSDT": 1})[2] == "oldest"
