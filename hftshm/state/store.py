"""The persisted trading state: one SQLite file per instance (``<data_dir>/<instance>/state.sqlite``),
stdlib ``sqlite3`` in WAL mode, owner-only (0600, and its -wal/-shm files too).

Tables (inspect with ``sqlite3 -readonly FILE``, see docs/operations.md "The persisted state")::

    fills   one row per venue fill of ours: symbol, trade_id (the venue's), order_id,
            strategy_id, side (1 buy, 2 sell), px_e8, qty_e8, fee_e8 (quote), venue_ns, recv_ns,
            run_tag and seq (the instance run and the fills-ring sequence it came from).
            PRIMARY KEY (symbol, trade_id, order_id): a fill reported twice (a restarted
            execution resolving an order again, a ring record read twice) is stored once.
    orders  one row per order a strategy sent (the orders ring): order_id, run_tag, strategy_id,
            symbol, side, type, tif, qty_e8, price_e8, intent_ns, then what execution reported:
            state (fill.ST_*), filled_e8, venue_order_id, reason, updated_ns.
    cursors run_tag, ring -> the highest ring sequence committed: a restarted writer or strategy
            goes on from there.

Positions are not stored: they are the sum of the unique fills (``positions``), so they cannot
disagree with them. One writer (the state worker); readers (a starting strategy, ``setup``) see
the last committed batch.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from ..layouts.exec_report import TERMINAL_STATES
from ..layouts.order import BUY, STRATEGY_SHIFT
from ..private import make_dir, restrict_umask

FILE_NAME = "state.sqlite"
SCHEMA_VERSION = 1
COUNTER_MASK = (1 << STRATEGY_SHIFT) - 1
E8 = 100_000_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS fills (
    symbol TEXT NOT NULL, trade_id INTEGER NOT NULL, order_id INTEGER NOT NULL,
    strategy_id INTEGER NOT NULL, side INTEGER NOT NULL, px_e8 INTEGER NOT NULL, qty_e8 INTEGER NOT NULL,
    fee_e8 INTEGER NOT NULL, venue_ns INTEGER NOT NULL, recv_ns INTEGER NOT NULL,
    run_tag INTEGER NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (symbol, trade_id, order_id));
CREATE TABLE IF NOT EXISTS orders (
    order_id INTEGER PRIMARY KEY, run_tag INTEGER NOT NULL, strategy_id INTEGER NOT NULL,
    symbol TEXT NOT NULL, side INTEGER NOT NULL, type INTEGER NOT NULL, tif INTEGER NOT NULL,
    qty_e8 INTEGER NOT NULL, price_e8 INTEGER NOT NULL, intent_ns INTEGER NOT NULL,
    state INTEGER NOT NULL DEFAULT 0, filled_e8 INTEGER NOT NULL DEFAULT 0,
    venue_order_id INTEGER NOT NULL DEFAULT 0, reason INTEGER NOT NULL DEFAULT 0,
    updated_ns INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS cursors (
    run_tag INTEGER NOT NULL, ring TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (run_tag, ring));
"""


def path_for(cfg) -> Path:
    return Path(cfg.run_dir()) / FILE_NAME


def connect(path, readonly: bool = False) -> sqlite3.Connection:
    """A connection in WAL mode; a new file (and its -wal/-shm) is created owner-only."""
    path = Path(path)
    if readonly:
        if not path.exists():
            raise FileNotFoundError(f"no state file {path}")
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0)
        return db
    make_dir(path.parent)
    old = restrict_umask()
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        os.fchmod(fd, 0o600)
        os.close(fd)
        db = sqlite3.connect(path, timeout=10.0, isolation_level=None)  # transactions by hand
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise OSError(f"{path}: SQLite refused WAL mode (got {mode!r})")
        db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a commit survives a process crash
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            raise ValueError(f"{path}: state schema version {version}, this hftshm reads {SCHEMA_VERSION}")
        db.executescript(SCHEMA)
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        for extra in ("-wal", "-shm"):
            p = Path(str(path) + extra)
            if p.exists():
                os.chmod(p, 0o600)
    finally:
        os.umask(old)
    return db


