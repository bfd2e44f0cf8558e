"""Reading journal files and the directory of a ring's journal (files ordered by first seq).

Every reader here checks what it reads (format.py: header CRC and dtype, batch CRCs, sequence
order) and raises ``format.JournalError`` naming the file and byte offset of the first problem;
nothing damaged is ever returned as a record. Files are memory-mapped: ``iter_batches`` streams
a journal of any size as zero-copy views, ``load``/``load_ring`` return one array.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from hftshm import layouts

from . import format as F
from .format import CutTail, JournalError

__all__ = ["JournalError", "CutTail", "JournalFile", "ring_dir", "file_name", "read_meta", "ring_files",
           "iter_batches", "load", "load_ring", "verify", "count_records"]

_NAME = re.compile(r"-(\d+)" + re.escape(F.SUFFIX) + r"$")
V1_CHUNK = 1 << 16  # records per batch when streaming a version-1 file (it has no batches)


def ring_dir(run_dir: Path, ring: str) -> Path:
    return Path(run_dir) / "journal" / ring


def file_name(ring: str, first_seq: int) -> str:
    return f"{ring}-{first_seq:015d}{F.SUFFIX}"


def read_meta(path) -> dict:
    with open(path, "rb") as f:
        return _upgraded(F.decode(f.read(F.HEADER_LENGTH), str(path)))


def _upgraded(meta: dict) -> dict:
    """A header of an older layout of the same bytes (``layouts.UPGRADES``) as the current one's;
    ``upgraded_from`` names the layout the file was written in."""
    newer = layouts.upgrade(meta["fingerprint"])
    if newer is not None:
        meta.update(layout=newer.name, fingerprint=newer.fingerprint & (2**64 - 1),
                    dtype=F.dtype_json(newer.dtype), upgraded_from=meta["layout"])
    return meta


class JournalFile:
    """One journal file, memory-mapped read-only; ``meta`` is its checked header."""

    def __init__(self, path):
        self.path = Path(path)
        where = str(self.path)
        size = self.path.stat().st_size
        if size < F.HEADER_LENGTH:
            with open(self.path, "rb") as f:
                F.decode(f.read(), where)  # raises: bad magic or a header cut short
        self.raw = np.memmap(self.path, dtype=np.uint8, mode="r")
        self.size = size
        self.meta = _upgraded(F.decode(self.raw[:F.HEADER_LENGTH].tobytes(), where))
        self.dtype = np.dtype(self.meta["dtype"])
        self.version = self.meta["version"]

    def batches(self, verify: bool = True) -> Iterator[tuple[int, np.ndarray]]:
        """(byte offset, records) per batch, in file order; each a read-only view of the map.
        Raises JournalError at the first problem (``CutTail`` when the file ends mid-batch)."""
        where, rsize = str(self.path), self.dtype.itemsize
        if self.version == 1:
            whole = (self.size - F.HEADER_LENGTH) // rsize * rsize
            for at in range(F.HEADER_LENGTH, F.HEADER_LENGTH + whole, V1_CHUNK * rsize):
                end = min(at + V1_CHUNK * rsize, F.HEADER_LENGTH + whole)
                yield at, self.raw[at:end].view(self.dtype)
            if F.HEADER_LENGTH + whole != self.size:
                at = F.HEADER_LENGTH + whole
                raise CutTail(where, at, f"the file ends inside a record ({self.size - at} of {rsize} bytes)")
            return
        at, prev = F.HEADER_LENGTH, self.meta["first_seq"] - 1
        while at < self.size:
            count, first, last, dcrc = F.unframe(self.raw, at, where)
            start, end = at + F.FRAME_LENGTH, at + F.FRAME_LENGTH + count * rsize
            if end > self.size:
                raise CutTail(where, at, f"the file ends inside a batch of {count} records "
                                         f"({self.size - start} of {count * rsize} bytes)")
            if first <= prev or (at == F.HEADER_LENGTH and first != self.meta["first_seq"]):
                raise JournalError(where, at, f"batch seq {first}..{last} out of order (after {prev})")
            recs = self.raw[start:end].view(self.dtype)
            if verify:
                if zlib.crc32(self.raw[start:end]) != dcrc:
                    raise JournalError(where, start, f"batch of {count} records (seq {first}..{last}) fails its "
                                                     "checksum: damaged records")
                if int(recs["seq"][0]) != first or int(recs["seq"][-1]) != last:
                    raise JournalError(where, start, f"records' seq disagrees with their batch header ({first}..{last})")
            yield at, recs
            prev, at = last, end

    def records(self, verify: bool = True) -> np.ndarray:
        """Every record of the file, checked (a view for one batch, else a copy)."""
        parts = [r for _, r in self.batches(verify)]
        if not parts:
            return np.zeros(0, self.dtype)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _seq_of_name(path: Path):
    m = _NAME.search(path.name)
    return int(m.group(1)) if m else None


def ring_files(directory) -> list[Path]:
    """A ring's journal files in sequence order (a single file is its own list). The order comes
    from the names (``<ring>-<first seq>.hftj``), so a damaged file cannot stop the listing."""
    directory = Path(directory)
    if directory.is_file():
        return [directory]
    if not directory.exists():
        raise FileNotFoundError(f"journal {directory} does not exist")
    return sorted(directory.glob(f"*{F.SUFFIX}"), key=_order)


def _order(path: Path):
    seq = _seq_of_name(path)
    if seq is None:  # not named by the journal: its header says, or it sorts last (a reader names it)
        try:
            seq = read_meta(path)["first_seq"]
        except (OSError, ValueError):
            seq = float("inf")
    return seq, path.name


def _check_file_meta(path: Path, jf: JournalFile, first: dict | None) -> None:
    named = _seq_of_name(path)
    if named is not None and named != jf.meta["first_seq"]:
        raise JournalError(path, 32, f"header first seq {jf.meta['first_seq']} disagrees with the file name")
    if first is not None:
        for key in ("ring", "layout", "fingerprint", "symbols"):
            if jf.meta.get(key) != first.get(key):
                raise JournalError(path, F.JSON_OFFSET, f"{key} {jf.meta.get(key)!r} differs from the journal's "
                                                        f"first file ({first.get(key)!r})")


def iter_batches(path, verify: bool = True) -> Iterator[tuple[dict, np.ndarray]]:
    """(header, records) per batch of a file or a ring's journal directory, in sequence order,
    streaming: zero-copy views of memory-mapped files, each checked before it is yielded."""
    first, prev = None, -1
    for p in ring_files(path):
        jf = JournalFile(p)
        _check_file_meta(p, jf, first)
        first = first or jf.meta
        for at, recs in jf.batches(verify):
            if int(recs["seq"][0]) <= prev:
                raise JournalError(p, at, f"seq {int(recs['seq'][0])} repeats or goes back (after {prev} in an "
                                          "earlier file)")
            prev = int(recs["seq"][-1])
            yield jf.meta, recs


def load(path) -> tuple[dict, np.ndarray]:
    """The file's header and its records, all checked (JournalError names the first problem)."""
    jf = JournalFile(path)
    return jf.meta, jf.records()


