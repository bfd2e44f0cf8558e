"""Creating, validating and viewing a ring segment; shared by both ring topologies."""

from __future__ import annotations

import numpy as np

from .. import atomics as A
from .. import naming, preamble, shm
from ..errors import LayoutMismatch, RingConfigError, RingExists, SegmentCorrupt
from ..layouts import BY_NAME
from ..layouts.base import Layout
from . import header as H
from . import kernels as K
from . import reader_table as RT

MAX_CAPACITY = 1 << 30


def _put_name(buf, offset: int, text: str, length: int) -> None:
    raw = text.encode("ascii")
    if len(raw) >= length:
        raise RingConfigError(f"name {text!r} is longer than {length - 1} bytes")
    buf[offset : offset + length] = raw.ljust(length, b"\0")


def _get_name(buf, offset: int, length: int) -> str:
    return bytes(buf[offset : offset + length]).split(b"\0", 1)[0].decode("ascii", "replace")


def check_geometry(capacity: int, layout: Layout) -> None:
    if not isinstance(capacity, (int, np.integer)) or capacity < 2 or capacity & (capacity - 1):
        raise RingConfigError(f"ring capacity must be a power of two >= 2, got {capacity!r}")
    if capacity > MAX_CAPACITY:
        raise RingConfigError(f"ring capacity {capacity} exceeds the maximum {MAX_CAPACITY}")
    if layout.size % H.CACHE_LINE:
        raise RingConfigError(f"record size {layout.size} is not a multiple of {H.CACHE_LINE}")


