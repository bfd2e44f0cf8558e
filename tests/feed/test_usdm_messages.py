"""Binance USD-M frames, one of each kind, through the normalizer: every field of every record
against an independent reading of the literal frame; bad input counted, never published."""

from __future__ import annotations

import json

import pytest
from binance_reference import as_dicts, e8, fl, record

from hftshm.layouts import md
from hftshm.venues import binance_usdm, get
from hftshm.venues.binance_usdm import BinanceUsdmNormalizer

SID = 3
MS = 1_000_000


def env(stream: str, data) -> bytes:
    return json.dumps({"stream": stream, "data": data}).encode()


TRADE = {"e": "trade", "E": 1723161256322, "T": 1723161256321, "s": "BTCUSDT", "t": 5266583935,
         "p": "61800.30", "q": "0.006", "X": "MARKET", "m": False}
BOOK = {"e": "bookTicker", "u": 5123107839020, "s": "BTCUSDT", "b": "61800.20", "B": "2.507",
        "a": "61800.30", "A": "2.510", "T": 1723161256313, "E": 1723161256314}
AGG = {"e": "aggTrade", "E": 1723161256400, "s": "BTCUSDT", "a": 2125892846, "p": "70206.30",
       "q": "0.052", "f": 4867106679, "l": 4867106681, "T": 1723161256399, "m": True}
MARK = {"e": "markPriceUpdate", "E": 1562305380000, "s": "BTCUSDT", "p": "11794.15000000",
        "i": "11784.62659091", "P": "11784.25641265", "r": "-0.00038167", "T": 1562306400000}
LIQ = {"e": "forceOrder", "E": 1568014460893, "o": {
    "s": "BTCUSDT", "S": "SELL", "o": "LIMIT", "f": "IOC", "q": "0.014", "p": "9910", "ap": "9910.5",
    "X": "FILLED", "l": "0.014", "z": "0.012", "T": 1568014460891}}


@pytest.fixture
def norm():
    return BinanceUsdmNormalizer({"BTCUSDT": SID})


def one(norm, frame, recv=77) -> dict:
    out = as_dicts(norm.normalize(frame, recv))
    assert len(out) == 1, (out, norm.counters)
    return out[0]


def test_trade(norm):
    got = one(norm, env("btcusdt@trade", TRADE))
    assert got == record(kind=md.TRADE, side=md.BUY, symbol_id=SID, exch_ns=TRADE["E"] * MS,
                         txn_ns=TRADE["T"] * MS, recv_ns=77, venue_id=TRADE["t"], price_e8=e8("61800.30"),
                         qty_e8=e8("0.006"), price=fl("61800.30"), qty=fl("0.006"))


def test_trade_not_market_is_flagged_and_ids_are_followed(norm):
    one(norm, env("btcusdt@trade", TRADE))
    adl = dict(TRADE, t=TRADE["t"] + 3, X="ADL", m=True)
    got = one(norm, env("btcusdt@trade", adl))
    assert got["flags"] == md.F_NOT_MARKET and got["side"] == md.SELL
    assert norm.counters.trade_id_gaps == 1 and norm.counters.trade_ids_missed == 2


def test_book_ticker_carries_event_and_transaction_times(norm):
    got = one(norm, env("btcusdt@bookTicker", BOOK))
    assert got == record(kind=md.QUOTE, symbol_id=SID, exch_ns=BOOK["E"] * MS, txn_ns=BOOK["T"] * MS,
                         recv_ns=77, venue_id=BOOK["u"], price_e8=e8("61800.20"), qty_e8=e8("2.507"),
                         price2_e8=e8("61800.30"), qty2_e8=e8("2.510"), price=fl("61800.20"),
                         qty=fl("2.507"), price2=fl("61800.30"), qty2=fl("2.510"))


def test_agg_trade(norm):
    got = one(norm, AGG and env("btcusdt@aggTrade", AGG))
    assert got == record(kind=md.AGG_TRADE, side=md.SELL, symbol_id=SID, exch_ns=AGG["E"] * MS,
                         txn_ns=AGG["T"] * MS, recv_ns=77, venue_id=AGG["a"], venue_id2=AGG["f"],
                         price_e8=e8("70206.30"), qty_e8=e8("0.052"), price=fl("70206.30"), qty=fl("0.052"))


def test_mark_price(norm):
    got = one(norm, env("btcusdt@markPrice@1s", MARK))
    assert got == record(kind=md.MARK, symbol_id=SID, exch_ns=MARK["E"] * MS, txn_ns=MARK["T"] * MS,
                         recv_ns=77, price_e8=e8("11794.15"), qty_e8=-38167, price2_e8=e8("11784.62659091"),
                         qty2_e8=e8("11784.25641265"), price=fl("11794.15"), qty=fl("-0.00038167"),
                         price2=fl("11784.62659091"), qty2=fl("11784.25641265"))


def test_mark_price_without_funding(norm):
    """A delivery contract: "r":"" and "T":0 (no funding) -> rate 0, no next funding time."""
    got = one(norm, env("btcusdt@markPrice@1s", dict(MARK, r="", T=0, P="")))
    assert got["qty_e8"] == 0 and got["txn_ns"] == 0 and got["qty2_e8"] == 0 and got["price_e8"] == e8("11794.15")


def test_liquidation(norm):
    got = one(norm, env("btcusdt@forceOrder", LIQ))
    assert got == record(kind=md.LIQUIDATION, side=md.SELL, symbol_id=SID, exch_ns=LIQ["E"] * MS,
                         txn_ns=LIQ["o"]["T"] * MS, recv_ns=77, price_e8=e8("9910"), qty_e8=e8("0.014"),
                         price2_e8=e8("9910.5"), qty2_e8=e8("0.012"), price=9910.0, qty=fl("0.014"),
                         price2=9910.5, qty2=fl("0.012"))


