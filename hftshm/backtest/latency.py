"""Latency models: how long an order takes to reach the venue model, and an answer to come back.

``constant``: every order takes ``entry_us`` from intent to the venue, every answer or fill
``response_us`` from the venue event to the strategy, and every intent ``compute_us`` after the
local time of the record that triggered it.

``feed``: the latency follows the market data's own feed latency (local receive minus exchange
time, of the last record with an exchange time the venue model has applied): an order takes
``entry_mult x feed + offset_us`` to the venue, an answer ``response_mult x feed + offset_us``
back, an intent ``compute_us`` after its trigger. A slow feed (a congested link, a busy venue)
then slows orders too.

``recorded``: interpolated over time from a live run's journals (see ``RecordedLatency``); an
order the recording shows timing out or rejected for a cause the backtest does not model itself
replays as a reject at that moment (``RecordedLatency.failure``).

The compute time (trigger record seen -> intent) is ``compute_us`` (``compute = "constant"``) or,
with ``compute = "recorded"``, the live run's own ``tick_to_intent`` samples (``RecordedCompute``).

A model also states its minimum entry and response latency: the engine's batch limits use them
(a strategy batch never runs past the earliest time an answer could arrive).
"""

from __future__ import annotations

import numpy as np

from ..risk import reasons as R
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

    def compute(self, trigger_local_ns: int, seq: int = -1, strategy: int = -1) -> int:
        """The intent time of an order triggered by a record seen at ``trigger_local_ns`` (its
        ``seq``, by ``strategy``; -1: any, e.g. the earliest intent for the engine's bounds)."""
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

    def compute(self, trigger_local_ns: int, seq: int = -1, strategy: int = -1) -> int:
        return trigger_local_ns + self.compute_ns


# reject reasons the backtest decides itself (its pre-trade gate, its venue model): a live reject
# for any other reason (a timeout, a rate limit, a halt, a stale order...) is replayed
MODELLED_REJECTS = frozenset({R.MAX_ORDER_QTY, R.MAX_NOTIONAL, R.MAX_POSITION, R.MAX_GROSS_EXPOSURE, R.PRICE_BAND,
                              R.NO_REFERENCE_PRICE, R.RATE_LIMIT, R.UNKNOWN_SYMBOL, R.BAD_ORDER, R.VENUE_FILTER,
                              R.VENUE_WOULD_TAKE, R.CANCEL_UNKNOWN})


def _run_journals(run_dir, symbols: list[str], what: tuple[str, ...]) -> list[np.ndarray]:
    """The ``what`` journals of a live run directory, checked to be of ``symbols``."""
    from pathlib import Path

    from ..journal import files

    run = Path(run_dir)
    out = []
    for ring in what:
        try:
            meta, recs = files.load_ring(files.ring_dir(run, ring))
        except (FileNotFoundError, ValueError) as exc:
            raise BacktestError(f"[backtest.latency] run = {str(run_dir)!r}: {exc}") from None
        if [s.lower() for s in meta.get("symbols", [])] != [s.lower() for s in symbols]:
            raise BacktestError(f"[backtest.latency] run = {str(run_dir)!r}: its {ring} journal is of symbols "
                                f"{meta.get('symbols')}, the md journal of {symbols}: the symbol ids differ")
        out.append(recs)
    return out


def _key(o) -> tuple:
    """An order's identity across a live run and its backtest: strategy, trigger record, side,
    price, quantity (order ids differ)."""
    return (int(o["strategy_id"]), int(o["trigger_seq"]), int(o["side"]), int(o["price_e8"]), int(o["qty_e8"]))


class RecordedLatency:
    """Entry and response latency interpolated over time from a live run's own journals.

    Per live order that got an answer with a venue time: entry = the answer's ``venue_ns`` - the
    order's ``intent_ns`` (the backtest sends at intent, so the live risk check and execution
    time are part of the entry), response = the answer's ``recv_ns`` - ``venue_ns``, sampled at
    ``intent_ns``; the first answer of each order counts. Between samples the latency is
    interpolated linearly; before the first and after the last it is held. A sample below zero
    (the local clock ahead of the venue's, or a venue time in whole milliseconds) counts as zero.

    ``failure``: the live orders that were rejected for a cause the backtest does not model
    (``MODELLED_REJECTS``: its own gate and venue model decide those), timeouts resolved as not
    sent included. A backtest order with the same strategy, trigger record, side, price and
    quantity as such an order is rejected with its reason, answered as long after its intent as live; an order with no
    live counterpart (another trigger, a timer) is rejected when its intent falls between a
    failed live order's intent and its answer (the venue was failing then)."""

    def __init__(self, run_dir, symbols: list[str], compute_us: float = 0):
        from ..layouts import exec_report as F
        from ..layouts import order as O

        orders, fills = _run_journals(run_dir, symbols, ("orders", "fills"))
        new = orders[orders["action"] == O.NEW]
        # (a live orders journal holds the intents as the strategies published them: their
        # outcome, and the time they were sent, are in the fills journal)
        intent = {int(o["order_id"]): int(o["intent_ns"]) for o in new}
        seen = set()
        t, ent, rsp = [], [], []
        rejected: dict[int, np.ndarray] = {}  # order id -> its reject report
        for r in fills:
            oid = int(r["order_id"])
            if int(r["state"]) == F.ST_REJECTED and r["exec_type"] != F.EX_CANCEL_REJECTED:
                rejected.setdefault(oid, r)
            if oid in seen or oid not in intent or r["venue_ns"] <= 0 or r["exec_type"] == F.EX_CANCEL_REJECTED:
                continue
            seen.add(oid)
            t.append(intent[oid])
            ent.append(max(int(r["venue_ns"]) - intent[oid], 0))
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
        # live orders by (strategy, trigger record, side, price, quantity): None where it did not fail
        self.live: dict[tuple, tuple | None] = {}
        self.windows: list[tuple[int, int, int, int]] = []  # (intent, answer, reason, venue code)
        for o in new:
            oid = int(o["order_id"])
            failed = None
            rep = rejected.get(oid)
            if rep is not None and int(rep["reason"]) not in MODELLED_REJECTS:
                failed = (max(int(rep["recv_ns"]) - int(o["intent_ns"]), 0), int(rep["reason"]), int(rep["venue_code"]))
                self.windows.append((int(o["intent_ns"]), int(o["intent_ns"]) + failed[0], failed[1], failed[2]))
            if int(o["trigger_recv_ns"]) > 0:  # (an md ring's first record has seq 0)
                self.live.setdefault(_key(o), failed)
        self.windows.sort()
        self.failures = len(self.windows)

    def entry(self, intent_ns: int) -> int:
        return intent_ns + int(np.interp(intent_ns, self.t, self.entry_s))

    def response(self, venue_ns: int) -> int:
        return venue_ns + int(np.interp(venue_ns, self.t, self.response_s))

    def compute(self, trigger_local_ns: int, seq: int = -1, strategy: int = -1) -> int:
        return trigger_local_ns + self.compute_ns

    def failure(self, o) -> tuple[int, int, int] | None:
        """(answer time, reason, venue code) if order record ``o`` (approved, at its intent
        time) replays a recorded failure, else None."""
        if not self.windows:
            return None
        intent = int(o["intent_ns"])
        key = _key(o)
        if int(o["trigger_recv_ns"]) > 0 and key in self.live:
            failed = self.live[key]
            return None if failed is None else (intent + failed[0], failed[1], failed[2])
        for lo, hi, reason, code in self.windows:
            if lo > intent:
                break
            if intent <= hi:
                return hi, reason, code
        return None


