"""Where execution's API key and secret come from; they are never printed, logged or journaled.

In order: ``HFTSHM_API_KEY`` + ``HFTSHM_API_SECRET``; the ``[execution] key_file`` (two lines,
key then secret; refused unless its mode is 0600 or stricter); with the simulator and neither,
the simulator's demo key. Real Binance without a key is an error.
"""

from __future__ import annotations

import os
import stat

from ..exchange.config import DEFAULT_API_KEY, DEFAULT_API_SECRET
from .signing import Signer


class CredentialsError(ValueError):
    """Missing or unsafe credentials (the message never contains them)."""


def load(venue_kind: str, key_file: str = "", env=os.environ) -> Signer:
    key, secret = env.get("HFTSHM_API_KEY"), env.get("HFTSHM_API_SECRET")
    if key and secret:
        return Signer(key, secret)
    if key_file:
        return Signer(*read_key_file(key_file))
    if venue_kind == "sim":
        return Signer(DEFAULT_API_KEY, DEFAULT_API_SECRET)
    raise CredentialsError("no API key: set HFTSHM_API_KEY and HFTSHM_API_SECRET, or [execution] key_file")


def read_key_file(path: str) -> tuple[str, str]:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise CredentialsError(f"key file {path} does not exist") from None
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise CredentialsError(f"key file {path} has mode {stat.S_IMODE(st.st_mode):04o}: others can read it; "
                               f"chmod 600 {path}")
    lines = [ln.strip() for ln in open(path).read().splitlines() if ln.strip()]
    if len(lines) != 2:
        raise CredentialsError(f"key file {path}: expected two lines (API key, then secret)")
    return lines[0], lines[1]