class RingSegment:
    """A mapped ring: header words, reader table, symbol table and the record slots.

    Not used directly: ``BroadcastRing`` and ``ManyToOneRing`` are the two types of ring.
    """

    KIND: int = 0

    def __init__(self, seg: shm.Segment, instance: str, name: str, layout: Layout):
        self._seg = seg
        self.instance = instance
        self.name = name
        self.layout = layout
        data = int(np.frombuffer(seg.buf, np.int64, 1, H.DATA_OFFSET_OFFSET)[0])
        # The int64 view spans everything before the records: header, and commit words if any.
        hdr = np.frombuffer(seg.buf, dtype=np.int64, count=data // H.WORD)
        self.hdr = hdr
        self.capacity = int(hdr[H.W_CAPACITY])
        self.mask = self.capacity - 1
        self.commits = None
        if self.KIND == H.KIND_MANY_TO_ONE:
            self.commits = np.frombuffer(seg.buf, np.int64, self.capacity, H.COMMITS_OFFSET)
        self.slots = np.frombuffer(seg.buf, layout.dtype, self.capacity, data)
        self._closed = False

    # --- creation and attach ------------------------------------------------------------------

    @classmethod
    def _create(cls, instance, name, layout, capacity, policy, symbols, stale_after_s):
        check_geometry(capacity, layout)
        if len(symbols) > H.SYMBOL_SLOTS:
            raise RingConfigError(f"{len(symbols)} symbols exceed the table's {H.SYMBOL_SLOTS}")
        seg_name = naming.ring_segment(instance, name)
        size = H.segment_size(cls.KIND, capacity, layout.size)
        try:
            seg = shm.Segment.create(seg_name, size)
        except FileExistsError:
            raise RingExists(f"ring {name!r} already exists in instance {instance!r} ({seg_name})") from None
        try:
            buf = seg.buf
            hdr = np.frombuffer(buf, dtype=np.int64, count=H.HEADER_LENGTH // H.WORD)
            # Touch every page now so no publish ever takes a page fault.
            np.frombuffer(buf, np.uint8)[H.HEADER_LENGTH :: H.PAGE] = 0
            preamble.stamp(buf, cls.KIND, size)
            hdr[H.W_FINGERPRINT] = layout.fingerprint
            hdr[H.W_CAPACITY] = capacity
            hdr[H.W_RECORD_SIZE] = layout.size
            hdr[H.W_POLICY] = policy
            hdr[H.W_DATA_OFFSET] = H.data_offset(cls.KIND, capacity)
            hdr[H.W_STALE_AFTER_NS] = int(stale_after_s * 1e9)
            _put_name(buf, H.RING_NAME_OFFSET, name, H.NAME_LENGTH)
            _put_name(buf, H.LAYOUT_NAME_OFFSET, layout.name, H.NAME_LENGTH)
            for i, sym in enumerate(symbols):
                _put_name(buf, H.SYMBOL_TABLE_OFFSET + i * H.SYMBOL_LENGTH, sym, H.SYMBOL_LENGTH)
            hdr[H.W_SYMBOL_COUNT] = len(symbols)
            for slot in range(H.READER_SLOTS):
                hdr[RT.word(slot, RT.STATE)] = RT.FREE
            if cls.KIND == H.KIND_MANY_TO_ONE:
                words = H.data_offset(cls.KIND, capacity) // H.WORD
                K.m2o_init_commits(np.frombuffer(buf, dtype=np.int64, count=words))
            preamble.publish(hdr)  # valid from here on: the magic goes last
            del hdr
        except BaseException:
            seg.close()
            shm.unlink(seg_name)
            raise
        return cls(seg, instance, name, layout)

    @classmethod
    def _attach(cls, instance, name, layout: Layout | None):
        seg_name = naming.ring_segment(instance, name)
        seg = shm.Segment.attach(seg_name)
        try:
            found_layout = cls._validate(seg, seg_name, layout)
        except BaseException:
            seg.close()
            raise
        return cls(seg, instance, name, found_layout)

    @classmethod
    def _validate(cls, seg, seg_name, layout: Layout | None) -> Layout:
        if seg.size < H.HEADER_LENGTH:
            raise SegmentCorrupt(f"{seg_name}: {seg.size} B is too small for a ring header")
        preamble.check(seg.buf, seg_name, cls.KIND, "a ring header")
        hdr = np.frombuffer(seg.buf, dtype=np.int64, count=H.HEADER_LENGTH // H.WORD)
        capacity = int(hdr[H.W_CAPACITY])
        rsize = int(hdr[H.W_RECORD_SIZE])
        need = H.segment_size(cls.KIND, capacity, rsize) if capacity > 0 else 0
        if capacity < 2 or capacity & (capacity - 1) or seg.size < need:
            raise SegmentCorrupt(f"{seg_name}: corrupt geometry (capacity {capacity}, size {seg.size})")
        lname = _get_name(seg.buf, H.LAYOUT_NAME_OFFSET, H.NAME_LENGTH)
        fp = int(hdr[H.W_FINGERPRINT])
        if layout is None:
            layout = BY_NAME.get(lname)
            if layout is None:
                raise LayoutMismatch(f"{seg_name}: holds layout {lname!r}, which this hftshm does not know")
        if layout.fingerprint != fp or layout.size != rsize:
            raise LayoutMismatch(
                f"{seg_name}: ring holds layout {lname} ({rsize} B, fingerprint "
                f"{fp & (2**64 - 1):#018x}), but attached with {layout.describe()}"
            )
        del hdr
        return layout

    # --- what anyone may read -------------------------------------------------------------------

    @property
    def policy(self) -> str:
        return H.POLICY_NAMES[int(self.hdr[H.W_POLICY])]

    @property
    def symbols(self) -> list[str]:
        n = int(self.hdr[H.W_SYMBOL_COUNT])
        buf = self._seg.buf
        return [_get_name(buf, H.SYMBOL_TABLE_OFFSET + i * H.SYMBOL_LENGTH, H.SYMBOL_LENGTH) for i in range(n)]

    @property
    def owner_pid(self) -> int:
        return int(self.hdr[H.W_OWNER_PID])

    def counter(self, word: int) -> int:
        return int(A.load_relaxed(self.hdr, word))

    def reader_name(self, slot: int) -> str:
        return _get_name(self._seg.buf, RT.slot_offset(slot) + RT.NAME, RT.NAME_LENGTH)

    def set_reader_name(self, slot: int, name: str) -> None:
        _put_name(self._seg.buf, RT.slot_offset(slot) + RT.NAME, name, RT.NAME_LENGTH)

    def name_bytes(self, offset: int, length: int) -> str:
        return _get_name(self._seg.buf, offset, length)

    def put_name_bytes(self, offset: int, text: str, length: int) -> None:
        _put_name(self._seg.buf, offset, text, length)

    # --- lifetime -------------------------------------------------------------------------------

    def close(self) -> None:
        """Unmap (once no numpy view of ours remains). Never unlinks: see ``unlink``."""
        if self._closed:
            return
        self._closed = True
        self.hdr = self.slots = self.commits = None
        self._seg.close()

    def unlink(self) -> None:
        """Remove the ring's name (the creator's job, at shutdown); mappings stay valid."""
        unlink_ring(self.instance, self.name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def unlink_ring(instance: str, name: str) -> bool:
    """Semaphores belong to the wait strategies that made them, which unlink them on close."""
    return shm.unlink(naming.ring_segment(instance, name))
