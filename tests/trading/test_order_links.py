"""Execution's venue links and a Bybit session, sans I/O: the order router and the session
duties over the Bybit protocol with literal Bybit answers (tests/venues/test_bybit_protocol.py
builds them from the docs' examples); the links each venue needs (report stream, REST, pings);
the REST calls' split and answers (against a local HTTP server: the one test with a socket).

Forbidden outcomes: an order sent before both Bybit connections are authenticated and subscribed
or before reconciliation; a REST question sent as a WebSocket frame (or a frame as REST); a
refused authentication that trades or is silent; an order resent after a timeout."""

import http.server
import threading

import orjson
import pytest

from hftshm.layouts import order as O
from hftshm.trading.order_links import PING_NS, OrderLinks, PrivateStream, UserDataStream, links_for
from hftshm.trading.rest_calls import RestCalls, fetch, is_rest
from hftshm.venues import order_venue
from hftshm.venues.bybit.protocol import BybitProtocol, HttpRequest
from hftshm.venues.bybit.signing import BybitSigner

from tests.venues.test_bybit_protocol import execution, listed, order_event, rest_answer, trade_answer
from .test_order_session import session
from .test_router import T0, Bench, live_slots

TRADE_AUTH_OK = b'{"retCode":0,"retMsg":"OK","op":"auth","connId":"cnt5leec0hvan15eukcg-2t"}'
PRIVATE_AUTH_OK = b'{"success":true,"ret_msg":"","op":"auth","conn_id":"ca4cr3ql2nd9gl8bhh2g-2h7l"}'
SUBSCRIBED = b'{"success":true,"ret_msg":"","op":"subscribe","conn_id":"ca4cr3ql2nd9gl8bhh2g-2h7l"}'
API = "wss://stream.bybit.com/v5/trade"


def bybit_bench(**kw):
    """The router's bench with the Bybit protocol (symbol BTCUSDT, prefix htag)."""
    b = Bench(**kw)
    b.proto = b.router.proto = BybitProtocol(BybitSigner("XXXXXX", "secret"), ["BTCUSDT"], [("BTC", "USDT")],
                                             "htag", recv_window_ms=1000, timeout_ms=2000)
    return b


def ws_frames(frames):
    assert not any(is_rest(f) for f in frames)
    return [orjson.loads(f) for f in frames]


def open_session(b, s):
    """The first connection: the trade auth and the reconciliation's REST question go out; the
    venue answers the reconciliation (nothing open) and the trade auth."""
    out = s.opening(T0)
    auth, reconcile = out
    assert not is_rest(auth) and orjson.loads(auth)["op"] == "auth"
    assert is_rest(reconcile) and reconcile.path == "/v5/order/realtime" and "settleCoin=USDT" in reconcile.query
    assert s.holding
    b.router.on_frame(rest_answer(reconcile, []), T0)
    s.tick(T0)
    assert not b.router.reconciling and s.holding  # reconciled; the connections are not ready yet
    return out


def test_bybit_session_holds_orders_until_both_connections_are_authenticated_and_subscribed():
    b = bybit_bench()
    s = session(b)
    open_session(b, s)
    b.router.on_frame(TRADE_AUTH_OK, T0)
    assert s.holding  # the private stream is not subscribed
    links = links_for(order_venue("bybit_linear"), s, b.proto, API)
    frames = ws_frames(links.side.opened(T0))
    assert [f["op"] for f in frames] == ["auth", "subscribe"] and frames[1]["args"] == ["order", "execution"]
    b.router.on_frame(PRIVATE_AUTH_OK, T0)
    assert s.holding
    b.router.on_frame(SUBSCRIBED, T0)
    assert not s.holding and links.side.current()
    f = b.send(b.order(1, qty="0.02", price=60_000))
    assert f["op"] == "order.create" and f["args"][0]["orderLinkId"] == "htag-10000000001"
    links.side.closed()  # the private stream ended: no new orders until it is back
    assert s.holding


