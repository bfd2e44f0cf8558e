"""A /dev/shm too small for a segment is a clear error, not a SIGBUS later, and leaves nothing."""

import errno
import os

import pytest

from hftshm import shm
from hftshm.errors import ShmFull


def test_no_room_is_a_clear_error_and_leaves_nothing(monkeypatch, instance):
    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "posix_fallocate", full)
    name = f"hftshm.{instance}.r.md"
    with pytest.raises(ShmFull, match=r"cannot hold .*128\.0 MiB.*make /dev/shm larger"):
        shm.Segment.create(name, 128 << 20)
    assert not os.path.exists(f"/dev/shm/{name}")


def test_segment_pages_are_reserved_at_creation(instance):
    seg = shm.Segment.create(f"hftshm.{instance}.r.x", 1 << 20)
    try:
        st = os.stat(f"/dev/shm/hftshm.{instance}.r.x")
        assert st.st_blocks * 512 >= 1 << 20  # allocated, not sparse
    finally:
        seg.close()
        shm.unlink(f"hftshm.{instance}.r.x")
