"""Orders in: a remote strategy host's orders reach the venue (the simulator) through the bridge
exactly once, across a bridge that crashed after offering an order and before acknowledging it
(the redelivery is dropped by execution as a duplicate), a kill -9 of the trading host's bridge
mid-stream and one of the remote host's bridge. Forbidden: an order at the venue twice; an order that never reached it (every one here
is fresh and admissible); an order of a strategy id the trading host did not allow, offered."""

import asyncio
import signal
import time

import nats
import numpy as np
from nats.js import api

from hftshm.bridge import links, wire
from hftshm.layouts import md as M
from hftshm.layouts import order as O
from hftshm.ring import BroadcastRing, ManyToOneRing
from hftshm.runtime import rings
from hftshm.runtime.config import BridgeConfig
from hftshm.venues import clientid
from hftshm.trading.area import TradingArea
from hftshm.launch.trading_instance import TradingInstance as Harness
from trading._checks import wait_for

SID = 9  # the remote host's strategy id (the trading host runs none of its own)
N = 30


def _reference_price_e8(instance) -> int:
    ring = BroadcastRing.attach(instance, "md", M.LAYOUT)
    try:
        r = ring.reader(None, start="oldest")
        recs = r.read_batch(1 << 20, copy=True)
        r.close()
    finally:
        ring.close()
    trades = recs[(recs["kind"] == M.TRADE) & (recs["price_e8"] > 0)]
    assert len(trades), "no trade in the trading host's md ring yet"
    return int(trades[-1]["price_e8"])


