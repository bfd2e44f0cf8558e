"""BinanceSpotNormalizer on literal frames: each message type field by field, and everything it
must count and skip without raising."""

from __future__ import annotations

import json
import random

import pytest
from binance_reference import (
    as_dicts, expected_agg_trade, expected_book_ticker, expected_trade, read_capture, record,
)

from hftshm.venues.binance_spot import COUNTER_NAMES, BinanceSpotNormalizer
from hftshm.layouts import md

SID = 3
RECV = 1_723_161_254_087_896_568

TRADE = {"e": "trade", "E": 1723161255343, "s": "BTCUSDT", "t": 3735683259, "p": "61837.63000000",
         "q": "0.02000000", "T": 1723161255342, "m": True, "M": True}
AGG = {"e": "aggTrade", "E": 1672515782136, "s": "BTCUSDT", "a": 12345, "p": "0.001", "q": "100",
       "f": 100, "l": 105, "T": 1672515782136, "m": False, "M": True}
TICKER = {"u": 50093239212, "s": "BTCUSDT", "b": "61837.63000000", "B": "3.78826000",
          "a": "61837.64000000", "A": "1.54698000"}


def combined(data: dict, stream: str = "btcusdt@trade") -> bytes:
    return json.dumps({"stream": stream, "data": data}).encode()


@pytest.fixture
def norm():
    return BinanceSpotNormalizer({"BTCUSDT": SID, "ETHBTC": SID + 1})


def nonzero(norm) -> dict:
    return {k: v for k, v in norm.counters.as_dict().items() if v}


def test_trade(norm):
    out = norm.normalize(combined(TRADE), RECV)
    assert as_dicts(out) == [record(
        kind=md.TRADE, side=md.SELL, flags=md.F_BEST_MATCH, symbol_id=SID,
        exch_ns=1_723_161_255_343_000_000, txn_ns=1_723_161_255_342_000_000, recv_ns=RECV,
        venue_id=3735683259, price_e8=6_183_763_000_000, qty_e8=2_000_000,
        price=61837.63, qty=0.02,
    )]
    assert nonzero(norm) == {"frames": 1}


def test_trade_buyer_taker_is_buy_and_m_and_M_map_to_side_and_flag(norm):
    d = {**TRADE, "m": False, "M": False}
    (rec,) = as_dicts(norm.normalize(json.dumps(d), RECV))  # raw stream, str frame
    assert rec == expected_trade(d, RECV, SID)
    assert (rec["side"], rec["flags"]) == (md.BUY, 0)
    no_m = {k: v for k, v in d.items() if k != "M"}  # "M" is documented as "Ignore": optional
    assert as_dicts(norm.normalize(json.dumps({**no_m, "t": d["t"] + 1}), RECV))[0]["flags"] == 0


def test_agg_trade(norm):
    out = norm.normalize(combined(AGG, "btcusdt@aggTrade"), RECV)
    assert as_dicts(out) == [expected_agg_trade(AGG, RECV, SID)]
    assert out[0]["venue_id2"] == 100 and out[0]["side"] == md.BUY


def test_book_ticker_raw_and_combined(norm):
    want = [expected_book_ticker(TICKER, RECV, SID)]
    assert as_dicts(norm.normalize(json.dumps(TICKER).encode(), RECV)) == want
    assert as_dicts(norm.normalize(combined(TICKER, "btcusdt@bookTicker"), RECV)) == want
    assert want[0]["exch_ns"] == 0  # Spot's bookTicker carries no event time


def test_seq_and_publish_ns_are_left_for_the_ring(norm):
    for frame in (combined(TRADE), combined(AGG), combined(TICKER)):
        rec = norm.normalize(frame, RECV)[0]
        assert rec["seq"] == 0 and rec["publish_ns"] == 0


def test_trade_id_gaps_are_counted_per_symbol_and_still_published(norm):
    published = 0
    for sym, t in [("BTCUSDT", 1), ("ETHBTC", 500), ("BTCUSDT", 2), ("ETHBTC", 501), ("BTCUSDT", 4),
                   ("BTCUSDT", 5), ("BTCUSDT", 5)]:
        published += len(norm.normalize(combined({**TRADE, "s": sym, "t": t}), RECV))
    assert published == 7
    assert norm.counters.trade_id_gaps == 2  # 2 -> 4, and the repeated 5


def test_agg_trade_id_gaps_are_counted(norm):
    for a in (10, 11, 13):
        assert len(norm.normalize(combined({**AGG, "a": a}), RECV)) == 1
    assert norm.counters.agg_trade_id_gaps == 1
    assert norm.counters.trade_id_gaps == 0


@pytest.mark.parametrize("frame", [b"", b"{", b"not json", b"\xff\xfe", "{\"e\":", None, 12])
def test_malformed_json_is_counted(norm, frame):
    assert len(norm.normalize(frame, RECV)) == 0
    assert nonzero(norm) == {"frames": 1, "malformed_json": 1}


