"""Bybit v5 linear orders end to end on the simulator: the order router with the Bybit protocol
(as execution would wire it) over real WebSockets to the simulator's ``/v5/trade`` and
``/v5/private``, and plain HTTP to its ``/v5/order/realtime``. Orders are placed, filled (as
taker and as maker), cancelled and refused; the reports reach the risk state, whose position,
entry, realized PnL and fees must equal the simulator's ledger. An answer the simulator never
sends is resolved by asking over REST, never by a resend."""

import asyncio
import time
import urllib.error
import urllib.request

import numpy as np
import orjson
import pytest
from websockets.asyncio.client import connect

from hftshm.exchange import ExchangeConfig, ExchangeSimulator
from hftshm.exchange.config import DEFAULT_API_KEY, DEFAULT_API_SECRET
from hftshm.layouts import exec_report as F
from hftshm.layouts import order as O
from hftshm.risk import reasons as R
from hftshm.risk.limits import Limits
from hftshm.risk.live_gate import LiveGate
from hftshm.risk.state import RiskState
from hftshm.runtime import control_layout as C
from hftshm.trading.area import TradingArea
from hftshm.trading.router import OrderRouter
from hftshm.venues import order_venue
from hftshm.venues.binance_spot.signing import Signer
from hftshm.venues.bybit.protocol import HttpRequest

E8 = 100_000_000
WORD = C.word(C.TRADING_STATE)


class Rec:
    def record(self, ns):
        pass


