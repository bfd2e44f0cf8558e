"""Reference code for the feed tests, independent of ``hftshm.feed``: stdlib json, Decimal, dicts.

What a record should hold is computed here from the JSON text alone, so a test compares two
independent readings of the same message.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np

from hftshm.feed.capture import iter_capture
from hftshm.layouts import md

from support import CAPTURE  # noqa: E402
FIELDS = md.DTYPE.names


def e8(text: str) -> int:
    scaled = Decimal(text) * 100_000_000
    assert scaled == scaled.to_integral_value(), text
    return int(scaled)


def fl(text: str) -> float:
    return float(Decimal(text))  # correctly rounded, like float(text)


def record(**fields) -> dict:
    """A full expected record: every field, zero unless given."""
    rec = {name: 0 for name in FIELDS}
    for name in ("price", "qty", "price2", "qty2"):
        rec[name] = 0.0
    unknown = set(fields) - set(FIELDS)
    assert not unknown, unknown
    rec.update(fields)
    return rec


def as_dicts(records: np.ndarray) -> list[dict]:
    """Records as {field: Python int or float}; ``tolist`` converts a whole array at C speed."""
    return [dict(zip(FIELDS, values)) for values in records.tolist()]


def payload(frame: bytes | str) -> dict:
    msg = json.loads(frame)
    return msg["data"] if "data" in msg else msg


def expected_trade(d: dict, recv_ns: int, sid: int) -> dict:
    return record(
        kind=md.TRADE, side=md.SELL if d["m"] else md.BUY,
        flags=md.F_BEST_MATCH if d.get("M") else 0, symbol_id=sid,
        exch_ns=d["E"] * 1_000_000, txn_ns=d["T"] * 1_000_000, recv_ns=recv_ns, venue_id=d["t"],
        price_e8=e8(d["p"]), qty_e8=e8(d["q"]), price=fl(d["p"]), qty=fl(d["q"]),
    )


def expected_agg_trade(d: dict, recv_ns: int, sid: int) -> dict:
    return record(
        kind=md.AGG_TRADE, side=md.SELL if d["m"] else md.BUY,
        flags=md.F_BEST_MATCH if d.get("M") else 0, symbol_id=sid,
        exch_ns=d["E"] * 1_000_000, txn_ns=d["T"] * 1_000_000, recv_ns=recv_ns, venue_id=d["a"],
        venue_id2=d["f"], price_e8=e8(d["p"]), qty_e8=e8(d["q"]), price=fl(d["p"]), qty=fl(d["q"]),
    )


def expected_book_ticker(d: dict, recv_ns: int, sid: int) -> dict:
    return record(
        kind=md.QUOTE, symbol_id=sid, recv_ns=recv_ns, venue_id=d["u"],
        price_e8=e8(d["b"]), qty_e8=e8(d["B"]), price2_e8=e8(d["a"]), qty2_e8=e8(d["A"]),
        price=fl(d["b"]), qty=fl(d["B"]), price2=fl(d["a"]), qty2=fl(d["A"]),
    )


def expected_levels(d: dict, recv_ns: int, sid: int) -> list[dict]:
    sides = [(md.BID, lvl) for lvl in d["b"]] + [(md.ASK, lvl) for lvl in d["a"]]
    out = []
    for i, (side, (p, q)) in enumerate(sides):
        out.append(record(
            kind=md.LEVEL, side=side, flags=md.F_LAST_IN_EVENT if i == len(sides) - 1 else 0,
            symbol_id=sid, exch_ns=d["E"] * 1_000_000, recv_ns=recv_ns, venue_id=d["u"],
            venue_id2=d["U"], price_e8=e8(p), qty_e8=e8(q), price=fl(p), qty=fl(q),
        ))
    return out


def expected_snapshot_levels(snap: dict, recv_ns: int, sid: int) -> list[dict]:
    sides = [(md.BID, lvl) for lvl in snap["bids"]] + [(md.ASK, lvl) for lvl in snap["asks"]]
    out = []
    for i, (side, (p, q)) in enumerate(sides):
        last = md.F_LAST_IN_EVENT if i == len(sides) - 1 else 0
        out.append(record(
            kind=md.LEVEL, side=side, flags=md.F_SNAPSHOT | last, symbol_id=sid, recv_ns=recv_ns,
            venue_id=snap["lastUpdateId"], price_e8=e8(p), qty_e8=e8(q), price=fl(p), qty=fl(q),
        ))
    return out


def e8_levels(levels: list[list[str]]) -> list[tuple[int, int]]:
    return [(e8(p), e8(q)) for p, q in levels]


class NaiveBook:
    """Snapshot + diffs with plain dicts: the obviously-correct book the tests compare against.
    Levels come as (price_e8, qty_e8) pairs from ``e8_levels``."""

    def __init__(self, bids: list[tuple[int, int]], asks: list[tuple[int, int]]):
        self.bids = {p: q for p, q in bids if q}
        self.asks = {p: q for p, q in asks if q}

    def apply(self, bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> None:
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            for p, q in levels:
                if q:
                    side[p] = q
                else:
                    side.pop(p, None)


class RecordBook:
    """A consumer's book rebuilt from published records alone."""

    def __init__(self):
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.quote: tuple[int, int, int, int] | None = None

    def feed(self, rec: dict) -> None:
        """One record from ``as_dicts``."""
        kind = rec["kind"]
        if kind == md.BOOK_RESET:
            self.bids.clear()
            self.asks.clear()
            self.quote = (0, 0, 0, 0)
        elif kind == md.LEVEL:
            side = self.bids if rec["side"] == md.BID else self.asks
            price, qty = rec["price_e8"], rec["qty_e8"]
            if qty:
                side[price] = qty
            else:
                side.pop(price, None)
        elif kind == md.QUOTE and rec["flags"] & md.F_FROM_BOOK:
            self.quote = (rec["price_e8"], rec["qty_e8"], rec["price2_e8"], rec["qty2_e8"])

    def top(self) -> tuple[int, int, int, int]:
        bid = max(self.bids) if self.bids else 0
        ask = min(self.asks) if self.asks else 0
        return bid, self.bids.get(bid, 0), ask, self.asks.get(ask, 0)


def read_capture(path: Path = CAPTURE) -> list[tuple[int, bytes]]:
    return list(iter_capture(path))
