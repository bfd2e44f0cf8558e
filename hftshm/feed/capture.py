"""Reading recorded captures: one frame a line, ``<recv_ns> <raw frame>`` (plain or gzipped).

The format of shared/data/binance and of what ``hftshm exchange --replay`` plays.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path


GZIP_MAGIC = b"\x1f\x8b"
UNREADABLE = (EOFError, gzip.BadGzipFile, zlib.error)  # a gzip capture cut short or corrupt


def open_capture(path):
    """The capture's bytes, gunzipped where the file is gzip (by its first bytes, not its name)."""
    path = Path(path)
    with open(path, "rb") as f:
        gz = f.read(2) == GZIP_MAGIC
    return gzip.open(path, "rb") if gz else open(path, "rb")


def looks_like_capture(path) -> bool:
    """A file whose first line starts ``<digits> ``: a capture (a journal file starts with its
    magic, a directory is not one). Reads a few bytes only."""
    path = Path(path)
    if not path.is_file():
        return False
    try:
        with open_capture(path) as f:
            head = f.read(32)
    except (OSError, *UNREADABLE):
        return False
    recv, sep, _ = head.partition(b" ")
    return bool(sep) and recv.isdigit()


CHUNK = 1 << 20  # bytes read (after decompression) at a time: whole lines are split out of it


def iter_capture(path) -> Iterator[tuple[int, bytes]]:
    """(recv_ns, frame) per line; a line that does not parse raises ValueError naming it.

    Reads in chunks and splits them into lines itself: a file object's per-line iteration (and
    gzip's ``readline``) cost about as much as normalizing the frame on a large capture."""
    number = 0
    tail = b""
    with open_capture(path) as f:
        while True:
            chunk = f.read(CHUNK)
            lines = (tail + chunk).split(b"\n") if chunk else [tail]
            tail = lines.pop() if chunk else b""
            for line in lines:
                number += 1
                if line[-1:] == b"\r":
                    line = line[:-1]
                if not line:
                    continue
                recv, sep, frame = line.partition(b" ")
                if not sep or not recv.isdigit():
                    raise ValueError(f"{path}:{number}: expected '<recv_ns> <frame>', got {line[:60]!r}")
                yield int(recv), frame
            if not chunk:
                return


_STREAM = b'{"stream":"'


def stream_names(path, lines: int | None = None) -> list[str]:
    """The stream names of a capture's frames (``btcusdt@trade``), in order of first frame; one
    pass over the file, or over its first ``lines`` (snapshot lines have none)."""
    seen: dict[bytes, None] = {}
    start = len(_STREAM)
    for n, (_, frame) in enumerate(iter_capture(path), 1):
        if frame.startswith(_STREAM):
            end = frame.find(b'"', start, start + 96)
            if end > 0:
                seen.setdefault(frame[start:end], None)
        if n == lines:
            break
    return [s.decode("ascii", "replace") for s in seen]


def markets_of(names) -> tuple[list[str], list[str]]:
    """Stream names (``btcusdt@depth@100ms``, in order of first frame) -> the symbols
    (``btcusdt``) and the stream kinds hftshm subscribes to (``depth@100ms``; ``[venue] streams``),
    each in order of first appearance."""
    from ..config_schema import STREAMS

    parts = [n.partition("@") for n in names]
    return (list(dict.fromkeys(s.lower() for s, _, _ in parts)),
            [k for k in dict.fromkeys(k for _, _, k in parts) if k in STREAMS])
