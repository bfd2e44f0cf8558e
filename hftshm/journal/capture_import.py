"""``hftshm journal import``: a raw capture (``<recv_ns> <frame>`` lines, .gz too) -> an md journal,
through the live normalizer (``hftshm.venues.binance_spot.BinanceSpotNormalizer``), so a backtest reads
the very records the live pipeline would have published.

A REST depth snapshot line (``{"lastUpdateId":..,"bids":..,"asks":..}``) is handed to the
normalizer as the live ingest hands in its snapshot fetch.

USD-M futures frames differ from Spot's in two places (Binance USD-M futures docs, "Diff. Book
Depth Streams" and "Individual Symbol Book Ticker Streams"); with ``venue = "usdm"`` (or "auto",
the default, which detects them) they are adapted before the Spot normalizer sees them:

* ``bookTicker`` carries ``"e":"bookTicker"``, ``E`` and ``T``: the Spot normalizer reads a
  book ticker by its missing ``e``, so ``e`` is dropped, and the record gets ``exch_ns = E``;
* ``depthUpdate`` chains events with ``pu`` (== the previous event's ``u``) instead of Spot's
  ``U`` == previous ``u`` + 1: ``U`` is rewritten to ``pu + 1`` so that Spot's continuity rule
  holds exactly when the futures rule holds. The snapshot must straddle as on Spot
  (``U <= lastUpdateId + 1 <= u`` for the rewritten ``U``).

Records get ``seq`` 1, 2, ... and ``publish_ns = recv_ns``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson

from ..venues.binance_spot import BinanceSpotNormalizer
from ..feed.capture import iter_capture
from ..layouts import md as M
from . import files
from . import format as JF
from .writer import RingJournal

BATCH = 1 << 15
VENUES = ("auto", "spot", "usdm")


class _Ring:
    name = "md"
    layout = M.LAYOUT

    def __init__(self, symbols):
        self.symbols = symbols


def import_capture(capture, out_dir, symbols: list[str], venue: str = "auto",
                   rotate_bytes: int = 1 << 30) -> dict:
    """Convert ``capture`` into an md journal in ``out_dir``; returns counts."""
    if venue not in VENUES:
        raise ValueError(f"venue must be one of {', '.join(VENUES)}, got {venue!r}")
    capture = Path(capture)
    if not capture.is_file():
        raise FileNotFoundError(f"capture {capture} does not exist")
    if not symbols:
        raise ValueError("no symbols: name the capture's symbols (e.g. btcusdt)")
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.glob(f"*{JF.SUFFIX}")):
        raise FileExistsError(f"{out_dir} already holds journal files: import into a new directory")
    upper = [s.upper() for s in symbols]
    norm = BinanceSpotNormalizer({s: i for i, s in enumerate(upper)})
    journal = RingJournal(out_dir, _Ring([s.lower() for s in symbols]), "import", rotate_bytes)
    buf = np.zeros(BATCH, M.DTYPE)
    n = 0
    seq = 0
    lines = 0
    snapshots = 0
    adapted = 0
    usdm = venue == "usdm"
    loads, dumps = orjson.loads, orjson.dumps
    normalize = norm.normalize

    def flush():
        nonlocal n, seq
        if n:
            out = buf[:n]
            out["seq"] = np.arange(seq + 1, seq + n + 1)
            out["publish_ns"] = out["recv_ns"]
            journal.write(out)
            seq += n
            n = 0

    try:
        for recv_ns, frame in iter_capture(capture):
            lines += 1
            head = frame[:120]
            if b'"lastUpdateId"' in head:
                snap = loads(frame)
                for sym in (norm.snapshot_requests() or upper[:1]):
                    recs = norm.apply_snapshot(sym, snap, recv_ns)
                    if len(recs):
                        snapshots += 1
                        n = _put(buf, n, recs, flush)
                continue
            exch_ns = 0
            if venue != "spot":
                if b'"e":"bookTicker",' in head:
                    # drop "e" (Spot reads a book ticker by its absence); keep E as the exchange time
                    usdm = True
                    at = frame.find(b'"E":')
                    if at < 0:
                        raise ValueError(f"{capture}:{lines}: a futures bookTicker without \"E\"")
                    stop = at + 4
                    while frame[stop:stop + 1].isdigit():
                        stop += 1
                    exch_ns = int(frame[at + 4:stop]) * 1_000_000
                    frame = frame.replace(b'"e":"bookTicker",', b"", 1)
                    adapted += 1
                elif b'"pu":' in frame[:400]:
                    usdm = True
                    msg = loads(frame)
                    data = msg.get("data", msg)
                    if data.get("e") == "depthUpdate" and "pu" in data:
                        data["U"] = int(data["pu"]) + 1
                        frame = dumps(msg)
                        adapted += 1
            recs = normalize(frame, recv_ns)
            if len(recs):
                if exch_ns and len(recs) == 1:
                    recs["exch_ns"] = exch_ns
                n = _put(buf, n, recs, flush)
        flush()
        if seq == 0:
            journal._open(1)  # an empty journal still says what it is
    finally:
        journal.close()
    counters = {k: v for k, v in norm.counters.as_dict().items() if v}
    return {"capture": str(capture), "journal": str(out_dir), "lines": lines, "records": seq,
            "snapshots": snapshots, "venue": "usdm" if usdm else "spot", "adapted_frames": adapted,
            "counters": counters, "files": [str(p) for p in files.ring_files(out_dir)]}


_RS = M.DTYPE.itemsize


def _put(buf, n, recs, flush) -> int:
    """Append ``recs`` (a view of the normalizer's scratch) to ``buf`` as raw bytes: a
    structured assignment copies field by field, ten times slower."""
    k = len(recs)
    if n + k > len(buf):
        flush()
        n = 0
    if k > len(buf):
        raise ValueError(f"one frame gave {k} records, more than the import batch of {len(buf)}")
    raw = buf.view(np.uint8)
    raw[n * _RS: (n + k) * _RS] = recs.view(np.uint8)
    return n + k
