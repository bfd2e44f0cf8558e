"""Bybit v5 linear funding settlements, sans I/O: literal ``execution`` frames in, the
("funding", symbol id, amount) updates the router applies out, and the router applying them.

Where the literals come from (Bybit v5 docs): the frame is "WebSocket Stream" > "Private" >
"Execution"'s stream example, field for field, with what a funding event changes: ``execType``
``Funding`` (that page: "Only USDT Perpetual has `Funding` feed"), ``orderType`` ``UNKNOWN``
("Enums Definitions": "mainly used when execType is Funding"), no order (``orderLinkId`` "",
``orderQty``/``leavesQty`` "0"), ``execQty`` the position, ``execPrice``/``markPrice`` the mark,
``feeRate`` the funding rate and ``execFee`` the fee (a fee: positive paid, negative received).
The docs give no funding example of their own; the trade frame is the docs' example as it is.
"""

from urllib.parse import parse_qsl

import numpy as np
import orjson

from hftshm.layouts import exec_report as F
from hftshm.layouts import order as O
from hftshm.risk import reasons as R
from hftshm.risk.limits import Limits
from hftshm.risk.live_gate import LiveGate
from hftshm.risk.state import RiskState
from hftshm.runtime import control_layout as C
from hftshm.trading.area import TradingArea
from hftshm.trading.router import OrderRouter
from hftshm.venues.bybit.protocol import FUNDING_RETRY_NS, FUNDING_SETTLE_MS, BybitProtocol
from hftshm.venues.bybit.signing import BybitSigner
from hftshm.venues.orders import LiveOrder

T0 = 1_700_000_000_000_000_000
MS = 1_000_000
E8 = 100_000_000
WORD = C.word(C.TRADING_STATE)


def proto():
    return BybitProtocol(BybitSigner("XXXXXX", "bybit-test-secret"), ["ETHUSDT", "XRPUSDT"],
                         [("ETH", "USDT"), ("XRP", "USDT")], "htag", recv_window_ms=1000)


def funding(fee, symbol="XRPUSDT", exec_id="b5f9a9f2-3a6e-5c1e-8d0c-5c2b1e0d7a11", side="Buy", rate="0.0001",
            exec_time="1672387200000", category="linear"):
    """A funding settlement on the ``execution`` topic (module docstring): 2500 XRPUSDT at mark
    0.3374, rate 0.0001: value 843.5, fee 0.08435."""
    return orjson.dumps({"id": "592324803b2785-26fa-4214-9963-bdd4727f07be", "topic": "execution",
                         "creationTime": 1672387200012, "data": [{
                             "category": category, "symbol": symbol, "execFee": fee, "execId": exec_id,
                             "execPrice": "0.3374", "execQty": "2500", "execType": "Funding", "execValue": "843.5",
                             "isMaker": False, "feeRate": rate, "tradeIv": "", "markIv": "", "blockTradeId": "",
                             "markPrice": "0.3374", "indexPrice": "", "underlyingPrice": "", "leavesQty": "0",
                             "orderId": "1672387200-XRPUSDT-592334-Buy", "orderLinkId": "", "orderPrice": "0",
                             "orderQty": "0", "orderType": "UNKNOWN", "stopOrderType": "UNKNOWN", "side": side,
                             "execTime": exec_time, "isLeverage": "0"}]})


# the stream example of "WebSocket Stream" > "Private" > "Execution", as it is (a trade)
DOC_TRADE = b"""{
    "id": "592324803b2785-26fa-4214-9963-bdd4727f07be",
    "topic": "execution",
    "creationTime": 1672364174455,
    "data": [
        {
            "category": "linear",
            "symbol": "XRPUSDT",
            "execFee": "0.005061",
            "execId": "7e2ae69c-4edf-5800-a352-893d52b446aa",
            "execPrice": "0.3374",
            "execQty": "25",
            "execType": "Trade",
            "execValue": "8.435",
            "isMaker": false,
            "feeRate": "0.0006",
            "tradeIv": "",
            "markIv": "",
            "blockTradeId": "",
            "markPrice": "0.3391",
            "indexPrice": "",
            "underlyingPrice": "",
            "leavesQty": "0",
            "orderId": "f6e324ff-99c2-4e89-9739-3086e47f9381",
            "orderLinkId": "",
            "orderPrice": "0.3207",
            "orderQty": "25",
            "orderType": "Market",
            "stopOrderType": "UNKNOWN",
            "side": "Sell",
            "execTime": "1672364174443",
            "isLeverage": "0"
        }
    ]
}"""


