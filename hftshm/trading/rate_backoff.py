"""Backing off when the venue pushes back, without I/O: rate-limit answers in, a pause and (when
they repeat) a halt cause out.

Binance (web-socket-api.md "Rate limits", errors.md -1003 / -1015): a request over a limit is
answered with HTTP status 429 and code -1003 (request weight) or -1015 (too many new orders), is
not executed, and carries ``error.data.retryAfter`` (ms since the epoch) when the ban lifts; 418
means the IP was banned for repeating that. Every answer may carry ``rateLimits``: the windows
the request counted in, each ``{"rateLimitType", "interval", "intervalNum", "limit", "count"}``.

Policy (the router asks ``blocked(now)`` before each new order; cancels and status queries
always go out, they only reduce risk or resolve an unknown):

* a rate-limit answer pauses new orders until the later of its ``retryAfter`` and
  ``now + base_ms * 2^(k-1)`` (``k``: such answers in the last ``WINDOW_NS``), at most ``max_ms``;
* an answer whose ``rateLimits`` shows an ORDERS or REQUEST_WEIGHT window already at its limit
  pauses new orders until that window ends (windows are aligned to the clock, as Binance counts
  them), before the venue has to refuse anything; this pause is not a rate-limit answer;
* a rate-limit answer that arrives while a pause holds answers a request sent before it
  (orders are pipelined): it may lengthen the pause but does not count as a new push;
* ``halt_after`` rate-limit answers that each came after the previous pause had ended, within
  ``WINDOW_NS``, or one 418, return the halt cause ``VENUE_RATE_HALT``: backing off did not
  help, trading stops until someone looks.
"""

from __future__ import annotations

from collections import deque

from ..risk import reasons as R

RATE_CODES = (-1003, -1015)
WINDOW_NS = 60_000_000_000
_INTERVAL_MS = {"SECOND": 1_000, "MINUTE": 60_000, "HOUR": 3_600_000, "DAY": 86_400_000}


def is_rate_limit(status: int, code: int) -> bool:
    return code in RATE_CODES or status in (429, 418)


class RateBackoff:
    def __init__(self, base_ms: int = 1000, max_ms: int = 60_000, halt_after: int = 3):
        self.base_ns = base_ms * 1_000_000
        self.max_ns = max_ms * 1_000_000
        self.halt_after = halt_after
        self.until_ns = 0  # new orders wait until then
        self.recent: deque[int] = deque()  # times of the rate-limit answers in the last WINDOW_NS
        self.hits = 0  # rate-limit answers, ever
        self.pauses = 0  # pauses started (by an answer or by a full window)
        self.last_code = 0

    def blocked(self, now_ns: int) -> bool:
        return now_ns < self.until_ns

    def _pause(self, until_ns: int) -> None:
        if until_ns > self.until_ns:
            self.until_ns = until_ns
            self.pauses += 1

    def on_answer(self, status: int, code: int, retry_after_ms: int, rate_limits, now_ns: int) -> int:
        """Feed one venue answer's status, error code, ``retryAfter`` (0: none) and
        ``rateLimits`` (or None). Returns a halt cause, or OK."""
        if rate_limits:
            self._windows(rate_limits, now_ns)
        if not is_rate_limit(status, code):
            return R.OK
        self.hits += 1
        self.last_code = code or status
        if now_ns < self.until_ns and status != 418:
            # already backing off: the answer to a request sent before we knew (orders are
            # pipelined), not a new push: it may lengthen the pause, it does not escalate
            if retry_after_ms > 0:
                self._pause(min(retry_after_ms * 1_000_000, now_ns + self.max_ns))
            return R.OK
        recent = self.recent
        recent.append(now_ns)
        while recent and now_ns - recent[0] > WINDOW_NS:
            recent.popleft()
        wait = min(self.base_ns << min(len(recent) - 1, 20), self.max_ns)
        until = now_ns + wait
        if retry_after_ms > 0:
            until = max(until, min(retry_after_ms * 1_000_000, now_ns + self.max_ns))
        self._pause(until)
        if status == 418 or len(recent) >= self.halt_after:
            return R.VENUE_RATE_HALT
        return R.OK

    def _windows(self, rate_limits, now_ns: int) -> None:
        now_ms = now_ns // 1_000_000
        for w in rate_limits:
            try:
                count, limit = int(w.get("count", -1)), int(w["limit"])
                length = _INTERVAL_MS[w["interval"]] * int(w.get("intervalNum", 1))
            except (KeyError, TypeError, ValueError, AttributeError):
                continue  # a window we cannot read: the venue's own answer will still stop us
            if w.get("rateLimitType") in ("ORDERS", "REQUEST_WEIGHT") and limit > 0 and count >= limit:
                self._pause((now_ms - now_ms % length + length) * 1_000_000)
