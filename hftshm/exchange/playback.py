"""Replay of a capture to one market-stream connection (see ``loaded_capture.py`` for the format).

Every connection gets the recording from its first frame, at the recorded pace scaled by
``speed``: frames whose receive time (relative to the first) has come are sent together, then it
sleeps until the next is due; at infinite speed it sends batches as fast as the transport's flow
control lets it. Combined connections get the recorded envelopes, raw ones the payloads.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import time
from collections import defaultdict

from websockets.exceptions import ConnectionClosed

from .connection import MarketPeer, Stats
from .loaded_capture import Capture

BATCH = 2048


async def play(peer: MarketPeer, cap: Capture, speed: float, count: int | None, gap: int,
               stats: Stats, wall: bool = False) -> None:
    """Play ``cap`` to one connection from its start, at ``speed`` (inf: as fast as it takes
    them), filtered by the connection's current streams, at most ``count`` frames; with
    ``gap`` every Nth trade and depth frame is skipped. ``wall``: the frames' ``recv_ns`` are
    the wall-clock times they are due (replay with orders: one schedule for every connection)."""
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
            if wall:
                j = bisect.bisect_right(stamps, time.time_ns(), lo=i)
                if j == i:
                    await asyncio.sleep(max(stamps[i] - time.time_ns(), 0) / 1e9)
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
            encoded = cap.encoded(combined)
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
            chosen = [encoded[k] for k in picked]
            if peer.malformer is not None:
                bodies = [frames[k].combined if combined else frames[k].data for k in picked]
                chosen = peer.malformer.apply(bodies, chosen)
            stats.messages += len(picked)
            peer.write(chosen)
            await peer.drain()  # flow control: send the next batch once these are taken
            i = j
    except ConnectionClosed:
        pass
