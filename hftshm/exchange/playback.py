"""Replay of a capture to one market-stream connection (see ``loaded_capture.py`` for the format).

Every connection gets the recording from its first frame, at the recorded pace scaled by
``speed``: frames whose receive time (relative to the first) has come are sent together, then it
sleeps until the next is due; at infinite speed it sends batches as fast as the transport's flow
control lets it. Combined connections get the recorded envelopes, raw ones the payloads.

With orders (``Applied``), the venue's clock decides instead: a frame goes out once the venue has
applied it, its ``E``/``T`` stamped with the time it did (``replay_trading.py``).
"""

from __future__ import annotations

import asyncio
import bisect
import math
import re
from collections import defaultdict

from websockets.exceptions import ConnectionClosed

from .connection import MarketPeer, Stats
from .loaded_capture import Capture, Frame
from .wsframe import text_frame

BATCH = 2048
_TIME = re.compile(rb'"([ET])":\d+')


def stamped(frame: Frame, ms: int, combined: bool) -> bytes:
    """``frame``'s envelope (``combined``) or payload with its ``E``/``T`` set to ``ms``."""
    data = _TIME.sub(b'"\\1":%d' % ms, frame.data)
    if not combined:
        return data
    return frame.combined[: len(frame.combined) - len(frame.data) - 1] + data + b"}"


class Applied:
    """Replay with orders: how many frames of ``cap`` the venue has applied (``ms``: each one's
    venue time, ms), the frames as sent (``sent``), and a wake-up for the connections waiting to
    send them (``notify``, called by the venue after each step)."""

    def __init__(self, cap: Capture, applied_ms: list[int]):
        self.frames = cap.frames
        self.ms = applied_ms  # the venue's own list, grown as it applies frames
        self._sent: dict[bool, list[tuple[bytes, bytes]]] = {True: [], False: []}
        self._changed: asyncio.Future | None = None

    def sent(self, k: int, combined: bool) -> tuple[bytes, bytes]:
        """Applied frame ``k`` as sent, envelope or payload: (body, WebSocket text frame), built
        once for every connection."""
        built = self._sent[combined]
        while len(built) <= k:
            body = stamped(self.frames[len(built)], self.ms[len(built)], combined)
            built.append((body, text_frame(body)))
        return built[k]

    def notify(self) -> None:
        if self._changed is not None and not self._changed.done():
            self._changed.set_result(None)
        self._changed = None

    async def wait(self, n: int) -> None:
        """Until more than ``n`` frames are applied."""
        while len(self.ms) <= n:
            if self._changed is None:
                self._changed = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._changed)  # (one waiter cancelled must not cancel the others)


async def play(peer: MarketPeer, cap: Capture, speed: float, count: int | None, gap: int,
               stats: Stats, applied: Applied | None = None) -> None:
    """Play ``cap`` to one connection from its start, at ``speed`` (inf: as fast as it takes
    them), filtered by the connection's current streams, at most ``count`` frames; with
    ``gap`` every Nth trade and depth frame is skipped. ``applied``: replay with orders: each
    frame once the venue has applied it, its ``E``/``T`` saying when."""
    frames = cap.frames
    stamps = [f.recv_ns for f in frames]
    t0 = stamps[0]
    loop = asyncio.get_running_loop()
    start = loop.time()
    left = count if count is not None else math.inf
    seen: dict[str, int] = defaultdict(int)
    i, n = 0, len(frames)
    try:
        while i < n and left > 0:
            if applied is not None:
                j = len(applied.ms)
                if j == i:
                    await applied.wait(i)
                    continue
            elif math.isinf(speed):
                j = min(n, i + BATCH)
            else:
                due = t0 + (loop.time() - start) * speed * 1e9
                j = bisect.bisect_right(stamps, due, lo=i)
                if j == i:
                    await asyncio.sleep((stamps[i] - t0) / speed / 1e9 - (loop.time() - start))
                    continue
            wanted = peer.session.streams
            combined = peer.session.combined
            encoded = cap.encoded(combined) if applied is None else None
            picked = []
            for k in range(i, j):
                stream = frames[k].stream
                if stream not in wanted:
                    continue
                if gap:
                    kind = stream.partition("@")[2].partition("@")[0]
                    if kind in ("trade", "depth"):
                        seen[kind] += 1
                        if seen[kind] % gap == 0:
                            continue
                picked.append(k)
                if len(picked) >= left:
                    break
            left -= len(picked)
            if applied is not None:
                sent = [applied.sent(k, combined) for k in picked]
                bodies, chosen = [b for b, _ in sent], [f for _, f in sent]
            else:
                bodies = None
                chosen = [encoded[k] for k in picked]
            if peer.malformer is not None:
                if bodies is None:
                    bodies = [frames[k].combined if combined else frames[k].data for k in picked]
                chosen = peer.malformer.apply(bodies, chosen)
            stats.messages += len(picked)
            peer.write(chosen)
            await peer.drain()  # flow control: send the next batch once these are taken
            i = j
    except ConnectionClosed:
        pass
