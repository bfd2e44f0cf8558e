"""A cross-venue strategy's rings: every venue's md, orders and fills, seen as one symbol table.

A strategy whose symbols span venues (``runtime.group``) runs in one worker of the first venue's
instance. It sees ONE table: its own symbols in config order, named ``VENUE:SYMBOL`` (symbol id =
index), whatever ids each venue's rings use::

    arb-usdm  md  (BTCUSDT=0)         --+                          +--> arb-usdm  orders (id 0)
    arb-bybit md  (BTCUSDT=0, ETH=1)  --+--> USDM:BTCUSDT=0 ... --+
                                             BYBIT:BTCUSDT=1       +--> arb-bybit orders (id 0)

md and fills records are copied out of each venue's ring with ``symbol_id`` mapped into the
table (records of symbols the strategy does not name are dropped); each intent goes to its
venue's orders ring with that venue's id. Every ring is read and written as a one-venue strategy
worker does: md ad hoc (never holding a venue's ingest back), fills through a gating reader
named after the worker, resumed from that venue's persisted state (``hftshm.state``), orders
as a producer named after the worker.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..layouts import exec_report as F
from ..layouts import md as M
from ..layouts import order as O
from ..ring import BroadcastRing, ManyToOneRing
from ..runtime import config as C
from ..runtime.control import ControlBlock
from ..state.store import path_for, restore
from . import instruments
from .area import TradingArea


def restored(back, sid: int, table: dict[str, int]) -> tuple[dict, set, int | str]:
    """One venue's persisted state (``hftshm.state.store.restore``) as strategy ``sid`` resumes
    from it, in its table's ids (``table``: the venue's SYMBOL -> table id; other symbols are not
    the strategy's): positions (id -> e8), the fills seen ((id, trade id, order id)), and where
    its fills reader starts (just after the state's cut)."""
    positions = {table[s.upper()]: q for s, q in back.by_strategy.get(sid, {}).items() if s.upper() in table}
    seen = {(table[s.upper()], t, o) for s, t, o in back.keys
            if s.upper() in table and o >> O.STRATEGY_SHIFT == sid}
    return positions, seen, back.fills_seq + 1 if back.fills_seq >= 0 else "oldest"


class Leg:
    """One venue's rings, and how its symbol ids map into the strategy's table."""

    def __init__(self, venue: str, instance: str, table: list[str], worker: str):
        self.venue, self.instance = venue, instance
        self.md = BroadcastRing.attach(instance, "md", M.LAYOUT)
        self.orders = ManyToOneRing.attach(instance, "orders", O.LAYOUT)
        self.fills = BroadcastRing.attach(instance, "fills", F.LAYOUT)
        local = [s.upper() for s in self.md.symbols]
        self.to_table = np.full(len(local), -1, np.int64)  # venue symbol id -> table id (-1: not named)
        self.to_venue = {}  # table id -> venue symbol id
        prefix = f"{venue.upper()}:"
        for tid, name in enumerate(table):
            if name.startswith(prefix):
                sym = name[len(prefix):]
                if sym not in local:
                    raise ValueError(f"{name}: not in venue {venue!r}'s md symbol table {local}")
                self.to_table[local.index(sym)] = tid
                self.to_venue[tid] = local.index(sym)
        self.md_reader = self.fills_reader = self.producer = None
        self.worker = worker

    def open(self, fills_start) -> None:
        self.md_reader = self.md.reader(None, gating=False, start="newest")
        self.fills_reader = self.fills.reader(self.worker, gating=True, start=fills_start)
        self.producer = self.orders.producer(self.worker)

    def mapped(self, records: np.ndarray) -> np.ndarray:
        """``records`` (a copy) with ``symbol_id`` in the table's ids; others dropped."""
        ids = records["symbol_id"].astype(np.int64)
        known = ids < self.to_table.shape[0]
        tid = np.where(known, self.to_table[np.where(known, ids, 0)], -1)
        keep = tid >= 0
        if not keep.all():
            records, tid = records[keep], tid[keep]
        records["symbol_id"] = tid
        return records

    def close(self) -> None:
        for obj in (self.md_reader, self.fills_reader, self.producer, self.md, self.orders, self.fills):
            if obj is not None:
                obj.close()


class VenueRings:
    """Every venue of a cross-venue strategy (``StrategyConfig.venues``: venue -> instance)."""

    def __init__(self, table: C.StrategyConfig, worker: str, data_dir: str):
        self.symbols = [s.upper() for s in table.symbols]  # the strategy's table: VENUE:SYMBOL, config order
        self.legs = [Leg(v, inst, self.symbols, worker) for v, inst in table.venues.items()]
        self.by_table = {}  # table id -> (leg, venue symbol id)
        for leg in self.legs:
            for tid, vid in leg.to_venue.items():
                self.by_table[tid] = (leg, vid)
        self.data_dir = Path(data_dir)
        self.sid = table.id

    def venue_config(self, leg: Leg) -> C.Config:
        """The venue instance's resolved config, as its supervisor wrote it."""
        return C.from_json((self.data_dir / leg.instance / "config.json").read_text())

    def rules(self) -> dict:
        """The instrument rules of the table's symbols, by ``VENUE:SYMBOL``, from each venue's run."""
        out = {}
        for leg in self.legs:
            for r in instruments.load(self.venue_config(leg)):
                out[f"{leg.venue.upper()}:{r.symbol.upper()}"] = r
        return out

    def restore(self) -> tuple[dict, set, int, dict]:
        """From each venue's persisted state: positions (table id -> e8), the fills seen this run
        ((table id, trade id, order id)), the highest order counter used, and where each venue's
        fills reader starts (just after its state's cut)."""
        positions, seen, counter, starts = {}, set(), 0, {}
        for leg in self.legs:
            control = ControlBlock.attach(leg.instance)
            try:
                tag = TradingArea(control.risk_buffer()).run_tag
            finally:
                control.close()
            back = restore(path_for(self.venue_config(leg)), tag)
            prefix = f"{leg.venue.upper()}:"
            table = {name[len(prefix):]: tid for tid, name in enumerate(self.symbols) if name.startswith(prefix)}
            held, fills, starts[leg.venue] = restored(back, self.sid, table)
            positions.update(held)  # each table id is one venue's
            seen |= fills
            counter = max(counter, back.counters.get(self.sid, 0))
        return positions, seen, counter, starts

    def open(self, starts: dict) -> None:
        for leg in self.legs:
            leg.open(starts[leg.venue])

    def offer(self, rec: np.ndarray) -> bool:
        """An intent (a 1-record array, table ids) into its venue's orders ring, in venue ids."""
        leg, vid = self.by_table[int(rec[0]["symbol_id"])]
        out = rec.copy()
        out[0]["symbol_id"] = vid
        return leg.producer.offer(out)

    def lost(self) -> int:
        return sum(leg.md_reader.lost for leg in self.legs)

    def readers(self) -> list:
        return [r for leg in self.legs for r in (leg.md_reader, leg.fills_reader)]

    def close(self) -> None:
        for leg in self.legs:
            leg.close()
