"""WebSocket API rate limits (web-socket-api.md "Rate limits").

Fixed windows aligned to the clock, as Binance counts them ("a 1 MINUTE interval starts every
minute"): REQUEST_WEIGHT per minute, shared by every connection (they all come from one IP), and
ORDERS per 10 seconds and per day for the one account. Going over answers 429 with -1003 (weight)
or -1015 (orders) and a ``retryAfter`` time, and the request is not executed.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import SimLimits
from .errors import ApiError


@dataclass
class _Window:
    kind: str  # rateLimitType
    interval: str
    num: int
    limit: int
    length_ms: int
    start: int = -1
    count: int = 0

    def roll(self, now_ms: int) -> None:
        start = now_ms - now_ms % self.length_ms
        if start != self.start:
            self.start, self.count = start, 0

    def view(self, with_count: bool = True) -> dict:
        out = {"rateLimitType": self.kind, "interval": self.interval, "intervalNum": self.num,
               "limit": self.limit}
        if with_count:
            out["count"] = self.count
        return out


class RateLimits:
    def __init__(self, limits: SimLimits):
        self.weight = _Window("REQUEST_WEIGHT", "MINUTE", 1, limits.weight_per_minute, 60_000)
        self.orders_10s = _Window("ORDERS", "SECOND", 10, limits.orders_per_10s, 10_000)
        self.orders_day = _Window("ORDERS", "DAY", 1, limits.orders_per_day, 86_400_000)

    def charge(self, weight: int, order: bool, now_ms: int) -> list[dict]:
        """Count one request; returns its ``rateLimits`` array, or raises a 429 ApiError
        carrying that array in ``.rate_limits``."""
        windows = [self.orders_10s, self.orders_day, self.weight] if order else [self.weight]
        for w in windows:
            w.roll(now_ms)
        self.weight.count += weight
        if self.weight.count > self.weight.limit:
            raise self._too_many(
                -1003,
                f"Too much request weight used; current limit is {self.weight.limit} request weight "
                f"per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.",
                self.weight, windows, now_ms)
        if order:
            for w in (self.orders_10s, self.orders_day):
                w.count += 1
            for w in (self.orders_10s, self.orders_day):
                if w.count > w.limit:
                    raise self._too_many(
                        -1015, f"Too many new orders; current limit is {w.limit} orders per {w.num} {w.interval}.",
                        w, windows, now_ms)
        return [w.view() for w in windows]

    def _too_many(self, code: int, msg: str, window: _Window, windows: list, now_ms: int) -> ApiError:
        err = ApiError(code, msg, status=429,
                       data={"serverTime": now_ms, "retryAfter": window.start + window.length_ms})
        err.rate_limits = [w.view() for w in windows]
        return err

    def connect(self, now_ms: int) -> None:
        """Opening a WebSocket API connection costs 2 weight."""
        self.weight.roll(now_ms)
        self.weight.count += 2

    def exchange_info(self) -> list[dict]:
        """exchangeInfo ``rateLimits`` (limits only)."""
        return [self.weight.view(False), self.orders_10s.view(False), self.orders_day.view(False),
                {"rateLimitType": "CONNECTIONS", "interval": "MINUTE", "intervalNum": 5, "limit": 300}]
