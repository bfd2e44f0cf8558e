"""What every record layout is: a numpy structured dtype with explicit offsets, a size that is a
multiple of one cache line, a ``seq`` word at offset 0 and a ``publish_ns`` stamp, both written by
the ring on publish, and a fingerprint stored in the ring header so a mismatched attach fails."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

CACHE_LINE = 64


@dataclass(frozen=True)
class Layout:
    name: str
    dtype: np.dtype = field(repr=False)
    doc: str = field(default="", repr=False)

    def __post_init__(self):
        dt = self.dtype
        if dt.itemsize % CACHE_LINE:
            raise ValueError(f"layout {self.name}: {dt.itemsize} B is not a multiple of {CACHE_LINE}")
        for required in ("seq", "publish_ns"):
            if required not in dt.fields or dt.fields[required][0] != np.dtype("<i8"):
                raise ValueError(f"layout {self.name}: needs an int64 field {required!r}")
        if dt.fields["seq"][1] != 0:
            raise ValueError(f"layout {self.name}: 'seq' must sit at offset 0")
        if len(self.name.encode()) > 31:
            raise ValueError(f"layout name {self.name!r} is longer than 31 bytes")

    @property
    def size(self) -> int:
        return self.dtype.itemsize

    @property
    def fingerprint(self) -> int:
        """Stable 64-bit hash of name, field names, types, offsets and size (as a signed int64)."""
        parts = [self.name, str(self.dtype.itemsize)]
        for fname in self.dtype.names:
            ftype, offset = self.dtype.fields[fname][:2]
            parts.append(f"{fname}:{ftype.str}:{offset}")
        digest = hashlib.blake2b("|".join(parts).encode(), digest_size=8).digest()
        return int.from_bytes(digest, "little", signed=True)

    def describe(self) -> str:
        return f"{self.name} ({self.size} B, fingerprint {self.fingerprint & (2**64 - 1):#018x})"


def make_dtype(fields: list[tuple[str, str, int]], itemsize: int) -> np.dtype:
    """A packed-by-hand structured dtype: (name, numpy type, byte offset) triples."""
    names, formats, offsets = zip(*fields)
    dt = np.dtype({"names": list(names), "formats": list(formats), "offsets": list(offsets), "itemsize": itemsize})
    ends = sorted((off, off + np.dtype(fmt).itemsize) for _, fmt, off in fields)
    for (a0, a1), (b0, _) in zip(ends, ends[1:]):
        if b0 < a1:
            raise ValueError(f"fields overlap at offset {b0}")
    if ends[-1][1] > itemsize:
        raise ValueError("fields run past the record size")
    return dt
