"""The trading area's undo record: a report's application survives a ``kill -9`` at any store.

Each test runs one report through the router while it takes a snapshot of the shared words at
every stage of the transaction (before it, after ``begin``, after the application, after the
publish, after ``end``), then builds every state a crash could leave: ``begin`` stopped after
each word of the record, the application stopped after each word it changed (in address order,
in reverse order, and each word alone: a crash inside a compiled update leaves some of its stores
done and not others), the publish stopped before the ring's cursor moved, and after it. For each
state a new router ("the restarted execution") runs ``undo.recover``, adopts the slots, and
resolves the orders with the venue from literal answers (``order.status``, ``myTrades``).

Forbidden outcomes, checked for every crash point: the risk state not equal, word for word, to
the fill applied exactly once; a trade id published twice or never; open quantity left behind or
taken twice; a tally counted twice; a slot left live or lost.
"""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from hftshm.errors import HftshmError
from hftshm.layouts import exec_report as F
from hftshm.layouts import order as O
from hftshm.risk import reasons as R
from hftshm.risk.limits import Limits
from hftshm.risk.live_gate import LiveGate
from hftshm.risk.state import RiskState
from hftshm.runtime import control_layout as C
from hftshm.state.store import Unfinished
from hftshm.trading import area_layout as AL
from hftshm.trading import undo
from hftshm.trading.area import TradingArea
from hftshm.trading.router import OrderRouter
from hftshm.trading.wiring import published_fills
from hftshm.venues.binance_spot.protocol import Protocol
from hftshm.venues.binance_spot.signing import Signer