class RecordedCompute:
    """The strategy's compute time from a live run's ``tick_to_intent`` samples: per live order
    with a trigger record, ``intent_ns - trigger_recv_ns`` (the strategy worker records the same
    difference in the latency book), per strategy.

    * An order of strategy s triggered by the record the live run's orders name (same ``seq`` and
      receive time: the same md journal) takes the live value: its first intent's.
    * Otherwise, s's samples at their trigger times (the least per time) interpolated linearly,
      held outside them. Samples are raised where needed so that trigger + compute never
      decreases: a strategy's intents keep their triggers' order, as live, which the engine's
      batch bounds rely on; an exact value is never below this curve.
    * Without a strategy (the engine's bounds, answers): the least over the strategies.
    A strategy the run does not have takes the least over the run's strategies."""

    def __init__(self, run_dir, symbols: list[str]):
        (orders,) = _run_journals(run_dir, symbols, ("orders",))
        o = orders[orders["trigger_recv_ns"] > 0]
        if not len(o):
            raise BacktestError(f"[backtest.latency] compute = \"recorded\": run = {str(run_dir)!r} has no order "
                                "with a trigger record: no tick_to_intent samples")
        self.curves: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.exact: dict[tuple[int, int, int], int] = {}  # (strategy, seq, recv) -> compute ns
        for o_ in sorted(o, key=lambda r: int(r["intent_ns"])):
            key = (int(o_["strategy_id"]), int(o_["trigger_seq"]), int(o_["trigger_recv_ns"]))
            self.exact.setdefault(key, max(int(o_["intent_ns"]) - key[2], 0))
        for sid in np.unique(o["strategy_id"]):
            mine = o[o["strategy_id"] == sid]
            t = mine["trigger_recv_ns"].astype(np.int64)
            c = np.maximum(mine["intent_ns"].astype(np.int64) - t, 0)
            order = np.lexsort((c, t))
            t, c = t[order], c[order]
            first = np.ones(len(t), bool)
            first[1:] = t[1:] != t[:-1]
            t, c = t[first], c[first]
            done = t + c
            np.maximum.accumulate(done, out=done)
            self.curves[int(sid)] = (t.astype(np.float64), (done - t).astype(np.float64))
        self.samples = len(o)

    def _curve(self, sid: int, t: int) -> int:
        ts, cs = self.curves[sid]
        return t + int(np.interp(t, ts, cs))

    def __call__(self, trigger_local_ns: int, seq: int = -1, strategy: int = -1) -> int:
        t = trigger_local_ns
        if strategy not in self.curves:
            return min(self._curve(s, t) for s in self.curves)
        at = self._curve(strategy, t)
        c = self.exact.get((strategy, seq, t))
        return at if c is None else max(t + c, at)


def make(table: dict, symbols: list[str] | None = None):
    """The latency model of a validated ``[backtest.latency]`` table."""
    if table["model"] == "recorded" or table["compute"] == "recorded":
        if not table["run"]:
            which = "model" if table["model"] == "recorded" else "compute"
            raise BacktestError(f"[backtest.latency] {which} 'recorded' needs run = \"RUN_DIR\" "
                                "(a live run's directory)")
    if table["model"] == "constant":
        model = ConstantLatency(table["entry_us"], table["response_us"], table["compute_us"])
    elif table["model"] == "recorded":
        model = RecordedLatency(table["run"], symbols or [], table["compute_us"])
    elif table["model"] == "feed":
        model = FeedLatency(table["entry_mult"], table["response_mult"], table["offset_us"], table["compute_us"])
    else:
        raise BacktestError(f"[backtest.latency] model {table['model']!r} is not implemented")
    if table["compute"] == "recorded":
        model.compute = RecordedCompute(table["run"], symbols or [])  # replaces the constant
    return model
