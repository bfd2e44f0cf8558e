"""Finding an instance's rings by name and attaching either topology without knowing it first."""

from __future__ import annotations

import os
import struct

from .. import naming, shm
from ..errors import RingNotFound, SegmentCorrupt
from ..ring import header as H


def ring_names(instance: str) -> list[str]:
    """Rings of ``instance`` present in /dev/shm, sorted by name (a listing: no segment opened)."""
    try:
        files = os.listdir(shm.SHM_DIR)
    except FileNotFoundError:
        return []
    names = []
    for filename in files:
        parsed = naming.parse(filename)
        if parsed and parsed[0] == instance and parsed[1] == "ring":
            names.append(parsed[2])
    return sorted(names)


def ring_kind(instance: str, name: str) -> int:
    """The segment kind in the ring's preamble (``header.KIND_*``), read from the file."""
    seg_name = naming.ring_segment(instance, name)
    try:
        with open(os.path.join(shm.SHM_DIR, seg_name), "rb") as f:
            pre = f.read(H.PREAMBLE_LENGTH)
    except FileNotFoundError:
        raise RingNotFound(f"instance {instance!r} has no ring {name!r} ({seg_name} is not in {shm.SHM_DIR})") from None
    except PermissionError:
        raise shm.denied(seg_name) from None
    if len(pre) < H.PREAMBLE_LENGTH:
        raise SegmentCorrupt(f"{seg_name}: {len(pre)} B, too short for a segment preamble")
    return struct.unpack_from("<I", pre, H.KIND_OFFSET)[0]


def open_ring(instance: str, name: str):
    """Attach ring ``name`` of ``instance`` as a BroadcastRing or ManyToOneRing, whichever it is.
    Attaching writes nothing to the ring."""
    from ..ring import BroadcastRing, ManyToOneRing

    kind = ring_kind(instance, name)
    if kind == H.KIND_BROADCAST:
        return BroadcastRing.attach(instance, name)
    if kind == H.KIND_MANY_TO_ONE:
        return ManyToOneRing.attach(instance, name)
    raise SegmentCorrupt(f"{naming.ring_segment(instance, name)}: kind {kind} is not a ring")