def test_raw_payload_without_envelope(norm):
    assert one(norm, json.dumps(MARK))["kind"] == md.MARK


@pytest.mark.parametrize("change, counter", [
    ({"p": "abc"}, "bad_fields"),
    ({"p": "-1.0"}, "bad_fields"),
    ({"p": "0.00000000"}, "zero_values"),
    ({"p": 11794.15}, "bad_fields"),
    ({"r": "0.0001x"}, "bad_fields"),
    ({"r": None}, "bad_fields"),
    ({"r": "--0.1"}, "bad_fields"),
    ({"T": "1562306400000"}, "bad_fields"),
    ({"T": -5}, "bad_times"),
    ({"E": 0}, "bad_times"),
    ({"i": 5}, "bad_fields"),
    ({"s": 7}, "unknown_symbols"),
])
def test_malformed_mark_frames_are_counted_not_published(norm, change, counter):
    assert len(norm.normalize(env("btcusdt@markPrice@1s", dict(MARK, **change)), 1)) == 0
    assert getattr(norm.counters, counter) == 1
    others = {k: v for k, v in norm.counters.as_dict().items() if k not in ("frames", counter)}
    assert not any(others.values()), others


@pytest.mark.parametrize("drop", ["p", "i", "r", "T", "E", "s"])
def test_mark_frame_missing_a_field(norm, drop):
    frame = {k: v for k, v in MARK.items() if k != drop}
    assert len(norm.normalize(env("btcusdt@markPrice@1s", frame), 1)) == 0
    assert norm.counters.bad_fields == 1


@pytest.mark.parametrize("change", [{"S": "LONG"}, {"p": "0"}, {"q": "x"}, {"T": None}, {"ap": None}])
def test_malformed_liquidation_frames(norm, change):
    frame = dict(LIQ, o=dict(LIQ["o"], **change))
    assert len(norm.normalize(env("btcusdt@forceOrder", frame), 1)) == 0
    assert norm.counters.bad_fields + norm.counters.zero_values == 1


def test_unknown_symbol_is_counted(norm):
    for data in (dict(TRADE, s="ETHUSDT"), dict(BOOK, s="ETHUSDT"), dict(MARK, s="ETHUSDT"),
                 dict(LIQ, o=dict(LIQ["o"], s="ETHUSDT"))):
        assert len(norm.normalize(env("ethusdt@x", data), 1)) == 0
    assert norm.counters.unknown_symbols == 4


def test_spot_shaped_book_ticker_is_not_taken_for_a_futures_one(norm):
    """Spot's bookTicker has no "e", "E" or "T": on a USD-M feed it is no event we know."""
    spot = {"u": 1, "s": "BTCUSDT", "b": "1.0", "B": "1", "a": "2.0", "A": "1"}
    assert len(norm.normalize(json.dumps(spot), 1)) == 0
    assert norm.counters.unknown_events == 1


def test_futures_trade_without_x_is_a_bad_field(norm):
    frame = {k: v for k, v in TRADE.items() if k != "X"}
    assert len(norm.normalize(json.dumps(frame), 1)) == 0 and norm.counters.bad_fields == 1


def test_crossed_book_ticker_refused(norm):
    assert len(norm.normalize(json.dumps(dict(BOOK, b="61800.40")), 1)) == 0
    assert norm.counters.crossed_quotes == 1


def test_venue_refuses_streams_it_does_not_serve():
    usdm, spot = get("binance_usdm"), get("binance")
    assert spot.kind == "binance_spot"
    with pytest.raises(ValueError, match="Binance USD-M does not serve stream 'depth'"):
        usdm.check_streams(["trade", "depth"])
    with pytest.raises(ValueError, match="Binance Spot does not serve stream 'markPrice@1s'"):
        spot.check_streams(["markPrice@1s"])
    with pytest.raises(ValueError, match="does not serve stream 'kline_1m'"):
        usdm.connections("wss://fstream.binance.com", ["btcusdt"], ["kline_1m"])
    with pytest.raises(KeyError, match="no market venue 'bybit'"):
        get("bybit")


def test_streams_are_routed_by_path():
    conns = get("binance_usdm").connections("wss://fstream.binance.com/", ["BTCUSDT", "ethusdt"],
                                            ["trade", "aggTrade", "bookTicker", "depth@0ms", "markPrice@1s",
                                             "forceOrder", "depth@100ms"])
    assert [c.url for c in conns] == [
        "wss://fstream.binance.com/public/stream?streams=btcusdt@trade/btcusdt@bookTicker/btcusdt@depth@0ms/"
        "btcusdt@depth@100ms/ethusdt@trade/ethusdt@bookTicker/ethusdt@depth@0ms/ethusdt@depth@100ms",
        "wss://fstream.binance.com/market/stream?streams=btcusdt@aggTrade/btcusdt@markPrice@1s/"
        "btcusdt@forceOrder/ethusdt@aggTrade/ethusdt@markPrice@1s/ethusdt@forceOrder",
    ]
    # a routed path (or /ws, /stream) already in stream_url is not doubled
    for given in ("wss://fstream.binance.com/public", "wss://fstream.binance.com/market/stream"):
        only = get("binance_usdm").connections(given, ["btcusdt"], ["markPrice@1s"])
        assert [c.url for c in only] == ["wss://fstream.binance.com/market/stream?streams=btcusdt@markPrice@1s"]


def test_too_many_streams_for_one_connection():
    with pytest.raises(ValueError, match="at most 200"):
        get("binance_usdm").connections("wss://x", [f"s{i}" for i in range(201)], ["trade"])


def test_package_exports():
    assert binance_usdm.FuturesBook.__name__ == "FuturesBook"
