"""Latency models: how long an order takes to reach the venue model, and an answer to come back.

``constant``: every order takes ``entry_us`` from intent to the venue, every answer or fill
``response_us`` from the venue event to the strategy, and every intent ``compute_us`` after the
local time of the record that triggered it.

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


def make(table: dict):
    """The latency model of a validated ``[backtest.latency]`` table."""
    if table["model"] == "constant":
        return ConstantLatency(table["entry_us"], table["response_us"], table["compute_us"])
    raise BacktestError(f"[backtest.latency] model {table['model']!r} is not implemented")
