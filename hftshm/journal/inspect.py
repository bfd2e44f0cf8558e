"""What a journal holds: its header, a summary (counts by kind and symbol, time range, gaps), and
every problem found on the way (a cut tail, a damaged header or batch: file and byte offset)."""

from __future__ import annotations

import numpy as np

from ..layouts import md
from . import files


class _Tally:
    """Summary figures gathered batch by batch, so a journal of any size streams through."""

    def __init__(self):
        self.n = self.gaps = self.missing = self.out_of_order = 0
        self.first_seq = self.last_seq = None
        self.t_min = self.t_max = None
        self.symbols: dict[int, int] = {}
        self.kinds: dict[int, int] = {}

    def add(self, meta, recs) -> None:
        seq = recs["seq"].astype(np.int64)
        jumps = np.diff(seq) if self.last_seq is None else np.diff(np.concatenate(([self.last_seq], seq)))
        self.gaps += int((jumps > 1).sum())
        self.missing += int((jumps[jumps > 1] - 1).sum())
        self.out_of_order += int((jumps < 1).sum())
        self.first_seq = int(seq[0]) if self.first_seq is None else self.first_seq
        self.last_seq = int(seq[-1])
        ts = recs["publish_ns"].astype(np.int64)
        lo, hi = int(ts.min()), int(ts.max())
        self.t_min = lo if self.t_min is None else min(self.t_min, lo)
        self.t_max = hi if self.t_max is None else max(self.t_max, hi)
        self.n += len(recs)
        if "symbol_id" in recs.dtype.names:
            _add_counts(self.symbols, recs["symbol_id"])
        if meta["layout"] == md.LAYOUT.name:
            _add_counts(self.kinds, recs["kind"])


def _add_counts(acc: dict, values: np.ndarray) -> None:
    for v, c in zip(*np.unique(values, return_counts=True)):
        acc[int(v)] = acc.get(int(v), 0) + int(c)


def summarize(path) -> dict:
    """The summary; ``problems`` lists every problem found (empty for a sound journal)."""
    paths = files.ring_files(path)
    if not paths:
        raise FileNotFoundError(f"no journal files in {path}")
    tally = _Tally()
    rep = files.verify(path, tally.add)
    out = {"files": [str(p) for p in paths], "problems": [str(e) for e in rep.problems],
           "cut_tail": [str(e) for e in rep.problems if isinstance(e, files.CutTail)]}
    if rep.meta is None:
        return out
    meta = rep.meta
    out.update({"header": {k: v for k, v in meta.items() if k != "dtype"}, "fields": list(meta["dtype"]["names"]),
                "records": tally.n})
    if not tally.n:
        return out
    out["first_seq"], out["last_seq"] = tally.first_seq, tally.last_seq
    out["gaps"], out["missing"], out["out_of_order"] = tally.gaps, tally.missing, tally.out_of_order
    out["first_publish_ns"], out["last_publish_ns"] = tally.t_min, tally.t_max
    out["span_s"] = round((tally.t_max - tally.t_min) / 1e9, 3)
    symbols = meta.get("symbols", [])
    if len(tally.symbols):
        out["by_symbol"] = {(symbols[i] if 0 <= i < len(symbols) else f"#{i}"): c
                            for i, c in sorted(tally.symbols.items())}
    if len(tally.kinds):
        out["by_kind"] = {md.KIND_NAMES.get(i, f"#{i}"): c for i, c in sorted(tally.kinds.items())}
    return out