class StateWriter:
    """Batches of ring records -> one transaction each (the state worker's side)."""

    def __init__(self, path, run_tag: int, symbols: list[str]):
        self.db = connect(path)
        self.run_tag = run_tag
        self.symbols = symbols

    def cursor(self, ring: str) -> int:
        """The highest sequence of ``ring`` committed in this run, or -1."""
        row = self.db.execute("SELECT seq FROM cursors WHERE run_tag=? AND ring=?", (self.run_tag, ring)).fetchone()
        return -1 if row is None else int(row[0])

    def write(self, orders, fills, now_ns: int) -> int:
        """Store a batch of order records (``order.DTYPE``) and execution reports (``fill.DTYPE``)
        in one transaction; returns the number of new fills."""
        from ..layouts import exec_report as F
        from ..layouts import order as O

        db, tag, names = self.db, self.run_tag, self.symbols
        new_fills = 0
        db.execute("BEGIN IMMEDIATE")
        try:
            if len(orders):
                new = orders[orders["action"] == O.NEW]
                db.executemany(
                    "INSERT OR IGNORE INTO orders (order_id, run_tag, strategy_id, symbol, side, type, tif, qty_e8,"
                    " price_e8, intent_ns) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    [(int(r["order_id"]), tag, int(r["strategy_id"]), _name(names, int(r["symbol_id"])), int(r["side"]),
                      int(r["type"]), int(r["tif"]), int(r["qty_e8"]), int(r["price_e8"]), int(r["intent_ns"]))
                     for r in new])
                db.execute("INSERT OR REPLACE INTO cursors VALUES (?, 'orders', ?)", (tag, int(orders["seq"][-1])))
            if len(fills):
                trades = fills[fills["exec_type"] == F.EX_TRADE]
                before = db.total_changes
                db.executemany(
                    "INSERT OR IGNORE INTO fills VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    [(_name(names, int(r["symbol_id"])), _trade_key(r), int(r["order_id"]), int(r["strategy_id"]),
                      int(r["side"]), int(r["last_px_e8"]), int(r["last_qty_e8"]), int(r["fee_e8"]),
                      int(r["venue_ns"]), int(r["recv_ns"]), tag, int(r["seq"])) for r in trades])
                new_fills = db.total_changes - before
                db.executemany(
                    # a report without the venue's order id (0) never erases a known one: a
                    # restart's order-history sweep starts after the highest one stored
                    "UPDATE orders SET state=?, filled_e8=MAX(filled_e8, ?),"
                    " venue_order_id=CASE WHEN ? != 0 THEN ? ELSE venue_order_id END,"
                    " reason=CASE WHEN ? != 0 THEN ? ELSE reason END, updated_ns=? WHERE order_id=?",
                    [(int(r["state"]), int(r["cum_qty_e8"]), int(r["venue_order_id"]), int(r["venue_order_id"]),
                      int(r["reason"]), int(r["reason"]), now_ns, int(r["order_id"]))
                     for r in fills if int(r["exec_type"]) != F.EX_CANCEL_REJECTED and int(r["order_id"])])
                db.execute("INSERT OR REPLACE INTO cursors VALUES (?, 'fills', ?)", (tag, int(fills["seq"][-1])))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return new_fills

    def close(self) -> None:
        self.db.close()


def _name(names: list[str], symbol_id: int) -> str:
    return names[symbol_id] if 0 <= symbol_id < len(names) else f"#{symbol_id}"


def _trade_key(r) -> int:
    """The venue's trade id; a report without one (0) is keyed by its ring position instead,
    negative so it never meets a real id (it cannot be deduplicated across a re-publish)."""
    tid = int(r["trade_id"])
    return tid if tid else -(int(r["seq"]) + 1)


@dataclass
class SymbolBook:
    """A symbol's position from fills by the risk state's average-cost method (risk/fills.py)."""

    position_e8: int = 0
    avg_px: float = 0.0
    realized: float = 0.0
    fees: float = 0.0
    fills: int = 0
    bought_e8: int = 0
    sold_e8: int = 0

    def add(self, side: int, px_e8: int, qty_e8: int, fee_e8: int) -> None:
        signed = qty_e8 if side == BUY else -qty_e8
        pos, new, px = self.position_e8, self.position_e8 + signed, px_e8 / E8
        if pos == 0 or (pos > 0) == (signed > 0):
            self.avg_px = (abs(pos) * self.avg_px + qty_e8 * px) / abs(new)
        else:
            closed = min(qty_e8, abs(pos))
            self.realized += closed / E8 * ((px - self.avg_px) if pos > 0 else (self.avg_px - px))
            if new == 0:
                self.avg_px = 0.0
            elif (new > 0) != (pos > 0):
                self.avg_px = px
        self.position_e8 = new
        self.fees += fee_e8 / E8
        self.fills += 1
        if signed > 0:
            self.bought_e8 += qty_e8
        else:
            self.sold_e8 += qty_e8


@dataclass
class Restored:
    """What a restart gets back: ``books[symbol]`` (all strategies), ``by_strategy[id][symbol]``
    positions (e8), the highest order counter per strategy, the fills cursor of ``run_tag``
    (-1: none committed in that run), and the fill keys of that run (to skip re-published ones)."""

    books: dict = field(default_factory=dict)
    by_strategy: dict = field(default_factory=dict)
    counters: dict = field(default_factory=dict)
    fills_seq: int = -1
    keys: set = field(default_factory=set)
    n_fills: int = 0


