"""Latency models: how long an order takes to reach the venue model, and an answer to come back.

``constant``: every order takes ``entry_us`` from intent to the venue, every answer or fill
``response_us`` from the venue event to the strategy, and every intent ``compute_us`` after the
local time of the record that triggered it.

``feed``: the latency follows the market data's own feed latency (local receive minus exchange
time, of the last record with an exchange time the venue model has applied): an order takes
``entry_mult x feed + offset_us`` to the venue, an answer ``response_mult x feed + offset_us``
back, an intent ``compute_us`` after its trigger. A slow feed (a congested link, a busy venue)
then slows orders too.

A model also states its minimum entry and response latency: the engine's batch limits use them
(a strategy batch never runs past the earliest time an answer could arrive).
"""

from __future__ import annotations

from .errors import BacktestError

US = 1_000


class ConstantLatency:
    def __init__(self, entry_us: float = 0, response_us: float = 0, compute_us: float = 0):
        for name, v in (("entry_us", entry_us), ("response_us", response_us), ("compute_us", compute_us)):
            if v < 0:
                raise BacktestError(f"[backtest.latency] {name} must be >= 0, got {v!r}")
        self.entry_ns = int(round(entry_us * US))
        self.response_ns = int(round(response_us * US))
        self.compute_ns = int(round(compute_us * US))
        self.min_entry_ns = self.entry_ns
        self.min_response_ns = self.response_ns

    def entry(self, intent_ns: int) -> int:
        """When an order sent at ``intent_ns`` reaches the venue model."""
        return intent_ns + self.entry_ns

    def response(self, venue_ns: int) -> int:
        """When the strategy sees an answer the venue gave at ``venue_ns``."""
        return venue_ns + self.response_ns

    def compute(self, trigger_local_ns: int) -> int:
        """The intent time of an order triggered by a record seen at ``trigger_local_ns``."""
        return trigger_local_ns + self.compute_ns


class FeedLatency:
    def __init__(self, entry_mult: float, response_mult: float, offset_us: float, compute_us: float = 0):
        self.entry_mult = float(entry_mult)
        self.response_mult = float(response_mult)
        self.offset_ns = int(round(offset_us * US))
        self.compute_ns = int(round(compute_us * US))
        self.feed_ns = 0  # until a record with both times is seen
        self.min_entry_ns = self.offset_ns  # feed latency >= 0
        self.min_response_ns = self.offset_ns

    def observe(self, recv_ns: int, exch_ns: int) -> None:
        """A record the venue model applied; one without an exchange time says nothing."""
        if exch_ns > 0 and recv_ns >= exch_ns:
            self.feed_ns = recv_ns - exch_ns

    def entry(self, intent_ns: int) -> int:
        return intent_ns + int(self.entry_mult * self.feed_ns) + self.offset_ns

    def response(self, venue_ns: int) -> int:
        return venue_ns + int(self.response_mult * self.feed_ns) + self.offset_ns

    def compute(self, trigger_local_ns: int) -> int:
        return trigger_local_ns + self.compute_ns


def make(table: dict):
    """The latency model of a validated ``[backtest.latency]`` table."""
    if table["model"] == "constant":
        return ConstantLatency(table["entry_us"], table["response_us"], table["compute_us"])
    if table["model"] == "feed":
        return FeedLatency(table["entry_mult"], table["response_mult"], table["offset_us"], table["compute_us"])
    raise BacktestError(f"[backtest.latency] model {table['model']!r} is not implemented")
