"""Market-stream control messages: SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY,
GET_PROPERTY (web-socket-streams.md "Live Subscribing/Unsubscribing to streams").

Success is ``{"result": <null | list | bool>, "id": <id>}``; an error is
``{"error": {"code": <0..3>, "msg": <text>}, "id": <id>}`` with the codes and texts of that
section's "Error Messages" table. Where the table has no entry (an unknown stream name, more
than the 1024 streams a connection may hold) the simulator answers code 2 with a message naming
the problem and leaves the subscriptions unchanged. Pure: text and state in, response out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

import orjson

METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")
ID_STRING_RE = re.compile(r"^[A-Za-z0-9]{1,36}$")
INT64 = 1 << 63


@dataclass
class StreamSession:
    combined: bool
    streams: dict[str, None] = field(default_factory=dict)  # an ordered set

    def names(self) -> list[str]:
        return list(self.streams)


class ControlError(Exception):
    def __init__(self, code: int, msg: str):
        super().__init__(msg)
        self.code = code
        self.msg = msg


def _invalid(msg: str) -> ControlError:
    return ControlError(2, f"Invalid request: {msg}")


def handle(text: str | bytes, session: StreamSession, check: Callable[[str], None],
           max_streams: int) -> dict:
    """The response to one control message; ``check(name)`` raises ValueError for a stream
    the server does not serve."""
    req_id = None
    try:
        try:
            req = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise ControlError(3, f"Invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
        if not isinstance(req, dict):
            raise _invalid("expected a JSON object")
        if "method" not in req:
            raise _invalid("missing field `method`")
        if "id" not in req:
            raise _invalid("request ID must be an unsigned integer")
        req_id = req["id"]
        valid_int = isinstance(req_id, int) and not isinstance(req_id, bool) and -INT64 <= req_id < INT64
        valid_str = isinstance(req_id, str) and ID_STRING_RE.match(req_id)
        if not (req_id is None or valid_int or valid_str):
            req_id = None
            raise _invalid("request ID must be an unsigned integer")
        method = req["method"]
        if method not in METHODS:
            expected = ", ".join(f"`{m}`" for m in METHODS)
            raise _invalid(f"unknown variant `{method}`, expected one of {expected}")
        params = req.get("params", [])
        if not isinstance(params, list):
            raise _invalid("params must be an array")
        result = _run(method, params, session, check, max_streams)
    except ControlError as exc:
        return {"error": {"code": exc.code, "msg": exc.msg}, "id": req_id}
    return {"result": result, "id": req_id}


def _run(method: str, params: list, session: StreamSession, check, max_streams: int):
    if method == "LIST_SUBSCRIPTIONS":
        if params:
            raise _invalid("too many parameters")
        return session.names()
    if method in ("SET_PROPERTY", "GET_PROPERTY"):
        want = 2 if method == "SET_PROPERTY" else 1
        if len(params) > want:
            raise _invalid("too many parameters")
        if not params or not isinstance(params[0], str):
            raise _invalid("property name must be a string")
        if params[0] != "combined":
            raise ControlError(0, "Unknown property")
        if method == "GET_PROPERTY":
            return session.combined
        if len(params) < 2 or not isinstance(params[1], bool):
            raise ControlError(1, "Invalid value type: expected Boolean")
        session.combined = params[1]
        return None
    names = []
    for name in params:
        try:
            check(name)
        except ValueError as exc:
            raise _invalid(str(exc)) from None
        names.append(name)
    if method == "SUBSCRIBE":
        total = len(set(session.streams) | set(names))
        if total > max_streams:
            raise _invalid(f"too many streams: a connection can listen to at most {max_streams}, "
                           f"this request would make {total}")
        for name in names:
            session.streams[name] = None
    else:
        for name in names:
            session.streams.pop(name, None)
    return None
