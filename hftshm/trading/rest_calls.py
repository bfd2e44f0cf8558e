"""The REST calls an order protocol asks for (Bybit's order queries: ``HttpRequest`` effects among
its frames, ``is_rest``), made off the event loop for the execution worker.

Each call runs in a thread (``urllib``; the socket wait must not hold the loop) and its answer,
``req.answer_frame(status, body)``, goes to ``deliver`` on the loop, which hands it to the
router like any venue frame. A call that fails (no connection, timeout) is answered with HTTP
status 0 and no body: the protocol treats it as no answer and asks again when the order's
deadline passes (reconciliation fails closed at its own deadline). Never a resend of an order:
these are questions only.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.error
import urllib.request

from websockets.exceptions import ConnectionClosed

log = logging.getLogger("hftshm.execution")
TIMEOUT_S = 5.0
MAX_BODY = 4 << 20


def is_rest(frame) -> bool:
    """A REST call the protocol wants made (Bybit's ``HttpRequest``), not a WebSocket frame."""
    return not isinstance(frame, (bytes, str))


def fetch(req, base: str, timeout_s: float = TIMEOUT_S) -> bytes:
    """``req`` made against ``base``: its answer frame (status 0 when no answer came)."""
    request = urllib.request.Request(req.url(base), headers={"Accept": "application/json", **req.headers},
                                     method=req.method)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as resp:
            return req.answer_frame(resp.status, resp.read(MAX_BODY))
    except urllib.error.HTTPError as exc:
        return req.answer_frame(exc.code, exc.read(MAX_BODY))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        log.warning("REST %s %s failed: %s", req.method, req.path, getattr(exc, "reason", None) or exc)
        return req.answer_frame(0, b"")


class RestCalls:
    """``split(frames)``: the WebSocket frames to send, each REST call among them started
    (``start``: made in a thread, then ``await deliver(answer_frame)``); ``close()`` cancels what
    is still out (a session that ends)."""

    def __init__(self, base: str, deliver, timeout_s: float = TIMEOUT_S):
        self.base, self.deliver, self.timeout_s = base, deliver, timeout_s
        self.tasks: set[asyncio.Task] = set()

    def split(self, frames) -> list:
        out = []
        for frame in frames:
            if is_rest(frame):
                self.start(frame)
            else:
                out.append(frame)
        return out

    def start(self, req) -> None:
        task = asyncio.get_running_loop().create_task(self._call(req))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _call(self, req) -> None:
        answer = await asyncio.to_thread(fetch, req, self.base, self.timeout_s)
        try:
            await self.deliver(answer)
        except ConnectionClosed:  # the socket its follow-ups go on closed: the session ends anyway
            log.warning("REST answer to %s: the venue connection closed meanwhile", req.req_id)

    async def close(self) -> None:
        for t in list(self.tasks):
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
