"""Named shared-memory segments that only their creator's instance ever unlinks.

Segments are ``multiprocessing.shared_memory.SharedMemory`` objects created owner-only (0600).
Before Python 3.13 every SharedMemory, created *or attached*, registers with multiprocessing's
resource_tracker, which unlinks it when the registering process exits; ``spawn`` children share
their parent's tracker, so even unregistering is unsafe. hftshm therefore never lets the tracker
know about its segments: 3.13+ passes ``track=False``; older versions skip the registration call
while the object is built, and ``unlink`` calls ``shm_unlink`` directly. Lifetime is hftshm's
job alone: the supervisor unlinks at shutdown and ``hftshm clean`` removes dead instances' leftovers.
"""

from __future__ import annotations

import os
import sys
import threading
from multiprocessing import resource_tracker, shared_memory

import _posixshmem

from . import procinfo
from .errors import AccessDenied, RingNotFound, ShmFull

SHM_DIR = "/dev/shm"
_tracker_lock = threading.Lock()


class _Untracked(shared_memory.SharedMemory):
    def __del__(self):  # numpy views may outlive us; the mapping then goes when they do
        try:
            self.close()
        except (OSError, BufferError):
            pass


def _untracked_register(original):
    def register(name, rtype):
        if rtype != "shared_memory":
            original(name, rtype)

    return register


def _open(name: str, create: bool, size: int) -> shared_memory.SharedMemory:
    if sys.version_info >= (3, 13):
        return _Untracked(name, create=create, size=size, track=False)
    with _tracker_lock:
        original = resource_tracker.register
        resource_tracker.register = _untracked_register(original)
        try:
            return _Untracked(name, create=create, size=size)
        finally:
            resource_tracker.register = original


class Segment:
    """A mapped segment. ``buf`` is a writable memoryview of the whole segment."""

    def __init__(self, shm: shared_memory.SharedMemory, created: bool):
        self._shm = shm
        self.name = shm.name
        self.size = shm.size
        self.created = created
        self.buf = shm.buf

    @classmethod
    def create(cls, name: str, size: int) -> "Segment":
        """Create a new segment (0600); fails with FileExistsError if the name is taken, and with
        ShmFull if /dev/shm cannot hold it. Its pages are reserved at once (posix_fallocate):
        on a full tmpfs, touching an unreserved page kills the process with SIGBUS instead."""
        shm = _open(name, True, size)
        try:
            os.posix_fallocate(shm._fd, 0, size)
        except OSError as exc:
            shm.close()
            unlink(name)
            st = os.statvfs(SHM_DIR)
            raise ShmFull(f"{SHM_DIR} cannot hold {name} ({size / 2**20:.1f} MiB; {exc.strerror}; "
                          f"{st.f_bavail * st.f_frsize / 2**20:.1f} MiB free): make /dev/shm larger or the "
                          "rings smaller ([rings.NAME] capacity), and run `hftshm clean`") from None
        return cls(shm, True)

    @classmethod
    def attach(cls, name: str) -> "Segment":
        try:
            shm = _open(name, False, 0)
        except FileNotFoundError:
            raise RingNotFound(f"no shared-memory segment named {name!r} in {SHM_DIR}") from None
        except PermissionError:
            raise denied(name) from None
        return cls(shm, False)

    def close(self) -> bool:
        """Unmap if nothing else still views the memory; returns whether it was unmapped."""
        self.buf = None
        try:
            self._shm.close()
        except BufferError:
            return False
        return True


def denied(name: str) -> AccessDenied:
    """The error for a segment another OS user owns (segments are 0600: only its owner and root
    may map it)."""
    name = name.lstrip("/")
    owner = procinfo.file_owner(os.path.join(SHM_DIR, name))
    return AccessDenied(f"{SHM_DIR}/{name} belongs to user {owner} (mode 0600): only that user or root "
                        f"can attach to it; run as {owner}")


def unlink(name: str) -> bool:
    """Remove a segment's name (mappings stay valid until closed). False if already gone."""
    try:
        _posixshmem.shm_unlink("/" + name.lstrip("/"))
    except FileNotFoundError:
        return False
    return True


def exists(name: str) -> bool:
    return os.path.exists(os.path.join(SHM_DIR, name.lstrip("/")))
