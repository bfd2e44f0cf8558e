"""Several venues' md journals as one stream: one symbol table, one local clock.

A config with ``[[venues]]`` (``runtime.group``) journals each venue's md under its own instance,
with that venue's own symbol ids. A backtest of it reads one journal per venue, each through its
own ``MdSource`` (its own two timelines: its own feed-latency calibration), and merges them::

    usdm  journal (BTCUSDT=0)            L, V per record  --+
                                                            +--> USDM:BTCUSDT=0, BYBIT:BTCUSDT=1,
    bybit journal (BTCUSDT=0, ETHUSDT=1) L, V per record  --+    BYBIT:ETHUSDT=2   (by L; ties:
                                                                 venue order, then journal order)

* the table: the venues in config order, each venue's journal symbols, ``VENUE:SYMBOL``
  (id = index), the names a cross-venue strategy sees live (``trading.venue_rings``);
* the order: local time ``L``; a record is never ahead of one of its own venue's earlier records
  (each venue's ``L`` is non-decreasing already) and on a tie the earlier venue in the config
  comes first;
* venue time ``V``: each record's own, except that the engine's venue side walks the stream in
  this order and needs ``V`` non-decreasing in it. A record whose ``V`` is below one already
  merged (a venue with a slower feed than another) is applied at that later ``V``: late, never
  early (no venue book ever shows a record before its venue time). ``raised`` counts these per
  venue and the largest delay, so a run says how far its venues' clocks were pulled together.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np

from ..journal.files import JournalFile
from .errors import BacktestError
from .source import INF, Chunk, MdSource
from .window import concat

VENUE_ARG = re.compile(r"([a-z][a-z0-9]{0,7})=(.+)", re.S | re.I)  # the [[venues]] name pattern (config_schema)


def parse_journals(args: list[str]) -> str | dict[str, str]:
    """The command line's journals: one bare PATH (one venue, as before), or ``VENUE=PATH`` each
    (several venues; a venue named twice is refused)."""
    if not args:
        raise BacktestError("name an md journal (PATH), or one per venue (VENUE=PATH ...)")
    named = [VENUE_ARG.fullmatch(a) for a in args]
    if len(args) == 1 and named[0] is None:
        return args[0]
    out: dict[str, str] = {}
    for a, m in zip(args, named):
        if m is None:
            raise BacktestError(f"{a!r}: with several journals, name each one's venue: VENUE=PATH")
        name = m[1].lower()  # venue names are lower case; USDM=PATH names usdm
        if name in out:
            raise BacktestError(f"venue {name!r} is given twice ({out[name]}, {m[2]})")
        out[name] = m[2]
    return out


def _span(src: MdSource) -> tuple[int, int]:
    """The receive times of a journal's first and last records (batch views: nothing copied)."""
    first = next(JournalFile(src.files[0]).batches(verify=False))[1]
    *_, (_, last) = JournalFile(src.files[-1]).batches(verify=False)
    return int(first["recv_ns"][0]), int(last["recv_ns"][-1])


def _check_overlap(sources: dict) -> None:
    """Journals recorded at different times would run one after the other, each venue's book
    frozen while the other plays: refused, naming the two that do not meet."""
    spans = {name: _span(s) for name, s in sources.items()}
    starts_last = max(spans, key=lambda n: spans[n][0])
    ends_first = min(spans, key=lambda n: spans[n][1])
    if spans[starts_last][0] > spans[ends_first][1]:
        raise BacktestError(f"venue {ends_first!r}'s journal ends before venue {starts_last!r}'s begins "
                            f"({(spans[starts_last][0] - spans[ends_first][1]) / 1e9:.1f} s later): the journals "
                            "must be recorded at the same time")


