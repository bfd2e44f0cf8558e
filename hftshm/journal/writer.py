"""Appending one ring's records to journal files, rotating by size.

Exactly once across a crash: each batch goes to the kernel with ``os.write`` (no user-space
buffer to lose on kill -9) before the reader releases it, so after a restart the files hold at
least every record the ring cursor says was read, and possibly one batch more. ``resume`` finds
the last whole record on disk, cuts a torn tail, and ``write`` skips what is already there.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import files
from . import format as F


class RingJournal:
    """The files of one ring: write batches as they are, start a new file past ``rotate_bytes``."""

    def __init__(self, directory: Path, ring, instance: str, rotate_bytes: int, fsync: bool = False):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.ring = ring
        self.instance = instance
        self.record_size = ring.layout.size
        self.rotate_bytes = max(int(rotate_bytes), F.HEADER_LENGTH + self.record_size)
        self.fsync = fsync
        self._fd = -1
        self._size = 0
        self.files = 0
        self.records = 0
        self.bytes = 0
        self.skipped = 0  # records already on disk from before a restart
        self.last_seq = -1  # last sequence on disk
        self.gaps = 0  # sequence jumps (records the journal never saw)
        self.resume()

    def resume(self) -> None:
        """Carry on after a predecessor: cut a torn last record, note the last sequence on disk."""
        existing = files.ring_files(self.directory) if any(self.directory.glob(f"*{F.SUFFIX}")) else []
        if not existing:
            return
        last = existing[-1]
        size = last.stat().st_size
        whole = F.HEADER_LENGTH + (size - F.HEADER_LENGTH) // self.record_size * self.record_size
        if size != whole:
            os.truncate(last, whole)
        for path in reversed(existing):
            _, recs = files.load(path)
            if len(recs):
                self.last_seq = int(recs[-1]["seq"])
                break

    def _open(self, first_seq: int) -> None:
        self.close()
        path = self.directory / files.file_name(self.ring.name, first_seq)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._write(F.encode(self.ring.name, self.ring.layout, first_seq, self.ring.symbols, self.instance))
        self._size = F.HEADER_LENGTH
        self.files += 1

    def _write(self, data) -> None:
        view = memoryview(data).cast("B")
        while len(view):
            n = os.write(self._fd, view)
            view = view[n:]

    def write(self, batch) -> None:
        """Append a batch (a zero-copy view of the ring: written before the reader releases it)."""
        if len(batch) == 0:
            return
        first = int(batch[0]["seq"])
        if first <= self.last_seq:  # already on disk (written just before a crash)
            k = min(len(batch), self.last_seq - first + 1)
            self.skipped += k
            batch = batch[k:]
            if len(batch) == 0:
                return
            first = int(batch[0]["seq"])
        if self.last_seq >= 0 and first != self.last_seq + 1:
            self.gaps += 1
        if self._fd < 0 or self._size >= self.rotate_bytes:
            self._open(first)
        self._write(batch)
        n = len(batch)
        self._size += n * self.record_size
        self.records += n
        self.bytes += n * self.record_size
        self.last_seq = int(batch[-1]["seq"])

    def flush(self) -> None:
        if self._fd >= 0 and self.fsync:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            self.flush()
            os.close(self._fd)
            self._fd = -1
