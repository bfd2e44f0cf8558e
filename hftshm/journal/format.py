"""Descriptor of a journal file: a 4096-byte header, then records exactly as they were in the ring.

::

    0        8        12       16       24       32       40       48
    +--------+--------+--------+--------+--------+--------+--------+---------------+
    | magic  | hdr len| version| rec sz | fprint | 1st seq| created| (zero)        |
    +--------+--------+--------+--------+--------+--------+--------+---------------+
    64       68                                                              4096
    +--------+-----------------------------------------------------------------+
    | json n | JSON (n bytes, UTF-8): ring, layout, dtype, symbols, first_seq, ... |
    +--------+-----------------------------------------------------------------+
    4096: records, record size each, in sequence order (a gap only where the journal was lapped)

The JSON's ``dtype`` holds ``names``, ``formats``, ``offsets`` and ``itemsize``, so the file reads
with numpy alone::

    import json, numpy as np
    head = open(path, "rb").read(4096)
    meta = json.loads(head[68:68 + int.from_bytes(head[64:68], "little")])
    records = np.memmap(path, dtype=np.dtype(meta["dtype"]), mode="r", offset=4096)
"""

from __future__ import annotations

import json
import struct
import time

import numpy as np

MAGIC = b"HFTJRNL\x01"
HEADER_LENGTH = 4096
VERSION = 1
SUFFIX = ".hftj"
_FIXED = struct.Struct("<8sIIqqqq")  # magic, header length, version, record size, fingerprint, first seq, created
JSON_LENGTH_OFFSET = 64
JSON_OFFSET = 68


def dtype_json(dt: np.dtype) -> dict:
    names = list(dt.names)
    return {
        "names": names,
        "formats": [dt.fields[n][0].str for n in names],
        "offsets": [dt.fields[n][1] for n in names],
        "itemsize": dt.itemsize,
    }


def encode(ring: str, layout, first_seq: int, symbols, instance: str) -> bytes:
    meta = {
        "ring": ring, "instance": instance, "layout": layout.name,
        "fingerprint": layout.fingerprint & (2**64 - 1), "record_size": layout.size,
        "first_seq": first_seq, "symbols": list(symbols), "dtype": dtype_json(layout.dtype),
    }
    text = json.dumps(meta).encode()
    if JSON_OFFSET + len(text) > HEADER_LENGTH:
        raise ValueError(f"journal header JSON of {len(text)} B does not fit {HEADER_LENGTH} B (too many symbols?)")
    head = bytearray(HEADER_LENGTH)
    _FIXED.pack_into(head, 0, MAGIC, HEADER_LENGTH, VERSION, layout.size, layout.fingerprint, first_seq,
                     time.time_ns())
    head[JSON_LENGTH_OFFSET:JSON_OFFSET] = len(text).to_bytes(4, "little")
    head[JSON_OFFSET:JSON_OFFSET + len(text)] = text
    return bytes(head)


def decode(head: bytes, where: str = "journal") -> dict:
    if len(head) < HEADER_LENGTH or head[:8] != MAGIC:
        raise ValueError(f"{where}: not an hftshm journal (bad magic {head[:8]!r})")
    _, hlen, version, rsize, _, first, created = _FIXED.unpack_from(head, 0)
    if version != VERSION or hlen != HEADER_LENGTH:
        raise ValueError(f"{where}: journal version {version}, header {hlen} B; this hftshm reads version {VERSION}")
    n = int.from_bytes(head[JSON_LENGTH_OFFSET:JSON_OFFSET], "little")
    meta = json.loads(head[JSON_OFFSET:JSON_OFFSET + n])
    meta["created_ns"] = created
    meta["record_size"] = rsize
    return meta
