"""Names of an instance's shared objects in /dev/shm, all under one per-instance prefix.

    hftshm.<instance>.ctl            instance control block (supervisor, workers)
    hftshm.<instance>.lat            latency histograms
    hftshm.<instance>.r.<ring>       a ring
    sem.hftshm.<instance>.s.<wake>   a blocking wait strategy's wake-up semaphore (posix_ipc)
    \\0hftshm.<instance>.f.<token>   an fd wait's wake-up socket (abstract: not in /dev/shm)

Wake-up names (``<wake>``, ``<token>``) are random (``wake_token``): any local user can create
a semaphore or bind an abstract socket of any name, so a name anyone could predict could be
taken first. The random name is kept only in the reader slot, in owner-only shared memory.

Two instances never collide because their names differ; ``hftshm start`` refuses a name that a
live instance holds. Names are restricted so that the dots above stay unambiguous.
"""

from __future__ import annotations

import os
import re
import secrets

from .errors import RingConfigError

PREFIX = "hftshm"
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,24}$")


def check_name(what: str, name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise RingConfigError(f"bad {what} name {name!r}: use 1-24 letters, digits, '_' or '-'")
    return name


def ring_segment(instance: str, ring: str) -> str:
    return f"{PREFIX}.{check_name('instance', instance)}.r.{check_name('ring', ring)}"


def control_segment(instance: str) -> str:
    return f"{PREFIX}.{check_name('instance', instance)}.ctl"


def latency_segment(instance: str) -> str:
    return f"{PREFIX}.{check_name('instance', instance)}.lat"


def semaphore(instance: str, wake: str) -> str:
    """``wake`` is short (it is stored in a reader slot): ``w<token>``."""
    return f"/{PREFIX}.{instance}.s.{wake}"


def wake_token() -> str:
    """An unguessable wake-up name part: 96 random bits as 24 hex digits (fits a reader slot's
    32-byte wake field with its one-letter prefix)."""
    return secrets.token_hex(12)


def default_instance() -> str:
    """A fresh name per run, ``i<pid>-<6 random hex digits>``: two `hftshm start` runs never share
    segments by accident, and no other user can take the name first (a name anyone can predict,
    another user could hold with a leftover object of theirs that only they can remove)."""
    return f"i{os.getpid()}-{secrets.token_hex(3)}"


def parse(filename: str):
    """Split a /dev/shm file name into (instance, what, rest) or None if it is not ours.

    ``what`` is 'ring', 'ctl', 'lat' or 'sem'.
    """
    is_sem = filename.startswith("sem.")
    name = filename[4:] if is_sem else filename
    parts = name.split(".")
    if len(parts) < 3 or parts[0] != PREFIX:
        return None
    instance = parts[1]
    if is_sem:
        return (instance, "sem", ".".join(parts[3:])) if parts[2] == "s" else None
    if parts[2] == "r" and len(parts) == 4:
        return instance, "ring", parts[3]
    if parts[2] in ("ctl", "lat") and len(parts) == 3:
        return instance, parts[2], ""
    return None
