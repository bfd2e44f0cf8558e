"""Mids from quotes, and what a new mid changes."""

import numpy as np

from hftshm.layouts import md
from hftshm.risk import results as X
from hftshm.risk.marks import on_mid, on_quote

from ._helpers import NOW, Desk, e8


def quote(symbol=0, bid="100", ask="100.02", kind=md.QUOTE, recv_ns=NOW):
    rec = md.records(1)
    rec["kind"] = kind
    rec["symbol_id"] = symbol
    rec["price_e8"] = e8(bid)
    rec["price2_e8"] = e8(ask)
    rec["recv_ns"] = recv_ns
    return rec


def test_quote_sets_the_mid_and_its_time():
    d = Desk()
    assert on_quote(d.symbols, d.account, quote(bid="61837.63", ask="61837.64", recv_ns=NOW + 7)[0]) == X.APPLIED
    assert d.sym(0)["mid_e8"] == e8("61837.635") and d.sym(0)["mid_ns"] == NOW + 7
    assert on_quote(d.symbols, d.account, quote(bid="1.00000001", ask="1.00000002")[0]) == X.APPLIED
    assert d.sym(0)["mid_e8"] == e8("1.00000001")  # half a tick rounds down


def test_other_records_and_bad_quotes_are_ignored():
    d = Desk()
    d.mid(0, 50)
    before = d.state.raw.copy()
    for rec in (quote(kind=md.TRADE), quote(bid="0"), quote(ask="0"), quote(bid="101", ask="100")):
        assert on_quote(d.symbols, d.account, rec[0]) == X.IGNORED
    assert on_quote(d.symbols, d.account, quote(symbol=4)[0]) == X.BAD_INPUT
    assert np.array_equal(d.state.raw, before)


def test_bad_mid():
    d = Desk()
    for symbol, mid in ((0, 0), (0, -1), (4, 100), (-1, 100)):
        assert on_mid(d.symbols, d.account, symbol, mid, NOW) == X.BAD_INPUT
    assert d.sym(0)["mid_e8"] == 0


def test_new_mid_revalues_exposure():
    d = Desk()
    d.fill(0, 1, 100, 2)
    assert d.gross() == e8(200)
    d.mid(0, "100.5")
    assert d.gross() == e8(201)
