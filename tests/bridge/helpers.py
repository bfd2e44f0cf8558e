"""md records with every field distinct, and a checker for what came out of a bridged ring."""

import time

import numpy as np

from hftshm.layouts import md
from hftshm.runtime import rings

DATA_FIELDS = [f for f in md.DTYPE.names if f not in ("seq", "publish_ns")]  # the ring stamps these two


def md_records(start: int, n: int) -> np.ndarray:
    """Records whose every data field is a function of their source sequence."""
    s = np.arange(start, start + n, dtype=np.int64)
    r = np.zeros(n, md.DTYPE)
    r["kind"] = 1 + s % 4
    r["side"] = 1 + s % 2
    r["flags"] = s % 7
    r["symbol_id"] = 0
    for i, f in enumerate(("exch_ns", "txn_ns", "recv_ns", "venue_id", "venue_id2", "price_e8", "qty_e8",
                           "price2_e8", "qty2_e8")):
        r[f] = s * 10 + i + 1_700_000_000_000_000_000 * (f.endswith("_ns"))
    for i, f in enumerate(("price", "qty", "price2", "qty2")):
        r[f] = s + i / 8
    return r


def publish(ring_name: str, instance: str, start: int, n: int, chunk: int = 4096, pause: float = 0.0):
    ring = rings.attach(instance, ring_name)
    pub = ring.publisher()
    for i in range(start, start + n, chunk):
        k = min(chunk, start + n - i)
        pub.publish_batch(md_records(i, k))
        if pause:
            time.sleep(pause)
    pub.close()
    ring.close()


class RingCollector:
    """A gating reader of a receiver's md ring from its oldest record; checks as it goes."""

    def __init__(self, instance: str):
        self.ring = rings.attach(instance, "md")
        self.reader = self.ring.reader("test-collector", gating=True, start="oldest")
        self.parts = []

    def drain(self, want: int, timeout: float = 120.0) -> np.ndarray:
        deadline = time.monotonic() + timeout
        have = sum(len(p) for p in self.parts)
        while have < want:
            b = self.reader.read_batch(1 << 16, copy=True)
            if len(b):
                self.parts.append(b)
                have += len(b)
                continue
            assert time.monotonic() < deadline, f"only {have} of {want} records arrived"
            self.reader.wait(0.05)
        out = np.concatenate(self.parts) if self.parts else np.zeros(0, md.DTYPE)
        return out

    def close(self):
        self.reader.close()
        self.ring.close()


def check_exact(got: np.ndarray, first: int, n: int) -> None:
    """Forbidden: lost, duplicated, reordered or altered records. ``seq`` is the source's."""
    assert len(got) == n, f"{len(got)} records, expected {n}"
    seqs = got["seq"]
    want = np.arange(first, first + n, dtype=np.int64)
    dup = len(seqs) - len(np.unique(seqs))
    assert dup == 0, f"{dup} duplicated sequences"
    bad = np.flatnonzero(seqs != want)
    assert not len(bad), f"sequence {want[bad[0]]} expected at {bad[0]}, got {seqs[bad[0]]}"
    ref = md_records(first, n)
    for f in DATA_FIELDS:
        diff = np.flatnonzero(got[f] != ref[f])
        assert not len(diff), f"field {f} differs at sequence {first + diff[0]}"


def check_with_gaps(got: np.ndarray, first: int, n: int) -> int:
    """Like ``check_exact`` where GAP records stand for lost sequences; returns how many."""
    assert len(got) == n, f"{len(got)} records, expected {n}"
    assert (got["seq"] == np.arange(first, first + n)).all(), "sequences out of place"
    gap = got["kind"] == md.GAP
    ref = md_records(first, n)
    for f in DATA_FIELDS:
        diff = np.flatnonzero((got[f] != ref[f]) & ~gap)
        assert not len(diff), f"field {f} differs at sequence {first + diff[0]}"
    return int(gap.sum())
