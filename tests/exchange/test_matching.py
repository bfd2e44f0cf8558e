"""The matching engine on literal books (no sockets, simulated time)."""

import numpy as np
import pytest

from hftshm.exchange import ExchangeConfig
from hftshm.exchange import rows as R
from hftshm.exchange.errors import ApiError
from hftshm.exchange.matching import OrderRequest
from hftshm.exchange.venue import MarketRows, UserEvents, Venue
from hftshm.feed.e8 import parse_e8
from hftshm.layouts.md import format_e8

from ._helpers import set_book

T = 1_700_000_000_000_000_000  # ns
MS = T // 1_000_000


def venue(**kw):
    v = Venue(ExchangeConfig(rate=2000.0, **kw))
    set_book(v.markets["btcusdt"],
             bids=[("60000.00", "0.50000"), ("59999.50", "1.00000"), ("59999.00", "2.00000")],
             asks=[("60001.00", "0.30000"), ("60001.50", "0.40000"), ("60003.00", "5.00000")])
    return v


def order(side, kind, qty="0", price="0", tif=None, client_id=None, quote="0", resp="FULL"):
    tif = tif or ("GTC" if kind != "LIMIT" else "GTC")
    return OrderRequest("btcusdt", side, kind, tif, parse_e8(price), parse_e8(qty), parse_e8(quote),
                        client_id, resp)


def reports(v):
    return [e for item in v.drain() if isinstance(item, UserEvents) for e in item.events
            if e["e"] == "executionReport"]


def public_trades(v):
    rows = [item.rows for item in v.outbox if isinstance(item, MarketRows)]
    rows = np.concatenate(rows) if rows else np.zeros((0, R.WIDTH), np.int64)
    return rows[rows[:, R.C_KIND] == R.TRADE]


def top(v, side):
    m = v.markets["btcusdt"]
    return m.px[side, 0] * m.spec.tick_e8, m.qty[side, 0] * m.spec.step_e8


def test_crossing_limit_takes_level_by_level_then_rests():
    v = venue()
    res = v.place(order("BUY", "LIMIT", "1.00000", "60001.50", "GTC"), T)
    assert [(f["price"], f["qty"]) for f in res["fills"]] == [
        ("60001.00000000", "0.30000000"), ("60001.50000000", "0.40000000")]
    assert res["status"] == "PARTIALLY_FILLED" and res["executedQty"] == "0.70000000"
    trades = public_trades(v)
    assert trades[:, R.C_PX].tolist() == [6000100, 6000150]
    assert trades[:, R.C_BUYER_MAKER].tolist() == [0, 0]  # the buyer took
    assert top(v, 1) == (parse_e8("60003.00"), parse_e8("5"))  # both levels gone
    xs = reports(v)
    assert [(r["x"], r["X"]) for r in xs] == [("NEW", "NEW"), ("TRADE", "PARTIALLY_FILLED"),
                                            ("TRADE", "PARTIALLY_FILLED")]
    assert [r["t"] for r in xs[1:]] == trades[:, R.C_ID].tolist()
    # The rest (0.3 BTC at 60001.50) rests, with its quote locked; fees were paid in BTC.
    assert v.account.locked("USDT") == parse_e8("0.3") * 6000150 // 100
    assert v.account.free("BTC") == parse_e8("1") + parse_e8("0.7") - parse_e8("0.0007")
    assert v.order_status("BTCUSDT", res["orderId"], None, T)["status"] == "PARTIALLY_FILLED"


