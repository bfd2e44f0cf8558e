"""``hftshm tail``'s loop: an ad-hoc (non-gating) reader that prints decoded records as they come.

It never holds the producer back: when it falls more than a ring behind it is lapped, says so on
stderr with the number of records it lost, and goes on from the oldest record still intact. It
polls every ``poll_s`` when the ring is idle (a human watches; no need to spin), stops after
``count`` matching records if asked, and leaves its reader slot free on Ctrl-C, SIGTERM or a
closed pipe.

On a group (several venues in one instance, ``instances.Group``) ``venue:ring`` names a venue's
ring and ``--symbol venue:SYMBOL`` a venue's instrument (alone, it picks that venue's ``md``);
symbols are shown ``venue:SYMBOL``. A bare ``md`` reads every venue's ``md`` ring at once and
prints their records in publish-time order (``_Merge``).
"""

from __future__ import annotations

import bisect
import os
import signal
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import orjson

from .. import instances
from ..errors import HftshmError
from . import decode
from .rings import open_ring

BATCH = 4096
MERGE_SLACK_NS = 20_000_000  # how long after its stamp a merged record is surely readable


@dataclass
class TailOptions:
    ring: str
    instance: str
    symbol: str | None = None
    kind: str | None = None
    count: int | None = None
    from_seq: int | None = None
    json: bool = False
    poll_s: float = 0.01
    group: instances.Group | None = None  # set when ``instance`` is a group's name


@dataclass
class _Tap:
    """One ring being tailed: its reader, filters and the names its symbols are shown by."""

    instance: str
    ring_name: str
    venue: str | None  # a group's venue: symbols and messages say ``venue:...``
    symbol: str | None  # the --symbol filter, unqualified
    ring: object = None
    reader: object = None
    symbols: list = field(default_factory=list)
    sid: int | None = None
    kind: tuple | None = None
    seen_lost: int = 0

    @property
    def label(self) -> str:
        return instances.qualify(self.venue, self.ring_name) if self.venue else self.ring_name


class TailError(HftshmError):
    """A bad option for this ring (unknown symbol or kind); the message lists the choices."""


def _symbol_id(symbols: list[str], wanted: str, shown_as: str | None = None) -> int:
    up = [s.upper() for s in symbols]
    if wanted.upper() in up:
        return up.index(wanted.upper())
    shown = ", ".join(symbols[:20]) + (" ..." if len(symbols) > 20 else "")
    raise TailError(f"symbol {shown_as or wanted!r} is not in the ring's symbol table ({shown or 'empty'})")


def taps(opts: TailOptions) -> list[_Tap]:
    """The rings ``opts`` asks for: one, or every venue's ``md`` for a bare ``md`` on a group."""
    g = opts.group
    if g is None:
        if instances.QUALIFIER in opts.ring:
            raise TailError(f"{opts.instance!r} is an instance, not a group: its rings have no venue ({opts.ring!r})")
        return [_Tap(opts.instance, opts.ring, None, opts.symbol)]
    venue, ring = g.split(opts.ring)
    sym_venue, symbol = g.split(opts.symbol) if opts.symbol else (None, None)
    if venue and sym_venue and venue != sym_venue:
        raise TailError(f"--symbol {opts.symbol} is on venue {sym_venue}, ring {opts.ring} on venue {venue}")
    venue = venue or sym_venue
    if venue:
        return [_Tap(g.instance(venue), ring, venue, symbol)]
    if ring != "md":
        raise TailError(f"group {g.name!r} has a {ring!r} ring per venue: name one as venue:{ring} "
                        f"(its venues: {', '.join(g.venues)})")
    if opts.from_seq is not None:
        raise TailError(f"--from-seq is a sequence of one ring: name it as venue:md (venues of group {g.name!r}: "
                        f"{', '.join(g.venues)})")
    return [_Tap(g.instance(v), ring, v, symbol) for v in g.venues]


def _kind_filter(layout: str, wanted: str):
    if layout not in decode.KIND_FIELD:
        raise TailError(f"--kind does not apply to layout {layout}")
    field, names = decode.KIND_FIELD[layout]
    for code, name in names.items():
        if name.lower() == wanted.lower():
            return field, code
    raise TailError(f"unknown kind {wanted!r} for {layout}; choose from {', '.join(names.values())}")


class _Stop(Exception):
    pass


def _on_term(*_):
    raise _Stop()


def _open(tap: _Tap, opts: TailOptions, merged: bool) -> bool:
    """Attach ``tap``'s ring and set its filters; False if a merged tap lacks the symbol."""
    tap.ring = open_ring(tap.instance, tap.ring_name)
    names = tap.ring.symbols
    tap.symbols = [instances.qualify(tap.venue, n) for n in names] if tap.venue else names
    if tap.symbol:
        try:
            tap.sid = _symbol_id(names, tap.symbol, opts.symbol)
        except TailError:
            if merged:
                return False  # another venue may list it
            raise
    tap.kind = _kind_filter(tap.ring.layout.name, opts.kind) if opts.kind else None
    return True


