"""Descriptor of a journal file: a 4096-byte header, then batches, each a 32-byte frame header
followed by its records exactly as they were in the ring.

::

    0        8        12       16       24       32       40       48       52      64
    +--------+--------+--------+--------+--------+--------+--------+--------+-------+
    | magic  | hdr len| version| rec sz | fprint | 1st seq| created| hdr crc| (zero)|
    +--------+--------+--------+--------+--------+--------+--------+--------+-------+
    64       68                                                              4096
    +--------+-----------------------------------------------------------------+
    | json n | JSON (n bytes, UTF-8): ring, layout, dtype, symbols, first_seq, ... |
    +--------+-----------------------------------------------------------------+
    4096: batches, back to back, in sequence order (a gap only where the journal was lapped)

    batch: 0       4       8          16         24         28         32
           +-------+-------+----------+----------+----------+----------+------------------+
           | magic | count | first seq| last seq | data crc | head crc | count x records  |
           +-------+-------+----------+----------+----------+----------+------------------+

``hdr crc`` is the CRC-32 (zlib) of the 4096 header bytes with that word zeroed; ``data crc``
of the batch's records; ``head crc`` of the frame header's first 28 bytes. A reader checks all
three, so a cut tail, a flipped byte or an edited header is found and named by file and byte
offset. The JSON's ``dtype`` holds ``names``, ``formats``, ``offsets`` and ``itemsize``, so a
file reads with numpy alone::

    import json, struct, numpy as np
    raw = open(path, "rb").read()
    meta = json.loads(raw[68:68 + int.from_bytes(raw[64:68], "little")])
    dt, at, parts = np.dtype(meta["dtype"]), 4096, []
    while at < len(raw):
        count = int.from_bytes(raw[at + 4:at + 8], "little")
        parts.append(np.frombuffer(raw, dt, count, at + 32))
        at += 32 + count * dt.itemsize
    records = np.concatenate(parts)

Version 1 files (no header CRC, no batch frames: records straight after the header) are still
read: a cut tail and an inconsistent header are found, flipped record bytes cannot be.
"""

from __future__ import annotations

import json
import struct
import time
import zlib

import numpy as np

MAGIC = b"HFTJRNL\x01"
HEADER_LENGTH = 4096
VERSION = 2
READS = (1, 2)  # versions this code reads
SUFFIX = ".hftj"
# magic, header length, version, record size, fingerprint, first seq, created, header crc
_FIXED = struct.Struct("<8sIIqqqqI")
HEADER_CRC_OFFSET = 48
JSON_LENGTH_OFFSET = 64
JSON_OFFSET = 68

FRAME_MAGIC = b"HJB2"
FRAME = struct.Struct("<4sIqqII")  # magic, count, first seq, last seq, data crc, head crc
FRAME_LENGTH = FRAME.size  # 32
_FRAME_HEAD = struct.Struct("<4sIqqI")  # the part head crc covers


class JournalError(ValueError):
    """A journal file that is not what it should be: says which file and at which byte."""

    def __init__(self, path, offset: int, problem: str):
        self.path, self.offset, self.problem = str(path), int(offset), problem
        super().__init__(f"{path}: at byte {offset}: {problem}")


class CutTail(JournalError):
    """The file ends inside a batch (a crash mid-write, or a copy cut short)."""


def dtype_json(dt: np.dtype) -> dict:
    names = list(dt.names)
    return {
        "names": names,
        "formats": [dt.fields[n][0].str for n in names],
        "offsets": [dt.fields[n][1] for n in names],
        "itemsize": dt.itemsize,
    }


def _crc_header(head) -> int:
    buf = bytearray(head)
    buf[HEADER_CRC_OFFSET:HEADER_CRC_OFFSET + 4] = b"\0\0\0\0"
    return zlib.crc32(buf)


def encode(ring: str, layout, first_seq: int, symbols, instance: str, ring_created_ns: int = 0) -> bytes:
    meta = {
        "ring": ring, "instance": instance, "layout": layout.name,
        "fingerprint": layout.fingerprint & (2**64 - 1), "record_size": layout.size,
        "first_seq": first_seq, "symbols": list(symbols), "dtype": dtype_json(layout.dtype),
        "ring_created_ns": int(ring_created_ns),  # which ring (instance run) the seqs count in
    }
    text = json.dumps(meta).encode()
    if JSON_OFFSET + len(text) > HEADER_LENGTH:
        raise ValueError(f"journal header JSON of {len(text)} B does not fit {HEADER_LENGTH} B (too many symbols?)")
    head = bytearray(HEADER_LENGTH)
    _FIXED.pack_into(head, 0, MAGIC, HEADER_LENGTH, VERSION, layout.size, layout.fingerprint, first_seq,
                     time.time_ns(), 0)
    head[JSON_LENGTH_OFFSET:JSON_OFFSET] = len(text).to_bytes(4, "little")
    head[JSON_OFFSET:JSON_OFFSET + len(text)] = text
    struct.pack_into("<I", head, HEADER_CRC_OFFSET, _crc_header(head))
    return bytes(head)


