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

The strategy's busy time (``busy``, a ``BusyTime`` or None): live, a strategy worker reads the md
records published so far in batches of up to ``READ_BATCH``, handles each (a cost per record and
per intent it sends), then reads the answers that arrived meanwhile; a slow strategy sees later
records, and answers, later. A parked (idle) worker wakes some time after what woke it, and then
reads md first. ``busy = "constant"`` takes the two costs and the wake-up time from
``busy_record_us``, ``busy_intent_us`` and ``busy_wake_us``; ``busy = "recorded"`` fits them to a
live run's own stamps (``recorded_busy``).

The pre-trade check (``verdict``, recorded model only): live, execution checks an order when it
takes it off the orders ring, after the strategy's intent; the recorded model takes that delay
from the run (each order's ``sent_ns``, or its risk reject's time, minus its intent).
"""

from __future__ import annotations

import numpy as np

from ..risk import reasons as R
from .errors import BacktestError

US = 1_000
MS = 1_000_000  # venue times are whole milliseconds (Binance, Bybit, OKX)
READ_BATCH = 256  # md records a live strategy worker reads at once (trading/strategy_core.py BATCH)


class BusyTime:
    """What handling md costs a strategy: ``record_ns`` per md record read (every record of a
    read batch, whatever its kind: the worker walks them all), ``intent_ns`` per intent sent.
    ``fit``: how the figures were found (for reports)."""

    def __init__(self, record_us: float = 0, intent_us: float = 0, fit: dict | None = None, wake_us: float = 0):
        for name, v in (("busy_record_us", record_us), ("busy_intent_us", intent_us), ("busy_wake_us", wake_us)):
            if not v >= 0:
                raise BacktestError(f"[backtest.latency] {name} must be >= 0, got {v!r}")
        self.record_ns = int(round(record_us * US))
        self.intent_ns = int(round(intent_us * US))
        self.wake_ns = int(round(wake_us * US))
        self.fit = fit or {}


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

    def entry(self, intent_ns: int, cancel: bool = False) -> int:
        """When an order (or a ``cancel``) sent at ``intent_ns`` reaches the venue model."""
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

    def entry(self, intent_ns: int, cancel: bool = False) -> int:
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
    A cancel takes the same from the live cancels whose answer has a venue time, where the run
    has any (``entry(t, cancel=True)``); else the new orders' curve. ``cancel_floor``: a live
    cancel refused after its order filled arrived after that fill.

    ``first_mark_ns``: per symbol, no reference price for the pre-trade check before this time
    (live, the risk worker publishes a symbol's first mid some milliseconds after the start, and
    the gate refuses its orders until then): just after the last live NO_REFERENCE_PRICE refusal
    before the first order of the symbol that got past it.

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
        checked: dict[int, int] = {}  # order id -> intent -> verdict delay
        for r in fills:
            oid = int(r["order_id"])
            if oid in intent and oid not in checked and r["exec_type"] != F.EX_CANCEL_REJECTED:
                # the verdict: an order sent has its send time; one refused before the venue
                # (no venue time) was answered at its verdict
                at = int(r["sent_ns"]) if int(r["sent_ns"]) > 0 else (
                    int(r["recv_ns"]) if int(r["state"]) == F.ST_REJECTED and int(r["venue_ns"]) <= 0 else 0)
                if at > 0:
                    checked[oid] = max(at - intent[oid], 0)
            if int(r["state"]) == F.ST_REJECTED and r["exec_type"] != F.EX_CANCEL_REJECTED:
                rejected.setdefault(oid, r)
            if (oid in seen or oid not in intent or r["venue_ns"] <= 0
                    or r["exec_type"] in (F.EX_CANCEL_REJECTED, F.EX_CANCELED)):  # (those time a cancel)
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
        vt = sorted((intent[oid], d) for oid, d in checked.items())
        self.verdict_t0 = vt[0][0] if vt else 0
        self.verdict_t = np.array([a - self.verdict_t0 for a, _ in vt], np.float64)
        self.verdict_s = np.array([d for _, d in vt], np.float64)
        self.compute_ns = int(round(compute_us * US))
        # cancels: their own samples where the venue's cancel answer has a venue time (a cancel
        # skips the pre-trade check and queues differently from a new order); entry = that
        # answer's venue_ns - the intent of the one cancel of the order sent before the answer
        # came (with two on the way, which one the venue took is not known: no sample)
        cancels: dict[int, list] = {}  # order id -> its cancel records
        for c in orders[orders["action"] == O.CANCEL]:
            cancels.setdefault(int(c["cancel_id"]), []).append(c)

        def the_cancel(r):
            sent = [c for c in cancels.get(int(r["order_id"]), ()) if int(c["intent_ns"]) <= int(r["recv_ns"])]
            return sent[0] if len(sent) == 1 else None

        ct = []
        for r in fills[(fills["exec_type"] == F.EX_CANCELED) & (fills["venue_ns"] > 0)]:
            c = the_cancel(r)
            if c is not None:
                ct.append((int(c["intent_ns"]), max(int(r["venue_ns"]) - int(c["intent_ns"]), 0)))
        ct.sort()
        self.cancel_t0 = ct[0][0] if ct else 0
        self.cancel_t = np.array([a - self.cancel_t0 for a, _ in ct], np.float64)
        self.cancel_s = np.array([d for _, d in ct], np.float64)
        self.cancel_samples = len(ct)
        self.min_entry_ns = int(min(self.entry_s.min(), self.cancel_s.min() if ct else np.inf))
        # every live report with a venue time, by its order's identity and report type: the
        # response latency that answer really had (``reply``)
        key_of = {int(o["order_id"]): _key(o) for o in new if int(o["trigger_recv_ns"]) > 0}
        self.replies: dict[tuple, list[int]] = {}
        for r in fills:
            k = key_of.get(int(r["order_id"]))
            if k is not None and int(r["venue_ns"]) > 0:
                self.replies.setdefault((k, int(r["exec_type"])), []).append(max(int(r["recv_ns"]) - int(r["venue_ns"]), 0))
        self._used: dict[tuple, int] = {}
        # a cancel the venue refused as unknown (it had no such order open) has no venue time,
        # but where its order filled after the cancel was sent, the cancel reached the venue after
        # that fill. Per cancel (strategy, trigger record, its order's identity): the end of that
        # fill's millisecond, the least arrival the same cancel can have in the backtest
        # (``cancel_floor``). Venue times are whole milliseconds, so the fill and the cancel may
        # share one; within it, the refusal says the fill came first, and a record the backtest
        # places anywhere in that millisecond must still reach the order before the cancel
        filled: dict[int, int] = {}
        for r in fills[(fills["exec_type"] == F.EX_TRADE) & (fills["venue_ns"] > 0)]:
            filled[int(r["order_id"])] = max(filled.get(int(r["order_id"]), 0), int(r["venue_ns"]))
        self.cancel_floors: dict[tuple, int] = {}
        for r in fills[(fills["exec_type"] == F.EX_CANCEL_REJECTED) & (fills["venue_code"] != 0)
                       & (fills["reason"] == R.CANCEL_UNKNOWN)]:
            target, c = int(r["order_id"]), the_cancel(r)
            if c is not None and target in key_of and int(c["intent_ns"]) < filled.get(target, 0) < int(r["recv_ns"]):
                end = (filled[target] // MS + 1) * MS - 1
                self.cancel_floors[(int(c["strategy_id"]), int(c["trigger_seq"]), key_of[target])] = end
        least = min((min(v) for v in self.replies.values()), default=int(self.response_s.min()))
        self.min_response_ns = int(min(self.response_s.min(), least))
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
        # the live risk worker's first mark: until it has published a symbol's mid, the gate refuses
        # that symbol's orders (NO_REFERENCE_PRICE). Per symbol, the verdict time of the last such
        # refusal before its first order that got past it: no mark before then
        self.first_mark_ns: dict[int, int] = {}
        done: set[int] = set()
        for o in new[np.argsort(new["intent_ns"], kind="stable")]:
            sym = int(o["symbol_id"])
            if sym in done:
                continue
            rep = rejected.get(int(o["order_id"]))
            if rep is not None and int(rep["reason"]) == R.NO_REFERENCE_PRICE:
                self.first_mark_ns[sym] = int(rep["recv_ns"]) + 1
            elif rep is not None or int(o["order_id"]) in checked:
                done.add(sym)

    def entry(self, intent_ns: int, cancel: bool = False) -> int:
        if cancel and len(self.cancel_t):
            return intent_ns + int(np.interp(intent_ns - self.cancel_t0, self.cancel_t, self.cancel_s))
        return intent_ns + int(np.interp(intent_ns, self.t, self.entry_s))

    def reply(self, o, exec_type: int) -> int | None:
        """The response latency of the next report of type ``exec_type`` of order record ``o``
        where live had the same order (strategy, trigger, side, price, quantity) and that report:
        the live one's ``recv_ns - venue_ns``, taken in turn; else None (interpolated)."""
        if int(o["trigger_recv_ns"]) <= 0:
            return None
        k = (_key(o), exec_type)
        got = self.replies.get(k)
        if got is None:
            return None
        n = self._used.get(k, 0)
        if n >= len(got):
            return None
        self._used[k] = n + 1
        return got[n]

    def cancel_floor(self, cancel, target) -> int:
        """The least venue time at which cancel record ``cancel`` of order record ``target`` can
        arrive: where live had the same cancel refused after the order filled, the last
        nanosecond of that fill's millisecond; else 0."""
        if int(target["trigger_recv_ns"]) <= 0:
            return 0
        return self.cancel_floors.get((int(cancel["strategy_id"]), int(cancel["trigger_seq"]), _key(target)), 0)

    def verdict(self, intent_ns: int) -> int:
        """When execution checks an order sent at ``intent_ns`` (the run's intent -> verdict
        delay, interpolated as the others; no sample: at once)."""
        if not len(self.verdict_t):
            return intent_ns
        # (times relative to the first sample: float64 keeps them exact)
        return intent_ns + int(np.interp(intent_ns - self.verdict_t0, self.verdict_t, self.verdict_s))

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
        self.stamps: dict[tuple[int, int, int], list[int]] = {}  # the same key -> every intent's time
        for o_ in sorted(o, key=lambda r: int(r["intent_ns"])):
            key = (int(o_["strategy_id"]), int(o_["trigger_seq"]), int(o_["trigger_recv_ns"]))
            self.exact.setdefault(key, max(int(o_["intent_ns"]) - key[2], 0))
            self.stamps.setdefault(key, []).append(int(o_["intent_ns"]))
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

    def stamps_of(self, strategy: int, seq: int, recv: int) -> list[int] | None:
        """The live intent times of a trigger record, in order (None: live did not act on it):
        the busy strategy's clock follows them intent by intent (an intent costs what it cost live)."""
        return self.stamps.get((strategy, seq, recv))

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


