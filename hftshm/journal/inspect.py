"""What a journal holds: its header and a summary (counts by kind and symbol, time range, gaps)."""

from __future__ import annotations

import numpy as np

from ..layouts import md
from . import files


def summarize(path) -> dict:
    paths = files.ring_files(path)
    if not paths:
        raise FileNotFoundError(f"no journal files in {path}")
    meta, recs = files.load_ring(path)
    out = {"files": [str(p) for p in paths], "header": {k: v for k, v in meta.items() if k != "dtype"},
           "fields": list(meta["dtype"]["names"]), "records": int(len(recs))}
    if not len(recs):
        return out
    seq = recs["seq"].astype(np.int64)
    jumps = np.diff(seq)
    out["first_seq"], out["last_seq"] = int(seq[0]), int(seq[-1])
    out["gaps"] = int((jumps > 1).sum())
    out["missing"] = int((jumps[jumps > 1] - 1).sum())
    out["out_of_order"] = int((jumps < 1).sum())
    ts = recs["publish_ns"].astype(np.int64)
    out["first_publish_ns"], out["last_publish_ns"] = int(ts.min()), int(ts.max())
    out["span_s"] = round((int(ts.max()) - int(ts.min())) / 1e9, 3)
    symbols = meta.get("symbols", [])
    if "symbol_id" in recs.dtype.names:
        ids, counts = np.unique(recs["symbol_id"], return_counts=True)
        out["by_symbol"] = {(symbols[i] if i < len(symbols) else f"#{i}"): int(c) for i, c in zip(ids, counts)}
    if meta["layout"] == md.LAYOUT.name:
        kinds, counts = np.unique(recs["kind"], return_counts=True)
        out["by_kind"] = {md.KIND_NAMES.get(int(k), f"#{k}"): int(c) for k, c in zip(kinds, counts)}
    return out
