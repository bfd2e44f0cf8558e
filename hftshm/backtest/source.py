"""The md journal a backtest reads, streamed in chunks, and its two timelines.

Every md record has two times:

* local time ``L``: when the strategy may see it: its ``recv_ns``, made non-decreasing in
  journal order (a record is never seen before one the journal holds ahead of it);
* venue time ``V``: when the venue model applies it to its book: its exchange time ``exch_ns``
  where the venue sent one (Spot bookTicker has no exchange time). Else: read in one socket read
  (the same ``recv_ns``) after a record with an exchange time, that record's (sent with it);
  else read with one after it, that one's; else ``recv_ns`` minus the median feed latency
  (recv - exch) of the journal's first records that have both. Never later than the exchange
  time of the next record in the journal that has one (the venue sent it before that one: a
  late read must not delay it), never later than ``L``, and non-decreasing too.

Files are memory-mapped and read a chunk at a time (``CHUNK`` records): a day of records is
never in memory at once. Reading goes through ``hftshm.journal.files``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import njit

from ..journal import files
from ..journal import format as JF
from ..layouts import md as M
from .errors import BacktestError

CHUNK = 1 << 16
LOOKAHEAD = 4  # chunks held while none has an exchange time (the next one caps their venue times)
CALIBRATION = 100_000  # records scanned for the median feed latency
INF = np.iinfo(np.int64).max


@dataclass
class Chunk:
    records: np.ndarray  # md records (a read-only memmap slice)
    local: np.ndarray  # int64 L per record
    venue: np.ndarray  # int64 V per record


class MdSource:
    """An md journal (a .hftj file or a ring's journal directory), checked on open."""

    def __init__(self, path):
        self.path = Path(path)
        if not self.path.exists():
            raise BacktestError(f"md journal {path} does not exist")
        try:
            self.files = files.ring_files(self.path)
        except ValueError as exc:
            raise BacktestError(str(exc)) from None
        if not self.files:
            raise BacktestError(f"{path}: no journal files ({JF.SUFFIX}) here")
        self.meta = None
        self.total = 0
        for p in self.files:
            if p.stat().st_size < JF.HEADER_LENGTH:
                raise BacktestError(f"{p}: truncated journal: {p.stat().st_size} B, shorter than its "
                                    f"{JF.HEADER_LENGTH} B header")
            try:
                jf = files.JournalFile(p)
            except JF.JournalError as exc:  # names the file and the byte offset
                raise BacktestError(f"not an md journal: {exc}") from None
            meta = jf.meta
            if meta["layout"] != M.LAYOUT.name or meta["fingerprint"] != M.LAYOUT.fingerprint & (2**64 - 1):
                raise BacktestError(f"{p}: a journal of layout {meta['layout']!r} (ring {meta.get('ring')!r}); a "
                                    f"backtest reads md journals ({M.LAYOUT.name})")
            if self.meta is not None and meta["symbols"] != self.meta["symbols"]:
                raise BacktestError(f"{p}: symbols {meta['symbols']} differ from {self.files[0]}'s {self.meta['symbols']}")
            self.meta = self.meta or meta
            # walks the batch headers only (checksums are checked as the records are read)
            self.total += sum(len(recs) for _, recs in _batches(jf, verify=False))
        if self.total == 0:
            raise BacktestError(f"{path}: the md journal holds no records")
        self.symbols = [s.upper() for s in self.meta["symbols"]]
        # the venue that published them (layouts.md VENUES; 0 in journals older than the field)
        self.venue_code = int(next(self._raw(verify=False))["venue"][0])
        self.feed_offset_ns = self._feed_offset()

    def _feed_offset(self) -> int:
        seen = []
        n = 0
        for chunk in self._raw(verify=False):  # (chunks() checks them when it reads them)
            both = chunk[(chunk["exch_ns"] > 0) & (chunk["recv_ns"] > 0)]
            seen.append((both["recv_ns"] - both["exch_ns"]).astype(np.int64))
            n += len(chunk)
            if n >= CALIBRATION:
                break
        lat = np.concatenate(seen) if seen else np.zeros(0, np.int64)
        return int(np.median(lat)) if len(lat) else 0

    def _raw(self, verify: bool = True) -> Iterator[np.ndarray]:
        """Checked records in chunks of at most about CHUNK: a large batch in views of the map
        (no copy), small ones joined up to a chunk's worth, so memory holds a chunk, never the
        journal."""
        parts, n = [], 0
        for p in self.files:
            for _, recs in _batches(files.JournalFile(p), verify=verify):
                if len(recs) >= CHUNK // 8:  # (the import and the journal write batches of up to 32,768)
                    if parts:
                        yield parts[0] if len(parts) == 1 else np.concatenate(parts)
                        parts, n = [], 0
                    for lo in range(0, len(recs), CHUNK):
                        yield recs[lo: lo + CHUNK]
                    continue
                lo = 0
                while lo < len(recs):
                    take = min(CHUNK - n, len(recs) - lo)
                    parts.append(recs[lo: lo + take])
                    n += take
                    lo += take
                    if n >= CHUNK:
                        yield parts[0] if len(parts) == 1 else np.concatenate(parts)
                        parts, n = [], 0
        if parts:
            yield parts[0] if len(parts) == 1 else np.concatenate(parts)

    def chunks(self) -> Iterator[Chunk]:
        """The records in journal order with their local and venue times. A chunk is held until
        a later one with an exchange time is read (at most ``LOOKAHEAD`` chunks): its last
        records' venue times may depend on that record."""
        state = np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).min, -1, -1], np.int64)  # last L, V; timed E, recv
        held: list[np.ndarray] = []
        for recs in self._raw():
            first = _first_exch(recs)
            if first[0] != INF:
                for h in held:
                    yield self._times(h, *first, state)
                held = []
            elif len(held) >= LOOKAHEAD:  # (none for that long: the cap says nothing)
                yield self._times(held.pop(0), INF, -1, state)
            held.append(recs)
        for h in held:
            yield self._times(h, INF, -1, state)

    def _times(self, recs: np.ndarray, after: int, after_recv: int, state: np.ndarray) -> Chunk:
        """L and V of a chunk (see the module doc); ``after``, ``after_recv``: the exchange and
        receive time of the first record after it that has an exchange time; ``state`` carries
        the last L and V and the last timed record's times from one chunk to the next."""
        local, venue = _chunk_times(recs, after, after_recv, state, self.feed_offset_ns)
        return Chunk(recs, local, venue)


