"""The WebSocket API and user-data events over a real loopback connection."""

import orjson

from hftshm.exchange import ExchangeConfig
from hftshm.exchange.signing import sign
from hftshm.feed.e8 import parse_e8

from ._helpers import connect, request, signed, with_sim


def cfg(**kw):
    return ExchangeConfig(port=0, **{"rate": 3000.0, **kw})


async def next_events(ws, n):
    out = []
    while len(out) < n:
        msg = orjson.loads(await ws.recv())
        if "subscriptionId" in msg:
            out.append(msg)
    return out


def test_depth_and_signed_requests():
    async def body(sim):
        async with await connect(sim, "/ws-api/v3") as ws:
            depth = await request(ws, "depth", {"symbol": "BTCUSDT", "limit": 7})
            order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                     "price": "50000.00", "quantity": "0.00100"}
            bad = signed(order)
            bad["signature"] = sign("not-the-secret", bad)
            rejected = await request(ws, "order.place", bad, req_id=2)
            unknown_key = await request(ws, "order.place", signed(order, key="somebody"), req_id=3)
            placed = await request(ws, "order.place", signed(order), req_id=4)
            status = await request(ws, "order.status", signed({"symbol": "BTCUSDT", "orderId": placed["result"]["orderId"]}), 5)
            cancel = await request(ws, "order.cancel", signed({"symbol": "BTCUSDT", "orderId": placed["result"]["orderId"]}), 6)
            again = await request(ws, "order.cancel", signed({"symbol": "BTCUSDT", "orderId": placed["result"]["orderId"]}), 7)
            return depth, rejected, unknown_key, placed, status, cancel, again

    depth, rejected, unknown_key, placed, status, cancel, again = with_sim(cfg(), body)
    assert depth["status"] == 200 and len(depth["result"]["bids"]) == 7
    assert depth["rateLimits"][0]["rateLimitType"] == "REQUEST_WEIGHT"
    assert rejected == {"id": 2, "status": 400, "error": {"code": -1022, "msg": "Signature for this request is not valid."},
                        "rateLimits": rejected["rateLimits"]}
    assert unknown_key["status"] == 401 and unknown_key["error"]["code"] == -2015
    assert placed["status"] == 200 and placed["result"]["status"] == "NEW"
    assert [r["rateLimitType"] for r in placed["rateLimits"]] == ["ORDERS", "ORDERS", "REQUEST_WEIGHT"]
    assert status["result"]["status"] == "NEW" and status["result"]["price"] == "50000.00000000"
    assert cancel["result"]["status"] == "CANCELED"
    assert again["error"] == {"code": -2011, "msg": "Unknown order sent."}


def test_execution_reports_and_pnl_agree_with_the_record():
    async def body(sim):
        async with await connect(sim, "/ws-api/v3") as ws:
            sub = await request(ws, "userDataStream.subscribe.signature", signed({}))
            sid = sub["result"]["subscriptionId"]
            buy = await request(ws, "order.place", signed(
                {"symbol": "ETHUSDT", "side": "BUY", "type": "MARKET", "quantity": "2.0000",
                 "newClientOrderId": "t1"}), 2)
            events = await next_events(ws, 3)  # NEW, TRADE.., outboundAccountPosition
            while events[-1]["event"]["e"] != "outboundAccountPosition":
                events += await next_events(ws, 1)
            sell = await request(ws, "order.place", signed(
                {"symbol": "ETHUSDT", "side": "SELL", "type": "MARKET", "quantity": "1.5000"}), 3)
            more = await next_events(ws, 3)
            while more[-1]["event"]["e"] != "outboundAccountPosition":
                more += await next_events(ws, 1)
            # A request whose answer was "lost" is resolved by its client order id.
            status = await request(ws, "order.status", signed({"symbol": "ETHUSDT", "origClientOrderId": "t1"}), 4)
            trades = await request(ws, "myTrades", signed({"symbol": "ETHUSDT"}), 5)
            account = await request(ws, "account.status", signed({"omitZeroBalances": True}), 6)
            return sid, buy, sell, events + more, status, trades, account, sim.venue

    sid, buy, sell, events, status, trades, account, venue = with_sim(cfg(), body)
    assert {e["subscriptionId"] for e in events} == {sid}
    reports = [e["event"] for e in events if e["event"]["e"] == "executionReport"]
    assert [r["x"] for r in reports][:1] == ["NEW"]
    fills = [r for r in reports if r["x"] == "TRADE"]
    assert [r["t"] for r in fills] == [f["tradeId"] for f in buy["result"]["fills"] + sell["result"]["fills"]]
    assert fills[-1]["X"] == "FILLED"
    assert status["result"]["status"] == "FILLED" and status["result"]["clientOrderId"] == "t1"

    # The client's PnL from its executionReports equals the simulator's own record and account.
    eth = usdt = 0
    for r in fills:
        qty, quote, fee = parse_e8(r["l"]), parse_e8(r["Y"]), parse_e8(r["n"])
        if r["S"] == "BUY":
            eth, usdt = eth + qty, usdt - quote
        else:
            eth, usdt = eth - qty, usdt + quote
        if r["N"] == "ETH":
            eth -= fee
        else:
            usdt -= fee
    record = venue.engine.executions
    assert [e.trade_id for e in record] == [r["t"] for r in fills]
    assert [t["id"] for t in trades["result"]] == [r["t"] for r in fills]
    balances = {b["asset"]: parse_e8(b["free"]) + parse_e8(b["locked"]) for b in account["result"]["balances"]}
    assert balances["ETH"] == parse_e8("10") + eth
    assert balances["USDT"] == parse_e8("100000") + usdt
    positions = [e["event"] for e in events if e["event"]["e"] == "outboundAccountPosition"]
    assert {b["a"] for b in positions[-1]["B"]} == {"ETH", "USDT"}


def test_public_trades_show_user_fills():
    async def body(sim):
        async with await connect(sim, "/ws/btcusdt@trade") as md:
            async with await connect(sim, "/ws-api/v3") as ws:
                placed = await request(ws, "order.place", signed(
                    {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.30000"}))
            ids = {f["tradeId"] for f in placed["result"]["fills"]}
            seen = {}
            while not ids <= set(seen):
                m = orjson.loads(await md.recv())
                seen[m["t"]] = m
            return placed, [seen[i] for i in sorted(ids)]

    placed, public = with_sim(cfg(), body)
    for fill, trade in zip(placed["result"]["fills"], public):
        assert (trade["p"], trade["q"], trade["m"]) == (fill["price"], fill["qty"], True)
