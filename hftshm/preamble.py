"""The segment preamble and the one commit protocol of every hftshm shared-memory block.

Every hftshm segment (a ring, the control block, the latency book) starts with this 64-byte
line (all offsets in bytes, little-endian)::

    0        8        12       16          24           32          40          48       64
    +--------+--------+--------+-----------+------------+-----------+-----------+--------+
    | magic  |version | kind   | owner pid | owner ticks| created ns| seg. size | (zero) |
    +--------+--------+--------+-----------+------------+-----------+-----------+--------+

Commit protocol ("the magic goes last"): a block is valid only once its magic word holds its
magic value, which the creator release-stores after every other byte it writes (``publish``).
Readers acquire-load the magic first and refuse any other value with an error naming what they
found and what they expected (``check``, ``check_magic``); a creator that died mid-way leaves a
block every reader refuses.

Blocks embedded in another segment's bytes (the risk state, the trading area) have their own
header and magic but commit the same way: ``publish`` and ``check_magic`` take the word and value.
"""

from __future__ import annotations

import time

import numpy as np

from . import atomics as A
from . import procinfo
from .errors import SegmentCorrupt

CACHE_LINE = 64
WORD = 8

MAGIC = int.from_bytes(b"HFTSHM\x00\x01", "little")
VERSION = 1

# Segment kinds. The ring topologies are different types, told apart here.
KIND_BROADCAST = 1
KIND_MANY_TO_ONE = 2
KIND_CONTROL = 3
KIND_LATENCY = 4
KIND_NAMES = {
    KIND_BROADCAST: "broadcast ring",
    KIND_MANY_TO_ONE: "many-to-one ring",
    KIND_CONTROL: "instance control block",
    KIND_LATENCY: "latency book",
}

PREAMBLE_OFFSET = 0
MAGIC_OFFSET = PREAMBLE_OFFSET + 0
VERSION_OFFSET = PREAMBLE_OFFSET + 8  # u32
KIND_OFFSET = PREAMBLE_OFFSET + 12  # u32
OWNER_PID_OFFSET = PREAMBLE_OFFSET + 16
OWNER_TICKS_OFFSET = PREAMBLE_OFFSET + 24
CREATED_NS_OFFSET = PREAMBLE_OFFSET + 32
SEGMENT_SIZE_OFFSET = PREAMBLE_OFFSET + 40
PREAMBLE_LENGTH = CACHE_LINE

# Word indices for an int64 view of the segment.
W_MAGIC = MAGIC_OFFSET // WORD
W_VERSION_KIND = VERSION_OFFSET // WORD  # version in the low 32 bits, kind in the high 32
W_OWNER_PID = OWNER_PID_OFFSET // WORD
W_OWNER_TICKS = OWNER_TICKS_OFFSET // WORD
W_CREATED_NS = CREATED_NS_OFFSET // WORD
W_SEGMENT_SIZE = SEGMENT_SIZE_OFFSET // WORD


def stamp(buf, kind: int, size: int) -> tuple[int, int]:
    """Write every preamble field but the magic (this process is the owner); returns (pid, ticks).

    The caller then writes the rest of its header and calls ``publish``."""
    pid, ticks = procinfo.me()
    np.frombuffer(buf, np.uint32, 1, VERSION_OFFSET)[0] = VERSION
    np.frombuffer(buf, np.uint32, 1, KIND_OFFSET)[0] = kind
    words = np.frombuffer(buf, np.int64, PREAMBLE_LENGTH // WORD)
    words[W_OWNER_PID] = pid
    words[W_OWNER_TICKS] = ticks
    words[W_CREATED_NS] = time.time_ns()
    words[W_SEGMENT_SIZE] = size
    del words
    return pid, ticks


def publish(words: np.ndarray, w_magic: int = W_MAGIC, magic: int = MAGIC) -> None:
    """Mark a block finished: release-store ``magic`` at ``words[w_magic]``, which orders every
    byte the creator wrote before it. The last write of every creator; the block is valid from here."""
    A.store_release(words, w_magic, magic)


def check_magic(words: np.ndarray, w_magic: int, magic: int, what: str, unfinished: str) -> None:
    """Raise SegmentCorrupt unless ``words[w_magic]`` holds ``magic``. The acquire load pairs with
    the creator's release in ``publish``: once it matches, every header byte is visible."""
    found = int(A.load_acquire(words, w_magic))
    if found != magic:
        raise SegmentCorrupt(
            f"{what}: bad magic {found & (2**64 - 1):#018x}, expected {magic:#018x} ({unfinished})"
        )


def check(buf, seg_name: str, kind: int, what: str) -> None:
    """Raise SegmentCorrupt naming what was found unless ``buf`` is a finished ``kind`` segment
    of this version."""
    if len(buf) < PREAMBLE_OFFSET + PREAMBLE_LENGTH:
        raise SegmentCorrupt(f"{seg_name}: {len(buf)} B is too small for {what}")
    words = np.frombuffer(buf, np.int64, 1, MAGIC_OFFSET)
    try:
        check_magic(words, 0, MAGIC, seg_name,
                    "not an hftshm segment, or its creator died before finishing it")
    finally:
        del words
    version = int(np.frombuffer(buf, np.uint32, 1, VERSION_OFFSET)[0])
    found = int(np.frombuffer(buf, np.uint32, 1, KIND_OFFSET)[0])
    if version != VERSION:
        raise SegmentCorrupt(f"{seg_name}: segment version {version}, this hftshm reads {VERSION}")
    if found != kind:
        raise SegmentCorrupt(
            f"{seg_name}: is a {KIND_NAMES.get(found, f'kind {found}')}, expected a {KIND_NAMES[kind]}"
        )