T0 = 1_700_000_000_000_000_000
MS = 1_000_000
E8 = 100_000_000
WORD = C.word(C.TRADING_STATE)
OID = O.make_order_id(1, 1)
STAGES = ("risk_check", "intent_to_verdict", "sent_to_ack")
UNDO = slice(AL.AREA_OFFSET // 8 + undo.UNDO_W, AL.AREA_OFFSET // 8 + (AL.UNDO_OFFSET + AL.UNDO_LENGTH) // 8)
STATE_WORD = AL.AREA_OFFSET // 8 + undo.UNDO_W + AL.U_STATE


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now


class Rec:
    def record(self, ns):
        pass


class FakeRing:
    """The fills ring as the undo record sees it: records and a cursor word."""

    def __init__(self, records=(), hook=None):
        self.records = list(records)
        self.cursor = np.array([len(self.records)], np.int64)
        self.hook = hook  # (before publish, after publish) callbacks

    def publish(self, rec):
        if self.hook:
            self.hook[0]()
        self.records.append(rec.copy())
        self.cursor[0] += 1  # the cursor moves last, as bc_publish_one's release store
        if self.hook:
            self.hook[1]()


class Instance:
    """The shared risk buffer, control words and fills ring of one instance; ``router()`` is one
    execution process over them."""

    def __init__(self, buf=None, ring=None, clock=None):
        fresh = buf is None
        self.buf = np.zeros(C.RISK_LENGTH, np.uint8) if fresh else buf
        self.area = TradingArea.format(self.buf, 1) if fresh else TradingArea(self.buf)
        self.risk = RiskState(1, self.buf) if fresh else RiskState.attach(self.buf)
        if fresh:
            self.risk.symbols[0]["mid_e8"] = 60_000 * E8  # as the risk worker stores it
        self.words = np.zeros(C.SEGMENT_SIZE // 8, np.int64)
        self.words[WORD] = R.TS_ACTIVE
        self.ring = ring or FakeRing()
        self.clock = clock or Clock()
        limits = Limits(n_symbols=1, max_order_qty=1, max_order_notional=100_000, max_position=2,
                        max_gross_exposure=1_000_000, price_band_bps=100, max_orders_per_s=50,
                        max_orders_per_s_total=50)
        self.gate = LiveGate(self.risk, limits, self.words, WORD)

    def router(self):
        proto = Protocol(Signer("k", "s"), ["BTCUSDT"], [("BTC", "USDT")], "htag", recv_window_ms=1000)
        return OrderRouter(self.risk, self.area, self.gate, proto, self.ring.publish, lambda *a: None,
                           {k: Rec() for k in STAGES}, lambda cause: True, 1000 * MS, clock=self.clock,
                           cursor=(self.ring.cursor, 0))

    @property
    def sym(self):
        return self.risk.symbols[0]


def order(clock, counter=1, qty="0.02"):
    rec = np.zeros(1, O.DTYPE)
    rec["order_id"] = O.make_order_id(1, counter)
    rec["strategy_id"] = 1
    rec["side"], rec["type"], rec["tif"], rec["action"] = O.BUY, O.LIMIT, O.GTC, O.NEW
    rec["qty_e8"] = round(float(qty) * E8)
    rec["price_e8"] = 60_000 * E8
    rec["intent_ns"] = rec["trigger_recv_ns"] = clock.now
    return rec


def ok(rid, result):
    return orjson.dumps({"id": rid, "status": 200, "result": result})


def event(x, X, l, z, t):
    return orjson.dumps({"subscriptionId": 0, "event": {
        "e": "executionReport", "E": 1700000000123, "s": "BTCUSDT", "c": "htag-10000000001", "S": "BUY",
        "o": "LIMIT", "f": "GTC", "q": "0.02000000", "p": "60000.00000000", "C": "", "x": x, "X": X, "i": 7,
        "l": l, "z": z, "L": "60000", "n": "0.6", "N": "USDT", "T": 1700000000123, "t": t}})


def trade(tid, order_id=7):
    return {"symbol": "BTCUSDT", "id": tid, "orderId": order_id, "orderListId": -1, "price": "60000.00000000",
            "qty": "0.01000000", "quoteQty": "600", "commission": "0.6", "commissionAsset": "USDT",
            "time": 1700000000000, "isBuyer": True, "isMaker": True, "isBestMatch": True}


class Venue:
    """Literal answers to a restarted execution's questions, from what the venue did."""

    def __init__(self, order_id, executed, status, trades):
        self.order_id, self.executed, self.status, self.trades = order_id, executed, status, trades

    def resolve(self, router, now):
        frames = [orjson.loads(f) for f in router.proto.resync(now)]
        asked = []
        while frames:
            f = frames.pop(0)
            asked.append(f["method"])
            if f["method"] == "order.status":
                if self.status is None:
                    answer = orjson.dumps({"id": f["id"], "status": 400,
                                           "error": {"code": -2013, "msg": "Order does not exist."}})
                else:
                    answer = ok(f["id"], {"orderId": self.order_id, "executedQty": self.executed,
                                          "status": self.status})
            elif f["method"] == "myTrades":
                answer = ok(f["id"], self.trades)
            else:
                raise AssertionError(f"unexpected question {f['method']}")
            frames += [orjson.loads(x) for x in router.on_frame(answer, now)]
        return asked


class Stages:
    """Snapshots of the shared words at each stage of the transaction of the router's next report."""

    def __init__(self, inst: Instance, router: OrderRouter):
        self.inst, self.snaps = inst, {}
        words = inst.buf.view(np.int64)
        real_begin, real_end = router.undo.begin, router.undo.end

        def snap(stage):
            self.snaps.setdefault(stage, (words.copy(), int(inst.ring.cursor[0])))

        def begin(*a):
            snap("before")
            real_begin(*a)
            snap("begun")

        def end():
            real_end()
            snap("ended")

        router.undo.begin, router.undo.end = begin, end
        inst.ring.hook = (lambda: snap("applied"), lambda: snap("published"))

    def crashes(self):
        """(label, words, fills ring cursor) for every state a kill -9 could leave."""
        before, c0 = self.snaps["before"]
        begun, _ = self.snaps["begun"]
        applied, _ = self.snaps["applied"]
        published, c1 = self.snaps["published"]
        ended, _ = self.snaps["ended"]
        assert c1 == c0 + 1
        out = [("before", before, c0)]
        record = [i for i in np.flatnonzero(before != begun) if i != STATE_WORD]
        assert record and all(UNDO.start <= i < UNDO.stop for i in record), "begin wrote outside its record"
        for k in range(1, len(record) + 1):  # begin stopped after k words (OPEN not yet stored)
            w = before.copy()
            w[record[:k]] = begun[record[:k]]
            out.append((f"begin+{k}", w, c0))
        out.append(("begun", begun, c0))
        changed = list(np.flatnonzero(begun != applied))
        assert changed, "the report changed nothing"
        subsets = [changed[:k] for k in range(1, len(changed) + 1)]
        subsets += [changed[-k:] for k in range(1, len(changed))] + [[i] for i in changed]
        for n, sub in enumerate(subsets):  # the application stopped midway
            w = begun.copy()
            w[sub] = applied[sub]
            out.append((f"apply{n}", w, c0))
        out.append(("applied", applied, c0))  # also: the publish stopped before the cursor moved
        out.append(("published", published, c1))
        out.append(("ended", ended, c1))
        return out


def restart(inst: Instance, words, cursor, venue: Venue, recovered=(), later_ms=0):
    """A new execution process over the state a crash left (as the worker's wiring: recover,
    then adopt the slots with what the fills ring holds, then the earlier run's orders)."""
    buf = words.view(np.uint8).copy()
    ring = FakeRing(inst.ring.records[:cursor])
    again = Instance(buf, ring, Clock())
    again.clock.now = inst.clock.now + later_ms * MS  # the same clock: last_fill_ns compares equal
    undo.recover(again.area, again.risk, cursor)
    r = again.router()
    r.adopt(published_fills_of(ring.records))
    if recovered:
        trades = {}
        for rec in ring.records:
            x = rec[0]
            if int(x["exec_type"]) == F.EX_TRADE and int(x["trade_id"]):
                trades.setdefault(int(x["order_id"]), {})[int(x["trade_id"])] = int(x["last_qty_e8"])
        ended = {int(rec[0]["order_id"]) for rec in ring.records if int(rec[0]["state"]) in F.TERMINAL_STATES}
        r.recover(recovered, trades, ended)
    venue.resolve(r, again.clock.now)
    assert int(again.area.words[undo.UNDO_W + AL.U_STATE]) == AL.IDLE
    return again


def published_fills_of(records):
    cum = {}
    for rec in records:
        x = rec[0]
        if int(x["exec_type"]) == F.EX_TRADE:
            cum[int(x["order_id"])] = max(cum.get(int(x["order_id"]), 0), int(x["cum_qty_e8"]))
    return cum


def trade_ids(records):
    return [int(r[0]["trade_id"]) for r in records if int(r[0]["exec_type"]) == F.EX_TRADE]


def book(inst):
    """Every word of the symbol's lines 0-1 and the account's gross exposure."""
    words = inst.buf.view(np.int64)
    base = (undo.SYMBOLS_W, undo.SYMBOLS_W + 16)
    return list(words[base[0]: base[1]]) + [int(words[undo.GROSS_W])]


def sent_and_acked():
    inst = Instance()
    r = inst.router()
    f = r.handle(order(inst.clock))
    f = orjson.loads(r.release(f))
    r.on_frame(ok(f["id"], {"orderId": 7, "executedQty": "0", "status": "NEW"}), inst.clock.now)
    return inst, r


def test_the_published_crash_points_cover_every_stage():
    """The enumeration itself: a crash before the record's state is OPEN leaves it IDLE."""
    inst, r = sent_and_acked()
    stages = Stages(inst, r)
    r.on_frame(event("TRADE", "PARTIALLY_FILLED", "0.01", "0.01", 41), inst.clock.now)
    crashes = stages.crashes()
    states = {label: int(w[STATE_WORD]) for label, w, _ in crashes}
    assert states["before"] == AL.IDLE and states["begin+1"] == AL.IDLE and states["begun"] == AL.OPEN
    assert states["applied"] == AL.OPEN and states["published"] == AL.OPEN and states["ended"] == AL.IDLE
    assert len(crashes) > 30


def test_a_partial_fill_counts_once_whatever_store_the_crash_stopped_at():
    inst, r = sent_and_acked()
    stages = Stages(inst, r)
    r.on_frame(event("TRADE", "PARTIALLY_FILLED", "0.01", "0.01", 41), inst.clock.now)
    assert inst.sym["position_e8"] == 1_000_000
    venue = Venue(7, "0.01000000", "PARTIALLY_FILLED", [trade(41)])
    reference = restart(inst, *stages.snaps["published"], venue)  # killed after the publish: nothing to fetch
    assert book(reference) == book(inst)
    sym = reference.sym
    assert (sym["position_e8"], sym["open_buy_e8"], sym["bought_e8"], sym["fills"]) == (1_000_000, 1_000_000,
                                                                                         1_000_000, 1)
    assert sym["fees"] == pytest.approx(0.6) and sym["avg_px"] == 60_000.0
    for label, words, cursor in stages.crashes():
        again = restart(inst, words, cursor, venue)
        assert book(again) == book(reference), f"crash at {label}: the risk state is not the fill applied once"
        assert trade_ids(again.ring.records) == [41], f"crash at {label}: trade 41 published {trade_ids(again.ring.records)}"
        slot = again.area.slots[again.area.live()]
        assert list(slot["order_id"]) == [OID] and list(slot["filled_e8"]) == [1_000_000], label


def test_the_last_fill_ending_the_order_counts_once_and_frees_its_slot_once():
    inst, r = sent_and_acked()
    r.on_frame(event("TRADE", "PARTIALLY_FILLED", "0.01", "0.01", 41), inst.clock.now)
    stages = Stages(inst, r)
    r.on_frame(event("TRADE", "FILLED", "0.01", "0.02", 42), inst.clock.now)
    assert inst.sym["position_e8"] == 2_000_000 and inst.area.live() == [] and inst.area.ended[F.ST_FILLED] == 1
    venue = Venue(7, "0.02000000", "FILLED", [trade(41), trade(42)])
    for label, words, cursor in stages.crashes():
        again = restart(inst, words, cursor, venue)
        assert book(again) == book(inst), f"crash at {label}: the risk state is not each fill applied once"
        assert again.sym["open_buy_e8"] == 0 and again.sym["fills"] == 2, label
        assert trade_ids(again.ring.records) == [41, 42], f"crash at {label}: {trade_ids(again.ring.records)}"
        assert again.area.live() == [] and int(again.area.ended[F.ST_FILLED]) == 1, label
        assert int(again.area.ended.sum()) == 1, label


def test_an_order_undone_at_release_is_refused_once():
    """The kill switch closed between the gate and the socket: the open quantity is taken back,
    the slot freed and the refusal tallied and published in one transaction. Undone, the order's
    slot is live again and resolved with the venue (never sent): the same end, counted once."""
    inst = Instance()
    r = inst.router()
    frame = r.handle(order(inst.clock))
    assert inst.sym["open_buy_e8"] == 2_000_000
    inst.words[WORD] = R.TS_HALTED
    stages = Stages(inst, r)
    assert r.release(frame) is None
    assert inst.sym["open_buy_e8"] == 0 and inst.area.live() == [] and inst.area.rejects[R.HALTED] == 1
    venue = Venue(7, "0", None, [])  # "Order does not exist." once recvWindow + 1 s has passed
    for label, words, cursor in stages.crashes():
        again = restart(inst, words, cursor, venue, later_ms=5000)
        assert again.sym["open_buy_e8"] == 0 and again.sym["worst_exposure_e8"] == 0, label
        assert again.risk.account[0]["worst_gross_e8"] == 0, label
        assert again.area.live() == [], label
        ends = [x for x in again.ring.records if int(x[0]["state"]) == F.ST_REJECTED]
        assert len(ends) == 1, f"crash at {label}: {len(ends)} refusals published"
        assert int(again.area.ended[F.ST_REJECTED]) == 1 and int(again.area.rejects.sum()) == 1, label
        assert int(again.area.rejects[int(ends[0][0]["reason"])]) == 1, label


def test_a_fill_of_an_earlier_runs_order_counts_once():
    """An order of an earlier run (no slot: the whole instance restarted), trade 40 stored, trade
    41 fetched from the venue: however the crash cut its application, it is applied and
    published once by the next execution (it knows the order's fills from the state and the
    fills ring)."""
    old = Unfinished(order_id=O.make_order_id(1, 5), run_tag=1000, strategy_id=1, symbol="BTCUSDT", side=O.BUY,
                     type=O.LIMIT, qty_e8=2_000_000, price_e8=60_000 * E8, intent_ns=T0 - 3600 * 10**9,
                     state=F.ST_ACKED, venue_order_id=9, trades={40: 1_000_000})
    inst = Instance()
    inst.sym["position_e8"], inst.sym["avg_px"], inst.sym["bought_e8"], inst.sym["fills"] = 1_000_000, 60_000.0, 1_000_000, 1
    r = inst.router()
    assert r.recover([old]) == 1
    stages = Stages(inst, r)
    venue = Venue(9, "0.02000000", "FILLED", [trade(40, 9), trade(41, 9)])
    venue.resolve(r, inst.clock.now)
    assert trade_ids(inst.ring.records) == [41] and inst.sym["position_e8"] == 2_000_000
    for label, words, cursor in stages.crashes():
        again = restart(inst, words, cursor, venue, recovered=[old])
        assert book(again) == book(inst), f"crash at {label}: the risk state is not trade 41 applied once"
        assert trade_ids(again.ring.records) == [41], f"crash at {label}: {trade_ids(again.ring.records)}"


def test_recover_undoes_only_an_unpublished_report_and_is_idempotent():
    inst, r = sent_and_acked()
    stages = Stages(inst, r)
    r.on_frame(event("TRADE", "PARTIALLY_FILLED", "0.01", "0.01", 41), inst.clock.now)
    begun, c0 = stages.snaps["begun"]
    applied, _ = stages.snaps["applied"]
    published, c1 = stages.snaps["published"]
    again = Instance(applied.view(np.uint8).copy())
    sym0 = begun[undo.SYMBOLS_W: undo.SYMBOLS_W + 16]
    # the risk worker moved the mid meanwhile: a restore keeps its newer value
    again.sym["mid_e8"] = 61_000 * E8
    assert undo.recover(again.area, again.risk, c0) == ("undone", OID)
    w = again.buf.view(np.int64)
    assert again.sym["mid_e8"] == 61_000 * E8 and again.sym["position_e8"] == 0
    mask = undo.RESTORE.astype(bool)
    assert list(w[undo.SYMBOLS_W: undo.SYMBOLS_W + 16][mask]) == list(sym0[mask])
    assert undo.recover(again.area, again.risk, c0) is None  # IDLE now
    kept = Instance(published.view(np.uint8).copy())
    assert undo.recover(kept.area, kept.risk, c1) == ("kept", OID)
    assert kept.sym["position_e8"] == 1_000_000
    # a restore cut short by another kill runs again to the same result
    twice = Instance(applied.view(np.uint8).copy())
    undo.restore(twice.area.words, twice.risk.raw.view(np.int64), undo.RESTORE)
    assert undo.recover(twice.area, twice.risk, c0) == ("undone", OID)
    got = twice.buf.view(np.int64)
    outside = np.ones(got.shape[0], bool)
    outside[UNDO] = False  # the record's own words keep the pre-images
    assert list(got[outside]) == list(begun[outside]) and twice.sym["position_e8"] == 0


def test_a_record_left_open_in_a_live_process_stops_execution():
    inst, r = sent_and_acked()
    r.undo.begin(OID, 0, 0, F.ST_PARTIAL, 0)  # as if an application raised midway
    with pytest.raises(HftshmError, match="undo record still open"):
        r.on_frame(event("TRADE", "PARTIALLY_FILLED", "0.01", "0.01", 41), inst.clock.now)


def test_an_unknown_record_state_is_refused():
    inst = Instance()
    inst.area.words[undo.UNDO_W + AL.U_STATE] = 7
    from hftshm.errors import SegmentCorrupt

    with pytest.raises(SegmentCorrupt, match="undo record state 7"):
        undo.recover(inst.area, inst.risk, 0)
