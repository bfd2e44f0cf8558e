"""Futures in the risk state: the mark price and funding fields, PnL at the mark with funding,
funding from the USD-M user-data stream applied by the router, and what status shows."""

import numpy as np
import orjson
import pytest

from hftshm.layouts import order as O
from hftshm.risk import layout as L
from hftshm.risk import reasons as R
from hftshm.risk import results as X
from hftshm.risk.fills import on_fill
from hftshm.risk.limits import Limits
from hftshm.risk.live_gate import LiveGate
from hftshm.risk.marks import mark_to_market, on_funding, unrealized_at
from hftshm.risk.state import RiskState
from hftshm.runtime import control_layout as C
from hftshm.trading.area import TradingArea
from hftshm.trading.router import OrderRouter
from hftshm.trading.snapshot import _futures
from hftshm.venues.binance_spot.signing import Signer
from hftshm.venues.binance_usdm.protocol import UsdmProtocol

E8 = 100_000_000


def state(n=2):
    buf = np.zeros(C.RISK_LENGTH, np.uint8)
    return buf, RiskState(n, buf)


def test_layout_puts_mark_and_funding_in_the_free_words():
    assert L.SYMBOL_DTYPE.fields["mark_e8"][1] == 56 and L.SYMBOL_DTYPE.fields["funding"][1] == 120
    assert L.SYMBOL_DTYPE.itemsize == 640  # nothing moved


def test_short_position_pnl_at_mark_with_funding():
    _, risk = state()
    syms, acct = risk.symbols, risk.account
    on_fill(syms, acct, 0, O.SELL, 60_000 * E8, 2_000_000, 0, 1)  # short 0.02 at 60000
    on_fill(syms, acct, 0, O.SELL, 60_100 * E8, 1_000_000, 0, 2)  # add 0.01 at 60100
    assert int(syms[0]["position_e8"]) == -3_000_000
    assert float(syms[0]["avg_px"]) == pytest.approx((0.02 * 60000 + 0.01 * 60100) / 0.03)
    syms[0]["mid_e8"] = 59_000 * E8
    syms[0]["mark_e8"] = 59_900 * E8  # the mark wins over the mid
    assert on_funding(syms, acct, 0, 36_000_000) == X.APPLIED  # a short receives a positive rate: +0.36
    assert on_funding(syms, acct, 5, 1) == X.BAD_INPUT  # outside the state: refused
    unrealized, total, _ = mark_to_market(syms)
    want_u = -0.03 * (59_900 - float(syms[0]["avg_px"]))
    assert unrealized == pytest.approx(want_u) and unrealized_at(syms[0], 59_900 * E8) == pytest.approx(want_u)
    assert total == pytest.approx(want_u + 0.36)
    f = _futures(["btcusdt", "ethusdt"], syms, 2)
    assert list(f) == ["btcusdt"]  # no mark and no funding: not a futures symbol
    assert f["btcusdt"]["position"] == -0.03 and f["btcusdt"]["mark"] == 59_900.0
    assert f["btcusdt"]["funding"] == pytest.approx(0.36) and f["btcusdt"]["unrealized"] == pytest.approx(want_u)


class Rec:
    def record(self, ns):
        pass


def test_router_applies_funding_from_account_update():
    buf, _ = state(1)
    area = TradingArea.format(buf, 1)
    risk = RiskState(1, buf)
    words = np.zeros(C.SEGMENT_SIZE // 8, np.int64)
    word = C.word(C.TRADING_STATE)
    words[word] = R.TS_ACTIVE
    limits = Limits(n_symbols=1, max_order_qty=1, max_order_notional=100_000, max_position=2,
                    max_gross_exposure=1_000_000, price_band_bps=100, max_orders_per_s=50, max_orders_per_s_total=50)
    proto = UsdmProtocol(Signer("k", "s"), ["BTCUSDT"], [("BTC", "USDT")], "htag")
    counts = {}
    router = OrderRouter(risk, area, LiveGate(risk, limits, words, word), proto, lambda r: None,
                         lambda name, n=1: counts.__setitem__(name, counts.get(name, 0) + n),
                         {k: Rec() for k in ("risk_check", "intent_to_verdict", "sent_to_ack")}, lambda c: True, 10**9)
    on_fill(risk.symbols, risk.account, 0, O.BUY, 60_000 * E8, 2_000_000, 0, 1)
    ev = {"e": "ACCOUNT_UPDATE", "E": 1700000000001, "T": 1700000000000, "a": {
        "m": "FUNDING_FEE", "B": [{"a": "USDT", "wb": "99999.76", "cw": "0", "bc": "-0.12000000"}]}}
    assert router.on_frame(orjson.dumps(ev), 1) == []
    # cross margin names no symbol: it goes to the one with the position
    assert float(risk.symbols[0]["funding"]) == pytest.approx(-0.12) and counts["funding"] == 1
    ev["a"]["m"] = "ORDER"  # not funding: nothing applied
    router.on_frame(orjson.dumps(ev), 2)
    assert float(risk.symbols[0]["funding"]) == pytest.approx(-0.12) and counts["funding"] == 1
