"""Bybit v5 linear order protocol, sans I/O: literal answers in, reports and frames out.

Where each literal comes from (Bybit v5 docs): the trade API's auth and order answers follow
"WebSocket Trade" > "Guideline" (its response examples: ``retCode``, ``retMsg``, ``op``,
``data.orderId``/``orderLinkId``, ``retExtInfo``, ``header`` with ``X-Bapi-Limit*``,
``Traceid``, ``Timenow``, ``connId``); the private stream's events follow "WebSocket Stream" >
"Private" > "Order" and "Execution" (field for field as their examples, with our symbol,
orderLinkId and quantities); REST answers follow "Trade" > "Get Open & Closed Orders" (its
response example, one list entry). Error codes are from "Error Codes". No key of a real account
is used; signatures are checked against an independent HMAC of the documented payloads.
"""

import hashlib
import hmac

import orjson
import pytest

from hftshm import venues
from hftshm.layouts import exec_report as F
from hftshm.layouts import order as O
from hftshm.risk import reasons as R
from hftshm.venues.binance_spot.signing import Signer
from hftshm.venues.bybit import retcodes
from hftshm.venues.bybit.protocol import STATUS_PATHS, BybitProtocol, HttpRequest, id_int
from hftshm.venues.bybit.signing import BybitSigner, signer_from
from hftshm.venues.bybit.urls import private_stream_url, rest_url
from hftshm.venues.orders import LiveOrder

T0 = 1_700_000_000_000_000_000
MS = 1_000_000
OID = (1 << 40) | 5
CID = "htag-10000000005"
VID = "fd4300ae-7847-404e-b947-b46980a4d140"
KEY, SECRET = "XXXXXX", "bybit-test-secret"


def make(type_=O.LIMIT, tif=O.GTC, flags=0, side=O.BUY, qty=10_000_000, timeout_ms=2000):
    p = BybitProtocol(BybitSigner(KEY, SECRET), ["ETHUSDT", "BTCUSDT"], [("ETH", "USDT"), ("BTC", "USDT")], "htag",
                      recv_window_ms=1000, timeout_ms=timeout_ms)
    o = LiveOrder()
    o.order_id, o.symbol_id, o.strategy_id, o.side, o.type, o.tif = OID, 0, 1, side, type_, tif
    o.qty_e8, o.price_e8, o.sent_ns, o.flags = qty, 160_000_000_000, T0, flags
    frame = orjson.loads(p.place(o, T0))
    return p, o, frame


def trade_answer(rid, code=0, msg="OK", op="order.create", order_id=VID, cid=CID):
    """An order.create / order.cancel answer, as the Guideline's response example."""
    return orjson.dumps({"reqId": rid, "retCode": code, "retMsg": msg, "op": op,
                         "data": {"orderId": order_id, "orderLinkId": cid} if code == 0 else {},
                         "retExtInfo": {}, "header": {"X-Bapi-Limit": "10", "X-Bapi-Limit-Status": "9",
                                                      "X-Bapi-Limit-Reset-Timestamp": "1711001595207",
                                                      "Traceid": "0e32b551b3e17aae77651aadf6a5be80",
                                                      "Timenow": "1711001595209"},
                         "connId": "cnt5leec0hvan15eukcg-1"})


def order_event(status, cum="0", avg="0", cid=CID, reject="EC_NoError", tif="GTC", leaves="0.10"):
    """The private ``order`` topic, shaped as the docs' example."""
    return orjson.dumps({"id": "5923240c6880ab-c59f-420b-9adb-3639adc9dd90", "topic": "order",
                         "creationTime": 1672364262474, "data": [{
                             "symbol": "ETHUSDT", "orderId": VID, "side": "Buy", "orderType": "Limit",
                             "cancelType": "UNKNOWN", "price": "1600", "qty": "0.1", "orderIv": "",
                             "timeInForce": tif, "orderStatus": status, "orderLinkId": cid,
                             "lastPriceOnCreated": "", "reduceOnly": False, "leavesQty": leaves,
                             "leavesValue": "", "cumExecQty": cum, "cumExecValue": "0", "avgPrice": avg,
                             "blockTradeId": "", "positionIdx": 0, "cumExecFee": "0", "createdTime": "1672364262444",
                             "updatedTime": "1672364262457", "rejectReason": reject, "stopOrderType": "",
                             "tpslMode": "", "triggerPrice": "", "takeProfit": "", "stopLoss": "",
                             "tpTriggerBy": "", "slTriggerBy": "", "tpLimitPrice": "", "slLimitPrice": "",
                             "triggerDirection": 0, "triggerBy": "", "closeOnTrigger": False, "category": "linear",
                             "placeType": "", "smpType": "None", "smpGroup": 0, "smpOrderId": "",
                             "feeCurrency": ""}]})


