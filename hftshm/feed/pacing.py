"""Reconnect backoff and the outgoing-message budget: small pure classes, clocks passed in."""

from __future__ import annotations

import random


class Backoff:
    """Exponential backoff with full jitter: the n-th delay is uniform in [min, min * 2**n],
    capped at ``max_s``. Jitter keeps many clients (or workers) from reconnecting in step."""

    def __init__(self, min_s: float, max_s: float, rng: random.Random | None = None):
        if not 0 < min_s <= max_s:
            raise ValueError(f"backoff needs 0 < min <= max, got min={min_s!r} max={max_s!r}")
        self.min_s = min_s
        self.max_s = max_s
        self.failures = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        ceiling = min(self.max_s, self.min_s * 2.0 ** min(self.failures, 60))
        self.failures += 1
        return self._rng.uniform(self.min_s, ceiling)

    def reset(self) -> None:
        self.failures = 0


class OutgoingBudget:
    """A token bucket for messages sent on one market connection: Binance closes a connection
    sending more than 5 a second (web-socket-streams.md "Websocket Limits"; pings and pongs
    count). ``rate`` tokens a second, at most ``rate`` held; ``try_take(now)`` spends one."""

    def __init__(self, rate: float, now: float):
        if rate <= 0:
            raise ValueError(f"outgoing rate must be > 0 messages/s, got {rate!r}")
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self._at = now

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + max(0.0, now - self._at) * self.rate)
        self._at = now

    def try_take(self, now: float) -> bool:
        self._refill(now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def delay(self, now: float) -> float:
        """Seconds until ``try_take`` would succeed."""
        self._refill(now)
        return max(0.0, (1.0 - self.tokens) / self.rate)
