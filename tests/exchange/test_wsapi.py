"""WebSocket API requests in, Binance-shaped responses out (no sockets, fixed time)."""

import orjson
import pytest

from hftshm.exchange import ExchangeConfig, SimLimits
from hftshm.exchange.ratelimit import RateLimits
from hftshm.exchange.signing import sign
from hftshm.exchange.venue import Venue
from hftshm.exchange.wsapi import ApiSession, WsApi

from ._helpers import signed

NOW_MS = 1_700_000_000_000
NOW = NOW_MS * 1_000_000


def api(**limits):
    cfg = ExchangeConfig(limits=SimLimits(**limits))
    return WsApi(Venue(cfg), cfg, RateLimits(cfg.limits)), ApiSession(NOW_MS)


def call(a, session, method, params=None, req_id="r1", raw=None):
    msg = {"id": req_id, "method": method}
    if params is not None:
        msg["params"] = params
    return a.handle(raw if raw is not None else orjson.dumps(msg), session, NOW)


def sig(params, **kw):
    return signed(params, timestamp=kw.pop("timestamp", NOW_MS), **kw)


def test_public_methods():
    a, s = api()
    assert call(a, s, "ping") == {"id": "r1", "status": 200, "result": {}, "rateLimits": [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000, "count": 1}]}
    assert call(a, s, "v3/time")["result"] == {"serverTime": NOW_MS}
    info = call(a, s, "exchangeInfo", {"symbol": "BTCUSDT"})["result"]
    sym = info["symbols"][0]
    assert (sym["symbol"], sym["baseAsset"], sym["quoteAsset"]) == ("BTCUSDT", "BTC", "USDT")
    filters = {f["filterType"]: f for f in sym["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
    assert filters["LOT_SIZE"]["stepSize"] == "0.00001000"
    assert filters["NOTIONAL"]["minNotional"] == "5.00000000"
    assert len(call(a, s, "exchangeInfo")["result"]["symbols"]) == 2
    depth = call(a, s, "depth", {"symbol": "ETHUSDT", "limit": 5})
    assert len(depth["result"]["bids"]) == len(depth["result"]["asks"]) == 5
    assert isinstance(depth["result"]["lastUpdateId"], int)
    assert depth["rateLimits"][0]["count"] == 1 + 1 + 20 + 20 + 5


@pytest.mark.parametrize("method, params, raw, code, msg_part", [
    (None, None, b"{not json", -1135, "Invalid JSON Request"),
    (None, None, b"[1, 2]", -1135, "expected an object"),
    ("order.sing", {}, None, -1020, "unknown method 'order.sing'"),
    ("depth", [1], None, -1135, "Invalid 'params' in JSON request; expected an object."),
    ("depth", {}, None, -1102, "Mandatory parameter 'symbol'"),
    ("depth", {"symbol": "DOGEUSDT"}, None, -1121, "Invalid symbol."),
    ("depth", {"symbol": "btcusdt"}, None, -1121, "Invalid symbol."),
    ("depth", {"symbol": "BTCUSDT", "limit": 0}, None, -1130, "'limit'"),
])
def test_bad_requests(method, params, raw, code, msg_part):
    a, s = api()
    resp = call(a, s, method, params, raw=raw)
    assert resp["status"] == 400 and resp["error"]["code"] == code
    assert msg_part in resp["error"]["msg"]
    if raw is not None:
        assert resp["id"] is None


def test_signed_request_checks():
    a, s = api()
    base = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
            "price": "50000.00", "quantity": "0.001"}
    ok = call(a, s, "order.place", sig(base))
    assert ok["status"] == 200 and ok["result"]["status"] == "NEW"

    bad_sig = sig(base)
    bad_sig["signature"] = "0" * 64
    cases = [
        (bad_sig, 400, -1022, "Signature for this request is not valid."),
        (sig(base, secret="wrong-secret"), 400, -1022, "Signature for this request is not valid."),
        (sig(base, key="someone-else"), 401, -2015, "Invalid API-key, IP, or permissions for action."),
        (sig(base, key="bad key!"), 401, -2014, "API-key format invalid."),
        ({**base, "apiKey": "hftshm-demo-key", "timestamp": NOW_MS}, 400, -1102,
         "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."),
        (sig(base, timestamp=NOW_MS - 6000), 400, -1021, "Timestamp for this request is outside of the recvWindow."),
        (sig(base, timestamp=NOW_MS + 1500), 400, -1021, "Timestamp for this request was 1000ms ahead of the server's time."),
        (sig({**base, "recvWindow": 70000}), 400, -1102, "'recvWindow' contains unexpected value. Cannot be greater than '60000'."),
    ]
    for params, status, code, msg in cases:
        resp = call(a, s, "order.place", params)
        assert (resp["status"], resp["error"]) == (status, {"code": code, "msg": msg}), msg
    assert "signature" not in orjson.dumps(call(a, s, "order.place", bad_sig)).decode()
    # A wider recvWindow lets an older timestamp through.
    assert call(a, s, "order.place", sig({**base, "recvWindow": 9000}, timestamp=NOW_MS - 6000))["status"] == 200


@pytest.mark.parametrize("params, code, msg", [
    ({"side": "BUY", "type": "LIMIT", "price": "1", "quantity": "1"}, -1102, "Mandatory parameter 'timeInForce'"),
    ({"side": "HOLD", "type": "LIMIT"}, -1117, "Invalid side."),
    ({"side": "BUY", "type": "ICEBERG"}, -1116, "Invalid orderType."),
    ({"side": "BUY", "type": "STOP_LOSS", "quantity": "1"}, -1013, "Stop loss orders are not supported"),
    ({"side": "BUY", "type": "MARKET"}, -1102, "Param 'quantity' or 'quoteOrderQty' must be sent"),
    ({"side": "BUY", "type": "MARKET", "quantity": "0.01", "price": "1"}, -1106, "Parameter 'price' sent when not required."),
    ({"side": "BUY", "type": "LIMIT_MAKER", "timeInForce": "GTC", "price": "1", "quantity": "1"}, -1106, "'timeInForce'"),
    ({"side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "price": "1.x", "quantity": "1"}, -1100, "parameter 'price'"),
    ({"side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "price": "50000", "quantity": "0.000000001"}, -1111, "too much precision"),
])
def test_order_parameter_errors(params, code, msg):
    a, s = api()
    resp = call(a, s, "order.place", sig({"symbol": "BTCUSDT", **params}))
    assert resp["error"]["code"] == code and msg in resp["error"]["msg"]


def test_order_lifecycle_by_client_id():
    a, s = api()
    place = {"symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC",
             "price": "70000.00", "quantity": "0.01", "newClientOrderId": "my-order-1"}
    assert call(a, s, "order.place", sig(place))["result"]["clientOrderId"] == "my-order-1"
    status = call(a, s, "order.status", sig({"symbol": "BTCUSDT", "origClientOrderId": "my-order-1"}))
    assert status["result"]["status"] == "NEW" and status["result"]["origQty"] == "0.01000000"
    opened = call(a, s, "openOrders.status", sig({"symbol": "BTCUSDT"}))["result"]
    assert [o["clientOrderId"] for o in opened] == ["my-order-1"]
    acct = call(a, s, "account.status", sig({}))["result"]
    assert {"asset": "BTC", "free": "0.99000000", "locked": "0.01000000"} in acct["balances"]
    cancel = call(a, s, "order.cancel", sig({"symbol": "BTCUSDT", "origClientOrderId": "my-order-1"}))
    assert cancel["result"]["status"] == "CANCELED"
    again = call(a, s, "order.cancel", sig({"symbol": "BTCUSDT", "origClientOrderId": "my-order-1"}))
    assert again["error"] == {"code": -2011, "msg": "Unknown order sent."}


def test_rate_limits():
    a, s = api(orders_per_10s=2, weight_per_minute=30)
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
             "price": "50000.00", "quantity": "0.001"}
    assert [call(a, s, "order.place", sig(order))["status"] for _ in range(2)] == [200, 200]
    resp = call(a, s, "order.place", sig(order))
    assert resp["status"] == 429
    assert resp["error"]["code"] == -1015
    assert resp["error"]["msg"] == "Too many new orders; current limit is 2 orders per 10 SECOND."
    assert resp["error"]["data"]["retryAfter"] == NOW_MS - NOW_MS % 10_000 + 10_000
    assert [r["count"] for r in resp["rateLimits"]] == [3, 3, 3]
    for _ in range(27):  # weight 3 + 27 = 30: exactly the limit
        resp = call(a, s, "ping")
    assert resp["status"] == 200
    resp = call(a, s, "ping")
    assert (resp["status"], resp["error"]["code"]) == (429, -1003)
    assert "current limit is 30 request weight per 1 MINUTE" in resp["error"]["msg"]


def test_rate_limits_can_be_hidden():
    a, s = api()
    assert "rateLimits" not in call(a, s, "ping", {"returnRateLimits": False})
    quiet = ApiSession(NOW_MS, return_rate_limits=False)
    assert "rateLimits" not in call(a, quiet, "time")
    assert "rateLimits" in call(a, quiet, "time", {"returnRateLimits": True})


def test_user_data_subscription():
    a, s = api()
    params = sig({})
    assert call(a, s, "userDataStream.subscribe.signature", params)["result"] == {"subscriptionId": 0}
    assert call(a, s, "userDataStream.subscribe.signature", sig({}))["error"] == {
        "code": -2035, "msg": "User Data Stream subscription already active."}
    bad = dict(params, signature=sign("nope", params))
    assert call(a, ApiSession(NOW_MS), "userDataStream.subscribe.signature", bad)["error"]["code"] == -1022
    assert call(a, s, "userDataStream.unsubscribe", {"subscriptionId": 0})["result"] == {}
    assert call(a, s, "userDataStream.unsubscribe", {"subscriptionId": 0})["error"]["code"] == -2036
    assert call(a, s, "userDataStream.subscribe.signature", sig({}))["result"] == {"subscriptionId": 1}


@pytest.mark.parametrize("params", [
    {"symbol": ["BTCUSDT"], "side": "BUY", "type": "MARKET", "quantity": "1"},
    {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": [1]},
    {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": 1e-05},
    {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": True},
    {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "123456789012345678901"},
    {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "price": "0", "quantity": "1"},
    {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "DAY", "price": "1", "quantity": "1"},
    {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "price": "1",
     "quantity": "1", "newClientOrderId": "has spaces in it"},
    {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quoteOrderQty": "0"},
    {"symbol": "BTCUSDT", "side": "BUY", "type": {"x": 1}},
])
def test_garbage_orders_get_errors(params):
    a, s = api()
    resp = call(a, s, "order.place", sig(params))
    assert resp["status"] == 400 and resp["error"]["code"] in (-1013, -1100, -1102, -1115, -1116, -1121, -1130)


@pytest.mark.parametrize("method, params", [
    ("order.status", {"symbol": "BTCUSDT", "orderId": "abc"}),
    ("order.status", {"symbol": "BTCUSDT"}),
    ("order.cancel", {"symbol": "BTCUSDT", "orderId": 1, "cancelRestrictions": "SOMETIMES"}),
    ("myTrades", {}),
    ("exchangeInfo", {"symbols": "BTCUSDT"}),
    ("exchangeInfo", {"symbols": [1, 2]}),
    ("depth", {"symbol": "BTCUSDT", "limit": 10**12}),
])
def test_garbage_requests_get_errors(method, params):
    a, s = api()
    resp = call(a, s, method, sig(params) if method != "exchangeInfo" and method != "depth" else params)
    assert resp["status"] == 400 and "error" in resp


def test_huge_numbers_are_rejected():
    a, s = api()  # JSON integers past 64 bits arrive as floats
    resp = call(a, s, None, raw=b'{"id":1,"method":"depth","params":{"symbol":"BTCUSDT","limit":1000000000000000000000000}}')
    assert resp["status"] == 400 and resp["error"]["code"] == -1130


def test_open_order_limit():
    a, s = api(orders_per_10s=1000)
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
             "price": "50000.00", "quantity": "0.0001"}
    assert all(call(a, s, "order.place", sig(order))["status"] == 200 for _ in range(200))
    assert call(a, s, "order.place", sig(order))["error"] == {"code": -1013, "msg": "Filter failure: MAX_NUM_ORDERS"}


def test_all_orders_lists_open_and_ended_orders_by_id():
    """``allOrders`` (Account order history): every order of the symbol, open or ended, oldest
    first, each in order.status's shape; from ``orderId`` on; by time of last update; ``limit``."""
    a, s = api(orders_per_10s=1000)
    base = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.001"}
    ids = [call(a, s, "order.place", sig({**base, "price": f"{40000 + i}.00", "newClientOrderId": f"c{i}"}))
           ["result"]["orderId"] for i in range(3)]
    call(a, s, "order.cancel", sig({"symbol": "BTCUSDT", "orderId": ids[1]}))
    got = call(a, s, "allOrders", sig({"symbol": "BTCUSDT"}))["result"]
    assert [(o["orderId"], o["status"]) for o in got] == [(ids[0], "NEW"), (ids[1], "CANCELED"), (ids[2], "NEW")]
    assert (got[0]["clientOrderId"], got[2]["clientOrderId"]) == ("c0", "c2")
    assert set(got[0]) == set(call(a, s, "order.status", sig({"symbol": "BTCUSDT", "orderId": ids[0]}))["result"])
    assert [o["orderId"] for o in call(a, s, "allOrders", sig({"symbol": "BTCUSDT", "orderId": ids[1]}))["result"]] \
        == ids[1:]
    assert [o["orderId"] for o in call(a, s, "allOrders", sig({"symbol": "BTCUSDT", "limit": 2}))["result"]] == ids[1:]
    assert call(a, s, "allOrders", sig({"symbol": "BTCUSDT", "startTime": NOW_MS + 1}))["result"] == []
    assert len(call(a, s, "allOrders", sig({"symbol": "BTCUSDT", "startTime": NOW_MS - 1}))["result"]) == 3
    assert call(a, s, "allOrders", sig({"symbol": "ETHUSDT"}))["result"] == []
    for bad in ({}, {"symbol": "BTCUSDT", "limit": 1001},
                {"symbol": "BTCUSDT", "startTime": NOW_MS - 25 * 3600 * 1000, "endTime": NOW_MS}):
        resp = call(a, s, "allOrders", sig(bad))
        assert resp["status"] == 400 and "error" in resp, bad
