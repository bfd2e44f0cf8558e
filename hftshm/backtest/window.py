"""A sliding window over the md stream: the records between the venue's and the strategy's
positions, refilled a chunk at a time, so neither clock needs the whole journal in memory."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .source import Chunk

VENUE_FIELDS = ("kind", "symbol_id", "side", "flags", "price_e8", "qty_e8", "price2_e8", "qty2_e8", "recv_ns",
                "exch_ns", "seq")


def concat(parts, dtype: np.dtype) -> np.ndarray:
    """``np.concatenate`` that keeps ``dtype`` exactly (numpy's promotion packs structured dtypes:
    the offsets and padding of a live layout would be lost)."""
    out = np.zeros(sum(len(p) for p in parts), dtype)  # zeros: padding bytes too (deterministic files)
    i = 0
    for p in parts:
        out[i: i + len(p)] = p
        i += len(p)
    return out


class Window:
    def __init__(self, chunks: Iterator[Chunk]):
        self._chunks = chunks
        self.records = None
        self.local = np.zeros(0, np.int64)
        self.venue = np.zeros(0, np.int64)
        self.cols: list[list] = [[] for _ in VENUE_FIELDS]
        self.venue_list: list[int] = []
        self.local_list: list[int] = []
        self.exhausted = False
        self.base = 0  # global index of window position 0
        # with ``track_avail`` (the strategy's busy time is modelled): when each record was there
        # to read, max(local time, publish_ns), non-decreasing
        self.track_avail = False
        self.avail_list: list[int] = []
        self._avail_last = 0

    def __len__(self) -> int:
        return len(self.local_list)

    def refill(self, keep_from: int) -> int:
        """Drop positions before ``keep_from``, append the next chunk; returns the shift applied
        to positions (subtract it), or -1 when the stream is exhausted (nothing changed)."""
        if self.exhausted:
            return -1
        nxt = next(self._chunks, None)
        if nxt is None:
            self.exhausted = True
            return -1
        k = keep_from
        recs = np.ascontiguousarray(nxt.records)  # a copy off the memmap: kernels get contiguous arrays
        avail: list[int] = []
        if self.track_avail and len(recs):
            a = np.maximum(nxt.local, recs["publish_ns"].astype(np.int64))
            a[0] = max(int(a[0]), self._avail_last)
            np.maximum.accumulate(a, out=a)
            self._avail_last = int(a[-1])
            avail = a.tolist()
        if self.records is None or k >= len(self):
            self.records, self.local, self.venue = recs, nxt.local, nxt.venue
            self.cols = [recs[f].tolist() for f in VENUE_FIELDS]
            self.venue_list, self.local_list = nxt.venue.tolist(), nxt.local.tolist()
            self.avail_list = avail
        else:
            self.avail_list = self.avail_list[k:] + avail
            self.records = concat([self.records[k:], recs], recs.dtype)
            self.local = np.concatenate([self.local[k:], nxt.local])
            self.venue = np.concatenate([self.venue[k:], nxt.venue])
            self.cols = [c[k:] + recs[f].tolist() for c, f in zip(self.cols, VENUE_FIELDS)]
            self.venue_list = self.venue_list[k:] + nxt.venue.tolist()
            self.local_list = self.local_list[k:] + nxt.local.tolist()
        self.base += k
        return k