def execution(qty, leaves, px="1600", fee="0.088", exec_id="0ab1bdf7-4219-438b-b30a-32ec863018f7", cid=CID,
              exec_type="Trade"):
    """The private ``execution`` topic, shaped as the docs' example."""
    return orjson.dumps({"topic": "execution", "id": "386825804_ETHUSDT_140612148849382",
                         "creationTime": 1746270400355, "data": [{
                             "category": "linear", "symbol": "ETHUSDT", "closedSize": "0", "execFee": fee,
                             "execId": exec_id, "execPrice": px, "execQty": qty, "execType": exec_type,
                             "execValue": "0", "feeRate": "0.00055", "tradeIv": "", "markIv": "",
                             "blockTradeId": "", "markPrice": "1600.1", "indexPrice": "", "underlyingPrice": "",
                             "leavesQty": leaves, "orderId": VID, "orderLinkId": cid, "orderPrice": "1600",
                             "orderQty": "0.1", "orderType": "Limit", "stopOrderType": "UNKNOWN", "side": "Buy",
                             "execTime": "1746270400353", "isLeverage": "0", "isMaker": True,
                             "seq": 140612148849382, "marketUnit": "", "execPnl": "0",
                             "createType": "CreateByUser"}]})


def rest_answer(req: HttpRequest, listed, status=200, code=0):
    """A /v5/order/realtime (or history) answer, shaped as "Get Open & Closed Orders"' example."""
    body = {"retCode": code, "retMsg": "OK" if code == 0 else "error", "result": {
        "list": listed, "nextPageCursor": "page_args%3Dfd4300ae%26symbol%3D6%26", "category": "linear"},
        "retExtInfo": {}, "time": 1684765770483}
    return req.answer_frame(status, orjson.dumps(body))


def listed(status, cum="0.00", avg="0", cid=CID, reject="EC_NoError"):
    return {"orderId": VID, "orderLinkId": cid, "blockTradeId": "", "symbol": "ETHUSDT", "price": "1600.00",
            "qty": "0.10", "side": "Buy", "isLeverage": "", "positionIdx": 0, "orderStatus": status,
            "cancelType": "UNKNOWN", "rejectReason": reject, "avgPrice": avg, "leavesQty": "0.10",
            "leavesValue": "160", "cumExecQty": cum, "cumExecValue": "0", "cumExecFee": "0", "timeInForce": "GTC",
            "orderType": "Limit", "stopOrderType": "UNKNOWN", "orderIv": "", "triggerPrice": "0.00",
            "takeProfit": "", "stopLoss": "", "tpTriggerBy": "", "slTriggerBy": "", "triggerDirection": 0,
            "triggerBy": "UNKNOWN", "lastPriceOnCreated": "", "reduceOnly": False, "closeOnTrigger": False,
            "smpType": "None", "smpGroup": 0, "smpOrderId": "", "tpslMode": "", "tpLimitPrice": "",
            "slLimitPrice": "", "placeType": "", "createdTime": "1684738540559", "updatedTime": "1684738540561"}


def kinds(reports):
    return [(int(r[1][0]["exec_type"]), int(r[1][0]["state"])) for r in reports]


# --- signing --------------------------------------------------------------------------------------

def test_auth_and_rest_signatures_are_the_documented_payloads():
    s = BybitSigner(KEY, SECRET)
    args = s.auth_args(1711010121452)
    want = hmac.new(SECRET.encode(), b"GET/realtime1711010121452", hashlib.sha256).hexdigest()
    assert args == [KEY, 1711010121452, want]
    h = s.rest_headers(1658384314791, "5000", "category=linear&symbol=ETHUSDT")
    want = hmac.new(SECRET.encode(), f"1658384314791{KEY}5000category=linear&symbol=ETHUSDT".encode(),
                    hashlib.sha256).hexdigest()
    assert h == {"X-BAPI-API-KEY": KEY, "X-BAPI-TIMESTAMP": "1658384314791", "X-BAPI-RECV-WINDOW": "5000",
                 "X-BAPI-SIGN": want}
    # the key pair execution loads (a Binance Signer) signs the same: its keyed MAC is reused
    assert signer_from(Signer(KEY, SECRET)).auth_args(1711010121452) == args
    assert SECRET not in repr(s) and KEY not in repr(s)
    with pytest.raises(ValueError):
        BybitSigner("", SECRET)
    with pytest.raises(TypeError):
        signer_from(object())