def restore(path, run_tag: int = 0) -> Restored:
    """Read everything a restart needs in one read transaction (a consistent cut)."""
    out = Restored()
    path = Path(path)
    if not path.exists():
        return out
    db = connect(path, readonly=True)
    try:
        db.execute("BEGIN")
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not {"fills", "orders", "cursors"} <= tables:
            db.execute("COMMIT")
            return out  # the writer has not made its schema yet: nothing committed
        for sym, sid, side, px, qty, fee, tid, oid, tag in db.execute(
                "SELECT symbol, strategy_id, side, px_e8, qty_e8, fee_e8, trade_id, order_id, run_tag FROM fills"
                " ORDER BY venue_ns, rowid"):
            out.books.setdefault(sym, SymbolBook()).add(side, px, qty, fee)
            per = out.by_strategy.setdefault(sid, {})
            per[sym] = per.get(sym, 0) + (qty if side == BUY else -qty)
            out.n_fills += 1
            if tag == run_tag:
                out.keys.add((sym, tid, oid))
        for sid, top in db.execute("SELECT strategy_id, MAX(order_id & ?) FROM orders GROUP BY strategy_id",
                                   (COUNTER_MASK,)):
            out.counters[int(sid)] = int(top)
        row = db.execute("SELECT seq FROM cursors WHERE run_tag=? AND ring='fills'", (run_tag,)).fetchone()
        out.fills_seq = -1 if row is None else int(row[0])
        db.execute("COMMIT")
    finally:
        db.close()
    return out


@dataclass
class Unfinished:
    """An order of an earlier run that the state last knew as not ended (no FILLED, CANCELED,
    EXPIRED or REJECTED report stored): while the instance was down it may have filled, or
    still rest at the venue. ``trades``: its fills stored so far, venue trade id -> quantity e8."""

    order_id: int
    run_tag: int
    strategy_id: int
    symbol: str
    side: int
    type: int
    qty_e8: int
    price_e8: int
    intent_ns: int
    state: int
    venue_order_id: int
    trades: dict = field(default_factory=dict)


TERMINAL = tuple(sorted(TERMINAL_STATES))


def unfinished(path, run_tag: int) -> list[Unfinished]:
    """The orders of runs other than ``run_tag`` not known to have ended, with their stored
    fills (one read transaction). Execution resolves them with the venue at start
    (``OrderRouter.recover``): the fills they got while nothing ran are fetched once."""
    path = Path(path)
    if not path.exists():
        return []
    db = connect(path, readonly=True)
    try:
        db.execute("BEGIN")
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not {"fills", "orders"} <= tables:
            db.execute("COMMIT")
            return []
        out = {}
        marks = ",".join("?" * len(TERMINAL))
        for row in db.execute(
                "SELECT order_id, run_tag, strategy_id, symbol, side, type, qty_e8, price_e8, intent_ns, state,"
                f" venue_order_id FROM orders WHERE run_tag != ? AND state NOT IN ({marks}) ORDER BY order_id",
                (run_tag, *TERMINAL)):
            out[int(row[0])] = Unfinished(*(int(x) if not isinstance(x, str) else x for x in row))
        if out:
            for oid, tid, qty in db.execute(
                    "SELECT f.order_id, f.trade_id, f.qty_e8 FROM fills f JOIN orders o ON o.order_id = f.order_id"
                    f" WHERE o.run_tag != ? AND o.state NOT IN ({marks})", (run_tag, *TERMINAL)):
                out[int(oid)].trades[int(tid)] = int(qty)
        db.execute("COMMIT")
    finally:
        db.close()
    return list(out.values())


@dataclass
class History:
    """Where to look for orders of earlier runs that reached the venue but not the state (the
    instance died between execution sending one and the state worker storing it): per symbol,
    ``after[symbol]`` the highest venue order id stored (later orders have higher ids), else
    ``since_ms[symbol]`` the time of its latest stored order (ms, less a margin); ``stored``: the
    order ids stored since then, the ones not to take for unknown; ``orphans``: fills stored for
    orders the state has no row of (such an order, found and resolved by an earlier restart),
    order id -> {trade id: quantity}."""

    after: dict = field(default_factory=dict)
    since_ms: dict = field(default_factory=dict)
    stored: set = field(default_factory=set)
    orphans: dict = field(default_factory=dict)


HISTORY_MARGIN_MS = 10_000
DAY_NS = 24 * 3600 * 1_000_000_000


def history(path, run_tag: int) -> History:
    """``History`` of the runs other than ``run_tag`` (empty if the state has none)."""
    out = History()
    path = Path(path)
    if not path.exists():
        return out
    db = connect(path, readonly=True)
    try:
        db.execute("BEGIN")
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "orders" not in tables:
            db.execute("COMMIT")
            return out
        rows = db.execute("SELECT symbol, MAX(venue_order_id), MAX(intent_ns) FROM orders WHERE run_tag != ?"
                          " GROUP BY symbol", (run_tag,)).fetchall()
        for symbol, top, last_ns in rows:
            if top:
                out.after[symbol] = int(top)
            else:
                out.since_ms[symbol] = int(last_ns) // 1_000_000 - HISTORY_MARGIN_MS
        if rows:
            since = max(int(r[2]) for r in rows) - DAY_NS
            out.stored = {int(r[0]) for r in db.execute(
                "SELECT order_id FROM orders WHERE run_tag != ? AND intent_ns >= ?", (run_tag, since))}
        for oid, tid, qty in db.execute("SELECT order_id, trade_id, qty_e8 FROM fills WHERE order_id NOT IN"
                                        " (SELECT order_id FROM orders)"):
            out.orphans.setdefault(int(oid), {})[int(tid)] = int(qty)
        db.execute("COMMIT")
    finally:
        db.close()
    return out