class MergedSource:
    """The md journals of several venues (``{venue: path}``, config order), merged (module doc).

    ``symbols``: the table (``VENUE:SYMBOL``); ``venue_of``: each table id's venue index;
    ``sources``: each venue's ``MdSource``; ``raised``: per venue, records applied later than
    their own venue time and the largest delay (ns), filled in as the stream is read."""

    def __init__(self, journals: dict[str, object]):
        self.venues = list(journals)
        self.sources = {}
        for name, path in journals.items():
            try:
                self.sources[name] = MdSource(path)
            except BacktestError as exc:
                raise BacktestError(f"venue {name!r}: {exc}") from None
        _check_overlap(self.sources)
        self.symbols: list[str] = []
        self.venue_of: list[int] = []
        self.to_table: list[np.ndarray] = []  # per venue: its journal's symbol id -> table id
        for v, name in enumerate(self.venues):
            own = self.sources[name].symbols
            self.to_table.append(np.arange(len(self.symbols), len(self.symbols) + len(own), dtype=np.int64))
            self.symbols += [f"{name.upper()}:{s}" for s in own]
            self.venue_of += [v] * len(own)
        self.total = sum(s.total for s in self.sources.values())
        self.feed_offset_ns = {name: s.feed_offset_ns for name, s in self.sources.items()}
        self.path = ", ".join(f"{n}={s.path}" for n, s in self.sources.items())
        self.raised = {name: {"records": 0, "max_ns": 0} for name in self.venues}

    def _mapped(self, v: int, chunk: Chunk) -> Chunk:
        """A venue's chunk (a copy) with its symbol ids in the table's; an id outside its
        journal's table goes outside the merged table too (the engine skips those)."""
        recs = np.array(chunk.records)  # off the read-only map
        ids = recs["symbol_id"].astype(np.int64)
        table = self.to_table[v]
        known = ids < len(table)
        recs["symbol_id"] = np.where(known, table[np.where(known, ids, 0)], len(self.symbols))
        return Chunk(recs, chunk.local, chunk.venue)

    def chunks(self) -> Iterator[Chunk]:
        """The merged stream in chunks. Records are taken below the least last ``L`` any venue
        still reading has buffered (a later record of that venue may tie with it: on a tie an
        earlier venue must come first), then that venue's next chunk is read."""
        n = len(self.venues)
        streams = [self.sources[name].chunks() for name in self.venues]
        buf: list[list[Chunk]] = [[] for _ in range(n)]  # unread parts per venue, in order
        done = [False] * n
        last_v = np.iinfo(np.int64).min

        def read(v: int) -> None:
            c = next(streams[v], None)
            if c is None:
                done[v] = True
            elif len(c.records):
                buf[v].append(self._mapped(v, c))

        for v in range(n):
            while not done[v] and not buf[v]:
                read(v)
        while True:
            ends = [INF if done[v] else int(buf[v][-1].local[-1]) for v in range(n)]
            cut = min(ends)  # INF: every venue is read to its end, take all
            parts, who = [], []
            for v in range(n):
                keep = []
                for c in buf[v]:
                    k = len(c.local) if cut == INF else int(np.searchsorted(c.local, cut, side="left"))
                    if k:
                        parts.append(Chunk(c.records[:k], c.local[:k], c.venue[:k]))
                        who.append(np.full(k, v, np.int64))
                    if k < len(c.local):
                        keep.append(Chunk(c.records[k:], c.local[k:], c.venue[k:]))
                buf[v] = keep
            if parts:
                out, last_v = self._merge(parts, who, last_v)
                yield out
            if cut == INF:
                return
            for v in range(n):  # the venues holding the cut: read on (the others cannot tie below it)
                if not done[v] and ends[v] == cut:
                    read(v)
                while not done[v] and not buf[v]:
                    read(v)

    def _merge(self, parts: list[Chunk], who: list[np.ndarray], last_v: int) -> tuple[Chunk, int]:
        """One chunk of ``parts`` (each venue's, in venue order) by L, stable: ties keep venue
        order, then journal order. V made non-decreasing (late, never early; counted)."""
        local = np.concatenate([p.local for p in parts])
        order = np.argsort(local, kind="stable")
        recs = concat([p.records for p in parts], parts[0].records.dtype)[order]
        local = local[order]
        own = np.concatenate([p.venue for p in parts])[order]
        venue_ix = np.concatenate(who)[order]
        venue = np.maximum.accumulate(np.concatenate([np.array([last_v], np.int64), own]))[1:]
        late = venue > own
        if late.any():
            for v in np.unique(venue_ix[late]):
                mine = late & (venue_ix == v)
                r = self.raised[self.venues[int(v)]]
                r["records"] += int(mine.sum())
                r["max_ns"] = max(r["max_ns"], int((venue[mine] - own[mine]).max()))
        return Chunk(recs, local, venue), int(venue[-1])