@njit(cache=True)
def _first_exch(recs):
    """The exchange and receive time of the first record in ``recs`` that has an exchange time
    ((INF, -1): none has one)."""
    for i in range(recs.shape[0]):
        if recs[i].exch_ns > 0:
            return recs[i].exch_ns, recs[i].recv_ns
    return INF, -1


@njit(cache=True)
def _chunk_times(recs, after, after_recv, state, offset):
    """(L, V) per record, in two passes (the module doc's rules): L is ``recv_ns`` made
    non-decreasing. V is the exchange time where there is one; else the exchange time of a record
    with one in the same socket read (the same ``recv_ns``; the one before it first); else
    ``recv_ns - offset``; but no later than the next record's exchange time (the stream is in the
    venue's order: a record was sent no later than the records behind it) nor than L, made
    non-decreasing (each <= its L, so is the running max). ``state``: [last L, last V, the last
    timed record's exchange and receive time], updated."""
    n = recs.shape[0]
    local = np.empty(n, np.int64)
    venue = np.empty(n, np.int64)  # first the next timed record's exchange time, then V
    with_next = np.zeros(n, np.bool_)  # read with the next timed record
    nxt, nxt_recv = after, after_recv
    for i in range(n - 1, -1, -1):
        if recs[i].exch_ns > 0:
            nxt, nxt_recv = recs[i].exch_ns, recs[i].recv_ns
        venue[i] = nxt
        with_next[i] = recs[i].recv_ns == nxt_recv
    lo, vo, pe, pr = state[0], state[1], state[2], state[3]
    for i in range(n):
        r = recs[i].recv_ns
        lo = max(lo, r)
        local[i] = lo
        e = recs[i].exch_ns
        if e > 0:
            v = e
            pe, pr = e, r
        elif r == pr:
            v = min(pe, venue[i])  # read with the timed record before it
        elif with_next[i]:
            v = venue[i]  # read with the timed record after it
        else:
            v = min(r - offset, venue[i])
        vo = max(vo, min(v, lo))
        venue[i] = vo
    state[0], state[1], state[2], state[3] = lo, vo, pe, pr
    return local, venue


def _batches(jf, verify: bool):
    """The file's batches; a damaged or cut journal is a BacktestError naming file and offset."""
    try:
        yield from jf.batches(verify)
    except JF.CutTail as exc:
        raise BacktestError(f"truncated journal: {exc}") from None
    except JF.JournalError as exc:
        raise BacktestError(f"damaged journal: {exc}") from None
