"""USD-M orders end to end on the simulator: the order router with the USD-M protocol (as the
execution worker wires it) over real WebSockets to the simulator's futures WebSocket API and
its listenKey user-data stream. A small strategy trades; the risk state's position, entry, PnL
at the mark and funding must equal the simulator's own record; a reduceOnly order never
increases a position."""

import asyncio
import time

import numpy as np
import pytest
from websockets.asyncio.client import connect

from hftshm.exchange import ExchangeSimulator, ExchangeConfig
from hftshm.exchange.config import DEFAULT_API_KEY, DEFAULT_API_SECRET
from hftshm.layouts import exec_report as F
from hftshm.layouts import order as O
from hftshm.risk import reasons as R
from hftshm.risk.limits import Limits
from hftshm.risk.live_gate import LiveGate
from hftshm.risk.marks import mark_to_market, unrealized_at
from hftshm.risk.state import RiskState
from hftshm.runtime import control_layout as C
from hftshm.trading.area import TradingArea
from hftshm.trading.router import OrderRouter
from hftshm.venues import order_venue
from hftshm.venues.binance_spot.signing import Signer

E8 = 100_000_000
WORD = C.word(C.TRADING_STATE)
FUNDING_S = 1.5


class Rec:
    def record(self, ns):
        pass


