"""Reading WebSocket API request parameters into Python values, with Binance's errors.

Each reader takes the request's ``params`` dict and a name and returns the value or ``None``
(optional and absent), raising ``ApiError`` for a missing mandatory or malformed value.
Decimals are read exactly into 1e-8 units; JSON numbers are accepted as well as strings.
"""

from __future__ import annotations

import re

from hftshm.feed.e8 import parse_e8

from . import errors

DECIMAL_RE = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")  # errors.md -1100's legal range
CLIENT_ID_RE = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")


def _present(params: dict, name: str, required: bool):
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise errors.mandatory(name)
        return None
    return value


def decimal_e8(params: dict, name: str, required: bool = False) -> int | None:
    """``"0.01000000"`` -> 1000000. Up to 20 decimals are accepted as Binance does, but digits
    past the 8th must be zeros (-1111 otherwise)."""
    value = _present(params, name, required)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise errors.illegal_chars(name, DECIMAL_RE.pattern)
    text = value if isinstance(value, str) else repr(value)
    if not DECIMAL_RE.match(text):
        raise errors.illegal_chars(name, DECIMAL_RE.pattern)
    whole, _, frac = text.partition(".")
    if len(frac) > 8:
        if frac[8:].strip("0"):
            raise errors.too_precise(name)
        frac = frac[:8]
    try:
        return parse_e8(f"{whole}.{frac}" if frac else whole)
    except ValueError:  # more than int64 holds in 1e-8 units
        raise errors.invalid_value(name) from None


def integer(params: dict, name: str, required: bool = False, minimum: int | None = None) -> int | None:
    value = _present(params, name, required)
    if value is None:
        return None
    if isinstance(value, bool):
        raise errors.invalid_value(name)
    if isinstance(value, str) and value.isascii() and value.lstrip("-").isdigit():
        value = int(value)
    if not isinstance(value, int):
        raise errors.invalid_value(name)
    if minimum is not None and value < minimum:
        raise errors.invalid_value(name)
    return value


def enum(params: dict, name: str, allowed: tuple[str, ...], error: tuple[int, str],
         required: bool = False) -> str | None:
    value = _present(params, name, required)
    if value is None:
        return None
    if value not in allowed:
        raise errors.error(error)
    return value


def client_id(params: dict, name: str) -> str | None:
    value = _present(params, name, False)
    if value is None:
        return None
    if not isinstance(value, str) or not CLIENT_ID_RE.match(value):
        raise errors.illegal_chars(name, CLIENT_ID_RE.pattern)
    return value


def boolean(params: dict, name: str) -> bool | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise errors.invalid_value(name)
