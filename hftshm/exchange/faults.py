"""Per-connection fault injection on market streams (the server drives drops and stalls).

* malformed: before every Nth market message a connection receives, one extra bad frame, built
  from that message: alternately invalid JSON (the text cut in half) and valid JSON with the
  payload's ``"s"`` field removed. The real message follows, so nothing is lost.
* drop, stall: timers in ``server.py`` (abort the transport; hold frames and flush them later).
* gaps and bursts change what is generated, so they live in ``venue.py`` and ``market.py``.
"""

from __future__ import annotations

import orjson

from .wsframe import text_frame


def malformed(body: bytes, n: int) -> bytes:
    """The ``n``-th bad frame body made from ``body`` (odd: broken JSON, even: no ``"s"``)."""
    if n % 2:
        return body[: max(1, len(body) // 2)]
    obj = orjson.loads(body)
    data = obj["data"] if isinstance(obj.get("data"), dict) else obj
    data.pop("s", None) if "s" in data else data.pop(next(iter(data)), None)
    return orjson.dumps(obj)


class Malformer:
    def __init__(self, every: int):
        self.every = every
        self.seen = 0
        self.made = 0

    def apply(self, bodies: list[bytes], frames: list[bytes]) -> list[bytes]:
        """``frames`` (one per message, with ``bodies`` their texts) with bad frames inserted."""
        first = self.every - self.seen % self.every - 1  # index of the next Nth message
        self.seen += len(frames)
        if first >= len(frames):
            return frames
        out = []
        start = 0
        for i in range(first, len(frames), self.every):
            out.extend(frames[start:i])
            self.made += 1
            out.append(text_frame(malformed(bodies[i], self.made)))
            start = i
        out.extend(frames[start:])
        return out