def test_market_sell_and_quote_order_qty_buy():
    v = venue()
    res = v.place(order("SELL", "MARKET", "0.60000"), T)
    assert res["status"] == "FILLED"
    assert [(f["price"], f["qty"], f["commissionAsset"]) for f in res["fills"]] == [
        ("60000.00000000", "0.50000000", "USDT"), ("59999.50000000", "0.10000000", "USDT")]
    res = v.place(order("BUY", "MARKET", quote="30000.50"), T)
    # 0.3 at 60001.00 (18000.30), then all whole lots the remaining 12000.20 buys at 60001.50
    assert [(f["price"], f["qty"]) for f in res["fills"]] == [
        ("60001.00000000", "0.30000000"), ("60001.50000000", "0.19999000")]
    assert res["cummulativeQuoteQty"] == "29999.99998500"
    xs = [r for r in reports(v) if r["i"] == res["orderId"]]
    assert [(r["x"], r["X"]) for r in xs] == [("NEW", "NEW"), ("TRADE", "PARTIALLY_FILLED"), ("TRADE", "FILLED")]
    assert xs[-1]["q"] == "0.49999000" and xs[-1]["Q"] == "30000.50000000"
    assert res["status"] == "FILLED" and res["origQty"] == res["executedQty"]


def test_ioc_partial_expires_and_fok_is_all_or_nothing():
    v = venue()
    res = v.place(order("BUY", "LIMIT", "0.50000", "60001.00", "IOC"), T)
    assert (res["status"], res["executedQty"]) == ("EXPIRED", "0.30000000")
    assert [r["x"] for r in reports(v)] == ["NEW", "TRADE", "EXPIRED"]
    assert v.account.locked("USDT") == 0  # the unfilled part's lock came back

    before = top(v, 1)
    res = v.place(order("BUY", "LIMIT", "0.50000", "60001.50", "FOK"), T)  # only 0.4 within 60001.50
    assert (res["status"], res["executedQty"], res["fills"]) == ("EXPIRED", "0.00000000", [])
    assert top(v, 1) == before
    assert [r["x"] for r in reports(v)] == ["NEW", "EXPIRED"]
    res = v.place(order("BUY", "LIMIT", "1.00000", "60003.00", "FOK"), T)
    assert (res["status"], res["executedQty"]) == ("FILLED", "1.00000000")
    assert [f["qty"] for f in res["fills"]] == ["0.40000000", "0.60000000"]


def test_limit_maker_rejected_when_it_would_take():
    v = venue()
    with pytest.raises(ApiError) as e:
        v.place(order("BUY", "LIMIT_MAKER", "0.10000", "60001.00"), T)
    assert (e.value.code, e.value.msg) == (-2010, "Order would immediately match and take.")
    res = v.place(order("BUY", "LIMIT_MAKER", "0.10000", "60000.50", resp="RESULT"), T)
    assert (res["status"], res["type"], res["timeInForce"]) == ("NEW", "LIMIT_MAKER", "GTC")


def test_rejections_use_binance_codes():
    v = venue()
    cases = [
        (order("BUY", "LIMIT", "0.10000", "60000.005"), -1013, "Filter failure: PRICE_FILTER"),
        (order("BUY", "LIMIT", "0.000001", "60000.00"), -1013, "Filter failure: LOT_SIZE"),
        (order("BUY", "LIMIT", "0.00005", "60000.00"), -1013, "Filter failure: NOTIONAL"),
        (order("BUY", "LIMIT", "2.00000", "60000.00"), -2010, "Account has insufficient balance for requested action."),
        (order("SELL", "MARKET", "1.50000"), -2010, "Account has insufficient balance for requested action."),
    ]
    for req, code, msg in cases:
        with pytest.raises(ApiError) as e:
            v.place(req, T)
        assert (e.value.code, e.value.msg) == (code, msg)
    v.place(order("BUY", "LIMIT", "0.10000", "59000.00", client_id="mine-1"), T)
    with pytest.raises(ApiError) as e:
        v.place(order("BUY", "LIMIT", "0.10000", "59000.00", client_id="mine-1"), T)
    assert (e.value.code, e.value.msg) == (-2010, "Duplicate order sent.")