def recorded_busy(run_dir, symbols: list[str]) -> BusyTime:
    """The busy time of a live run's strategies, fitted to its own stamps.

    Each live order names its trigger record; its ``intent_ns`` says when the strategy was
    handling that record. Take, per strategy, the first intent of each trigger (an anchor) and
    the number of intents that trigger made. Between two anchors k and k+1 the strategy was busy
    throughout when record k+1 was already published (``max(recv_ns, publish_ns)`` in the run's
    md journal) at anchor k's intent; then ``I[k+1] - I[k] = record x (records between) +
    intent x (k's intents)``. The two costs are the least-squares fit over those pairs (pairs
    more than 3 median deviations off the first fit dropped, then refitted; a negative cost
    refitted as zero). With several strategies the slowest's costs are used (the backtest has
    one strategy clock). No such pair: both costs zero (the strategy kept up)."""
    orders, md = _run_journals(run_dir, symbols, ("orders", "md"))
    seq = md["seq"].astype(np.int64)
    avail = np.maximum.accumulate(np.maximum(md["recv_ns"], md["publish_ns"]).astype(np.int64))
    o = orders[orders["trigger_recv_ns"] > 0]
    o = o[np.argsort(o["intent_ns"], kind="stable")]
    best = (0.0, 0.0, 0.0)
    fits = {}
    for sid in np.unique(o["strategy_id"]):
        mine = o[o["strategy_id"] == sid]
        anchors: list[list[int]] = []  # [md index, first intent, intents]
        for r in mine:
            i = int(np.searchsorted(seq, int(r["trigger_seq"])))
            if i >= len(seq) or seq[i] != int(r["trigger_seq"]):
                continue  # a trigger outside the journal
            if anchors and anchors[-1][0] == i:
                anchors[-1][2] += 1
            else:
                anchors.append([i, int(r["intent_ns"]), 1])
        rows, dt = [], []
        for (i0, t0, n0), (i1, t1, _) in zip(anchors, anchors[1:]):
            if i1 > i0 and t1 >= t0 and avail[i1] <= t0:
                rows.append((i1 - i0, n0))
                dt.append(t1 - t0)
        c, y = _fit(np.array(rows, np.float64).reshape(-1, 2), np.array(dt, np.float64))
        # the wake-up: triggers the strategy met parked (published at least IDLE_NS after the
        # previous trigger's first intent), from publish to first intent, less one record's cost
        woke = [t1 - int(avail[i1]) for (i0, t0, _), (i1, t1, _) in zip(anchors, anchors[1:])
                if avail[i1] >= t0 + IDLE_NS and t1 >= avail[i1]]
        wake = max(0.0, float(np.median(woke)) - c) if woke else 0.0
        fits[int(sid)] = {"pairs": len(rows), "record_us": c / US, "intent_us": y / US,
                          "wakes": len(woke), "wake_us": wake / US}
        best = (max(best[0], c), max(best[1], y), max(best[2], wake))
    return BusyTime(best[0] / US, best[1] / US, {"strategies": fits}, wake_us=best[2] / US)


