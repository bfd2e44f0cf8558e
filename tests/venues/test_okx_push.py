"""OKX ``trades`` and ``bbo-tbt`` in one compiled call (okx/fastpush.py) against the reference:
the same normalizer with every compiled reader switched off (orjson and the field checks). The
docs' literal pushes (tests/venues/test_okx.py quotes them: a trade with ``source`` and
``seqId``, the older example without them, a bbo-tbt push), several trades a push, more trades
than the output's first size, pushes after a books snapshot that grew the output, values past
2**53, and the frames the call must refuse (unknown instIds, odd shapes, values the general path
refuses or counts) go to both: every record equal field by field, the counters too, and the
frames the call is for must take it."""

from __future__ import annotations

import orjson

from hftshm.venues.okx import fastbook, fastpush

from .test_inband_books import _okx_snap, _pair, _same
from .test_okx import BBO, TRADES

# "WS / Trades channel": the docs' older push example (no "source", no "seqId")
OLD_TRADE = (b'{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"130639474",'
             b'"px":"42219.9","sz":"0.12060306","side":"buy","ts":"1630048897897","count":"3"}]}')
SYMBOLS = {"BTCUSDT": 3, "BCHUSDTSWAP": 4, "ETHUSDTSWAP": 9}


def _spy(norm) -> list:
    """The codes ``fastpush.push_by`` answers ``norm``."""
    codes = []
    inner = norm._fpush

    def spy(*args):
        codes.append(inner(*args))
        return codes[-1]

    norm._fpush = spy
    return codes


def _trade(inst="BTC-USDT", **fields):
    row = {"instId": inst, "tradeId": "130639474", "px": "42219.9", "sz": "0.12060306", "side": "buy",
           "ts": "1630048897897", "count": "3", "source": "0", "seqId": 1234}
    row.update(fields)
    return {k: v for k, v in row.items() if v is not None}


def _trades(*rows, inst="BTC-USDT"):
    return orjson.dumps({"arg": {"channel": "trades", "instId": inst}, "data": list(rows)})


def _bbo(bid=("111.05", "57745"), ask=("111.06", "55154"), inst="BCH-USDT-SWAP", seq=363996337, ts="1670324386802",
         bids=None, asks=None, data=None):
    row = {"asks": [[*ask, "0", "2"]] if asks is None else asks, "bids": [[*bid, "0", "2"]] if bids is None else bids,
           "ts": ts, "seqId": seq}
    if seq is None:
        del row["seqId"]
    return orjson.dumps({"arg": {"channel": "bbo-tbt", "instId": inst}, "data": data or [row]})


def test_trades_fast_path_equals_reference():
    fast, ref = _pair("okx", SYMBOLS)
    codes = _spy(fast)
    bids = [[f"{8400 - i}.5", f"{i + 1}", "0", "1"] for i in range(90)]
    asks = [[f"{8401 + i}", f"0.{i + 1:02d}0", "0", "2"] for i in range(90)]
    taken = [
        orjson.dumps(TRADES),  # the docs' push, "source" and "seqId"
        OLD_TRADE,  # the docs' older push: seqId 0
        _trades(_trade(source=None)),  # seqId without source
        _trades(_trade(seqId=None)),  # source without seqId
        _trades(_trade(side="sell", tradeId="0", seqId=0)),
        _trades(_trade(tradeId="9223372036854775807", seqId=9223372036854775807)),  # int64's largest ids
        _trades(_trade(tradeId="000130639474", ts="0001630048897897")),  # leading zeros: int() reads them
        _trades(_trade(inst="ETH-USDT-SWAP"), inst="BCH-USDT-SWAP"),  # the arg's instId names the symbol
        _trades(_trade(), _trade(tradeId="130639475", side="sell", px="42220", sz="1"),
                _trade(tradeId="130639476", source=None, seqId=None)),  # three trades, the last one bare
        _trades(*[_trade(tradeId=str(130639474 + i), sz=f"0.{i + 1:03d}") for i in range(150)]),  # past 64 records
        _trades(_trade(px="100000000.5"), _trade(sz="90071992.54740993")),  # e8 past 2**53: Python's floats
        _okx_snap(100, bids, asks),  # a books snapshot of 181 records (the output grows): then trades again
        _trades(_trade(), _trade(tradeId="130639480")),
    ]
    refused = [
        _trades(_trade(), inst="ETH-USDT"),  # unknown instId: unknown_symbols
        _trades(_trade(side="up")),  # bad_fields
        _trades(_trade(px="0")), _trades(_trade(sz="0.00000000")),  # zero_values
        _trades(_trade(tradeId="")), _trades(_trade(tradeId="12a")),  # bad_fields
        _trades(_trade(tradeId="9223372036854775808")),  # past int64: bad_ids
        _trades(_trade(ts="0")), _trades(_trade(ts="9223372036855")),  # bad_times
        _trades(_trade(ts="1630048897897.5")),  # bad_fields
        _trades(_trade(seqId=-1)), _trades(_trade(seqId="1234")),  # bad_ids, bad_fields
        _trades(_trade(px="42219.123456789")),  # more than 8 decimals: bad_fields
        _trades(_trade(), _trade(side="up")),  # one bad trade of two: the whole push refused
        _trades(),  # no data: bad_fields
        _trades(_trade(count=None)),  # another shape: the general path reads it
        orjson.dumps(TRADES, option=orjson.OPT_INDENT_2),  # blanks
        orjson.dumps({"data": TRADES["data"], "arg": TRADES["arg"]}),  # another key order
        _trades(_trade()).replace(b'"BTC-USDT"', b'"BTC\\u002dUSDT"', 1),  # an escaped instId
        _trades(_trade()) + b" ",
        _trades(_trade()).replace(b'"px"', b'"pX"'),
        orjson.dumps({"arg": {"channel": "trades-all", "instId": "BTC-USDT"}, "data": TRADES["data"]}),
        b'{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"1"',  # cut
    ]
    n = _same(fast, ref, taken + refused)
    c = fast.counters
    assert n == len(taken), (n, codes)
    assert c.unknown_symbols == 1 and c.zero_values == 2 and c.bad_times == 2 and c.bad_ids >= 2, c.as_dict()
    assert codes.count(fastpush.NEED_OUT) == 1 and fast._out.array.size >= 181
    assert all(w == fastpush.OTHER for w in codes[-len(refused):]), codes[-len(refused):]