class Client:
    """The execution worker's wiring, in-process: router + USD-M protocol + two sockets."""

    def __init__(self, sim):
        self.sim = sim
        self.buf = np.zeros(C.RISK_LENGTH, np.uint8)
        self.area = TradingArea.format(self.buf, 1)
        self.risk = RiskState(1, self.buf)
        self.words = np.zeros(C.SEGMENT_SIZE // 8, np.int64)
        self.words[WORD] = R.TS_ACTIVE
        limits = Limits(n_symbols=1, max_order_qty=1, max_order_notional=1_000_000, max_position=1,
                        max_gross_exposure=10_000_000, price_band_bps=500, max_orders_per_s=50,
                        max_orders_per_s_total=50)
        self.gate = LiveGate(self.risk, limits, self.words, WORD)
        venue = order_venue("binance_usdm")
        self.proto = venue.protocol(Signer(DEFAULT_API_KEY, DEFAULT_API_SECRET), ["BTCUSDT"], [("BTC", "USDT")],
                                    "htag", 5000, 2000)
        self.user_url = venue.user_stream_url
        self.published = []
        self.counts = {}
        self.router = OrderRouter(self.risk, self.area, self.gate, self.proto, self.published.append, self.count,
                                  {k: Rec() for k in ("risk_check", "intent_to_verdict", "sent_to_ack")},
                                  lambda cause: True, 10_000 * 1_000_000)
        self.counter = 0

    def count(self, name, n=1):
        self.counts[name] = self.counts.get(name, 0) + n

    async def pump(self, ws):
        async for text in ws:
            for frame in self.router.on_frame(text, time.time_ns()):
                await self.api.send(frame)

    async def start(self):
        url = self.sim.url("/ws-fapi/v1")
        self.api = await connect(url)
        self.tasks = [asyncio.create_task(self.pump(self.api))]
        await self.api.send(self.proto.subscribe(time.time_ns()))
        await self.until(lambda: self.proto.listen_key)
        self.user = await connect(self.user_url(url, self.proto.listen_key))
        self.tasks.append(asyncio.create_task(self.pump(self.user)))

    async def stop(self):
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.api.close()
        await self.user.close()

    async def until(self, cond, timeout=10.0):
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting")
            for frame in self.router.expired(time.time_ns()):
                await self.api.send(frame)
            await asyncio.sleep(0.005)

    def mid(self):
        return self.sim.futures.mark_e8("btcusdt")

    async def order(self, side, qty, type_=O.MARKET, price_e8=0, tif=O.GTC, reduce_only=False):
        """One strategy intent through the router; returns its reports once it ended."""
        self.counter += 1
        rec = np.zeros(1, O.DTYPE)
        oid = O.make_order_id(1, self.counter)
        rec["order_id"], rec["strategy_id"], rec["action"] = oid, 1, O.NEW
        rec["side"], rec["type"], rec["tif"] = side, type_, tif
        rec["qty_e8"], rec["price_e8"] = round(qty * E8), price_e8
        rec["flags"] = O.F_REDUCE_ONLY if reduce_only else 0
        now = time.time_ns()
        rec["intent_ns"] = rec["trigger_recv_ns"] = now
        self.risk.symbols[0]["mid_e8"] = self.mid()
        self.risk.symbols[0]["mid_ns"] = now
        frame = self.router.handle(rec)
        if frame is not None and self.router.pending is not None:
            frame = self.router.release(frame)
        if frame is not None:
            await self.api.send(frame)
        await self.until(lambda: not self.router.open)
        return [r[0] for r in self.published if int(r[0]["order_id"]) == oid]


def check_against_sim(c, sim):
    """The risk state's futures position equals the simulator's ledger, to the cent."""
    sym = c.risk.symbols[0]
    p = sim.futures.ledger.position("btcusdt")
    assert int(sym["position_e8"]) == p.qty_e8
    assert float(sym["avg_px"]) == pytest.approx(p.entry, abs=1e-6)
    assert float(sym["realized_pnl"]) == pytest.approx(p.realized, abs=1e-6)
    assert float(sym["fees"]) == pytest.approx(p.fees, abs=1e-8)
    assert float(sym["funding"]) == pytest.approx(p.funding, abs=1e-8)
    mark = sim.futures.mark_e8("btcusdt")
    assert unrealized_at(sym, mark) == pytest.approx(sim.futures.unrealized("btcusdt", mark), abs=1e-6)
    return sym, p


def test_usdm_strategy_positions_funding_and_reduce_only():
    cfg = ExchangeConfig(port=0, symbols=("btcusdt",), rate=200.0, venue="binance_usdm", funding_interval_s=FUNDING_S,
                    funding_rate="0.0005", maker_fee="0.0002", taker_fee="0.0004")

    async def main():
        async with ExchangeSimulator(cfg) as sim:
            c = Client(sim)
            await c.start()
            try:
                # open a long with a taker buy, add with a crossing IOC limit
                got = await c.order(O.BUY, 0.02)
                assert [int(r["exec_type"]) for r in got][-1] == F.EX_TRADE and int(got[-1]["state"]) == F.ST_FILLED
                ask = sim.venue.markets["btcusdt"].px[1, 0] * sim.venue.specs["btcusdt"].tick_e8
                got = await c.order(O.BUY, 0.01, O.LIMIT, int(ask) + 100 * E8, O.IOC)
                assert int(got[-1]["state"]) in (F.ST_FILLED, F.ST_EXPIRED)
                sym, p = check_against_sim(c, sim)
                long = p.qty_e8
                assert long > 0
                # reduceOnly that would increase the long: refused by the venue (-2022)
                got = await c.order(O.BUY, 0.001, reduce_only=True)
                assert int(got[-1]["state"]) == F.ST_REJECTED and int(got[-1]["reason"]) == R.VENUE_REDUCE_ONLY
                assert int(got[-1]["venue_code"]) == -2022
                # reduceOnly larger than the position: refused too
                got = await c.order(O.SELL, long / E8 + 0.001, reduce_only=True)
                assert int(got[-1]["reason"]) == R.VENUE_REDUCE_ONLY
                # reduceOnly that reduces: fills, the position shrinks
                got = await c.order(O.SELL, 0.005, reduce_only=True)
                assert int(got[-1]["state"]) == F.ST_FILLED
                sym, p = check_against_sim(c, sim)
                assert 0 < p.qty_e8 == long - 500_000
                # funding: hold the position over a funding time
                paid = len(sim.futures.ledger.funding_record)
                await c.until(lambda: len(sim.futures.ledger.funding_record) > paid and c.counts.get("funding", 0)
                              >= len(sim.futures.ledger.funding_record), timeout=4 * FUNDING_S + 5)
                f = sim.futures.ledger.funding_record[-1]
                assert f.position_e8 == p.qty_e8 and f.amount_e8 == -(p.qty_e8 * f.mark_e8 // E8) * 50_000 // E8
                assert f.amount_e8 < 0  # a long pays a positive rate
                assert f.time_ms % int(FUNDING_S * 1000) == 0  # at the funding time, on the interval's grid
                sym, p = check_against_sim(c, sim)
                assert float(sym["funding"]) == pytest.approx(sum(x.amount_e8 for x in
                                                                  sim.futures.ledger.funding_record) / E8, abs=1e-8)
                # total PnL at the mark: realized + unrealized - fees + funding, both sides
                c.risk.symbols[0]["mark_e8"] = sim.futures.mark_e8("btcusdt")
                _, total, _ = mark_to_market(c.risk.symbols)
                want = p.realized + sim.futures.unrealized("btcusdt") - p.fees + p.funding
                assert total == pytest.approx(want, abs=1e-6)
                # close the rest with reduceOnly, then a reduceOnly on a flat position is refused
                got = await c.order(O.SELL, p.qty_e8 / E8, reduce_only=True)
                assert int(got[-1]["state"]) == F.ST_FILLED
                sym, p = check_against_sim(c, sim)
                assert p.qty_e8 == 0 and int(sym["position_e8"]) == 0
                got = await c.order(O.SELL, 0.001, reduce_only=True)
                assert int(got[-1]["reason"]) == R.VENUE_REDUCE_ONLY
                assert sim.futures.ledger.violations == 0
            finally:
                await c.stop()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_usdm_post_only_rests_and_cancels_and_crossing_post_only_is_refused():
    cfg = ExchangeConfig(port=0, symbols=("btcusdt",), rate=50.0, venue="binance_usdm")

    async def main():
        async with ExchangeSimulator(cfg) as sim:
            c = Client(sim)
            await c.start()
            try:
                tick = sim.venue.specs["btcusdt"].tick_e8
                m = sim.venue.markets["btcusdt"]
                ask = int(m.px[1, 0]) * tick
                got = await c.order(O.BUY, 0.01, O.LIMIT_MAKER, ask + 50 * E8)
                assert int(got[-1]["state"]) == F.ST_REJECTED and int(got[-1]["reason"]) == R.VENUE_WOULD_TAKE
                assert int(got[-1]["venue_code"]) == -5022
                bid = int(m.px[0, 0]) * tick
                c.counter += 1
                rec = np.zeros(1, O.DTYPE)
                oid = O.make_order_id(1, c.counter)
                rec["order_id"], rec["strategy_id"], rec["action"] = oid, 1, O.NEW
                rec["side"], rec["type"], rec["tif"] = O.BUY, O.LIMIT_MAKER, O.GTC
                rec["qty_e8"], rec["price_e8"] = 1_000_000, bid - 500 * E8
                rec["intent_ns"] = rec["trigger_recv_ns"] = time.time_ns()
                c.risk.symbols[0]["mid_e8"], c.risk.symbols[0]["mid_ns"] = c.mid(), time.time_ns()
                await c.api.send(c.router.release(c.router.handle(rec)))
                await c.until(lambda: any(int(r[0]["exec_type"]) == F.EX_NEW and int(r[0]["order_id"]) == oid
                                          for r in c.published))
                (order,) = sim.venue.engine.open_orders("btcusdt")
                assert order.type == "LIMIT_MAKER" and order.client_id == c.proto.orders[oid].cid
                c.counter += 1
                cancel = np.zeros(1, O.DTYPE)
                cancel["order_id"], cancel["strategy_id"], cancel["action"] = O.make_order_id(1, c.counter), 1, O.CANCEL
                cancel["cancel_id"] = oid
                await c.api.send(c.router.handle(cancel))
                await c.until(lambda: not c.router.open)
                ended = [r[0] for r in c.published if int(r[0]["order_id"]) == oid][-1]
                assert int(ended["exec_type"]) == F.EX_CANCELED and int(ended["state"]) == F.ST_CANCELED
                assert not sim.venue.engine.open_orders("btcusdt")
                assert int(c.risk.symbols[0]["open_buy_e8"]) == 0 and int(c.risk.symbols[0]["position_e8"]) == 0
            finally:
                await c.stop()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_usdm_api_refusals_in_the_futures_shape():
    from tests.exchange._helpers import connect as sim_connect
    from tests.exchange._helpers import request, signed, with_sim

    cfg = ExchangeConfig(port=0, symbols=("btcusdt",), rate=50.0, venue="binance_usdm", leverage=1,
                    balances=(("USDT", "1000"),))

    async def body(sim):
        async with await sim_connect(sim, "/ws-fapi/v1") as ws:
            base = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01000"}
            hedge = await request(ws, "order.place", signed({**base, "positionSide": "LONG"}), 1)
            margin = await request(ws, "order.place", signed({**base, "quantity": "1.00000"}), 2)
            reduce = await request(ws, "order.place", signed({**base, "reduceOnly": "true"}), 3)
            placed = await request(ws, "order.place", signed({**base, "newClientOrderId": "a1"}), 4)
            status = await request(ws, "order.status", signed({"symbol": "BTCUSDT", "origClientOrderId": "a1"}), 5)
            missing = await request(ws, "order.status", signed({"symbol": "BTCUSDT", "origClientOrderId": "zz"}), 6)
            unsigned = await request(ws, "order.place", {**base, "apiKey": "hftshm-demo-key", "timestamp": 1}, 7)
            spot_only = await request(ws, "myTrades", signed({"symbol": "BTCUSDT"}), 8)
            return hedge, margin, reduce, placed, status, missing, unsigned, spot_only

    hedge, margin, reduce, placed, status, missing, unsigned, spot_only = with_sim(cfg, body)
    assert hedge["error"]["code"] == -4061
    assert margin["error"] == {"code": -2019, "msg": "Margin is insufficient."}  # 1 BTC at 1x on 1000 USDT
    assert reduce["error"] == {"code": -2022, "msg": "ReduceOnly Order is rejected."}  # no position to reduce
    r = placed["result"]
    assert r["status"] == "FILLED" and r["executedQty"] == "0.01000000" and r["positionSide"] == "BOTH"
    assert r["reduceOnly"] is False and "transactTime" not in r and r["updateTime"] > 0
    avg = int(r["avgPrice"].replace(".", ""))
    assert avg > 0 and float(r["cumQuote"]) == pytest.approx(float(r["avgPrice"]) * 0.01, abs=0.01)
    assert status["result"]["clientOrderId"] == "a1" and status["result"]["status"] == "FILLED"
    assert missing["error"]["code"] == -2013
    assert unsigned["error"]["code"] == -1102  # signature is mandatory
    assert spot_only["error"]["code"] == -1020  # the futures API has no trade list
