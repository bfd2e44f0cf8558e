"""Process identity that survives pid reuse: (pid, start time in clock ticks since boot)."""

from __future__ import annotations

import os


def start_ticks(pid: int) -> int:
    """Field 22 of /proc/<pid>/stat, or -1 if the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return -1
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = stat[stat.rindex(b")") + 2 :].split()
    if fields[0] == b"Z":  # a zombie has exited; only its exit status remains
        return -1
    return int(fields[19])


def alive(pid: int, ticks: int) -> bool:
    """True while the process that had ``pid`` at ``ticks`` still runs (zombies count as dead)."""
    if pid <= 0:
        return False
    now = start_ticks(pid)
    return now != -1 and (ticks <= 0 or now == ticks)


def me() -> tuple[int, int]:
    pid = os.getpid()
    return pid, start_ticks(pid)


def user_name(uid: int) -> str:
    """The login name of ``uid`` (its number if it has none)."""
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except (KeyError, OverflowError):
        return str(uid)


def file_owner(path) -> str:
    """The login name of the user owning ``path``, or '?' if it cannot be seen."""
    try:
        return user_name(os.stat(path).st_uid)
    except OSError:
        return "?"
