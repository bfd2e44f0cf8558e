"""Appending one ring's records to journal files, rotating by size.

Exactly once across a crash: each batch (its frame header and records, format.py) goes to the
kernel with one ``os.writev`` (no user-space buffer to lose on kill -9) before the reader
releases it, so after a restart the files hold at least every record the ring cursor says was
read, and possibly one batch more. ``resume`` finds the last good batch on disk and repairs what
a crash can leave (an empty or torn-header file, a torn last batch); ``write`` skips what is
already there. A restart always starts a new file.

A failed write (ENOSPC, EIO, EFBIG, ...) raises ``OSError`` after cutting the partial batch off
again, so the file stays whole and the same batch can be written again later: the caller keeps
it (and does not release it) until a retry succeeds.
"""

from __future__ import annotations

import logging
import mmap
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..ring import header as H
from . import files
from . import format as F

log = logging.getLogger("hftshm.journal")


@dataclass(frozen=True)
class RingSpec:
    """What a journal needs to know of a ring (a live ring object has the same attributes)."""

    name: str
    layout: object  # hftshm.layouts.base.Layout
    symbols: tuple = ()


class RingJournal:
    """The files of one ring: write batches as they are, start a new file past ``rotate_bytes``."""

    def __init__(self, directory: Path, ring, instance: str, rotate_bytes: int, fsync: bool = False):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.ring = ring
        self.instance = instance
        self.record_size = ring.layout.size
        self.rotate_bytes = max(int(rotate_bytes), F.HEADER_LENGTH + F.FRAME_LENGTH + self.record_size)
        self.fsync = fsync
        self._fd = -1
        self._path = None
        self._size = 0
        self._cut = None  # (path, size): a file whose partial batch could not be cut off yet
        self.files = 0
        self.records = 0
        self.bytes = 0
        self.skipped = 0  # records already on disk from before a restart
        self.last_seq = -1  # last sequence on disk
        self.gaps = 0  # sequence jumps (records the journal never saw)
        self.repairs: list[str] = []  # what resume found and did, one line each (the worker logs them)
        hdr = getattr(ring, "hdr", None)  # a live ring: its creation time tells its runs apart
        self.ring_created_ns = int(hdr[H.W_CREATED_NS]) if hdr is not None else 0
        self.resume()

    # --- after a crash --------------------------------------------------------------------------

    def resume(self) -> None:
        """Carry on after a predecessor: repair what a crash leaves, note the last sequence on disk.
        Files of an earlier run of the instance (another ring, whose seqs started at 0 again) are
        moved into ``earlier-<its ring's created ns>/``, never mixed with this run's."""
        self._set_aside_earlier_runs()
        for path in reversed(files.ring_files(self.directory)):
            last = self._recover(path)
            if last is not None:
                self.last_seq = last
                return

    def _set_aside_earlier_runs(self) -> None:
        if not self.ring_created_ns:
            return
        for path in files.ring_files(self.directory):
            try:
                theirs = int(files.read_meta(path).get("ring_created_ns", 0))
            except (F.JournalError, OSError):
                continue  # a crash leftover: _recover deals with it
            if theirs == self.ring_created_ns:
                continue
            aside = self.directory / f"earlier-{theirs}"
            aside.mkdir(mode=0o700, exist_ok=True)
            os.replace(path, aside / path.name)
            self._note(f"{path}: from an earlier run of the instance; moved to {aside.name}/")

    def _note(self, text: str) -> None:
        self.repairs.append(text)
        log.warning("%s", text)

    def _recover(self, path: Path):
        """The last seq in ``path`` after repairing it, or None if it holds no record."""
        size = path.stat().st_size
        if size < F.HEADER_LENGTH:  # the header was never written whole: no record can be there
            path.unlink()
            self._note(f"{path}: removed, {size} B (a header cut short by a crash; no records)")
            return None
        try:
            jf = files.JournalFile(path)
        except F.JournalError as exc:
            aside = path.with_name(path.name + ".damaged")
            os.replace(path, aside)
            self._note(f"{exc}; moved aside to {aside.name}, records after it start a new file")
            return None
        last, good_end = None, F.HEADER_LENGTH
        try:
            for at, recs in jf.batches():
                last = int(recs["seq"][-1])
                good_end = at + len(recs) * self.record_size + (F.FRAME_LENGTH if jf.version >= 2 else 0)
        except F.JournalError as exc:
            if isinstance(exc, F.CutTail) or self._last_batch(jf, good_end):
                del jf
                os.truncate(path, good_end)
                self._note(f"{exc}; cut the torn tail ({size - good_end} B) at byte {good_end}")
            else:
                self._note(f"{exc}; left as it is (damage inside the file, not a torn tail)")
        if last is None and good_end == F.HEADER_LENGTH and path.stat().st_size == F.HEADER_LENGTH:
            path.unlink()  # a header and no batch: its name would block the next file's
            self._note(f"{path}: removed, a header without records")
        return last

    def _last_batch(self, jf, at: int) -> bool:
        """Whether the damage from ``at`` on is a torn tail: no sound batch header follows it (a
        crash, or a power loss, leaves damage only after the last batch it wrote)."""
        if jf.version < 2:
            return False
        with open(jf.path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            pos = m.find(F.FRAME_MAGIC, at + 1)
            while pos >= 0:
                try:
                    count = F.unframe(m, pos, str(jf.path))[0]
                    if pos + F.FRAME_LENGTH + count * self.record_size <= len(m):
                        return False  # a whole batch after the damage: not a torn tail
                except F.JournalError:
                    pass
                pos = m.find(F.FRAME_MAGIC, pos + 1)
        return True

    # --- writing --------------------------------------------------------------------------------

    def _open(self, first_seq: int) -> None:
        self.close()
        path = self.directory / files.file_name(self.ring.name, first_seq)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            if path.stat().st_size > F.HEADER_LENGTH:
                raise
            path.unlink()  # a header this journal failed to complete or remove before
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            self._write_all(fd, [F.encode(self.ring.name, self.ring.layout, first_seq, self.ring.symbols,
                                          self.instance, self.ring_created_ns)])
        except OSError:
            os.close(fd)
            try:
                path.unlink()
            except OSError:
                pass  # resume removes a header cut short
            raise
        self._fd, self._path, self._size = fd, path, F.HEADER_LENGTH
        self.files += 1

    @staticmethod
    def _write_all(fd: int, parts) -> None:
        views = [memoryview(p).cast("B") for p in parts]
        while views:
            n = os.writev(fd, views)
            while views and n >= len(views[0]):
                n -= len(views[0])
                views.pop(0)
            if views and n:
                views[0] = views[0][n:]

    def write(self, batch) -> None:
        """Append a batch (a zero-copy view of the ring: written before the reader releases it).
        On OSError nothing of the batch is on disk (or, if even the cut failed, it is cut before
        the next write), so the caller may call again with the same batch."""
        if len(batch) == 0:
            return
        first, k = int(batch[0]["seq"]), 0
        if first <= self.last_seq:  # already on disk (written just before a crash)
            k = min(len(batch), self.last_seq - first + 1)
            batch = batch[k:]
            if len(batch) == 0:
                self.skipped += k
                return
            first = int(batch[0]["seq"])
        if self._cut is not None:
            path, size = self._cut
            os.truncate(path, size)  # raises while the disk still fails
            self._cut = None
        if self._fd < 0 or self._size >= self.rotate_bytes:
            self._open(first)
        batch = np.ascontiguousarray(batch)
        try:
            self._write_all(self._fd, [F.frame(batch), batch])
        except OSError:
            self._cut_back()
            raise
        n = len(batch)
        self.skipped += k
        if self.last_seq >= 0 and first != self.last_seq + 1:
            self.gaps += 1
        self._size += F.FRAME_LENGTH + n * self.record_size
        self.records += n
        self.bytes += F.FRAME_LENGTH + n * self.record_size
        self.last_seq = int(batch[-1]["seq"])

    def _cut_back(self) -> None:
        """Remove a partial batch after a failed write, so the file ends on a whole batch."""
        try:
            os.ftruncate(self._fd, self._size)
            os.lseek(self._fd, self._size, os.SEEK_SET)
        except OSError:
            self._cut = (self._path, self._size)
            os.close(self._fd)
            self._fd = -1

    def flush(self) -> None:
        if self._fd >= 0 and self.fsync:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            try:
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)


def write_journal(directory, ring: str, layout, records: np.ndarray, symbols=(), instance: str = "",
                  rotate_bytes: int = 256 << 20, batch: int = 1024) -> int:
    """Write ``records`` (the layout's dtype, ``seq`` increasing) as a ring's journal in
    ``directory``, in batches of ``batch``; returns how many were written. For importers and
    tools: the files are the ones the journal worker writes, and every reader reads them."""
    if records.dtype != layout.dtype:
        raise ValueError(f"records have dtype {records.dtype}, layout {layout.name} needs {layout.dtype}")
    if len(records) > 1 and not (np.diff(records["seq"].astype(np.int64)) > 0).all():
        raise ValueError("records' seq must increase")
    journal = RingJournal(directory, RingSpec(ring, layout, tuple(symbols)), instance, rotate_bytes)
    try:
        for i in range(0, len(records), batch):
            journal.write(records[i:i + batch])
    finally:
        journal.close()
    return journal.records
