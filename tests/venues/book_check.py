"""Brute-force references for the in-band books: a plain dict book from the frames, and the book
a consumer rebuilds from the md records (BOOK_RESET clears, LEVEL sets, qty 0 deletes)."""

from __future__ import annotations

from hftshm.feed.e8 import parse_e8
from hftshm.layouts import md


class DictBook:
    """The venue's book as the frames describe it: a snapshot replaces, a delta sets levels."""

    def __init__(self):
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}

    def snapshot(self, bids, asks) -> None:
        self.bids = {parse_e8(p): parse_e8(q) for p, q, *_ in bids if parse_e8(q)}
        self.asks = {parse_e8(p): parse_e8(q) for p, q, *_ in asks if parse_e8(q)}

    def delta(self, bids, asks) -> None:
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            for p, q, *_ in levels:
                p, q = parse_e8(p), parse_e8(q)
                if q:
                    side[p] = q
                else:
                    side.pop(p, None)


class ConsumerBook:
    """What a strategy rebuilds from the published records."""

    def __init__(self):
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.top = None

    def feed(self, recs) -> None:
        for r in recs:
            kind = int(r["kind"])
            if kind == md.BOOK_RESET:
                self.bids, self.asks, self.top = {}, {}, None
            elif kind == md.LEVEL:
                side = self.bids if int(r["side"]) == md.BID else self.asks
                p, q = int(r["price_e8"]), int(r["qty_e8"])
                if q:
                    side[p] = q
                else:
                    side.pop(p, None)
            elif kind == md.QUOTE and int(r["flags"]) & md.F_FROM_BOOK:
                self.top = (int(r["price_e8"]), int(r["qty_e8"]), int(r["price2_e8"]), int(r["qty2_e8"]))

    def best(self):
        b = max(self.bids) if self.bids else 0
        a = min(self.asks) if self.asks else 0
        return (b, self.bids.get(b, 0), a, self.asks.get(a, 0))