def http_get(url: str, headers: dict) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class Client:
    """Execution's wiring, in-process: router + Bybit protocol + the trade and private sockets +
    REST for the protocol's questions."""

    def __init__(self, sim, prefix="htag"):
        self.sim = sim
        self.halts = []
        self.buf = np.zeros(C.RISK_LENGTH, np.uint8)
        self.area = TradingArea.format(self.buf, 1)
        self.risk = RiskState(1, self.buf)
        self.words = np.zeros(C.SEGMENT_SIZE // 8, np.int64)
        self.words[WORD] = R.TS_ACTIVE
        limits = Limits(n_symbols=1, max_order_qty=1, max_order_notional=1_000_000, max_position=1,
                        max_gross_exposure=10_000_000, price_band_bps=500, max_orders_per_s=50,
                        max_orders_per_s_total=50)
        self.gate = LiveGate(self.risk, limits, self.words, WORD)
        self.venue = order_venue("bybit_linear")
        # the key pair as execution loads it (a Binance Signer): the protocol takes its MAC over
        self.proto = self.venue.protocol(Signer(DEFAULT_API_KEY, DEFAULT_API_SECRET), ["BTCUSDT"],
                                         [("BTC", "USDT")], prefix, 5000, 1000)
        self.published = []
        self.counts = {}
        self.router = OrderRouter(self.risk, self.area, self.gate, self.proto, self.published.append, self.count,
                                  {k: Rec() for k in ("risk_check", "intent_to_verdict", "sent_to_ack")},
                                  lambda cause: self.halts.append(cause) or True, 10_000 * 1_000_000)
        self.counter = 0
        self.rest_calls = 0
        self.tasks = []

    def count(self, name, n=1):
        self.counts[name] = self.counts.get(name, 0) + n

    async def send(self, frames):
        for f in frames:
            if isinstance(f, HttpRequest):  # a question over REST: its answer comes back as a frame
                self.tasks.append(asyncio.create_task(self.rest(f)))
            else:
                await self.trade.send(f.decode())

    async def rest(self, req: HttpRequest):
        self.rest_calls += 1
        status, body = await asyncio.to_thread(http_get, req.url(self.venue.rest_url(self.api_url)), req.headers)
        await self.send(self.router.on_frame(req.answer_frame(status, body), time.time_ns()))

    async def pump(self, ws):
        async for text in ws:
            await self.send(self.router.on_frame(text, time.time_ns()))

    async def start(self):
        self.api_url = self.sim.url("/v5/trade")
        self.trade = await connect(self.api_url)
        self.private = await connect(self.venue.private_stream_url(self.api_url))
        self.tasks += [asyncio.create_task(self.pump(self.trade)), asyncio.create_task(self.pump(self.private))]
        now = time.time_ns()
        await self.trade.send(self.proto.subscribe(now).decode())
        for f in self.proto.private_frames(now):
            await self.private.send(f.decode())
        await self.until(lambda: self.proto.ready)

    async def stop(self):
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.trade.close()
        await self.private.close()

    async def until(self, cond, timeout=10.0):
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting")
            await self.send(self.router.expired(time.time_ns()))
            await asyncio.sleep(0.005)

    def market(self):
        return self.sim.bybit.venue.markets["BTCUSDT"]

    def touch(self):
        m = self.market()
        tick = m.spec.tick_e8
        return max(m.bids) * tick, min(m.asks) * tick

    async def order(self, side, qty_e8, type_=O.MARKET, price_e8=0, tif=O.GTC, reduce_only=False, wait=True):
        """One strategy intent through the router; its reports once it ended (``wait``)."""
        self.counter += 1
        rec = np.zeros(1, O.DTYPE)
        oid = O.make_order_id(1, self.counter)
        rec["order_id"], rec["strategy_id"], rec["action"] = oid, 1, O.NEW
        rec["side"], rec["type"], rec["tif"] = side, type_, tif
        rec["qty_e8"], rec["price_e8"] = qty_e8, price_e8
        rec["flags"] = O.F_REDUCE_ONLY if reduce_only else 0
        now = time.time_ns()
        rec["intent_ns"] = rec["trigger_recv_ns"] = now
        bid, ask = self.touch()
        self.risk.symbols[0]["mid_e8"] = (bid + ask) // 2
        self.risk.symbols[0]["mid_ns"] = now
        frame = self.router.handle(rec)
        assert frame is not None, f"refused before the venue: {self.published[-1][0]['reason']}"
        if self.router.pending is not None:
            frame = self.router.release(frame)
        await self.trade.send(frame.decode())
        if wait:
            await self.until(lambda: oid not in self.proto.orders)
        return oid

    async def cancel(self, target):
        self.counter += 1
        rec = np.zeros(1, O.DTYPE)
        rec["order_id"], rec["strategy_id"], rec["action"] = O.make_order_id(1, self.counter), 1, O.CANCEL
        rec["cancel_id"] = target
        await self.trade.send(self.router.handle(rec).decode())
        await self.until(lambda: target not in self.proto.orders)

    def reports(self, oid):
        return [r[0] for r in self.published if int(r[0]["order_id"]) == oid]


def check_against_sim(c, fee_gap=0.0):
    """The risk state's position equals the simulator's ledger (fees: less ``fee_gap``, the fee
    of fills recovered from a query, which does not say it)."""
    sym = c.risk.symbols[0]
    p = c.sim.bybit.venue.ledger.position("BTCUSDT")
    assert int(sym["position_e8"]) == p.qty_e8
    assert float(sym["avg_px"]) == pytest.approx(p.entry, abs=1e-6)
    assert float(sym["realized_pnl"]) == pytest.approx(p.realized, abs=1e-6)
    assert float(sym["fees"]) == pytest.approx(p.fees - fee_gap, abs=1e-8)
    return p


def test_bybit_orders_placed_filled_cancelled_refused_and_resolved():
    cfg = ExchangeConfig(port=0, symbols=("btcusdt",), rate=50.0, maker_fee="0.0002", taker_fee="0.00055")

    async def main():
        async with ExchangeSimulator(cfg) as sim:
            c = Client(sim)
            await c.start()
            try:
                venue = sim.bybit.venue
                # a market buy takes the book: acked, filled (taker fee), in the risk state
                oid = await c.order(O.BUY, 2_000_000)
                got = c.reports(oid)
                assert int(got[0]["exec_type"]) == F.EX_NEW
                assert int(got[-1]["exec_type"]) == F.EX_TRADE and int(got[-1]["state"]) == F.ST_FILLED
                assert sum(int(r["last_qty_e8"]) for r in got if int(r["exec_type"]) == F.EX_TRADE) == 2_000_000
                p = check_against_sim(c)
                assert p.qty_e8 == 2_000_000 and p.fees > 0
                # a crossing IOC sell: filled (or its rest cancelled)
                bid, _ = c.touch()
                oid = await c.order(O.SELL, 500_000, O.LIMIT, bid - 100 * E8, O.IOC)
                assert int(c.reports(oid)[-1]["state"]) in (F.ST_FILLED, F.ST_CANCELED)
                check_against_sim(c)
                # a resting buy far below the touch: acked, then cancelled by us
                bid, _ = c.touch()
                oid = await c.order(O.BUY, 100_000, O.LIMIT, bid - 500 * E8, wait=False)
                await c.until(lambda: any(int(r["exec_type"]) == F.EX_NEW for r in c.reports(oid)))
                (resting,) = [o for o in venue.orders.values() if o.status == "New"]
                assert resting.link_id == c.proto.orders[oid].cid
                assert int(c.risk.symbols[0]["open_buy_e8"]) == 100_000
                await c.cancel(oid)
                ended = c.reports(oid)[-1]
                assert int(ended["exec_type"]) == F.EX_CANCELED and int(ended["state"]) == F.ST_CANCELED
                assert resting.status == "Cancelled" and int(c.risk.symbols[0]["open_buy_e8"]) == 0
                # a buy joining the best bid rests, and the market's sellers fill it (maker fee)
                bid, _ = c.touch()
                oid = await c.order(O.BUY, 100_000, O.LIMIT, bid, wait=False)
                await c.until(lambda: oid not in c.proto.orders, timeout=20)
                got = c.reports(oid)
                assert int(got[-1]["state"]) == F.ST_FILLED
                trades = [r for r in got if int(r["exec_type"]) == F.EX_TRADE]
                assert all(int(r["last_px_e8"]) == bid for r in trades)
                fee = sum(int(r["fee_e8"]) for r in trades)  # per fill, each rounded down
                assert abs(fee - 100_000 * bid // E8 * 20_000 // E8) <= len(trades)
                check_against_sim(c)
                # a PostOnly that would take: the venue cancels it and says why
                _, ask = c.touch()
                oid = await c.order(O.BUY, 100_000, O.LIMIT_MAKER, ask + 10 * E8)
                ended = c.reports(oid)[-1]
                assert int(ended["state"]) == F.ST_CANCELED and int(ended["reason"]) == R.VENUE_WOULD_TAKE
                # a reduce-only buy on a long: refused (110017)
                oid = await c.order(O.BUY, 100_000, reduce_only=True)
                ended = c.reports(oid)[-1]
                assert int(ended["state"]) == F.ST_REJECTED and int(ended["reason"]) == R.VENUE_REDUCE_ONLY
                assert int(ended["venue_code"]) == 110017
                # a quantity off the step: refused (10001, VENUE_FILTER)
                oid = await c.order(O.SELL, 123, O.LIMIT, bid)
                assert int(c.reports(oid)[-1]["reason"]) == R.VENUE_FILTER
                assert int(c.reports(oid)[-1]["venue_code"]) == 10001
                p = check_against_sim(c)
                # the venue takes an order and its answer and events never come: asked over REST,
                # its fill recovered from cumExecQty/avgPrice, never sent twice
                placed = len(venue.orders)
                venue.drop_answers = 1
                before = c.rest_calls
                oid = await c.order(O.SELL, 300_000)
                assert len(venue.orders) == placed + 1 and c.rest_calls > before
                got = c.reports(oid)
                assert int(got[-1]["state"]) == F.ST_FILLED and int(got[0]["exec_type"]) == F.EX_NEW
                dropped = [o for o in venue.orders.values() if o.link_id == c.proto.prefix + f"-{oid:x}"]
                assert len(dropped) == 1 and dropped[0].cum_e8 == 300_000
                check_against_sim(c, fee_gap=dropped[0].fee_e8 / E8)
                assert c.counts.get("timeouts", 0) >= 1
                assert c.proto.unknown_events == 0 and c.proto.bad_events == 0
            finally:
                await c.stop()

    asyncio.run(asyncio.wait_for(main(), 90))


def test_bybit_auth_refused_and_orders_before_auth():
    cfg = ExchangeConfig(port=0, symbols=("btcusdt",), rate=50.0)

    async def main():
        async with ExchangeSimulator(cfg) as sim:
            venue = order_venue("bybit_linear")
            bad = venue.protocol(Signer(DEFAULT_API_KEY, "not-the-secret"), ["BTCUSDT"], [("BTC", "USDT")], "htag")
            async with connect(sim.url("/v5/trade")) as ws:
                # an order op before auth is refused
                await ws.send(orjson.dumps({"reqId": "x1", "header": {"X-BAPI-TIMESTAMP": str(int(time.time() * 1000))},
                                            "op": "order.create", "args": [{"category": "linear"}]}).decode())
                ans = orjson.loads(await ws.recv())
                assert ans["reqId"] == "x1" and ans["retCode"] == 10007
                await ws.send(bad.subscribe(time.time_ns()).decode())
                bad.on_frame(await ws.recv(), time.time_ns())
                assert not bad.trade_authed and bad.auth_refused[:2] == ("trade", 10004)
            async with connect(venue.private_stream_url(sim.url("/v5/trade"))) as ws:
                for f in bad.private_frames(time.time_ns()):
                    await ws.send(f.decode())
                bad.on_frame(await ws.recv(), time.time_ns())
                bad.on_frame(await ws.recv(), time.time_ns())
                assert not bad.ready and bad.auth_refused[0] == "private"
            # a REST question signed with the wrong secret is refused, and counts as no answer
            o_req = bad._rest("s", None, "/v5/order/realtime", {"category": "linear", "symbol": "BTCUSDT"},
                              time.time_ns())
            status, body = await asyncio.to_thread(http_get, o_req.url(venue.rest_url(sim.url("/v5/trade"))),
                                                   o_req.headers)
            assert status == 200 and orjson.loads(body)["retCode"] == 10004

    asyncio.run(asyncio.wait_for(main(), 30))


def test_bybit_start_up_reconciliation_cancels_an_earlier_runs_order():
    cfg = ExchangeConfig(port=0, symbols=("btcusdt",), rate=50.0)

    async def main():
        async with ExchangeSimulator(cfg) as sim:
            venue = sim.bybit.venue
            old = Client(sim, prefix="hold1")  # an earlier run of the instance left an order resting
            await old.start()
            try:
                bid, _ = old.touch()
                oid = await old.order(O.BUY, 100_000, O.LIMIT, bid - 500 * E8, wait=False)
                await old.until(lambda: any(int(r["exec_type"]) == F.EX_NEW for r in old.reports(oid)))
            finally:
                await old.stop()
            (left,) = [o for o in venue.orders.values() if o.status == "New"]
            assert left.link_id.startswith("hold1-")
            c = Client(sim)
            await c.start()
            try:
                await c.send(c.router.reconcile_start(time.time_ns(), 10_000_000_000))
                assert c.router.reconciling

                def done():
                    c.router.reconcile_check(time.time_ns())
                    return not c.router.reconciling

                await c.until(done)
                assert c.halts == [] and c.proto.reconcile == (0, 1, 0)
                assert c.counts.get("reconciled") == 1
                await c.until(lambda: left.status == "Cancelled")
            finally:
                await c.stop()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_bybit_funding_from_the_private_stream_equals_the_simulators_ledger():
    """Funding every second on a long, then on a short: each Funding execution on /v5/private is
    applied by the router (counted in ``funding``), and the risk state's funding equals what the
    simulator's ledger booked, payment for payment."""
    cfg = ExchangeConfig(port=0, symbols=("btcusdt",), rate=50.0, funding_interval_s=1.0, funding_rate="0.0005")

    async def main():
        async with ExchangeSimulator(cfg) as sim:
            c = Client(sim)
            await c.start()
            try:
                ledger = sim.bybit.venue.ledger
                funding = c.risk.symbols[0]

                async def paid_once_more():
                    n = len(ledger.funding_record)
                    await c.until(lambda: len(ledger.funding_record) > n
                                  and c.counts.get("funding", 0) == len(ledger.funding_record), timeout=10)
                    assert round(float(funding["funding"]) * E8) == sum(f.amount_e8 for f in ledger.funding_record)
                    return ledger.funding_record[-1]

                await c.order(O.BUY, 2_000_000)
                f = await paid_once_more()
                assert f.position_e8 == 2_000_000 and f.amount_e8 < 0  # a long pays a positive rate
                assert f.time_ms % 1000 == 0
                await c.order(O.SELL, 5_000_000)
                f = await paid_once_more()
                assert f.position_e8 == -3_000_000 and f.amount_e8 > 0  # a short receives it
                assert ledger.position("BTCUSDT").funding == pytest.approx(float(funding["funding"]), abs=1e-8)
                assert c.proto.funding_events == len(ledger.funding_record) and c.proto.other_execs == 0
                check_against_sim(c)
            finally:
                await c.stop()

    asyncio.run(asyncio.wait_for(main(), 90))
