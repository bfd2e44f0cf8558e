"""Latency models: how long an order takes to reach the venue model, and an answer to come back.

``constant``: every order takes ``entry_us`` from intent to the venue, every answer or fill
``response_us`` from the venue event to the strategy, and every intent ``compute_us`` after the
local time of the record that triggered it.

``feed``: the latency follows the market data's own feed latency (local receive minus exchange
time, of the last record with an exchange time the venue model has applied): an order takes
``entry_mult x feed + offset_us`` to the venue, an answer ``response_mult x feed + offset_us``
back, an intent ``compute_us`` after its trigger. A slow feed (a congested link, a busy venue)
then slows orders too.

``recorded``: interpolated over time from a live run's journals (see ``RecordedLatency``).

A model also states its minimum entry and response latency: the engine's batch limits use them
(a strategy batch never runs past the earliest time an answer could arrive).
"""

from __future__ import annotations

import numpy as np

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


class RecordedLatency:
    """Entry and response latency interpolated over time from a live run's own journals.

    Per live order that reached the venue (``sent_ns`` set) and got an answer with a venue time:
    entry = the answer's ``venue_ns`` - ``sent_ns``, response = the answer's ``recv_ns`` -
    ``venue_ns``, sampled at ``sent_ns``; the first answer of each order counts. Between samples
    the latency is interpolated linearly; before the first and after the last it is held. A
    sample below zero (the local clock ahead of the venue's) counts as zero."""

    def __init__(self, run_dir, symbols: list[str], compute_us: float = 0):
        from pathlib import Path

        from ..journal import files
        from ..layouts import fill as F
        from ..layouts import order as O

        run = Path(run_dir)
        try:
            meta_o, orders = files.load_ring(files.ring_dir(run, "orders"))
            meta_f, fills = files.load_ring(files.ring_dir(run, "fills"))
        except (FileNotFoundError, ValueError) as exc:
            raise BacktestError(f"[backtest.latency] run = {str(run_dir)!r}: {exc}") from None
        for meta, what in ((meta_o, "orders"), (meta_f, "fills")):
            if [s.lower() for s in meta.get("symbols", [])] != [s.lower() for s in symbols]:
                raise BacktestError(f"[backtest.latency] run = {str(run_dir)!r}: its {what} journal is of symbols "
                                    f"{meta.get('symbols')}, the md journal of {symbols}: the symbol ids differ")
        sent = {int(o["order_id"]): int(o["sent_ns"]) for o in orders
                if o["action"] == O.NEW and o["sent_ns"] > 0}
        seen = set()
        t, ent, rsp = [], [], []
        for r in fills:
            oid = int(r["order_id"])
            if oid in seen or oid not in sent or r["venue_ns"] <= 0 or r["exec_type"] == F.EX_CANCEL_REJECTED:
                continue
            seen.add(oid)
            t.append(sent[oid])
            ent.append(max(int(r["venue_ns"]) - sent[oid], 0))
            rsp.append(max(int(r["recv_ns"]) - int(r["venue_ns"]), 0))
        if not t:
            raise BacktestError(f"[backtest.latency] run = {str(run_dir)!r}: no order there has an answer with a "
                                "venue time: nothing to take latency from")
        order = np.argsort(np.array(t, np.int64), kind="stable")
        self.t = np.array(t, np.float64)[order]
        self.entry_s = np.array(ent, np.float64)[order]
        self.response_s = np.array(rsp, np.float64)[order]
        self.samples = len(t)
        self.compute_ns = int(round(compute_us * US))
        self.min_entry_ns = int(self.entry_s.min())
        self.min_response_ns = int(self.response_s.min())

    def entry(self, intent_ns: int) -> int:
        return intent_ns + int(np.interp(intent_ns, self.t, self.entry_s))

    def response(self, venue_ns: int) -> int:
        return venue_ns + int(np.interp(venue_ns, self.t, self.response_s))

    def compute(self, trigger_local_ns: int) -> int:
        return trigger_local_ns + self.compute_ns


def make(table: dict, symbols: list[str] | None = None):
    """The latency model of a validated ``[backtest.latency]`` table."""
    if table["model"] == "constant":
        return ConstantLatency(table["entry_us"], table["response_us"], table["compute_us"])
    if table["model"] == "recorded":
        if not table["run"]:
            raise BacktestError("[backtest.latency] model 'recorded' needs run = \"RUN_DIR\" (a live run's directory)")
        return RecordedLatency(table["run"], symbols or [], table["compute_us"])
    if table["model"] == "feed":
        return FeedLatency(table["entry_mult"], table["response_mult"], table["offset_us"], table["compute_us"])
    raise BacktestError(f"[backtest.latency] model {table['model']!r} is not implemented")
