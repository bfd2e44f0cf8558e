"""Instances on this machine, found by their names in /dev/shm, and removing dead ones' leftovers.

An instance is alive while the process that created any of its segments (the owner pid and start
ticks in every segment's preamble, see ``ring.header``) is alive. ``clean`` removes every segment
and semaphore of instances that are not, and never touches a live one.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field

import posix_ipc

from . import naming, procinfo, shm
from .ring import header as H


@dataclass
class Instance:
    name: str
    segments: list[str] = field(default_factory=list)  # /dev/shm file names
    semaphores: list[str] = field(default_factory=list)
    owners: set[tuple[int, int]] = field(default_factory=set)

    @property
    def alive(self) -> bool:
        return any(procinfo.alive(pid, ticks) for pid, ticks in self.owners)

    @property
    def owner_pids(self) -> list[int]:
        return sorted({pid for pid, _ in self.owners})


def _owner(filename: str):
    try:
        with open(os.path.join(shm.SHM_DIR, filename), "rb") as f:
            pre = f.read(H.PREAMBLE_LENGTH)
    except OSError:
        return None
    if len(pre) < H.PREAMBLE_LENGTH:
        return None
    pid, ticks = struct.unpack_from("<qq", pre, H.OWNER_PID_OFFSET)
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
        inst = found.setdefault(parsed[0], Instance(parsed[0]))
        if parsed[1] == "sem":
            inst.semaphores.append(filename)
            continue
        inst.segments.append(filename)
        owner = _owner(filename)
        if owner and owner[0] > 0:
            inst.owners.add(owner)
    return found


def remove(inst: Instance) -> list[str]:
    """Unlink everything of ``inst``; returns the names removed."""
    removed = []
    for filename in inst.segments:
        if shm.unlink(filename):
            removed.append(filename)
    for filename in inst.semaphores:
        try:
            posix_ipc.unlink_semaphore("/" + filename[len("sem."):])
            removed.append(filename)
        except posix_ipc.ExistentialError:
            pass
    return removed


def clean(only: str | None = None) -> dict[str, list[str]]:
    """Remove the leftovers of dead instances (or of ``only``, if dead). Live ones are kept."""
    result = {}
    for name, inst in scan().items():
        if only is not None and name != only:
            continue
        if not inst.alive:
            result[name] = remove(inst)
    return result
