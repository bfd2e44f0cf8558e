"""Reading recorded captures: one frame a line, ``<recv_ns> <raw frame>`` (plain or gzipped).

The format of shared/data/binance and of what ``hftshm exchange --replay`` plays.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path


def open_capture(path):
    path = Path(path)
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def iter_capture(path) -> Iterator[tuple[int, bytes]]:
    """(recv_ns, frame) per line; a line that does not parse raises ValueError naming it."""
    with open_capture(path) as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip(b"\r\n")
            if not line:
                continue
            recv, sep, frame = line.partition(b" ")
            if not sep or not recv.isdigit():
                raise ValueError(f"{path}:{number}: expected '<recv_ns> <frame>', got {line[:60]!r}")
            yield int(recv), frame