IDLE_NS = 1_000_000  # a trigger published this long after the strategy's last intent found it parked


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Non-negative least squares of ``y ~ x @ (a, b)`` with one outlier pass."""
    if not len(y):
        return 0.0, 0.0

    def solve(x, y):
        coef = np.linalg.lstsq(x, y, rcond=None)[0] if len(y) >= 2 else np.array([y[0] / max(x[0, 0], 1), 0.0])
        if coef[0] < 0 or coef[1] < 0:  # one cost only: the better of the two
            a = (x[:, 0] @ y) / max(x[:, 0] @ x[:, 0], 1e-9)
            b = (x[:, 1] @ y) / max(x[:, 1] @ x[:, 1], 1e-9)
            ea = ((y - a * x[:, 0]) ** 2).sum() if a >= 0 else np.inf
            eb = ((y - b * x[:, 1]) ** 2).sum() if b >= 0 else np.inf
            coef = np.array([max(a, 0.0), 0.0]) if ea <= eb else np.array([0.0, max(b, 0.0)])
        return coef

    coef = solve(x, y)
    res = np.abs(y - x @ coef)
    keep = res <= 3 * np.median(res) + max(1_000.0, 0.01 * float(np.median(np.abs(y))))  # (1 us or 1%: rounding)
    if 2 <= keep.sum() < len(y):
        coef = solve(x[keep], y[keep])
    return float(coef[0]), float(coef[1])


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
        model.compute_extra_ns = 0  # the recorded values already hold the live strategy's time
    else:
        model.compute_extra_ns = model.compute_ns
    if table["busy"] == "recorded":
        if not table["run"]:
            raise BacktestError("[backtest.latency] busy 'recorded' needs run = \"RUN_DIR\" (a live run's directory)")
        model.busy = recorded_busy(table["run"], symbols or [])
    elif table["busy_record_us"] > 0 or table["busy_intent_us"] > 0 or table["busy_wake_us"] > 0:
        model.busy = BusyTime(table["busy_record_us"], table["busy_intent_us"], wake_us=table["busy_wake_us"])
    else:
        model.busy = None  # the strategy keeps up with the stream
    return model
