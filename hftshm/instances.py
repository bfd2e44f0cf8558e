"""Instances on this machine, found by their names in /dev/shm, and removing dead ones' leftovers.

An instance is alive while the process that created any of its segments (the owner pid and start
ticks in every segment's preamble, see ``ring.header``) is alive. ``clean`` removes every segment
and semaphore of instances that are not, and never touches a live one.

Every object is owner-only (0600), so another OS user (not root) can list an instance's names and
owner but not read its preamble: such an instance's state is ``unknown``, never ``dead``. Each
user cleans only their own instances; another user's, live or dead, is left alone.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field

import posix_ipc

from . import naming, procinfo, shm
from . import preamble as P


LIVE, DEAD, UNKNOWN = "live", "dead", "unknown"


@dataclass
class Instance:
    name: str
    segments: list[str] = field(default_factory=list)  # /dev/shm file names
    semaphores: list[str] = field(default_factory=list)
    owners: set[tuple[int, int]] = field(default_factory=set)
    uids: set[int] = field(default_factory=set)  # the OS users owning its objects
    unreadable: list[str] = field(default_factory=list)  # segments this user may not read

    @property
    def alive(self) -> bool:
        """Known to be alive (an owner process we could read runs)."""
        return any(procinfo.alive(pid, ticks) for pid, ticks in self.owners)

    @property
    def state(self) -> str:
        """``live``; ``dead``; or ``unknown``: another user's, whose owner this user cannot read."""
        if self.alive:
            return LIVE
        return UNKNOWN if self.unreadable else DEAD

    @property
    def mine(self) -> bool:
        """Every object belongs to this process's user."""
        return self.uids <= {os.geteuid()}

    @property
    def owner(self) -> str:
        """The login name(s) of the users owning its objects."""
        return ",".join(procinfo.user_name(u) for u in sorted(self.uids)) or "?"

    @property
    def owner_pids(self) -> list[int]:
        return sorted({pid for pid, _ in self.owners})


def _owner(filename: str):
    """(pid, ticks) from the segment's preamble; None if unreadable or not a segment."""
    with open(os.path.join(shm.SHM_DIR, filename), "rb") as f:
        pre = f.read(P.PREAMBLE_LENGTH)
    if len(pre) < P.PREAMBLE_LENGTH:
        return None
    pid, ticks = struct.unpack_from("<qq", pre, P.OWNER_PID_OFFSET)
    return pid, ticks


def scan() -> dict[str, Instance]:
    found: dict[str, Instance] = {}
    try:
        names = sorted(os.listdir(shm.SHM_DIR))
    except FileNotFoundError:
        return found
    for filename in names:
        parsed = naming.parse(filename)
        if parsed is None:
            continue
        try:
            uid = os.stat(os.path.join(shm.SHM_DIR, filename)).st_uid
        except FileNotFoundError:
            continue  # removed since the listing
        inst = found.setdefault(parsed[0], Instance(parsed[0]))
        inst.uids.add(uid)
        if parsed[1] == "sem":
            inst.semaphores.append(filename)
            continue
        inst.segments.append(filename)
        try:
            owner = _owner(filename)
        except PermissionError:
            inst.unreadable.append(filename)
            continue
        except OSError:
            continue
        if owner and owner[0] > 0:
            inst.owners.add(owner)
    return found


def remove(inst: Instance) -> list[str]:
    """Unlink everything of ``inst`` this user may unlink; returns the names removed."""
    removed = []
    for filename in inst.segments:
        try:
            if shm.unlink(filename):
                removed.append(filename)
        except PermissionError:
            pass  # another user's (/dev/shm is sticky): theirs to remove
    for filename in inst.semaphores:
        try:
            posix_ipc.unlink_semaphore("/" + filename[len("sem."):])
            removed.append(filename)
        except (posix_ipc.ExistentialError, posix_ipc.PermissionsError):
            pass
    return removed


def cleanable(inst: Instance) -> bool:
    """Dead and this user's own: the only instances ``clean`` removes."""
    return inst.state == DEAD and inst.mine


def clean(only: str | None = None) -> dict[str, list[str]]:
    """Remove the leftovers of this user's dead instances (or of ``only``, if so). Live ones,
    and every other user's, are kept."""
    result = {}
    for name, inst in scan().items():
        if only is not None and name != only:
            continue
        if cleanable(inst):
            result[name] = remove(inst)
    return result
