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
from hftshm.venues.bybit.protocol import BybitProtocol
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


def router_with(p):
    buf = np.zeros(C.RISK_LENGTH, np.uint8)
    area = TradingArea.format(buf, 2)
    risk = RiskState(2, buf)
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
    router.on_frame(funding("-0.02", exec_id="e2", rate="-0.00002"), T0 + MS)
    assert round(float(risk.symbols[1]["funding"]) * E8) == -6_435_000 and counts["funding"] == 2
    router.on_frame(funding("-0.02", exec_id="e2", rate="-0.00002"), T0 + 2 * MS)  # repeated: not again
    assert counts["funding"] == 2
    # a symbol not traded: applied where the largest position is (as USD-M's unattributed funding)
    risk.symbols[0]["position_e8"] = 5 * E8
    router.on_frame(funding("1.5", symbol="SOLUSDT", exec_id="e3"), T0 + 3 * MS)
    assert float(risk.symbols[0]["funding"]) == -1.5 and counts["funding"] == 3