def decode(head: bytes, where: str = "journal") -> dict:
    """The header's fields and JSON, checked: magic, version, CRC (version 2), and that the JSON's
    dtype is the one the fingerprint was made of. Raises JournalError naming ``where``."""
    if len(head) < 8 or head[:8] != MAGIC:
        raise JournalError(where, 0, f"not an hftshm journal (bad magic {bytes(head[:8])!r})")
    if len(head) < HEADER_LENGTH:
        raise CutTail(where, len(head), f"the file ends inside its {HEADER_LENGTH}-byte header")
    _, hlen, version, rsize, fprint, first, created, crc = _FIXED.unpack_from(head, 0)
    if version not in READS or hlen != HEADER_LENGTH:
        raise JournalError(where, 8, f"journal version {version}, header {hlen} B; this hftshm reads versions "
                                     f"{', '.join(map(str, READS))} with {HEADER_LENGTH}-byte headers")
    if version >= 2 and crc != _crc_header(head[:HEADER_LENGTH]):
        raise JournalError(where, HEADER_CRC_OFFSET, "header checksum mismatch: the header was edited or damaged")
    n = int.from_bytes(head[JSON_LENGTH_OFFSET:JSON_OFFSET], "little")
    if not 0 < n <= HEADER_LENGTH - JSON_OFFSET:
        raise JournalError(where, JSON_LENGTH_OFFSET, f"header JSON length {n} outside 1..{HEADER_LENGTH - JSON_OFFSET}")
    try:
        meta = json.loads(head[JSON_OFFSET:JSON_OFFSET + n])
        dt = np.dtype(meta["dtype"])
    except (ValueError, TypeError, KeyError) as exc:
        raise JournalError(where, JSON_OFFSET, f"header JSON unreadable: {exc}") from None
    if not isinstance(meta, dict) or dt.names is None:
        raise JournalError(where, JSON_OFFSET, "header JSON holds no record dtype")
    if dt.itemsize != rsize or meta.get("record_size") != rsize:
        raise JournalError(where, 16, f"record size {rsize} B disagrees with the header JSON "
                                      f"({meta.get('record_size')} B, dtype {dt.itemsize} B)")
    from ..layouts.base import Layout

    try:
        computed = Layout(str(meta.get("layout")), dt).fingerprint
    except ValueError as exc:
        raise JournalError(where, JSON_OFFSET, f"header dtype is no record layout: {exc}") from None
    if computed != fprint:
        raise JournalError(where, 24, f"header dtype does not match the layout fingerprint {fprint & (2**64 - 1):#018x}"
                                      f" (the JSON was edited, or the header is damaged)")
    meta["fingerprint"] = fprint & (2**64 - 1)  # the checked one (the JSON's is not checked)
    if meta.get("first_seq") != first:
        raise JournalError(where, 32, f"first seq {first} disagrees with the header JSON ({meta.get('first_seq')})")
    meta["created_ns"] = created
    meta["record_size"] = rsize
    meta["version"] = version
    return meta


def frame(records) -> bytes:
    """The 32-byte frame header of a batch of records (a contiguous structured array)."""
    data = memoryview(records).cast("B")
    head = _FRAME_HEAD.pack(FRAME_MAGIC, len(records), int(records[0]["seq"]), int(records[-1]["seq"]),
                            zlib.crc32(data))
    return head + struct.pack("<I", zlib.crc32(head))


def unframe(buf, offset: int, where: str) -> tuple[int, int, int, int]:
    """A frame header at ``offset`` of ``buf``: (count, first seq, last seq, data crc), checked."""
    if offset + FRAME_LENGTH > len(buf):
        raise CutTail(where, offset, f"the file ends inside a batch header ({len(buf) - offset} of "
                                     f"{FRAME_LENGTH} bytes)")
    magic, count, first, last, dcrc, hcrc = FRAME.unpack_from(buf, offset)
    if magic != FRAME_MAGIC or hcrc != zlib.crc32(bytes(buf[offset:offset + FRAME_LENGTH - 4])):
        raise JournalError(where, offset, "batch header damaged (bad magic or checksum)")
    if count == 0 or last - first != count - 1:
        raise JournalError(where, offset, f"batch header inconsistent: {count} records, seq {first}..{last}")
    return count, first, last, dcrc
