"""Checking the preamble every hftshm segment starts with (ring/header.py): magic, version, kind.

The one place that decides whether a segment is ours, finished (magic is stored last, with
release), of this version, and of the kind the caller expects; rings, the control block and the
latency book all attach through it."""

from __future__ import annotations

import numpy as np

from .. import atomics as A
from ..errors import SegmentCorrupt
from . import header as H


def check(buf, seg_name: str, kind: int, what: str) -> None:
    """Raise SegmentCorrupt naming what was found unless ``buf`` is a finished ``kind`` segment."""
    if len(buf) < H.PREAMBLE_OFFSET + 64:
        raise SegmentCorrupt(f"{seg_name}: {len(buf)} B is too small for {what}")
    words = np.frombuffer(buf, np.int64, 1, H.MAGIC_OFFSET)
    try:
        magic = int(A.load_acquire(words, 0))  # acquire: pairs with the creator's release of magic
    finally:
        del words
    if magic != H.MAGIC:
        raise SegmentCorrupt(
            f"{seg_name}: bad magic {magic & (2**64 - 1):#018x}, expected {H.MAGIC:#018x} "
            "(not an hftshm segment, or its creator died before finishing it)"
        )
    version = int(np.frombuffer(buf, np.uint32, 1, H.VERSION_OFFSET)[0])
    found = int(np.frombuffer(buf, np.uint32, 1, H.KIND_OFFSET)[0])
    if version != H.VERSION:
        raise SegmentCorrupt(f"{seg_name}: segment version {version}, this hftshm reads {H.VERSION}")
    if found != kind:
        raise SegmentCorrupt(
            f"{seg_name}: is a {H.KIND_NAMES.get(found, f'kind {found}')}, expected a {H.KIND_NAMES[kind]}"
        )