def test_bbo_fast_path_equals_reference():
    fast, ref = _pair("okx", SYMBOLS)
    codes = _spy(fast)
    taken = [
        orjson.dumps(BBO),  # the docs' push
        _bbo(inst="BTC-USDT", bid=("8476.97", "256"), ask=("8476.98", "415"), seq=0),
        _bbo(bid=("0.00000001", "1"), ask=("0.00000002", "0.1")),
        _bbo(bid=("100000000.5", "1"), ask=("100000001", "90071992.54740993")),  # past 2**53: Python's floats
    ]
    refused = [
        _bbo(inst="ETH-USDT"),  # unknown_symbols
        _bbo(bid=("111.06", "1")), _bbo(bid=("111.07", "1")),  # crossed (equal, above): crossed_quotes
        _bbo(bid=("111.05", "0")), _bbo(ask=("111.06", "0")),  # one-sided: zero_values
        _bbo(bid=("0", "1")),  # zero_values
        _bbo(bids=[]),  # zero_values
        _bbo(ts="0"),  # bad_times
        _bbo(seq=-5),  # bad_ids
        _bbo(seq=None),  # no seqId: the general path takes 0
        _bbo(bids=[["111.05", "1", "0", "1"], ["111.04", "2", "0", "1"]]),  # two levels: the general path
        _bbo(bids=[["111.05", "1"]]),  # two items a level: the general path takes it
        _bbo(data=[orjson.loads(_bbo())["data"][0]] * 2),  # two entries: the general path reads the first
        orjson.dumps(BBO, option=orjson.OPT_INDENT_2),
        _bbo().replace(b'"111.05"', b'"111.05e0"'),  # bad_fields
        orjson.dumps({"arg": {"channel": "bbo-tbt", "instId": "BCH-USDT-SWAP"}, "action": "snapshot",
                      "data": BBO["data"]}),
    ]
    n = _same(fast, ref, taken + refused)
    c = fast.counters
    assert n == len(taken), (n, codes)
    assert c.unknown_symbols == 1 and c.crossed_quotes == 2 and c.zero_values == 4 and c.bad_times == 1, c.as_dict()
    assert all(w == fastpush.OTHER for w in codes[-len(refused):]), codes[-len(refused):]


def test_each_channel_routes_to_its_own_call():
    """Books, trades and bbo-tbt of two instruments interleaved, with a pong and a reply between:
    the same records and counters as the reference; books pushes never reach ``push_by`` (the
    second instrument's reaches ``fastbook.update_by``, which answers MISS: it is not the hot
    instrument's, which it then becomes), every trade and bbo-tbt push does and is taken."""
    from .test_inband_books import _okx_spy

    fast, ref = _pair("okx", SYMBOLS)
    pushes, updates = _spy(fast), _okx_spy(fast)
    bids = [[f"{8400 - i}.5", "1", "0", "1"] for i in range(5)]
    asks = [[f"{8401 + i}", "2", "0", "1"] for i in range(5)]
    frames = [_okx_snap(10, bids, asks), orjson.dumps(TRADES), b"pong", _bbo(),
              _okx_snap(20, bids, asks, inst="BCH-USDT-SWAP"), OLD_TRADE, _bbo(inst="BTC-USDT"),
              b'{"event":"subscribe","arg":{"channel":"trades","instId":"BTC-USDT"},"connId":"a4d3ae55"}']
    assert _same(fast, ref, frames) == 6
    assert pushes == [1, 1, 1, 1, fastpush.OTHER]  # the reply's 21st byte is not "o": push_by's, refused
    assert updates == [fastbook.MISS] and fast._hot is fast.book("BCHUSDTSWAP")
    assert fast.counters.pongs == 1 and fast.counters.control_messages == 2 and fast.counters.snapshots_applied == 2
