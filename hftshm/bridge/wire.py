"""The bridge message: a 48-byte header, then ``count`` raw records (or none, for a gap).

::

    0      4     6     8          16         24         32           40      44      48
    +------+-----+-----+----------+----------+----------+------------+-------+-------+----------
    |magic |vers |type | epoch    | first_seq| count    | fingerprint|rec.sz | (zero)| records...
    +------+-----+-----+----------+----------+----------+------------+-------+-------+----------

``magic`` is ``b"HBR1"``; ``type`` RECORDS carries ``count`` consecutive records whose ring
sequences are ``first_seq .. first_seq + count - 1``, byte for byte as the source ring held them
(its ``seq`` and ``publish_ns`` included); GAP carries none and says the source's reader was
lapped: those ``count`` sequences were overwritten at the source before the bridge read them
(loss at the source, as opposed to loss in transport). ``epoch`` is the source ring's creation
time (ns, its header's ``created`` word): a restarted source instance starts a new epoch and its
sequences again at 0. ``fingerprint`` is the record layout's (``Layout.fingerprint``).

Each message is published with the NATS header ``Nats-Msg-Id: <epoch>.<first_seq>.<count>``: JetStream
drops a second publish of the same id within the stream's duplicate window, so a retry after a
lost acknowledgement, or a republish after a crash, is stored once.
"""

from __future__ import annotations

import struct

MAGIC = b"HBR1"
VERSION = 1
RECORDS = 1
GAP = 2
TYPE_NAMES = {RECORDS: "records", GAP: "gap"}

HEADER = struct.Struct("<4sHHqqqqI4x")
HEADER_LENGTH = HEADER.size
assert HEADER_LENGTH == 48

MSG_ID = "Nats-Msg-Id"
PREFIX = "hftshm"


class WireError(ValueError):
    """A bridge message that cannot be decoded; the message says which byte range and why."""


def encode(kind: int, epoch: int, first_seq: int, count: int, fingerprint: int, record_size: int,
           body: bytes | memoryview = b"") -> bytes:
    return b"".join((HEADER.pack(MAGIC, VERSION, kind, epoch, first_seq, count, fingerprint, record_size), body))


def decode_header(payload: bytes) -> tuple[int, int, int, int, int, int]:
    """``(type, epoch, first_seq, count, fingerprint, record_size)``; raises WireError."""
    if len(payload) < HEADER_LENGTH:
        raise WireError(f"message of {len(payload)} B is shorter than the {HEADER_LENGTH} B header")
    magic, version, kind, epoch, first, count, fp, size = HEADER.unpack_from(payload)
    if magic != MAGIC:
        raise WireError(f"bytes 0..4 are {magic!r}, not the bridge magic {MAGIC!r}")
    if version != VERSION:
        raise WireError(f"bytes 4..6: version {version}, this bridge speaks {VERSION}")
    if kind not in TYPE_NAMES:
        raise WireError(f"bytes 6..8: unknown message type {kind}")
    if count < 1 or first < 0:
        raise WireError(f"bytes 16..32: first_seq {first}, count {count} (need >= 0 and >= 1)")
    want = HEADER_LENGTH + (count * size if kind == RECORDS else 0)
    if len(payload) != want:
        raise WireError(f"message of {len(payload)} B; its header announces {want} B")
    return kind, epoch, first, count, fp, size


def msg_id(epoch: int, first_seq: int, count: int) -> str:
    """Names the content, not just its start: a resend cut at other boundaries is another message
    (the receiver trims the overlap), and never dropped as a duplicate of a shorter one."""
    return f"{epoch}.{first_seq}.{count}"


def subject(instance: str, ring: str) -> str:
    """One subject per instance and ring: ``hftshm.<instance>.<ring>``."""
    return f"{PREFIX}.{instance}.{ring}"


def stream_name(instance: str, ring: str) -> str:
    """One stream per instance and ring, so stream sequences of a ring are consecutive."""
    return f"HFTSHM_{instance}_{ring}".replace("-", "_").replace(".", "_")

