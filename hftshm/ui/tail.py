"""``hftshm tail``'s loop: an ad-hoc (non-gating) reader that prints decoded records as they come.

It never holds the producer back: when it falls more than a ring behind it is lapped, says so on
stderr with the number of records it lost, and goes on from the oldest record still intact. It
polls every ``poll_s`` when the ring is idle (a human watches; no need to spin), stops after
``count`` matching records if asked, and leaves its reader slot free on Ctrl-C, SIGTERM or a
closed pipe.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from dataclasses import dataclass

import numpy as np
import orjson

from ..errors import HftshmError
from . import decode
from .rings import open_ring

BATCH = 4096


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


class TailError(HftshmError):
    """A bad option for this ring (unknown symbol or kind); the message lists the choices."""


def _symbol_id(symbols: list[str], wanted: str) -> int:
    up = [s.upper() for s in symbols]
    if wanted.upper() in up:
        return up.index(wanted.upper())
    shown = ", ".join(symbols[:20]) + (" ..." if len(symbols) > 20 else "")
    raise TailError(f"symbol {wanted!r} is not in the ring's symbol table ({shown or 'empty'})")


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


def run(opts: TailOptions, out=None, err=None) -> int:
    """Tail until ``count`` records, Ctrl-C, SIGTERM or a closed stdout; returns the exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    ring = open_ring(opts.instance, opts.ring)
    reader = None
    old_term = signal.signal(signal.SIGTERM, _on_term)
    try:
        layout = ring.layout.name
        symbols = ring.symbols
        sid = _symbol_id(symbols, opts.symbol) if opts.symbol else None
        kind = _kind_filter(layout, opts.kind) if opts.kind else None
        start = "newest" if opts.from_seq is None else opts.from_seq
        reader = ring.reader(None, gating=False, start=start, wait="backoff")
        return _loop(opts, ring, reader, layout, symbols, sid, kind, out, err)
    except (KeyboardInterrupt, _Stop):
        return 0
    except BrokenPipeError:
        # the reader of our stdout went away (`| head`): stop quietly, and keep Python's exit
        # flush from raising again on the dead pipe
        os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        return 0
    finally:
        signal.signal(signal.SIGTERM, old_term)
        if reader is not None:
            _report_loss(reader, 0, err, final=True)
            reader.close()
        ring.close()


def _report_loss(reader, seen: int, err, final: bool = False) -> int:
    lost = reader.lost
    if final:
        if lost:
            err.write(f"tail: {lost:,} records lost in all (lapped {reader.lapped} times)\n")
            err.flush()
        return lost
    if lost > seen:
        err.write(f"tail: lapped by the producer: lost {lost - seen:,} records "
                  f"(now at seq {reader.next_seq:,}; {lost:,} lost in all)\n")
        err.flush()
    return lost


def _loop(opts, ring, reader, layout, symbols, sid, kind, out, err) -> int:
    binary = getattr(out, "buffer", None) if opts.json else None
    if not opts.json:
        out.write(decode.header_line(layout, ring.layout.dtype) + "\n")
    left = opts.count
    seen_lost = 0
    while left is None or left > 0:
        batch = reader.read_batch(BATCH, copy=True)
        seen_lost = _report_loss(reader, seen_lost, err)
        if len(batch) == 0:
            out.flush()
            time.sleep(opts.poll_s)
            continue
        keep = np.ones(len(batch), bool)
        if sid is not None:
            keep &= batch["symbol_id"] == sid
        if kind is not None:
            keep &= batch[kind[0]] == kind[1]
        batch = batch[keep]
        if left is not None:
            batch = batch[:left]
            left -= len(batch)
        rows = decode.to_dicts(batch, layout, symbols)
        if opts.json:
            data = b"".join(orjson.dumps(d) + b"\n" for d in rows)
            if binary is not None:
                out.flush()
                binary.write(data)
                binary.flush()
            else:
                out.write(data.decode())
        else:
            out.write("".join(decode.text_line(d, layout) + "\n" for d in rows))
        out.flush()
    return 0