def test_the_secret_is_in_no_frame():
    p, o, frame = make()
    frames = [p.subscribe(T0), *p.private_frames(T0), p.place(o, T0), p.cancel(7, OID, T0)[0]]
    req = p.status(o, T0)
    for f in frames:
        assert SECRET.encode() not in f
    assert SECRET not in repr(req) and SECRET not in str(req.headers)


# --- requests -------------------------------------------------------------------------------------

def test_place_frame_is_the_guideline_shape():
    p, o, frame = make(flags=O.F_REDUCE_ONLY)
    assert frame == {"reqId": frame["reqId"], "header": {"X-BAPI-TIMESTAMP": str(T0 // MS), "X-BAPI-RECV-WINDOW": "1000"},
                     "op": "order.create",
                     "args": [{"category": "linear", "symbol": "ETHUSDT", "side": "Buy", "orderType": "Limit",
                               "qty": "0.1", "orderLinkId": CID, "positionIdx": 0, "price": "1600",
                               "timeInForce": "GTC", "reduceOnly": True}]}
    assert len(frame["reqId"]) <= 36 and len(CID) <= 36
    _, _, mk = make(type_=O.LIMIT_MAKER)
    assert mk["args"][0]["timeInForce"] == "PostOnly"
    _, _, mkt = make(type_=O.MARKET, side=O.SELL)
    assert mkt["args"][0]["orderType"] == "Market" and mkt["args"][0]["timeInForce"] == "IOC"
    assert "price" not in mkt["args"][0] and mkt["args"][0]["side"] == "Sell"


def test_auth_frames_and_readiness():
    p, o, _ = make()
    auth = orjson.loads(p.subscribe(T0))
    assert auth["op"] == "auth" and auth["args"][0] == KEY and auth["args"][1] == T0 // MS + 10_000
    priv = [orjson.loads(f) for f in p.private_frames(T0)]
    assert priv[0]["op"] == "auth" and priv[1] == {"req_id": "sub", "op": "subscribe", "args": ["order", "execution"]}
    assert not p.ready
    p.on_frame(b'{"retCode":0,"retMsg":"OK","op":"auth","connId":"cnt5leec0hvan15eukcg-2t"}', T0)
    assert p.trade_authed and not p.ready
    p.on_frame(b'{"success":true,"ret_msg":"","op":"auth","conn_id":"ca4cr3ql2nd9gl8bhh2g-2h7l"}', T0)
    p.on_frame(b'{"success":true,"ret_msg":"","op":"subscribe","conn_id":"ca4cr3ql2nd9gl8bhh2g-2h7l"}', T0)
    assert p.ready and p.auth_refused is None


def test_auth_refused_is_not_ready_and_named():
    p, _, _ = make()
    p.subscribe(T0)
    p.on_frame(b'{"retCode":10004,"retMsg":"Invalid sign","op":"auth","connId":"x"}', T0)
    assert not p.trade_authed and p.auth_refused == ("trade", 10004, "Invalid sign")
    p.on_frame(b'{"success":false,"ret_msg":"error:USER_AUTH_FAILED","op":"auth","conn_id":"y"}', T0)
    assert not p.ready and p.auth_refused[0] == "private"


# --- a limit order's life -------------------------------------------------------------------------

def test_ack_partial_fill_duplicate_and_fill():
    p, o, frame = make()
    out, frames = p.on_frame(trade_answer(frame["reqId"]), T0 + MS)
    assert kinds(out) == [(F.EX_NEW, F.ST_ACKED)] and not frames
    assert int(out[0][1][0]["venue_order_id"]) == id_int(VID) > 0
    assert int(out[0][1][0]["venue_ns"]) == 1711001595209 * MS
    assert p.on_frame(order_event("New", leaves="0.1"), T0 + 2 * MS) == ([], [])
    assert o.deadline_ns == 0  # the venue has it: nothing outstanding
    out, _ = p.on_frame(execution("0.04", "0.06", px="1600", fee="0.0352"), T0 + 3 * MS)
    assert kinds(out) == [(F.EX_TRADE, F.ST_PARTIAL)]
    r = out[0][1][0]
    assert int(r["last_qty_e8"]) == 4_000_000 and int(r["cum_qty_e8"]) == 4_000_000
    assert int(r["last_px_e8"]) == 160_000_000_000 and int(r["fee_e8"]) == 3_520_000
    assert int(r["trade_id"]) == id_int("0ab1bdf7-4219-438b-b30a-32ec863018f7")
    # the same execution again (a reconnect's replay): nothing counted twice
    assert p.on_frame(execution("0.04", "0.06", fee="0.0352"), T0 + 4 * MS) == ([], [])
    out, _ = p.on_frame(execution("0.06", "0", px="1599.5", fee="-0.01", exec_id="e2"), T0 + 5 * MS)
    assert kinds(out) == [(F.EX_TRADE, F.ST_FILLED)] and int(out[0][1][0]["fee_e8"]) == -1_000_000
    # leavesQty 0: filled, ended on this fill's report (the router frees the order's slot with it;
    # ended only by the order topic's Filled below, it would have had no report to do so)
    assert o.filled_e8 == 10_000_000 and o.done and OID not in p.orders
    unknown = p.unknown_events
    out, _ = p.on_frame(order_event("Filled", cum="0.1", avg="1599.7", leaves="0"), T0 + 6 * MS)
    assert out == [] and p.late_events == 1 and p.unknown_events == unknown  # the late Filled changes nothing


def test_filled_before_its_executions_waits_then_recovers_from_the_query():
    p, o, frame = make()
    p.on_frame(trade_answer(frame["reqId"]), T0 + MS)
    out, _ = p.on_frame(order_event("Filled", cum="0.1", avg="1600", leaves="0"), T0 + 2 * MS)
    assert out == [] and not o.done and o.deadline_ns == T0 + 2 * MS + 2000 * MS
    assert p.expired(T0 + 3 * MS) == []
    (req,) = p.expired(T0 + 2003 * MS)  # its executions never came: ask (never resend)
    assert isinstance(req, HttpRequest) and req.path == "/v5/order/realtime" and "orderLinkId=" + CID in req.query
    out, frames = p.on_frame(rest_answer(req, [listed("Filled", cum="0.10", avg="1600")]), T0 + 2004 * MS)
    assert kinds(out) == [(F.EX_TRADE, F.ST_FILLED)] and not frames
    assert int(out[0][1][0]["last_qty_e8"]) == 10_000_000 and int(out[0][1][0]["last_px_e8"]) == 160_000_000_000
    assert o.done
    # the late execution: the order is done, counted as unknown, nothing applied
    assert p.on_frame(execution("0.1", "0"), T0 + 2005 * MS) == ([], [])
    assert p.unknown_events == 1


def test_cancel_frame_answer_and_cancelled_event():
    p, o, frame = make()
    p.on_frame(trade_answer(frame["reqId"]), T0 + MS)
    p.on_frame(order_event("New"), T0 + 2 * MS)
    cancel, reports = p.cancel(7, OID, T0 + 3 * MS)
    c = orjson.loads(cancel)
    assert not reports and c["op"] == "order.cancel"
    assert c["args"] == [{"category": "linear", "symbol": "ETHUSDT", "orderLinkId": CID}]
    assert p.on_frame(trade_answer(c["reqId"], op="order.cancel"), T0 + 4 * MS) == ([], [])
    out, _ = p.on_frame(order_event("Cancelled"), T0 + 5 * MS)
    assert kinds(out) == [(F.EX_CANCELED, F.ST_CANCELED)] and o.done and int(out[0][1][0]["reason"]) == 0


def test_post_only_cancelled_by_the_venue_names_why():
    p, o, frame = make(type_=O.LIMIT_MAKER)
    p.on_frame(trade_answer(frame["reqId"]), T0 + MS)
    out, _ = p.on_frame(order_event("Cancelled", reject=retcodes.POST_ONLY_WOULD_TAKE, tif="PostOnly"), T0 + 2 * MS)
    assert kinds(out) == [(F.EX_CANCELED, F.ST_CANCELED)] and int(out[0][1][0]["reason"]) == R.VENUE_WOULD_TAKE


# --- refusals -------------------------------------------------------------------------------------

@pytest.mark.parametrize("code,reason", [(110007, R.VENUE_MARGIN), (10001, R.VENUE_FILTER),
                                         (110017, R.VENUE_REDUCE_ONLY), (10004, R.VENUE_AUTH),
                                         (10019, R.VENUE_UNAVAILABLE), (110020, R.VENUE_OPEN_ORDERS),
                                         (110021, R.VENUE_POSITION_LIMIT), (110003, R.VENUE_PRICE_LIMIT),
                                         (170999, R.VENUE_REJECT)])
def test_refused_order_is_rejected_with_its_reason_and_code(code, reason):
    p, o, frame = make()
    out, frames = p.on_frame(trade_answer(frame["reqId"], code=code, msg="refused"), T0 + MS)
    assert kinds(out) == [(F.EX_REJECTED, F.ST_REJECTED)] and not frames
    assert int(out[0][1][0]["reason"]) == reason and int(out[0][1][0]["venue_code"]) == code
    assert o.done and OID not in p.orders


def test_rate_limit_answer_feeds_the_backoff():
    p, o, frame = make()
    out, _ = p.on_frame(trade_answer(frame["reqId"], code=10006, msg="Too many visits!"), T0 + MS)
    assert int(out[0][1][0]["reason"]) == R.VENUE_RATE_LIMIT
    assert p.rate_answer == (429, 10006, 1711001595207, None)


@pytest.mark.parametrize("code", [10000, 10016, 110072])
def test_unknown_outcome_is_asked_never_resent(code):
    p, o, frame = make()
    out, (req,) = p.on_frame(trade_answer(frame["reqId"], code=code, msg="Server error"), T0 + MS)
    assert out == [] and isinstance(req, HttpRequest) and not o.done
    out, _ = p.on_frame(rest_answer(req, [listed("New")]), T0 + 2 * MS)
    assert kinds(out) == [(F.EX_NEW, F.ST_ACKED)]


def test_cancel_refused_for_an_order_gone():
    p, o, frame = make()
    p.on_frame(trade_answer(frame["reqId"]), T0 + MS)
    cancel, _ = p.cancel(7, OID, T0 + 2 * MS)
    out, _ = p.on_frame(trade_answer(orjson.loads(cancel)["reqId"], code=110001, msg="order not exists or too late "
                                     "to cancel", op="order.cancel"), T0 + 3 * MS)
    assert kinds(out) == [(F.EX_CANCEL_REJECTED, F.ST_ACKED)] and int(out[0][1][0]["reason"]) == R.CANCEL_UNKNOWN
    assert o.deadline_ns  # it may have filled meanwhile: asked if nothing says so


def test_unknown_and_malformed_input_is_counted_not_applied():
    p, o, frame = make()
    assert p.on_frame(b"not json", T0) == ([], []) and p.unknown_answers == 1
    assert p.on_frame(b"[1,2]", T0) == ([], []) and p.unknown_answers == 2
    assert p.on_frame(trade_answer("p999"), T0) == ([], []) and p.unknown_answers == 3  # never sent
    assert p.on_frame(orjson.dumps({"reqId": frame["reqId"], "op": "order.create"}), T0) == ([], [])
    assert frame["reqId"] in p.requests  # no retCode: still outstanding, asked at its deadline
    assert p.on_frame(b'{"topic":"wallet","data":[]}', T0) == ([], []) and p.unknown_events == 1
    # an execution without execQty may have carried a fill: every open order is asked about
    assert p.on_frame(b'{"topic":"execution","data":[{"orderLinkId":"' + CID.encode() + b'"}]}', T0 + MS) == ([], [])
    assert p.bad_events == 1 and o.deadline_ns == T0 + MS
    assert isinstance(p.expired(T0 + MS)[0], HttpRequest)
    # another product's, or someone else's, order: not ours
    assert p.on_frame(order_event("New", cid="web-order-1"), T0) == ([], []) and p.unknown_events == 2
    # other execution kinds (not ours, not funding: tests/venues/test_bybit_funding.py) are counted, not applied
    assert p.on_frame(execution("0.1", "0", exec_type="AdlTrade"), T0) == ([], []) and p.other_execs == 1


# --- timeouts: never a resend ---------------------------------------------------------------------

def test_no_answer_asks_open_then_closed_then_history_then_not_sent():
    p, o, frame = make(timeout_ms=500)
    (req,) = p.expired(T0 + 501 * MS)
    paths = []
    now = T0 + 502 * MS
    for _ in STATUS_PATHS:
        paths.append((req.path, "openOnly=1" in req.query))
        out, frames = p.on_frame(rest_answer(req, []), now)
        if frames:
            (req,) = frames
    assert paths == [("/v5/order/realtime", False), ("/v5/order/realtime", True), ("/v5/order/history", False)]
    # absent everywhere, but the recv window (+ skew) since it was signed has not passed: wait
    assert out == [] and not o.done
    (req,) = p.expired(o.deadline_ns)
    now = o.deadline_ns + MS
    for _ in STATUS_PATHS:
        out, frames = p.on_frame(rest_answer(req, []), now)
        if frames:
            (req,) = frames
    assert kinds(out) == [(F.EX_RESOLVED, F.ST_REJECTED)] and int(out[0][1][0]["reason"]) == R.NOT_SENT


def test_a_failed_query_is_asked_again_later():
    p, o, frame = make()
    (req,) = p.expired(T0 + 2001 * MS)
    assert p.on_frame(req.answer_frame(503, b"<html>busy</html>"), T0 + 2002 * MS) == ([], [])
    assert o.deadline_ns == T0 + 2002 * MS + 2000 * MS and not o.done
    (again,) = p.expired(o.deadline_ns)
    assert isinstance(again, HttpRequest)


def test_late_answer_to_a_superseded_request_is_ignored():
    p, o, frame = make()
    (req,) = p.expired(T0 + 2001 * MS)
    assert p.on_frame(trade_answer(frame["reqId"]), T0 + 2002 * MS) == ([], [])  # asked already: ignored
    out, _ = p.on_frame(rest_answer(req, [listed("New")]), T0 + 2003 * MS)
    assert kinds(out) == [(F.EX_NEW, F.ST_ACKED)]


# --- reconciliation -------------------------------------------------------------------------------

def test_reconcile_cancels_an_earlier_runs_order_and_leaves_others():
    p, o, frame = make()
    (req,) = p.reconcile_requests(T0)
    assert req.path == "/v5/order/realtime" and "settleCoin=USDT" in req.query and "openOnly=0" in req.query
    earlier = listed("New", cid="hold1-abc")
    foreign = listed("New", cid="web-123")
    mine = listed("New", cid=CID)
    out, frames = p.on_frame(rest_answer(req, [earlier, foreign, mine]), T0 + MS)
    assert p.reconcile == (1, 1, 1)
    (x,) = frames
    msg = orjson.loads(x)
    assert msg["op"] == "order.cancel" and msg["args"] == [{"category": "linear", "symbol": "ETHUSDT", "orderId": VID}]
    assert p.requests[msg["reqId"]] == ("x", None)
    p.on_frame(trade_answer(msg["reqId"], op="order.cancel", cid="hold1-abc"), T0 + 2 * MS)
    assert msg["reqId"] not in p.requests and p.reconcile == (1, 1, 1)


def test_reconcile_error_fails_closed():
    p, _, _ = make()
    (req,) = p.reconcile_requests(T0)
    p.on_frame(rest_answer(req, [], code=10003), T0 + MS)
    assert p.reconcile[0] == "failed"


# --- registry -------------------------------------------------------------------------------------

def test_registered_as_bybit_linear_order_venue():
    v = venues.order_venue("bybit_linear")
    assert v.protocol is BybitProtocol and v.live_api_url == "wss://stream.bybit.com/v5/trade"
    assert private_stream_url(v.live_api_url) == "wss://stream.bybit.com/v5/private"
    assert rest_url(v.live_api_url) == "https://api.bybit.com"
    assert rest_url(v.testnet_api_url) == "https://api-testnet.bybit.com"
    assert rest_url("ws://127.0.0.1:9000/v5/trade") == "http://127.0.0.1:9000"
    with pytest.raises(KeyError):
        venues.order_venue("bybit_spot")  # spot orders are not built


def test_reconnect_asks_every_open_order_over_rest_and_never_resends():
    p, o, frame = make()
    adopted = LiveOrder()  # an order an earlier execution process sent (the router's adopt)
    adopted.order_id, adopted.symbol_id, adopted.side, adopted.type = OID + 1, 1, O.SELL, O.LIMIT
    adopted.qty_e8, adopted.price_e8, adopted.sent_ns = 100_000, 6_000_000_000_000, T0
    p.adopt(adopted)
    asks = p.resync(T0 + MS)
    assert all(isinstance(a, HttpRequest) for a in asks) and len(asks) == 2
    assert {("orderLinkId=" + CID) in a.query for a in asks} == {True, False}
    assert any("symbol=BTCUSDT" in a.query and "orderLinkId=htag-10000000006" in a.query for a in asks)
    assert frame["reqId"] not in p.requests  # the place's answer, should it come now, is ignored
    assert not any(isinstance(a, bytes) and b"order.create" in a for a in asks)