@pytest.mark.parametrize("frame,counter", [
    ('{"result":null,"id":1}', "control_messages"),
    ('{"result":["btcusdt@trade"],"id":3}', "control_messages"),
    ('{"code":2,"msg":"Invalid request: unknown variant","id":4}', "venue_errors"),
    ('{"e":"kline","E":1,"s":"BTCUSDT","k":{}}', "unknown_events"),
    ('{"e":"24hrMiniTicker","E":1,"s":"BTCUSDT"}', "unknown_events"),
    ('{"stream":"!miniTicker@arr","data":[{"e":"24hrMiniTicker"}]}', "unknown_events"),
    ('[1,2,3]', "unknown_events"),
    ('42', "unknown_events"),
    ('"trade"', "unknown_events"),
    ('{}', "unknown_events"),
    ('{"lastUpdateId":1,"bids":[],"asks":[]}', "unknown_events"),  # partial depth: not handled
])
def test_non_events_are_counted_by_kind(norm, frame, counter):
    assert len(norm.normalize(frame, RECV)) == 0
    assert nonzero(norm) == {"frames": 1, counter: 1}


@pytest.mark.parametrize("data", [
    {**TRADE, "s": "DOGEUSDT"},
    {**AGG, "s": "DOGEUSDT"},
    {**TICKER, "s": "DOGEUSDT"},
    {"e": "depthUpdate", "E": 1, "s": "DOGEUSDT", "U": 1, "u": 2, "b": [], "a": []},
    {**TRADE, "s": "btcusdt"},  # the table is upper case, as Binance sends "s"
])
def test_unknown_symbols_are_counted(norm, data):
    assert len(norm.normalize(combined(data), RECV)) == 0
    assert nonzero(norm) == {"frames": 1, "unknown_symbols": 1}


def _without(d, key):
    return {k: v for k, v in d.items() if k != key}


BAD_FIELDS = [
    *[_without(TRADE, k) for k in ("s", "t", "p", "q", "E", "T", "m")],
    {**TRADE, "t": "3735683259"}, {**TRADE, "t": 1.0}, {**TRADE, "t": True}, {**TRADE, "t": None},
    {**TRADE, "E": "1723161255343"}, {**TRADE, "E": 1.7e12}, {**TRADE, "T": [1]},
    {**TRADE, "p": 61837.63}, {**TRADE, "p": "1e5"}, {**TRADE, "q": "0.123456789"},
    {**TRADE, "q": "-1.00000000"}, {**TRADE, "p": None}, {**TRADE, "p": ["1"]},
    {**TRADE, "m": "true"}, {**TRADE, "m": 1}, {**TRADE, "M": "yes"}, {**TRADE, "s": ["BTCUSDT"]},
    *[_without(AGG, k) for k in ("a", "f", "p", "m")], {**AGG, "a": "1"},
    *[_without(TICKER, k) for k in ("s", "b", "B", "a", "A")],
    {**TICKER, "u": "1"}, {**TICKER, "u": 2**64}, {**TICKER, "b": 1}, {**TICKER, "A": "NaN"},
]


@pytest.mark.parametrize("data", BAD_FIELDS)
def test_missing_or_mistyped_fields_are_counted(norm, data):
    assert len(norm.normalize(combined(data), RECV)) == 0
    assert nonzero(norm) == {"frames": 1, "bad_fields": 1}


# Well-typed, implausible: refused (nothing published) and counted by kind.
IMPLAUSIBLE = [
    ({**TRADE, "E": -1723161255343}, "bad_times"), ({**TRADE, "T": -1}, "bad_times"),
    ({**TRADE, "E": 0}, "bad_times"), ({**TRADE, "T": 0}, "bad_times"),
    ({**TRADE, "E": 2**62}, "bad_times"),  # past int64 once in ns
    ({**AGG, "E": -5}, "bad_times"), ({**AGG, "T": 0}, "bad_times"),
    ({**TRADE, "t": -3735683259}, "bad_ids"), ({**TRADE, "t": 2**63}, "bad_ids"),
    ({**TRADE, "t": -1, "E": -1}, "bad_ids"),  # one refusal, one count
    ({**AGG, "a": -1}, "bad_ids"), ({**AGG, "f": -100}, "bad_ids"),
    ({**TICKER, "u": -50093239212}, "bad_ids"), ({**TICKER, "u": 2**63}, "bad_ids"),
    ({**TRADE, "q": "0.00000000"}, "zero_values"), ({**TRADE, "p": "0"}, "zero_values"),
    ({**AGG, "q": "0.0"}, "zero_values"), ({**AGG, "p": "0.00000000"}, "zero_values"),
    ({**TICKER, "b": "0.00000000"}, "zero_values"), ({**TICKER, "a": "0.00000000"}, "zero_values"),
    ({**TICKER, "B": "0.00000000"}, "zero_values"), ({**TICKER, "A": "0"}, "zero_values"),
    ({**TICKER, "b": "61837.64000000"}, "crossed_quotes"),  # bid == ask
    ({**TICKER, "b": "61837.65000000"}, "crossed_quotes"),  # bid > ask
]