def test_cancel_and_cancel_of_a_filled_order():
    v = venue()
    rest = v.place(order("BUY", "LIMIT", "0.10000", "59000.00", client_id="c1"), T)
    assert v.account.locked("USDT") == parse_e8("5900")
    res = v.cancel("BTCUSDT", None, "c1", "cancel-c1", T)
    assert (res["status"], res["origClientOrderId"], res["clientOrderId"]) == ("CANCELED", "c1", "cancel-c1")
    assert v.account.locked("USDT") == 0
    xs = reports(v)
    assert (xs[-1]["x"], xs[-1]["c"], xs[-1]["C"]) == ("CANCELED", "cancel-c1", "c1")
    assert v.order_status("BTCUSDT", rest["orderId"], None, T)["status"] == "CANCELED"

    filled = v.place(order("BUY", "MARKET", "0.10000"), T)
    for oid in (filled["orderId"], rest["orderId"]):
        with pytest.raises(ApiError) as e:
            v.cancel("BTCUSDT", oid, None, None, T)
        assert (e.value.code, e.value.msg) == (-2011, "Unknown order sent.")
    with pytest.raises(ApiError) as e:
        v.order_status("BTCUSDT", 999, None, T)
    assert (e.value.code, e.value.msg) == (-2013, "Order does not exist.")


def test_resting_orders_fill_when_the_flow_trades_through_them():
    v = Venue(ExchangeConfig(rate=20000.0, seed=4))
    v.start(T)
    v.advance(T + 10_000_000)
    v.drain()
    m = v.markets["btcusdt"]
    bid, ask = int(m.px[0, 0]), int(m.px[1, 0])
    # A big buy inside the spread when there is room, else joining the best bid: not shown in
    # the book, it fills only when a synthetic seller trades through its price.
    px = bid + 1 if ask - bid > 1 else bid
    buy = v.place(order("BUY", "LIMIT", "1.00000", format_e8(px * m.spec.tick_e8), client_id="b"),
                  T + 10_000_000)
    assert buy["status"] == "NEW"
    v.drain()
    t = T + 10_000_000
    fills = []
    while not fills and t < T + 20_000_000_000:
        t += 50_000_000
        v.advance(t)
        items = v.drain()
        fills = [e for i in items if isinstance(i, UserEvents) for e in i.events
                 if e["e"] == "executionReport" and e["x"] == "TRADE"]
        rows = [i.rows for i in items if isinstance(i, MarketRows)]
    f = fills[0]
    assert f["m"] is True and f["L"] == buy["price"] and f["X"] in ("PARTIALLY_FILLED", "FILLED")
    rows = np.concatenate(rows)
    trades = rows[rows[:, R.C_KIND] == R.TRADE]
    at = np.flatnonzero(trades[:, R.C_USER] >= 0)[0]
    mine = trades[at]
    assert (mine[R.C_ID], mine[R.C_PX], mine[R.C_BUYER_MAKER]) == (f["t"], px, 1)
    # The same synthetic sell went on, if at all, below the order's price: it traded through.
    same_event = trades[at + 1:][trades[at + 1:, R.C_T] == mine[R.C_T]]
    assert all(p < px for p in same_event[:, R.C_PX].tolist())
    status = v.order_status("BTCUSDT", buy["orderId"], None, t)
    assert parse_e8(status["executedQty"]) == parse_e8(fills[-1]["z"]) == sum(parse_e8(x["l"]) for x in fills)


def test_executions_match_the_account():
    v = venue()
    v.place(order("BUY", "LIMIT", "0.70000", "60001.50", "IOC"), T)
    v.place(order("SELL", "MARKET", "0.90000"), T)
    start = {"USDT": parse_e8("100000"), "BTC": parse_e8("1")}
    totals = v.account.totals()
    for asset in ("USDT", "BTC"):
        flow = 0
        for e in v.engine.executions:
            got, paid = ((e.qty_e8, e.quote_e8) if e.side == "BUY" else (e.quote_e8, e.qty_e8))
            base_side = asset == "BTC"
            if (e.side == "BUY") == base_side:
                flow += got
            else:
                flow -= paid
            if e.commission_asset == asset:
                flow -= e.commission_e8
        assert totals[asset] == start[asset] + flow, asset
