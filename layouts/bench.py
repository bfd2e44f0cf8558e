"""Benchmark and stress-test record: one cache line, self-checking.

::

    0        8        16       24       32                                      64
    +--------+--------+--------+--------+----------------------------------------+
    | seq    | pub_ns | source | value  | payload [3] int64  | checksum          |
    +--------+--------+--------+--------+----------------------------------------+

``source`` tells producers apart (many-to-one tests), ``value`` is the producer's own counter,
``checksum`` covers every other field except ``seq`` and ``publish_ns`` (stamped by the ring), so a
torn record - half of one write and half of another - fails the check.
"""

from __future__ import annotations

import numpy as np

from .base import Layout, make_dtype

DTYPE = make_dtype(
    [
        ("seq", "<i8", 0),
        ("publish_ns", "<i8", 8),
        ("source", "<i8", 16),
        ("value", "<i8", 24),
        ("payload", "<i8", 32),
        ("payload2", "<i8", 40),
        ("payload3", "<i8", 48),
        ("checksum", "<i8", 56),
    ],
    64,
)

LAYOUT = Layout("bench.v1", DTYPE, __doc__)

_MIX = np.int64(0x5BD1E995)


def fill(rec, source: int, value: int) -> None:
    """Fill a record (or a batch, elementwise) so that ``check`` holds."""
    rec["source"] = source
    rec["value"] = value
    rec["payload"] = np.int64(value) * _MIX
    rec["payload2"] = ~np.int64(value)
    rec["payload3"] = np.int64(value) ^ np.int64(source)
    rec["checksum"] = checksum(rec)


def checksum(rec):
    with np.errstate(over="ignore"):
        return (rec["source"] * np.int64(31) + rec["value"]) ^ rec["payload"] ^ rec["payload2"] ^ (rec["payload3"] << 1)


def check(batch) -> np.ndarray:
    """Boolean mask: which records are intact (every field consistent with its value)."""
    with np.errstate(over="ignore"):
        v = batch["value"]
        return (
            (batch["checksum"] == checksum(batch))
            & (batch["payload"] == v * _MIX)
            & (batch["payload2"] == ~v)
            & (batch["payload3"] == (v ^ batch["source"]))
        )
