"""Owner-only files: every directory hftshm creates is 0700 and every file it writes 0600.

Shared memory is 0600 already (``shm.Segment.create``, the semaphores of ``wait.Blocking``). The
supervisor and every ``hftshm`` command run under ``UMASK``, so anything they or their children
create (journals, logs, the simulator's port file, exported files) is owner-only; the helpers
below also fix the mode of a file or directory that an earlier run left with a wider one.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import procinfo
from .errors import AccessDenied

UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600


def restrict_umask() -> int:
    """Make this process (and its children) create owner-only files; returns the old umask."""
    return os.umask(UMASK)


def make_dir(path) -> Path:
    """``path`` and missing parents as 0700 directories; ``path`` itself is made 0700 if it was
    wider (a parent that existed keeps its mode: it is the operator's)."""
    path = Path(path)
    try:
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        os.chmod(path, DIR_MODE)
    except PermissionError as exc:
        where = Path(exc.filename or path)
        owner = procinfo.file_owner(where if where.exists() else where.parent)
        raise AccessDenied(f"cannot create or use directory {path}: permission denied on {where} "
                           f"(owned by user {owner}); choose a data_dir of your own") from None
    return path


def open_file(path, append: bool = True):
    """A binary file opened for writing (appending, or truncated), 0600 even if it existed wider."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC) | os.O_CLOEXEC
    fd = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        return os.fdopen(fd, "ab" if append else "wb")
    except BaseException:
        os.close(fd)
        raise


def write_text(path, text: str) -> None:
    """Replace ``path``'s contents with ``text``; the file is 0600."""
    with open_file(path, append=False) as f:
        f.write(text.encode())
