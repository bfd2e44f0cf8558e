"""Where execution's API key and secret come from; they are never printed, logged or journaled.

Sources, in order: ``HFTSHM_API_KEY`` + ``HFTSHM_API_SECRET``; the ``[execution] key_file`` (two
lines, key then secret; refused unless its mode is 0600 or stricter); with the simulator and
neither, the simulator's demo key. Real Binance without a key is an error.

Only the execution worker holds them. The supervisor (and the trading instance of tests and
benchmarks) reads them once at start (``Handover.take``), removing the two variables from its own
environment, so that no child inherits them; every worker's environment is written without them
(``hftshm.runtime.worker_env``). Execution alone gets them through a pipe: the instance writes them
into a fresh pipe (``Handover.pipe``), closes its end and passes the read end to the execution
process (``pass_fds``) with its number in ``HFTSHM_CREDENTIALS_FD``;
``load`` reads it and closes it. Nothing of it is on a command line, in an environment, or in a
file other than the operator's key file.
"""

from __future__ import annotations

import ctypes
import os
import stat

from ..exchange.config import DEFAULT_API_KEY, DEFAULT_API_SECRET
from ..runtime.worker_env import API_KEY as ENV_KEY
from ..runtime.worker_env import API_SECRET as ENV_SECRET
from ..runtime.worker_env import CREDENTIALS_FD as ENV_FD
from ..venues.binance_spot.signing import Signer

_PR_SET_DUMPABLE = 4


class CredentialsError(ValueError):
    """Missing or unsafe credentials (the message never contains them)."""


class Handover:
    """The key pair held by the process that starts execution, to hand it over at every start."""

    __slots__ = ("_pair",)

    def __init__(self, pair: tuple[str, str] | None):
        self._pair = pair  # None: the simulator's demo key

    def __repr__(self) -> str:
        return f"<credentials {'given' if self._pair else 'none (demo key)'}>"

    @classmethod
    def take(cls, venue_kind: str, key_file: str = "", environ=os.environ, pop: bool = True,
             required: bool = True) -> "Handover":
        """Read the key pair from ``environ`` (removing both variables from it when ``pop``) or
        from ``key_file``. Raises CredentialsError if ``required`` and a real venue has none."""
        get = environ.pop if pop else environ.get
        key, secret = get(ENV_KEY, None), get(ENV_SECRET, None)
        if key and secret:
            return cls((key, secret))
        if (key or secret) and required:
            raise CredentialsError(f"set both {ENV_KEY} and {ENV_SECRET}, or neither")
        if key_file:
            return cls(read_key_file(key_file))
        if venue_kind != "sim" and required:
            raise CredentialsError(f"no API key: set {ENV_KEY} and {ENV_SECRET}, or [execution] key_file")
        return cls(None)

    def pipe(self) -> int:
        """A pipe's read end holding the pair: pass it to the child with ``pass_fds`` (its number
        in ``WorkerEnv.credentials_fd``) and close it in the parent once the child has started."""
        data = "" if self._pair is None else f"{self._pair[0]}\n{self._pair[1]}\n"
        r, w = os.pipe()  # both ends close-on-exec; pass_fds opens r to the one child
        try:
            os.write(w, data.encode())  # a few hundred bytes at most: fits the pipe's buffer
        finally:
            os.close(w)
        return r


def load(venue_kind: str, key_file: str = "", env=os.environ) -> Signer:
    """The execution worker's signer. Under the supervisor: the pair from the pipe in
    ``HFTSHM_CREDENTIALS_FD`` (or the simulator's demo key if it carries none). A worker run by
    hand: the sources listed at the top."""
    fd = env.pop(ENV_FD, None)
    if fd is not None:
        pair = _read_pipe(fd)
        _not_dumpable()
        if pair is not None:
            return Signer(*pair)
        if venue_kind == "sim":
            return Signer(DEFAULT_API_KEY, DEFAULT_API_SECRET)
        raise CredentialsError(f"no API key: set {ENV_KEY} and {ENV_SECRET}, or [execution] key_file")
    key, secret = env.get(ENV_KEY), env.get(ENV_SECRET)
    if key and secret:
        return Signer(key, secret)
    if key_file:
        return Signer(*read_key_file(key_file))
    if venue_kind == "sim":
        return Signer(DEFAULT_API_KEY, DEFAULT_API_SECRET)
    raise CredentialsError(f"no API key: set {ENV_KEY} and {ENV_SECRET}, or [execution] key_file")


def _read_pipe(fd_text: str) -> tuple[str, str] | None:
    try:
        fd = int(fd_text)
    except ValueError:
        raise CredentialsError(f"{ENV_FD} is not a file descriptor number") from None
    chunks = []
    try:
        while chunk := os.read(fd, 4096):
            chunks.append(chunk)
    except OSError as exc:
        raise CredentialsError(f"cannot read the credentials pipe ({ENV_FD}={fd}): {exc.strerror}") from None
    finally:
        try:
            os.close(fd)
        except OSError:
            pass
    lines = b"".join(chunks).decode().split("\n")
    if lines[:1] == [""]:
        return None
    if len(lines) != 3 or not lines[0] or not lines[1]:
        raise CredentialsError(f"the credentials pipe ({ENV_FD}) holds no key pair")
    return lines[0], lines[1]


def _not_dumpable() -> None:
    """Make this process's memory and /proc files unreadable to other processes of the same
    user (PR_SET_DUMPABLE 0: no ptrace, /proc/PID/mem and environ owned by root; no core file)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: nothing to harden here


def read_key_file(path: str) -> tuple[str, str]:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise CredentialsError(f"key file {path} does not exist") from None
    except PermissionError:
        raise CredentialsError(f"key file {path}: permission denied") from None
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise CredentialsError(f"key file {path} has mode {stat.S_IMODE(st.st_mode):04o}: others can read it; "
                               f"chmod 600 {path}")
    try:
        with open(path) as f:
            lines = [ln.strip() for ln in f.read().splitlines() if ln.strip()]
    except OSError as exc:
        raise CredentialsError(f"key file {path}: {exc.strerror}") from None
    if len(lines) != 2:
        raise CredentialsError(f"key file {path}: expected two lines (API key, then secret)")
    return lines[0], lines[1]