def test_bybit_order_answered_then_filled_on_the_private_stream_counts_once():
    b = bybit_bench()
    s = session(b)
    open_session(b, s)
    for frame in (TRADE_AUTH_OK, PRIVATE_AUTH_OK, SUBSCRIBED):
        b.router.on_frame(frame, T0)
    f = b.send(b.order(1, qty="0.1", price=60_000))
    cid = f["args"][0]["orderLinkId"]
    assert ws_frames(b.router.on_frame(trade_answer(f["reqId"], cid=cid), T0)) == []
    b.router.on_frame(order_event("New", cid=cid), T0)
    b.router.on_frame(execution("0.1", "0", px="60000", cid=cid), T0)
    b.router.on_frame(execution("0.1", "0", px="60000", cid=cid), T0)  # the same execution again
    b.router.on_frame(order_event("Filled", cum="0.1", avg="60000", cid=cid, leaves="0"), T0)
    assert b.counts["fills"] == 1 and b.sym["position_e8"] == 10_000_000 and b.router.open == 0
    # the execution (leavesQty 0) ended it: its slot is free and it is counted, though the order
    # topic's Filled came after (ended only there, it would have had no report to free the slot)
    assert live_slots(b) == [] and b.counts["filled"] == 1


def test_bybit_filled_order_event_before_its_execution_ends_with_the_fill():
    b = bybit_bench()
    s = session(b)
    open_session(b, s)
    for frame in (TRADE_AUTH_OK, PRIVATE_AUTH_OK, SUBSCRIBED):
        b.router.on_frame(frame, T0)
    f = b.send(b.order(1, qty="0.1", price=60_000))
    cid = f["args"][0]["orderLinkId"]
    b.router.on_frame(order_event("Filled", cum="0.1", avg="60000", cid=cid, leaves="0"), T0)
    assert live_slots(b) != [] and b.router.open == 1  # its fill is on the way
    b.router.on_frame(execution("0.1", "0", px="60000", cid=cid), T0)
    assert live_slots(b) == [] and b.counts["filled"] == 1 and b.sym["position_e8"] == 10_000_000


def test_bybit_partial_fill_then_cancelled_ends_once_with_its_slot_freed():
    b = bybit_bench()
    s = session(b)
    open_session(b, s)
    for frame in (TRADE_AUTH_OK, PRIVATE_AUTH_OK, SUBSCRIBED):
        b.router.on_frame(frame, T0)
    f = b.send(b.order(1, qty="0.1", price=60_000, tif=O.IOC))
    cid = f["args"][0]["orderLinkId"]
    b.router.on_frame(execution("0.04", "0.06", px="60000", cid=cid), T0)
    assert live_slots(b) != []  # leaves 0.06: not ended by the execution
    b.router.on_frame(order_event("Cancelled", cum="0.04", avg="60000", cid=cid, leaves="0"), T0)
    assert live_slots(b) == [] and b.counts["canceled"] == 1 and b.sym["position_e8"] == 4_000_000
    assert b.sym["open_buy_e8"] == 0  # the rest no longer counts as open


def test_bybit_timeout_is_asked_over_rest_never_resent():
    b = bybit_bench()
    s = session(b)
    open_session(b, s)
    for frame in (TRADE_AUTH_OK, PRIVATE_AUTH_OK, SUBSCRIBED):
        b.router.on_frame(frame, T0)
    f = b.send(b.order(1, qty="0.1", price=60_000))
    cid = f["args"][0]["orderLinkId"]
    b.clock.now = T0 + 3_000_000_000  # no answer within timeout_ms
    (ask,) = s.tick(b.clock.now)
    assert is_rest(ask) and ask.path == "/v5/order/realtime" and f"orderLinkId={cid}" in ask.query
    assert b.counts["timeouts"] == 1
    out = b.router.on_frame(rest_answer(ask, [listed("Filled", cum="0.10", avg="60000", cid=cid)]), b.clock.now)
    assert out == [] and b.router.open == 0 and b.sym["position_e8"] == 10_000_000
    assert b.counts.get("sent") == 1  # asked, never resent


def test_a_refused_authentication_ends_the_session_by_name_and_nothing_is_sent():
    b = bybit_bench()
    s = session(b)
    open_session(b, s)
    b.router.on_frame(b'{"retCode":10004,"retMsg":"Invalid sign","op":"auth","connId":"x"}', T0)
    assert s.holding
    with pytest.raises(ConnectionError, match="refused the trade connection: code 10004 Invalid sign"):
        s.tick(T0)
    s.tick(T0)  # said once; the next session authenticates again
    assert s.lost(T0) > 0 and b.counts["reconnects"] == 1 and b.counts["auth_refused"] == 1