def test_funding_paid_is_a_negative_amount_for_the_risk_state():
    p = proto()
    assert p.on_frame(funding("0.08435"), T0) == ([], [])  # no report: no order of ours
    assert p.take_account() == [("funding", 1, -8_435_000, 1672387200000 * MS)]
    assert p.take_account() == []  # taken once
    assert p.funding_events == 1 and p.other_execs == 0 and p.unknown_events == 0 and p.bad_events == 0


def test_funding_received_is_a_positive_amount():
    # a negative rate: the long receives, so Bybit's fee is negative
    p = proto()
    assert p.on_frame(funding("-0.08435", rate="-0.0001", exec_id="e-recv"), T0) == ([], [])
    assert p.take_account() == [("funding", 1, 8_435_000, 1672387200000 * MS)]
    # a short paying a positive rate, on the other symbol
    p.on_frame(funding("0.16", symbol="ETHUSDT", side="Sell", exec_id="e-short"), T0)
    assert p.take_account() == [("funding", 0, -16_000_000, 1672387200000 * MS)]


def test_the_same_funding_execution_twice_is_applied_once():
    p = proto()
    p.on_frame(funding("0.08435"), T0)
    p.on_frame(funding("0.08435"), T0 + MS)  # the same execId again
    assert len(p.take_account()) == 1 and p.funding_repeats == 1
    p.on_frame(funding("0.08435", exec_id="next-funding-time", exec_time="1672416000000"), T0 + 2 * MS)
    assert p.take_account() == [("funding", 1, -8_435_000, 1672416000000 * MS)]


def test_funding_for_a_symbol_not_traded_goes_unattributed():
    p = proto()
    p.on_frame(funding("0.5", symbol="BTCUSDT"), T0)
    assert p.take_account() == [("funding", -1, -50_000_000, 1672387200000 * MS)]
    assert p.unknown_symbols == 1


def test_zero_malformed_and_other_products_funding():
    p = proto()
    p.on_frame(funding("0", exec_id="zero"), T0)
    assert p.take_account() == [] and p.funding_events == 1  # read; nothing to apply
    p.on_frame(funding("abc", exec_id="bad"), T0)
    p.on_frame(funding("0.1", exec_id="bad-time", exec_time="soon"), T0)
    assert p.take_account() == [] and p.bad_events == 2
    p.on_frame(funding("0.1", exec_id="inverse", category="inverse"), T0)
    assert p.take_account() == [] and p.other_execs == 1


def test_a_trade_still_fills_and_other_exec_types_are_counted_not_applied():
    p = proto()
    o = LiveOrder()
    o.order_id, o.symbol_id, o.side, o.type = (1 << 40) | 5, 1, O.SELL, O.MARKET
    o.qty_e8, o.price_e8, o.sent_ns = 2_500_000_000, 0, T0
    frame = orjson.loads(p.place(o, T0))
    assert frame["args"][0]["symbol"] == "XRPUSDT"
    # the docs' example with our orderLinkId: a fill, and no funding
    trade = orjson.loads(DOC_TRADE)
    trade["data"][0]["orderLinkId"] = o.cid
    out, _ = p.on_frame(orjson.dumps(trade), T0 + MS)
    fills = [r for _, recs in out for r in recs if int(r["exec_type"]) == F.EX_TRADE]
    assert len(fills) == 1 and int(fills[0]["last_qty_e8"]) == 2_500_000_000
    assert int(fills[0]["last_px_e8"]) == 33_740_000 and int(fills[0]["fee_e8"]) == 506_100
    assert p.take_account() == [] and p.funding_events == 0
    # the docs' example as it is (not our order): counted as unknown, nothing applied
    assert p.on_frame(DOC_TRADE, T0 + 2 * MS) == ([], []) and p.unknown_events == 1
    for kind in ("AdlTrade", "BustTrade", "Settle"):
        other = orjson.loads(DOC_TRADE)
        other["data"][0]["execType"] = kind
        assert p.on_frame(orjson.dumps(other), T0 + 3 * MS) == ([], [])
    assert p.other_execs == 3 and p.take_account() == []


