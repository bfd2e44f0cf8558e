"""The persisted state without processes: batches in, one row per fill, positions summed from
the unique fills, cursors per run, owner-only files. Forbidden: a fill stored twice, a position
that is not the sum of the stored fills, a state file others can read."""

import os
import sqlite3
import stat

import numpy as np
import pytest

from hftshm.layouts import exec_report as F
from hftshm.layouts import order as O
from hftshm.risk.state import RiskState
from hftshm.state.store import StateWriter, connect, restore
from hftshm.trading.setup import restore_books

E8 = 100_000_000
OID = O.make_order_id(2, 5)


def trades(rows, seq0=0):
    """(trade_id, side, px, qty) -> EX_TRADE reports of order OID, ring sequences from seq0."""
    r = np.zeros(len(rows), F.DTYPE)
    for i, (tid, side, px, qty) in enumerate(rows):
        r[i]["seq"], r[i]["order_id"], r[i]["strategy_id"], r[i]["symbol_id"] = seq0 + i, OID, 2, 0
        r[i]["exec_type"], r[i]["state"], r[i]["trade_id"], r[i]["side"] = F.EX_TRADE, F.ST_PARTIAL, tid, side
        r[i]["last_px_e8"], r[i]["last_qty_e8"], r[i]["cum_qty_e8"] = px * E8, qty, qty
    return r


def new_order(counter, seq):
    o = np.zeros(1, O.DTYPE)
    o["seq"], o["order_id"], o["strategy_id"], o["action"] = seq, O.make_order_id(2, counter), 2, O.NEW
    o["side"], o["qty_e8"], o["price_e8"] = O.BUY, 1000, 100 * E8
    return o


def test_a_fill_is_stored_once_and_positions_are_their_sum(tmp_path):
    path = tmp_path / "state.sqlite"
    w = StateWriter(path, run_tag=7, symbols=["BTCUSDT"])
    assert w.write(new_order(5, 0), trades([(100, O.BUY, 60_000, 3000), (101, O.BUY, 61_000, 1000)]), 1) == 2
    # the same trade again (a restarted execution published it twice), and one new sell
    assert w.write(np.zeros(0, O.DTYPE), trades([(101, O.BUY, 61_000, 1000), (102, O.SELL, 62_000, 2000)], 2), 2) == 1
    assert w.cursor("fills") == 3 and w.cursor("orders") == 0
    w.close()
    back = restore(path, run_tag=7)
    assert back.n_fills == 3 and back.by_strategy == {2: {"BTCUSDT": 2000}}
    book = back.books["BTCUSDT"]
    assert book.position_e8 == 2000 and book.avg_px == pytest.approx(60_250.0)
    assert book.realized == pytest.approx(2000 / E8 * (62_000 - 60_250))
    assert back.fills_seq == 3 and back.counters == {2: 5}
    assert back.keys == {("BTCUSDT", 100, OID), ("BTCUSDT", 101, OID), ("BTCUSDT", 102, OID)}
    assert restore(path, run_tag=8).fills_seq == -1 and not restore(path, run_tag=8).keys  # another run
    # a fresh risk state gets the same books (a whole-instance restart)
    risk = RiskState(1)
    restore_books(risk, ["BTCUSDT"], back)
    s = risk.symbols[0]
    assert s["position_e8"] == 2000 and s["avg_px"] == pytest.approx(60_250.0) and s["fills"] == 3
    assert s["realized_pnl"] == pytest.approx(book.realized)


def test_the_state_file_is_owner_only_and_in_wal_mode(tmp_path):
    old = os.umask(0o022)
    try:
        path = tmp_path / "sub" / "state.sqlite"
        w = StateWriter(path, 1, ["BTCUSDT"])
        w.write(new_order(1, 0), trades([(1, O.BUY, 100, 10)]), 1)
        for p in (path, path.with_name("state.sqlite-wal"), path.with_name("state.sqlite-shm")):
            assert stat.S_IMODE(os.stat(p).st_mode) == 0o600, p
        assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        w.close()
    finally:
        os.umask(old)


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "state.sqlite"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=99")
    db.close()
    with pytest.raises(ValueError, match="schema version 99"):
        connect(path)


def test_no_file_restores_nothing(tmp_path):
    back = restore(tmp_path / "absent.sqlite", 1)
    assert back.n_fills == 0 and back.fills_seq == -1 and back.by_strategy == {}


def test_unfinished_orders_of_earlier_runs_and_the_history_marks(tmp_path):
    """What a whole-instance restart resolves with the venue: the orders of other runs with no
    final report stored (with their stored fills by trade id), never this run's or ended ones;
    and where the order-history sweep starts (the highest stored venue order id per symbol)."""
    from hftshm.state.store import history, unfinished

    path = tmp_path / "state.sqlite"
    assert unfinished(path, 8) == [] and history(path, 8).after == {}
    w = StateWriter(path, run_tag=7, symbols=["BTCUSDT"])
    orders = np.concatenate([new_order(5, 0), new_order(6, 1), new_order(7, 2)])
    acks = np.zeros(3, F.DTYPE)
    for i, (counter, state, vid) in enumerate([(5, F.ST_ACKED, 40), (6, F.ST_FILLED, 41), (7, F.ST_ACKED, 0)]):
        acks[i]["seq"], acks[i]["order_id"], acks[i]["strategy_id"] = 10 + i, O.make_order_id(2, counter), 2
        acks[i]["exec_type"], acks[i]["state"], acks[i]["venue_order_id"] = F.EX_NEW, state, vid
    w.write(orders, acks, 1)
    w.write(np.zeros(0, O.DTYPE), trades([(100, O.BUY, 60_000, 300)], 20), 2)  # order 5 filled in part
    w.close()
    got = {u.order_id: u for u in unfinished(path, 8)}
    assert sorted(got) == [O.make_order_id(2, 5), O.make_order_id(2, 7)]
    u = got[O.make_order_id(2, 5)]
    assert (u.run_tag, u.strategy_id, u.symbol, u.side, u.qty_e8, u.venue_order_id, u.trades) == \
        (7, 2, "BTCUSDT", O.BUY, 1000, 40, {100: 300})
    assert u.state == F.ST_PARTIAL and got[O.make_order_id(2, 7)].trades == {}
    assert unfinished(path, 7) == [], "this run's orders are execution's own (its slots)"
    h = history(path, 8)
    assert h.after == {"BTCUSDT": 41} and h.since_ms == {}
    assert h.stored == {O.make_order_id(2, c) for c in (5, 6, 7)} and h.orphans == {}
