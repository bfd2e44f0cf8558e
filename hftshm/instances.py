"""Instances on this machine, found by their names in /dev/shm, and removing dead ones' leftovers.

An instance is alive while the process that created any of its segments (the owner pid and start
ticks in every segment's preamble, see ``ring.header``) is alive. ``clean`` removes every segment
and semaphore of instances that are not, and never touches a live one.

Every object is owner-only (0600), so another OS user (not root) can list an instance's names and
owner but not read its preamble: such an instance's state is ``unknown``, never ``dead``. Each
user cleans only their own instances; another user's, live or dead, is left alone.

Several venues in one instance: a group ``G`` is the live instances named ``G-<venue>`` (venue
names match ``VENUE_NAME``) that one process created, so that every segment of every one of them
carries that process as its owner (pid and start ticks). At least two are needed: one instance
named ``x-y`` alone is an ordinary instance, and so are ``x-y`` and ``x-z`` made by two
processes. To users a venue's ring is ``venue:ring`` and its instrument ``venue:SYMBOL``.
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import posix_ipc

from . import config_schema, naming, procinfo, shm
from . import preamble as P
from .errors import InstanceError


LIVE, DEAD, UNKNOWN = "live", "dead", "unknown"
VENUE_NAME = re.compile(rf"^{config_schema.VENUE_NAME}$")  # a [[venues]] name
QUALIFIER = ":"  # venue:ring, venue:SYMBOL


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


# --- groups: several venues in one instance -----------------------------------------------------


@dataclass(frozen=True)
class Group:
    """Instances ``<name>-<venue>``, one per venue, all created by the process ``owner``."""

    name: str
    members: Mapping[str, str]  # venue -> instance name, by venue
    owner: tuple[int, int]  # (pid, start ticks) in every segment's preamble

    def __post_init__(self):
        object.__setattr__(self, "members", MappingProxyType(dict(self.members)))

    @property
    def venues(self) -> tuple[str, ...]:
        return tuple(self.members)

    @property
    def instances(self) -> tuple[str, ...]:
        return tuple(self.members.values())

    def instance(self, venue: str) -> str:
        """The instance of ``venue``; InstanceError naming the group's venues if it has none."""
        try:
            return self.members[venue]
        except KeyError:
            raise InstanceError(f"group {self.name!r} has no venue {venue!r} "
                                f"(its venues: {', '.join(self.venues)})") from None

    def split(self, qualified: str) -> tuple[str | None, str]:
        """``'bybit:md'`` -> ``('bybit', 'md')`` (the venue checked); ``'md'`` -> ``(None, 'md')``."""
        venue, sep, rest = qualified.partition(QUALIFIER)
        if not sep:
            return None, qualified
        self.instance(venue)
        return venue, rest


def qualify(venue: str, name: str) -> str:
    """A venue's ring or symbol as users name it: ``bybit:BTCUSDT``."""
    return f"{venue}{QUALIFIER}{name}"


def member_name(name: str) -> tuple[str, str] | None:
    """``'arb-usdm'`` -> ``('arb', 'usdm')``: the (group, venue) a name would have as a member,
    or None if it cannot be one (no dash, or a venue part that is not a venue name)."""
    group, sep, venue = name.rpartition("-")
    if not sep or not group or not VENUE_NAME.match(venue):
        return None
    return group, venue


def _candidates(found: dict[str, Instance]) -> dict[str, list[Group]]:
    """Group name -> every set of two or more live ``name-<venue>`` instances one process owns."""
    sets: dict[tuple[str, tuple[int, int]], dict[str, str]] = {}
    for name, inst in found.items():
        parts = member_name(name)
        # one readable owner in every segment, and that process runs: a leftover segment of
        # another process (or an unreadable one) makes the instance no member
        if parts is None or inst.unreadable or len(inst.owners) != 1 or not inst.alive:
            continue
        (owner,) = inst.owners
        sets.setdefault((parts[0], owner), {})[parts[1]] = name
    out: dict[str, list[Group]] = {}
    for (group, owner), members in sorted(sets.items()):
        if len(members) >= 2:
            out.setdefault(group, []).append(Group(group, dict(sorted(members.items())), owner))
    return out


def groups(found: dict[str, Instance] | None = None) -> dict[str, Group]:
    """The groups on this machine, by name (``found``: a ``scan()`` to use). A name that two
    processes' instances both claim is left out (``group`` says why)."""
    cands = _candidates(scan() if found is None else found)
    return {name: gs[0] for name, gs in sorted(cands.items()) if len(gs) == 1}


def group(name: str, found: dict[str, Instance] | None = None) -> Group | None:
    """The group ``name``, None if there is none; InstanceError if two processes' instances
    both make a group of that name (each is then reachable by its instances' names only)."""
    gs = _candidates(scan() if found is None else found).get(name, [])
    if len(gs) > 1:
        parts = "; ".join(f"{', '.join(g.instances)} (pid {g.owner[0]})" for g in gs)
        raise InstanceError(f"{len(gs)} processes each run a group named {name!r}: {parts}; "
                            f"name one instance with --instance")
    return gs[0] if gs else None


def by_group(found: dict[str, Instance]) -> list[tuple[Group | None, list[str]]]:
    """Every instance name of ``found``, sorted, each group's members together after the group:
    ``[(group, [its instances]), (None, [a plain instance]), ...]`` (what ``hftshm ls`` lists)."""
    gs = groups(found)
    member_of = {inst: g for g in gs.values() for inst in g.instances}
    rows: list[tuple[str, Group | None, list[str]]] = [(g.name, g, list(g.instances)) for g in gs.values()]
    rows += [(name, None, [name]) for name in found if name not in member_of]
    return [(g, names) for _, g, names in sorted(rows, key=lambda r: r[0])]