@pytest.mark.parametrize("data,counter", IMPLAUSIBLE)
def test_implausible_values_are_refused_and_counted(norm, data, counter):
    stream = "btcusdt@aggTrade" if data.get("e") == "aggTrade" else "btcusdt@trade"
    assert len(norm.normalize(combined(data, stream), RECV)) == 0
    assert nonzero(norm) == {"frames": 1, counter: 1}


def test_a_bad_trade_does_not_move_the_trade_id_state(norm):
    norm.normalize(combined({**TRADE, "t": 1}), RECV)
    norm.normalize(combined({**TRADE, "t": 2, "E": 2**62}), RECV)  # past int64 in ns: refused
    norm.normalize(combined({**TRADE, "t": 2, "q": "0.00000000"}), RECV)
    norm.normalize(combined({**TRADE, "t": 2}), RECV)
    c = norm.counters
    assert (c.bad_times, c.zero_values, c.trade_id_gaps) == (1, 1, 0)


def test_gap_sizes_are_counted(norm):
    # 11 -> 15 misses 3; 16 -> 16 and 16 -> 14 are gaps that miss none; 14 -> 20 misses 5 (each
    # size is against the previous id, as the gap itself)
    for t in (10, 11, 15, 16, 16, 14, 20):
        norm.normalize(combined({**TRADE, "t": t}), RECV)
    for a in (7, 8, 108):
        norm.normalize(combined({**AGG, "a": a}, "btcusdt@aggTrade"), RECV)
    c = norm.counters
    assert (c.trade_id_gaps, c.trade_ids_missed) == (4, 8)
    assert (c.agg_trade_id_gaps, c.agg_trade_ids_missed) == (1, 99)


def test_resume_continues_a_predecessors_id_sequences(norm):
    assert len(norm.resume({SID: 3142}, {SID: 70}, (), RECV)) == 0  # no book to reset
    norm.normalize(combined({**TRADE, "t": 3297}), RECV)
    norm.normalize(combined({**TRADE, "t": 3298}), RECV)
    norm.normalize(combined({**AGG, "a": 71}, "btcusdt@aggTrade"), RECV)
    c = norm.counters
    assert (c.trade_id_gaps, c.trade_ids_missed, c.agg_trade_id_gaps) == (1, 3297 - 3142 - 1, 0)
    with pytest.raises(KeyError):
        norm.resume({99: 1}, {}, (), RECV)


def test_resume_resets_a_book_the_predecessor_published(norm):
    out = norm.resume({}, {}, {SID}, RECV)
    got = [(int(r["kind"]), int(r["symbol_id"]), int(r["recv_ns"])) for r in out]
    assert got == [(md.BOOK_RESET, SID, RECV)]
    assert norm.counters.book_resets == 1 and not norm.book("BTCUSDT").live


def test_counter_names_are_the_documented_set(norm):
    assert tuple(norm.counters.as_dict()) == COUNTER_NAMES
    assert "depth_gaps" in COUNTER_NAMES and "buffer_overflows" in COUNTER_NAMES


@pytest.mark.parametrize("symbols", [{"btcusdt": 1}, {"": 1}, {"BTCUSDT": -1}, {"BTCUSDT": 2**32},
                                     {"BTCUSDT": 1.0}, {"BTCUSDT": True}, {"BTCUSDT": 1, "ETHBTC": 1}])
def test_symbol_table_is_validated(symbols):
    with pytest.raises(ValueError):
        BinanceSpotNormalizer(symbols)


def test_mutated_real_frames_never_raise():
    rng = random.Random(20240808)
    lines = read_capture()[:400]
    frames = [f for _, f in lines if not f.startswith(b'{"lastUpdateId"')]
    (snapshot,) = [f for _, f in lines if f.startswith(b'{"lastUpdateId"')]
    norm = BinanceSpotNormalizer({"BTCUSDT": SID})
    junk = [b"", b"0", b"-", b".", b"e", b'"', b"[", b"]", b"{", b"}", b",", b":", b"null", b"1e999"]
    for _ in range(3000):
        f = bytearray(rng.choice(frames))
        for _ in range(rng.randint(1, 3)):
            if not f:
                break
            i = rng.randrange(len(f))
            if rng.random() < 0.3:
                del f[i:]
            else:
                f[i : i + rng.randint(1, 4)] = rng.choice(junk)
        out = norm.normalize(bytes(f), RECV)
        assert out.dtype == md.DTYPE
        assert not norm.book("BTCUSDT").is_crossed()
        if rng.random() < 0.02 and norm.snapshot_requests():  # a snapshot sometimes, mid-stream
            norm.apply_snapshot("BTCUSDT", snapshot, RECV)
    c = norm.counters
    skipped = (c.malformed_json + c.bad_fields + c.unknown_events + c.unknown_symbols
               + c.control_messages + c.venue_errors)
    assert c.frames == 3000 and skipped > 1000