def run(opts: TailOptions, out=None, err=None) -> int:
    """Tail until ``count`` records, Ctrl-C, SIGTERM or a closed stdout; returns the exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    wanted = taps(opts)
    opened: list[_Tap] = []
    old_term = signal.signal(signal.SIGTERM, _on_term)
    try:
        kept = []
        for tap in wanted:
            opened.append(tap)
            if _open(tap, opts, len(wanted) > 1):
                kept.append(tap)
        if not kept:
            tables = "; ".join(f"{t.venue}: {', '.join(t.ring.symbols[:20]) or 'empty'}" for t in opened)
            raise TailError(f"symbol {opts.symbol!r} is in no venue's md symbol table ({tables})")
        start = "newest" if opts.from_seq is None else opts.from_seq
        for tap in kept:
            tap.reader = tap.ring.reader(None, gating=False, start=start, wait="backoff")
        return _loop(opts, kept, out, err)
    except (KeyboardInterrupt, _Stop):
        return 0
    except BrokenPipeError:
        # the reader of our stdout went away (`| head`): stop quietly, and keep Python's exit
        # flush from raising again on the dead pipe
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        return 0
    finally:
        signal.signal(signal.SIGTERM, old_term)
        for tap in opened:
            if tap.reader is not None:
                _report_loss(tap, err, final=True)
                tap.reader.close()
            if tap.ring is not None:
                tap.ring.close()


def _report_loss(tap: _Tap, err, final: bool = False) -> None:
    reader = tap.reader
    lost = reader.lost
    which = f"{tap.label}: " if tap.venue else ""
    if final:
        if lost:
            err.write(f"tail: {which}{lost:,} records lost in all (lapped {reader.lapped} times)\n")
            err.flush()
        return
    if lost > tap.seen_lost:
        err.write(f"tail: {which}lapped by the producer: lost {lost - tap.seen_lost:,} records "
                  f"(now at seq {reader.next_seq:,}; {lost:,} lost in all)\n")
        err.flush()
    tap.seen_lost = lost


def _read(tap: _Tap) -> tuple[int, np.ndarray]:
    """(records read, those of them that pass ``tap``'s filters, copied) from what is ready."""
    batch = tap.reader.read_batch(BATCH, copy=True)
    if len(batch) == 0:
        return 0, batch
    keep = np.ones(len(batch), bool)
    if tap.sid is not None:
        keep &= batch["symbol_id"] == tap.sid
    if tap.kind is not None:
        keep &= batch[tap.kind[0]] == tap.kind[1]
    return len(batch), batch[keep]


class _Merge:
    """Several rings' records in publish-time order. ``publish_ns`` is stamped just before the
    record is committed, so once every ring has been read after time T, every record stamped
    before T - ``MERGE_SLACK_NS`` has been read: those are printed, sorted, and later ones held
    for the next poll (a human watches: the slack is not seen)."""

    def __init__(self, taps_: list[_Tap], layout: str):
        self.taps = taps_
        self.layout = layout
        self.held: list[tuple[int, int, dict]] = []  # (publish_ns, arrival, record), read, not printed
        self.arrived = 0

    def poll(self, err) -> tuple[int, list[dict]]:
        """(records read, those now due in publish-time order)."""
        got = 0
        mark = time.time_ns() - MERGE_SLACK_NS  # before any ring is read in this poll
        for tap in self.taps:
            n, batch = _read(tap)
            _report_loss(tap, err)
            got += n
            stamps = batch["publish_ns"].tolist()
            self.held += zip(stamps, range(self.arrived, self.arrived + len(stamps)),
                             decode.to_dicts(batch, self.layout, tap.symbols))
            self.arrived += len(stamps)
        self.held.sort(key=lambda h: h[:2])  # one ring's records keep their order
        due = bisect.bisect_right(self.held, mark, key=lambda h: h[0])
        rows, self.held = [d for _, _, d in self.held[:due]], self.held[due:]
        return got, rows


def _loop(opts, taps_: list[_Tap], out, err) -> int:
    binary = getattr(out, "buffer", None) if opts.json else None
    layout = taps_[0].ring.layout.name
    wide = max((len(s) for t in taps_ if t.venue for s in t.symbols), default=0)  # venue:SYMBOL
    if not opts.json:
        out.write(decode.header_line(layout, taps_[0].ring.layout.dtype, wide) + "\n")
    merge = _Merge(taps_, layout) if len(taps_) > 1 else None
    left = opts.count
    while left is None or left > 0:
        if merge is None:
            tap = taps_[0]
            got, batch = _read(tap)
            _report_loss(tap, err)
            rows = decode.to_dicts(batch if left is None else batch[:left], layout, tap.symbols)
        else:
            got, rows = merge.poll(err)
            rows = rows if left is None else rows[:left]
        if left is not None:
            left -= len(rows)
        if rows:
            if opts.json:
                data = b"".join(orjson.dumps(d) + b"\n" for d in rows)
                if binary is not None:
                    out.flush()
                    binary.write(data)
                    binary.flush()
                else:
                    out.write(data.decode())
            else:
                out.write("".join(decode.text_line(d, layout, wide) + "\n" for d in rows))
        out.flush()
        if not got:
            time.sleep(opts.poll_s)
    return 0