def load_ring(directory) -> tuple[dict, np.ndarray]:
    """Every record of a ring's journal (all files, in order), all checked."""
    paths = ring_files(directory)
    if not paths:
        raise FileNotFoundError(f"no journal files ({F.SUFFIX}) in {directory}")
    meta, parts = None, []
    for m, recs in iter_batches(directory):
        meta = meta or m
        parts.append(recs)
    if meta is None:
        meta = read_meta(paths[0])
    dt = np.dtype(meta["dtype"])
    if not parts:
        return meta, np.zeros(0, dt)
    return meta, (parts[0] if len(parts) == 1 else np.concatenate(parts))


@dataclass
class Report:
    """What ``verify`` found: the good records' count and every problem (each names its file)."""

    files: list = field(default_factory=list)
    meta: dict | None = None
    records: int = 0
    problems: list = field(default_factory=list)  # JournalError, one per damaged file


def verify(path, on_batch=None) -> Report:
    """Check every file, not stopping at the first damaged one: each file is read up to its
    first problem. ``on_batch(meta, records)`` sees every good batch (in order)."""
    rep = Report(files=ring_files(path))
    prev = -1
    for p in rep.files:
        try:
            jf = JournalFile(p)
            _check_file_meta(p, jf, rep.meta)
            rep.meta = rep.meta or jf.meta
            for at, recs in jf.batches():
                if int(recs["seq"][0]) <= prev:
                    raise JournalError(p, at, f"seq {int(recs['seq'][0])} repeats or goes back (after {prev})")
                prev = int(recs["seq"][-1])
                rep.records += len(recs)
                if on_batch is not None:
                    on_batch(jf.meta, recs)
        except JournalError as exc:
            rep.problems.append(exc)
    return rep


def count_records(directory) -> int:
    """How many records a ring's journal holds, from the batch headers only (no checksums): the
    cheap figure the end-of-run summary uses. Damaged or cut files count up to the damage."""
    total = 0
    for p in ring_files(directory):
        try:
            for _, recs in JournalFile(p).batches(verify=False):
                total += len(recs)
        except JournalError:
            continue
    return total