def _orders(first: int, n: int, price_e8: int, sid: int = SID) -> np.ndarray:
    """IOC limit buys well under the market (inside the risk band): each is placed and expires."""
    recs = np.zeros(n, O.DTYPE)
    recs["order_id"] = [O.make_order_id(sid, c) for c in range(first, first + n)]
    recs["strategy_id"] = sid
    recs["symbol_id"] = 0
    recs["side"] = O.BUY
    recs["type"] = O.LIMIT
    recs["tif"] = O.IOC
    recs["action"] = O.NEW
    recs["price_e8"] = (price_e8 * 995 // 1000) // 1_000_000 * 1_000_000  # a 0.01 tick
    recs["qty_e8"] = 100_000  # 0.001
    return recs


def _offer(instance: str, recs: np.ndarray, pause: float = 0.0) -> None:
    """What a remote strategy does: offer each intent into its instance's orders ring."""
    ring = ManyToOneRing.attach(instance, "orders", O.LAYOUT)
    prod = ring.producer("test-strategy")
    try:
        for i in range(len(recs)):
            rec = recs[i:i + 1].copy()
            rec["intent_ns"] = time.time_ns()
            assert prod.put(rec, timeout=10)
            if pause:
                time.sleep(pause)
    finally:
        prod.close()
        ring.close()


def _venue_cids(h) -> list[str]:
    """The client order id of every order the simulator accepted or refused, one per order."""
    return h.sim.call(lambda: [o.client_id for o in h.sim.sim.venue.engine._orders.values()])


async def _crashed_bridge(url: str, remote: str, trading: str) -> int:
    """A bridge that dies between offer and acknowledgement: take one message from the durable
    consumer, offer its order into the trading host's ring, never acknowledge. Its stream sequence."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    durable = f"hftshm_{trading}_orders_in".replace("-", "_")
    cc = api.ConsumerConfig(durable_name=durable, ack_policy=api.AckPolicy.EXPLICIT,
                            ack_wait=links.ORDERS_ACK_WAIT_S, max_ack_pending=1, deliver_policy=api.DeliverPolicy.ALL)
    sub = await js.pull_subscribe(wire.subject(remote, "orders"), durable=durable,
                                  stream=wire.stream_name(remote, "orders"), config=cc)
    msg = (await sub.fetch(1, timeout=20))[0]
    _, _, _, count, _, _ = wire.decode_header(msg.data)
    recs = np.frombuffer(msg.data, O.DTYPE, count, wire.HEADER_LENGTH).copy()
    _offer(trading, recs)
    await nc.close()  # no acknowledgement
    return msg.metadata.sequence.stream


def test_remote_orders_reach_the_venue_once_across_bridge_crashes(instance, make_instance, nats_server, tmp_path):
    h = Harness(f"{instance}t", [], symbols=("btcusdt",), sim_rate=800, orders_per_10s=1000,
                risk={"max_orders_per_s": 60, "max_orders_per_s_total": 60, "max_feed_age_s": 60.0},
                execution={"max_order_age_ms": 30_000}, log_dir=str(tmp_path / "trading"))
    remote = None
    try:
        h.start(workers=False)
        h.cfg.bridge = BridgeConfig(url=nats_server.url, orders_in="", orders_in_strategies="")
        remote = make_instance(rings={"md": {}, "orders": {}, "fills": {}},
                               venue={"kind": "bridge", "symbols": ["btcusdt"]},
                               bridge={"url": nats_server.url, "source": h.instance, "orders_out": True})
        h.cfg.bridge.orders_in = remote.name
        h.cfg.bridge.orders_in_strategies = str(SID)
        h.cfg.bridge.fills_out = True
        h.roles["bridge"] = ("bridge", {})
        for name in ("risk", "execution", "ingest"):
            h.spawn(name)
        h.wait_running(["risk", "execution", "ingest"], timeout=120)
        remote.spawn()
        remote.wait_running()
        time.sleep(1.0)
        price = _reference_price_e8(h.instance)
        recs = _orders(1, N, price)

        # orders 1..10 wait in the stream; a bridge takes order 1, offers it and dies unacknowledged
        _offer(remote.name, recs[:10])
        remote.wait_counter("orders_out", 10)
        asyncio.run(_crashed_bridge(nats_server.url, remote.name, h.instance))
        wait_for(lambda: h.counters("execution")["sent"] >= 1, 30, "the crashed bridge's order sent")

        # the real bridge: order 1 comes again (after the acknowledgement wait) and is a duplicate
        h.spawn("bridge")
        h.wait_running(["bridge"], timeout=60)
        wait_for(lambda: h.counters("bridge")["orders_msgs_in"] >= 10, 60, "orders 1..10 acknowledged")
        assert h.counters("bridge")["orders_resent"] >= 1
        wait_for(lambda: h.counters("execution")["duplicates"] >= 1, 30, "the redelivered order dropped")

        # kill -9 of the trading host's bridge while orders 11..30 flow
        _offer(remote.name, recs[10:20], pause=0.05)
        wait_for(lambda: h.counters("bridge")["orders_in"] >= 13, 60, "orders flowing")
        h.kill("bridge", signal.SIGKILL)
        _offer(remote.name, recs[20:25], pause=0.02)
        h.spawn("bridge")
        h.wait_running(["bridge"], timeout=60)
        # and kill -9 of the remote host's bridge: orders 26..30 wait in its ring, then go out once
        remote.wait_counter("orders_out", 25)
        remote.stop(sig=signal.SIGKILL)
        _offer(remote.name, recs[25:], pause=0.02)
        remote.spawn()
        remote.wait_running()
        want = {clientid.order_cid(clientid.tag(TradingArea(h.control.risk_buffer()).run_tag), int(o))
                for o in recs["order_id"]}
        wait_for(lambda: want <= set(_venue_cids(h)), 60, "every order at the venue")
        time.sleep(links.ORDERS_ACK_WAIT_S + 0.5)  # a late redelivery would show now
        cids = _venue_cids(h)
        ours = [c for c in cids if c in want]
        assert len(ours) == N and set(ours) == want, f"{len(ours)} orders at the venue for {N} intents"
        ex = h.counters("execution")
        assert ex["sent"] == N, ex
        assert ex["duplicates"] >= 1 and ex["stale"] == 0, ex
        remote.wait_counter("orders_out", N)

        # a strategy id the trading host did not allow: refused, never offered
        _offer(remote.name, _orders(1, 1, price, sid=SID + 1))
        wait_for(lambda: h.counters("bridge")["orders_refused"] >= 1, 30, "foreign strategy id refused")
        assert h.counters("execution")["orders_in"] == ex["orders_in"]

        # a message that is not a bridge message, and one of another layout: refused, never offered
        async def junk():
            nc = await nats.connect(nats_server.url)
            js = nc.jetstream()
            subj = wire.subject(remote.name, "orders")
            await js.publish(subj, b"not a bridge message")
            await js.publish(subj, wire.encode(wire.RECORDS, 1, 0, 1, M.LAYOUT.fingerprint, M.LAYOUT.size,
                                               np.zeros(1, M.DTYPE).tobytes()))
            await nc.close()

        asyncio.run(junk())
        wait_for(lambda: h.counters("bridge")["refused_bad"] >= 1 and h.counters("bridge")["refused_layout"] >= 1,
                 30, "bad messages refused")
        time.sleep(0.3)
        assert h.counters("execution")["orders_in"] == ex["orders_in"]
        assert "refused" in h.log("bridge")
    finally:
        h.stop()
