"""``hftshm journal import``: a raw capture (``<recv_ns> <frame>`` lines, .gz too) -> an md journal,
through the venue's live normalizer (``hftshm.venues.binance_spot`` or ``binance_usdm``), so a
backtest reads the very records the live pipeline would have published.

A REST depth snapshot line (``{"lastUpdateId":..,"bids":..,"asks":..}``) is handed to the
normalizer as the live ingest hands in its snapshot fetch.

``venue = "auto"`` (the default) tells USD-M futures frames from Spot's by the first lines: a
``bookTicker`` with ``"e":"bookTicker"`` or a ``depthUpdate`` chained by ``pu`` (Binance USD-M
futures docs, "Individual Symbol Book Ticker Streams" and "Diff. Book Depth Streams"; Spot sends
neither).

Records get ``seq`` 1, 2, ... and ``publish_ns = recv_ns``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import orjson

from ..venues.binance_spot import BinanceSpotNormalizer
from ..venues.binance_usdm.normalize import BinanceUsdmNormalizer
from ..feed.capture import UNREADABLE, iter_capture, markets_of, stream_names
from ..layouts import md as M
from . import files
from . import format as JF
from .writer import RingJournal

BATCH = 1 << 15
VENUES = ("auto", "spot", "usdm")
SNIFF_LINES = 2000  # "auto" decides on this many lines (a capture of the depth stream alone has a pu in each)


class _Ring:
    name = "md"
    layout = M.LAYOUT

    def __init__(self, symbols):
        self.symbols = symbols


def capture_symbols(capture) -> list[str]:
    """The symbols of a capture's streams (``btcusdt@trade``: btcusdt), in order of first frame."""
    try:
        return markets_of(stream_names(capture))[0]
    except UNREADABLE as exc:
        raise ValueError(f"capture {capture}: cannot read it to the end ({exc})") from None


def import_capture(capture, out_dir, symbols: list[str] | None = None, venue: str = "auto",
                   rotate_bytes: int = 1 << 30) -> dict:
    """Convert ``capture`` into an md journal in ``out_dir``; returns counts. ``symbols``: those
    to import (None: every symbol the capture streams); ValueError naming any of them the capture
    gave no record of, with the files written removed."""
    if venue not in VENUES:
        raise ValueError(f"venue must be one of {', '.join(VENUES)}, got {venue!r}")
    capture = Path(capture)
    if not capture.is_file():
        raise FileNotFoundError(f"capture {capture} does not exist")
    asked = symbols is not None
    if not asked:  # one pass more, to name them (the normalizer takes its symbol ids first)
        symbols = capture_symbols(capture)
        if not symbols:
            raise ValueError(f"capture {capture}: no combined-stream frames to tell its symbols from; "
                             "name them (--symbols)")
    if not symbols:
        raise ValueError("no symbols: name the capture's symbols (e.g. btcusdt)")
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.glob(f"*{JF.SUFFIX}")):
        raise FileExistsError(f"{out_dir} already holds journal files: import into a new directory")
    made_dir = not out_dir.exists()
    upper = [s.upper() for s in symbols]
    try:
        usdm = venue == "usdm" or (venue == "auto" and _looks_usdm(capture))
    except UNREADABLE as exc:
        raise ValueError(f"capture {capture}: cannot read its first lines ({exc})") from None
    ids = {s: i for i, s in enumerate(upper)}
    norm = BinanceUsdmNormalizer(ids) if usdm else BinanceSpotNormalizer(ids)
    code = M.VENUE_CODES["binance_usdm" if usdm else "binance_spot"]
    journal = RingJournal(out_dir, _Ring([s.lower() for s in symbols]), "import", rotate_bytes)
    buf = np.zeros(BATCH, M.DTYPE)
    raw = memoryview(buf.view(np.uint8))
    n = 0
    seq = 0
    lines = 0
    snapshots = 0
    loads = orjson.loads
    normalize = norm.normalize

    per_symbol = np.zeros(len(upper), np.int64)

    def flush():
        nonlocal n, seq
        if n:
            out = buf[:n]
            per_symbol[:] += np.bincount(out["symbol_id"], minlength=len(upper))[:len(upper)]
            out["seq"] = np.arange(seq + 1, seq + n + 1)
            out["publish_ns"] = out["recv_ns"]
            out["venue"] = code  # as live ingest's publisher stamps it
            journal.write(out)
            seq += n
            n = 0

    try:
        for recv_ns, frame in iter_capture(capture):
            lines += 1
            if b'"lastUpdateId"' in frame[:120]:
                snap = loads(frame)
                for sym in (norm.snapshot_requests() or upper[:1]):
                    recs = norm.apply_snapshot(sym, snap, recv_ns)
                    if len(recs):
                        snapshots += 1
                        n = _put(raw, n, recs, flush)
                continue
            recs = normalize(frame, recv_ns)
            if len(recs):
                n = _put(raw, n, recs, flush)
        flush()
        if seq == 0:
            journal._open(1)  # an empty journal still says what it is
    except BaseException as exc:
        journal.close()
        _discard(out_dir, made_dir)  # half a capture is not the capture
        if isinstance(exc, UNREADABLE):
            raise ValueError(f"capture {capture}: cannot read it to the end ({exc}); nothing imported") from None
        raise
    journal.close()
    absent = [s.lower() for s, k in zip(symbols, per_symbol) if not k]
    if asked and absent:  # asked for by name: a journal without them is not what was asked for
        _discard(out_dir, made_dir)
        raise ValueError(f"capture {capture} has no records of {', '.join(absent)}; its symbols: "
                         f"{', '.join(capture_symbols(capture)) or 'none named'}")
    counters = {k: v for k, v in norm.counters.as_dict().items() if v}
    return {"capture": str(capture), "journal": str(out_dir), "lines": lines, "records": seq,
            "snapshots": snapshots, "venue": "usdm" if usdm else "spot",
            "counters": counters, "files": [str(p) for p in files.ring_files(out_dir)]}


_RS = M.DTYPE.itemsize


def _discard(out_dir: Path, made_dir: bool) -> None:
    """Remove the journal files an import wrote (and its directory, where it made it)."""
    for path in files.ring_files(out_dir) if Path(out_dir).is_dir() else ():
        path.unlink()
    if made_dir:
        shutil.rmtree(out_dir, ignore_errors=True)


def _looks_usdm(capture) -> bool:
    for i, (_, frame) in enumerate(iter_capture(capture)):
        head = frame[:400]
        if b'"e":"bookTicker"' in head or b'"pu":' in head:
            return True
        if i + 1 >= SNIFF_LINES:
            return False
    return False


def _put(raw, n, recs, flush) -> int:
    """Append ``recs`` (a view of the normalizer's scratch) to the batch whose bytes ``raw`` is
    (a memoryview of ``buf.view(np.uint8)``): a structured assignment copies field by field, ten
    times slower, and ``ndarray.view`` checks the dtype on every call."""
    k = len(recs)
    if (n + k) * _RS > len(raw):
        flush()
        n = 0
    if k * _RS > len(raw):
        raise ValueError(f"one frame gave {k} records, more than the import batch of {len(raw) // _RS}")
    raw[n * _RS: (n + k) * _RS] = recs.view(np.uint8).data
    return n + k
