"""Reading journal files and the directory of a ring's journal (files ordered by first seq)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import format as F


def ring_dir(run_dir: Path, ring: str) -> Path:
    return Path(run_dir) / "journal" / ring


def file_name(ring: str, first_seq: int) -> str:
    return f"{ring}-{first_seq:015d}{F.SUFFIX}"


def read_meta(path) -> dict:
    with open(path, "rb") as f:
        return F.decode(f.read(F.HEADER_LENGTH), str(path))


def load(path) -> tuple[dict, np.ndarray]:
    """The file's header and its records (a read-only memmap; empty if it has none)."""
    meta = read_meta(path)
    dt = np.dtype(meta["dtype"])
    size = Path(path).stat().st_size - F.HEADER_LENGTH
    whole = size // dt.itemsize * dt.itemsize  # a file cut short mid-record keeps its whole records
    if whole <= 0:
        return meta, np.zeros(0, dt)
    return meta, np.memmap(path, dtype=dt, mode="r", offset=F.HEADER_LENGTH, shape=(whole // dt.itemsize,))


def ring_files(directory) -> list[Path]:
    """A ring's journal files in sequence order (a single file is its own list)."""
    directory = Path(directory)
    if directory.is_file():
        return [directory]
    files = [p for p in directory.glob(f"*{F.SUFFIX}")]
    return sorted(files, key=lambda p: read_meta(p)["first_seq"])


def load_ring(directory) -> tuple[dict, np.ndarray]:
    """Every record of a ring's journal (all files concatenated, in order)."""
    files = ring_files(directory)
    if not files:
        raise FileNotFoundError(f"no journal files ({F.SUFFIX}) in {directory}")
    parts = [load(p) for p in files]
    meta = parts[0][0]
    arrays = [a for _, a in parts if len(a)]
    return meta, (np.concatenate(arrays) if arrays else parts[0][1])