def test_links_per_venue_and_pings():
    b = bybit_bench()
    s = session(b)
    bybit = links_for(order_venue("bybit_linear"), s, b.proto, API)
    assert isinstance(bybit.side, PrivateStream) and bybit.side.url(0) == "wss://stream.bybit.com/v5/private"
    assert bybit.rest_base == "https://api.bybit.com"
    assert orjson.loads(bybit.pings(1)[0])["op"] == "ping"
    assert bybit.pings(1 + PING_NS - 1) == [] and bybit.pings(1 + PING_NS) != []
    spot = links_for(order_venue("binance_spot"), s, b.proto, "wss://ws-api.binance.com:443/ws-api/v3")
    assert spot.side is None and spot.rest_base is None and spot.pings(10 * PING_NS) == []


def test_usdm_user_stream_link_waits_for_its_key_and_ends_with_a_new_one():
    class Proto:
        listen_key = ""

    class Session:
        user_ready = False

        def user_key(self, mono):
            return Proto.listen_key

    sess, proto = Session(), Proto()
    link = links_for(order_venue("binance_usdm"), sess, proto, "ws://127.0.0.1:9/ws-fapi/v1").side
    assert isinstance(link, UserDataStream) and link.url(0) == ""
    Proto.listen_key = "k1"
    assert link.url(1) == "ws://127.0.0.1:9/ws/k1" and link.opened(T0) == [] and sess.user_ready
    assert link.current()
    Proto.listen_key = "k2"  # a new key: this stream is no longer the one
    assert not link.current()
    link.closed()
    assert not sess.user_ready


def test_stop_step_sends_the_cancels_then_asks_until_none_are_open():
    b = bybit_bench()
    s = session(b)
    open_session(b, s)
    for frame in (TRADE_AUTH_OK, PRIVATE_AUTH_OK, SUBSCRIBED):
        b.router.on_frame(frame, T0)
    f = b.send(b.order(1, qty="0.1", price=60_000))
    cid = f["args"][0]["orderLinkId"]
    b.router.on_frame(trade_answer(f["reqId"], cid=cid), T0)
    b.router.on_frame(order_event("New", cid=cid), T0)
    (cancel,) = ws_frames(s.stop_step(T0, 1000))
    assert cancel["op"] == "order.cancel" and cancel["args"][0]["orderLinkId"] == cid
    assert s.stop_step(T0, 1001) == []  # waiting, nothing overdue
    b.router.on_frame(order_event("Cancelled", cid=cid), T0)
    assert s.stop_step(T0, 1002) is None and b.counts["stop_canceled"] == 1


# --- REST calls -----------------------------------------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.headers.get("X-BAPI-SIGN") is None:
            self.send_response(401)
            self.end_headers()
            self.wfile.write(b'{"retCode":10004,"retMsg":"no sign"}')
            return
        body = orjson.dumps({"retCode": 0, "retMsg": "OK", "result": {"list": [], "path": self.path}})
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_base():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_rest_fetch_answers_success_http_errors_and_no_connection(http_base):
    req = HttpRequest("s1", "GET", "/v5/order/realtime", "category=linear&orderLinkId=x", {"X-BAPI-SIGN": "ab"})
    got = orjson.loads(fetch(req, http_base))
    assert got["reqId"] == "s1" and got["http"] == 200 and got["body"]["result"]["path"] == \
        "/v5/order/realtime?category=linear&orderLinkId=x"
    unsigned = HttpRequest("s2", "GET", "/v5/order/realtime", "category=linear", {})
    assert orjson.loads(fetch(unsigned, http_base)) == {"reqId": "s2", "http": 401,
                                                        "body": {"retCode": 10004, "retMsg": "no sign"}}
    closed = f"http://127.0.0.1:{_free_port()}"
    assert orjson.loads(fetch(req, closed, timeout_s=2.0)) == {"reqId": "s1", "http": 0, "body": None}


def test_rest_calls_split_frames_and_deliver_answers(http_base):
    import asyncio

    req = HttpRequest("s1", "GET", "/v5/order/history", "category=linear", {"X-BAPI-SIGN": "ab"})

    async def run():
        got = []

        async def deliver(text):
            got.append(orjson.loads(text))

        calls = RestCalls(http_base, deliver)
        assert calls.split([b"frame1", req, "frame2"]) == [b"frame1", "frame2"]
        for _ in range(200):
            if got:
                break
            await asyncio.sleep(0.05)
        await calls.close()
        return got

    (answer,) = asyncio.run(run())
    assert answer["reqId"] == "s1" and answer["http"] == 200


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_order_links_without_a_venue_are_empty():
    links = OrderLinks()
    assert links.side is None and links.pings(0) == [] and links.rest_calls(None).split([b"x"]) == [b"x"]