class Rec:
    def record(self, ns):
        pass


def router_with(p, buf=None):
    """A router over a fresh risk area, or over ``buf`` as an earlier execution left it (a restart)."""
    if buf is None:
        buf = np.zeros(C.RISK_LENGTH, np.uint8)
        area = TradingArea.format(buf, 2)
        risk = RiskState(2, buf)
    else:
        area, risk = TradingArea(buf), RiskState.attach(buf)
    words = np.zeros(C.SEGMENT_SIZE // 8, np.int64)
    words[WORD] = R.TS_ACTIVE
    limits = Limits(n_symbols=2, max_order_qty=1, max_order_notional=1_000_000, max_position=1,
                    max_gross_exposure=10_000_000, price_band_bps=500, max_orders_per_s=50, max_orders_per_s_total=50)
    counts = {}

    def count(name, n=1):
        counts[name] = counts.get(name, 0) + n

    router = OrderRouter(risk, area, LiveGate(risk, limits, words, WORD), p, lambda rec: None, count,
                         {k: Rec() for k in ("risk_check", "intent_to_verdict", "sent_to_ack")},
                         lambda cause: True, 10_000 * MS)
    return router, risk, counts


def test_the_router_applies_and_counts_bybit_funding():
    p = proto()
    router, risk, counts = router_with(p)
    assert router.on_frame(funding("0.08435"), T0) == []
    assert float(risk.symbols[1]["funding"]) == -0.08435 and float(risk.symbols[0]["funding"]) == 0.0
    assert counts.get("funding") == 1
    # the next funding time (8 h on): one payment per symbol and funding time
    router.on_frame(funding("-0.02", exec_id="e2", rate="-0.00002", exec_time="1672416000000"), T0 + MS)
    assert round(float(risk.symbols[1]["funding"]) * E8) == -6_435_000 and counts["funding"] == 2
    router.on_frame(funding("-0.02", exec_id="e2", rate="-0.00002", exec_time="1672416000000"), T0 + 2 * MS)
    assert counts["funding"] == 2  # repeated: not again
    # a symbol not traded: applied where the largest position is (as USD-M's unattributed funding)
    risk.symbols[0]["position_e8"] = 5 * E8
    router.on_frame(funding("1.5", symbol="SOLUSDT", exec_id="e3"), T0 + 3 * MS)
    assert float(risk.symbols[0]["funding"]) == -1.5 and counts["funding"] == 3


# --- funding the stream missed: GET /v5/execution/list ("Trade" > "Get Trade History") ----------
SUBSCRIBED = b'{"success":true,"ret_msg":"","op":"subscribe","conn_id":"ca4cr3ql2nd9gl8bhh2g-2h7l"}'
HOUR_MS = 3_600_000
NOW_MS = T0 // MS
START_MS = NOW_MS - 160 * HOUR_MS  # where the query starts (the trading area's funding record)


def listed(exec_id, fee, exec_time, symbol="XRPUSDT"):
    """A funding execution as "Get Trade History" lists it: the stream event's fields (above)."""
    return {"symbol": symbol, "orderType": "UNKNOWN", "underlyingPrice": "", "orderLinkId": "",
            "orderId": f"{exec_time // 1000}-{symbol}-592334-Buy", "stopOrderType": "UNKNOWN",
            "execTime": str(exec_time), "feeCurrency": "", "createType": "", "feeRate": "0.0001", "tradeIv": "",
            "blockTradeId": "", "markPrice": "0.3374", "execPrice": "0.3374", "markIv": "", "orderQty": "0",
            "orderPrice": "0", "execValue": "843.5", "closedSize": "0", "execType": "Funding", "seq": 1,
            "side": "Buy", "indexPrice": "", "leavesQty": "0", "isMaker": False, "execFee": fee, "execId": exec_id,
            "marketUnit": "", "execQty": "2500"}


def answer(req, items=(), cursor="", code=0, msg="OK", status=200):
    """The answer frame of ``req``: Bybit's envelope, ``result.list`` and ``nextPageCursor``."""
    result = {"nextPageCursor": cursor, "category": "linear", "list": list(items)} if code == 0 else {}
    return req.answer_frame(status, orjson.dumps({"retCode": code, "retMsg": msg, "result": result,
                                                  "retExtInfo": {}, "time": NOW_MS}))


def query(req) -> dict:
    return dict(parse_qsl(req.query))


def full_page():
    """100 funding executions (the limit asked: another page may follow), newest first, one per
    symbol and funding time, every hour back from the one before now."""
    return [listed(f"p1-{k}", "0.01", NOW_MS - k * HOUR_MS, "ETHUSDT" if k % 2 else "XRPUSDT") for k in range(1, 101)]


def fundings(updates):
    return [u for u in updates if u[0] == "funding"]


def test_subscribing_asks_for_missed_funding_page_by_page_and_applies_it_oldest_first_once():
    p = proto()
    p.funding_from_ms = START_MS
    seen_ms = NOW_MS - 150 * HOUR_MS
    p.on_frame(funding("0.08435", exec_id="seen", exec_time=str(seen_ms)), T0 - MS)  # from the stream, before
    assert len(p.take_account()) == 1
    reports, (req,) = p.on_frame(SUBSCRIBED, T0)  # the private topics subscribed: ask
    assert reports == [] and p.private_subscribed and req.method == "GET" and req.path == "/v5/execution/list"
    assert query(req) == {"category": "linear", "execType": "Funding", "startTime": str(START_MS),
                          "endTime": str(NOW_MS), "limit": "100"}
    assert set(req.headers) >= {"X-BAPI-API-KEY", "X-BAPI-SIGN", "X-BAPI-TIMESTAMP", "X-BAPI-RECV-WINDOW"}
    # a full page with a cursor: the next page is asked, nothing applied yet
    _, (req2,) = p.on_frame(answer(req, full_page(), cursor="page2%3D"), T0 + MS)
    assert query(req2)["cursor"] == "page2%3D" and query(req2)["startTime"] == str(START_MS)
    assert p.take_account() == []
    # the last page: one already applied from the stream, one new, one a trade (not funding)
    trade = {**listed("t1", "0.5", seen_ms + 1), "execType": "Trade"}
    last = [listed("older", "-0.02", seen_ms - HOUR_MS, "ETHUSDT"), trade, listed("seen", "0.08435", seen_ms)]
    assert p.on_frame(answer(req2, last, cursor="page3"), T0 + 2 * MS) == ([], [])  # fewer than the limit: done
    updates = p.take_account()
    applied = fundings(updates)
    assert len(applied) == 101 and p.funding_repeats == 1  # "seen" not again
    times = [u[3] // MS for u in applied]
    assert times == sorted(times) and times[0] == seen_ms - HOUR_MS  # oldest first
    assert applied[0] == ("funding", 0, 2_000_000, (seen_ms - HOUR_MS) * MS)  # received 0.02 on ETHUSDT
    assert updates[-1] == ("funding_recovered", 101, START_MS, NOW_MS)
    assert p.funding_from_ms == NOW_MS - FUNDING_SETTLE_MS and p.funding_ask is None
    # the stream's funding goes straight on again
    p.on_frame(funding("0.01", exec_id="next", exec_time=str(NOW_MS + HOUR_MS)), T0 + 3 * MS)
    assert fundings(p.take_account()) == [("funding", 1, -1_000_000, (NOW_MS + HOUR_MS) * MS)]


def test_an_error_answer_is_counted_and_asked_again_from_the_first_page_never_applied_twice():
    p = proto()
    p.funding_from_ms = START_MS
    _, (req,) = p.on_frame(SUBSCRIBED, T0)
    _, (req2,) = p.on_frame(answer(req, full_page(), cursor="c2"), T0 + MS)  # page 1 gathered
    assert p.on_frame(answer(req2, code=10016, msg="Internal server error."), T0 + 2 * MS) == ([], [])
    assert p.take_account() == [("funding_error", 10016, "Internal server error.")] and p.funding_errors == 1
    assert p.funding_due(T0 + 3 * MS) == []  # not yet
    (req3,) = p.funding_due(T0 + 2 * MS + FUNDING_RETRY_NS)
    assert "cursor" not in query(req3) and query(req3)["startTime"] == str(START_MS)  # from its first page
    assert p.on_frame(answer(req2, [listed("late", "0.3", NOW_MS)]), T0 + 4 * MS) == ([], [])  # superseded
    # no answer at all (the call failed: HTTP status 0)
    p.on_frame(req3.answer_frame(0, b""), T0 + 5 * MS)
    assert p.take_account() == [("funding_error", 0, "HTTP 0")] and p.funding_errors == 2
    # an HTTP error with a retCode (rate limited): counted, and the rate backoff told
    (req4,) = p.funding_due(T0 + 5 * MS + FUNDING_RETRY_NS)
    p.on_frame(answer(req4, code=10006, msg="Too many visits!", status=200), T0 + 6 * MS)
    assert p.take_account() == [("funding_error", 10006, "Too many visits!")] and p.rate_answer[1] == 10006
    (req5,) = p.funding_due(T0 + 6 * MS + FUNDING_RETRY_NS)
    _, (req6,) = p.on_frame(answer(req5, full_page(), cursor="c2"), T0 + 7 * MS)
    p.on_frame(answer(req6, [listed("p2-1", "0.01", START_MS)]), T0 + 8 * MS)
    applied = fundings(p.take_account())
    assert len(applied) == 101 and len({u[3] for u in applied if u[1] == 1}) == len([u for u in applied if u[1] == 1])
    assert p.funding_repeats == 0 and p.funding_errors == 3
    # an answer that never comes: taken as failed after its deadline, and asked again
    _, (req7,) = p.on_frame(SUBSCRIBED, T0 + 9 * MS)
    assert p.funding_due(T0 + 9 * MS + 60_000_000_000) == [] and p.funding_errors == 4
    assert p.take_account() == [("funding_error", 0, "no answer in time")]
    assert len(p.funding_due(T0 + 9 * MS + 60_000_000_000 + FUNDING_RETRY_NS)) == 1


def test_a_query_longer_than_seven_days_goes_window_by_window():
    p = proto()
    p.funding_from_ms = NOW_MS - 200 * HOUR_MS  # "Get Trade History": endTime - startTime <= 7 days
    _, (req,) = p.on_frame(SUBSCRIBED, T0)
    assert (query(req)["startTime"], query(req)["endTime"]) == (str(NOW_MS - 200 * HOUR_MS), str(NOW_MS - 32 * HOUR_MS))
    _, (req2,) = p.on_frame(answer(req, [listed("w1", "0.01", NOW_MS - 100 * HOUR_MS)], cursor="x"), T0 + MS)
    assert (query(req2)["startTime"], query(req2)["endTime"]) == (str(NOW_MS - 32 * HOUR_MS), str(NOW_MS))
    assert "cursor" not in query(req2) and p.take_account() == []
    p.on_frame(answer(req2, [listed("w2", "0.01", NOW_MS - HOUR_MS)]), T0 + 2 * MS)
    assert [u[3] // MS for u in fundings(p.take_account())] == [NOW_MS - 100 * HOUR_MS, NOW_MS - HOUR_MS]


def test_the_streams_funding_waits_while_a_query_runs_then_goes_after_it_in_time_order():
    p = proto()
    p.funding_from_ms = START_MS
    _, (req,) = p.on_frame(SUBSCRIBED, T0)
    p.on_frame(funding("0.02", exec_id="live", exec_time=str(NOW_MS + HOUR_MS)), T0 + MS)  # on the stream meanwhile
    assert p.take_account() == [] and len(p.funding_held) == 1
    p.on_frame(answer(req, [listed("gap", "0.01", NOW_MS - HOUR_MS)]), T0 + 2 * MS)
    assert [(u[2], u[3] // MS) for u in fundings(p.take_account())] == [(-1_000_000, NOW_MS - HOUR_MS),
                                                                        (-2_000_000, NOW_MS + HOUR_MS)]
    # a reconnect while a query runs asks again; the earlier query's answer is ignored
    _, (first,) = p.on_frame(SUBSCRIBED, T0 + 3 * MS)
    _, (second,) = p.on_frame(SUBSCRIBED, T0 + 4 * MS)
    assert p.on_frame(answer(first, [listed("x", "0.5", NOW_MS)]), T0 + 5 * MS) == ([], [])
    assert p.take_account() == []
    assert query(second)["startTime"] == str(NOW_MS - FUNDING_SETTLE_MS)


def test_a_restarted_execution_applies_none_of_the_funding_already_in_the_risk_state():
    p = proto()
    buf = np.zeros(C.RISK_LENGTH, np.uint8)
    TradingArea.format(buf, 2)
    RiskState(2, buf)
    router, risk, counts = router_with(p, buf)
    p.funding_from_ms = START_MS
    (req,) = router.on_frame(SUBSCRIBED, T0)
    router.on_frame(answer(req, [listed("a", "0.08435", NOW_MS - 2 * HOUR_MS)]), T0 + MS)
    router.on_frame(funding("0.05", exec_id="b", exec_time=str(NOW_MS - HOUR_MS)), T0 + 2 * MS)  # the stream
    assert round(float(risk.symbols[1]["funding"]) * E8) == -13_435_000 and counts["funding"] == 2
    assert router.funding.from_ms == NOW_MS - FUNDING_SETTLE_MS
    assert int(router.funding.last[1]) == NOW_MS - HOUR_MS
    # execution restarts: a new protocol (no execIds remembered) and router over the same area
    p2 = proto()
    router2, risk2, counts2 = router_with(p2, buf)
    assert router2.funding.recover(risk2.symbols) is None
    p2.funding_from_ms = router2.funding.from_ms  # as the wiring sets it
    (req,) = router2.on_frame(SUBSCRIBED, T0 + 3 * MS)
    assert query(req)["startTime"] == str(NOW_MS - FUNDING_SETTLE_MS)
    # the venue lists both again (say its window went back) and one made while it was down
    listing = [listed("c", "-0.01", NOW_MS + HOUR_MS), listed("b", "0.05", NOW_MS - HOUR_MS),
               listed("a", "0.08435", NOW_MS - 2 * HOUR_MS), listed("e", "0.03", NOW_MS + HOUR_MS, "ETHUSDT")]
    assert router2.on_frame(answer(req, listing), T0 + 4 * MS) == []
    assert round(float(risk2.symbols[1]["funding"]) * E8) == -12_435_000  # only c added (+0.01)
    assert round(float(risk2.symbols[0]["funding"]) * E8) == -3_000_000
    assert counts2["funding"] == 2 and p2.funding_repeats == 0  # a and b known by their times, not their ids


def test_the_router_counts_a_failed_funding_query():
    p = proto()
    router, risk, counts = router_with(p)
    p.funding_from_ms = START_MS
    (req,) = router.on_frame(SUBSCRIBED, T0)
    assert router.on_frame(answer(req, code=10016, msg="Internal server error."), T0 + MS) == []
    assert counts["funding_errors"] == 1 and float(risk.symbols[1]["funding"]) == 0.0
    (again,) = router.expired(T0 + MS + FUNDING_RETRY_NS)  # the housekeeping tick asks again
    assert again.path == "/v5/execution/list" and counts.get("timeouts") is None
