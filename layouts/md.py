"""Market-data event: one 128-byte layout for trades, quotes and book changes, told apart by ``kind``.

::

    0        8    9    10   11   12       16       24       32       40       48       56       64
    +--------+----+----+----+----+--------+--------+--------+--------+--------+--------+--------+
    | seq    |kind|side|flag|venu|symbol  |exch_ns | txn_ns |recv_ns | pub_ns |venue_id|venue_id2|
    +--------+----+----+----+----+--------+--------+--------+--------+--------+--------+--------+
    64       72       80       88       96       104      112      120      128
    +--------+--------+--------+--------+--------+--------+--------+--------+
    |price_e8| qty_e8 |price2e8| qty2_e8| price  | qty    | price2 | qty2   |
    +--------+--------+--------+--------+--------+--------+--------+--------+

Prices and quantities: Binance sends decimal strings with at most 8 decimals ("61837.63000000").
The ``*_e8`` fields hold them exactly as integers in units of 1e-8 (``"61837.63000000"`` is
``6183763000000``), good up to 92,233,720,368 (int64 / 1e8). The float64 fields hold
``e8 / 1e8``: one correctly rounded division of two exactly representable numbers, so each is
the float nearest the decimal Binance sent, the same as ``float(text)``, for quick arithmetic
in strategies. Text comes back exactly with ``format_e8``.

Per kind (fields not listed are zero):

===========  ===========================  ===================  ==============================
kind         price/qty (and price2/qty2)  venue_id, venue_id2  side
===========  ===========================  ===================  ==============================
TRADE        trade price and quantity     trade id ``t``, -     aggressor: BUY if the buyer
                                                                was the taker (``m`` false)
AGG_TRADE    price and quantity           agg id ``a``, first   as TRADE
                                          trade id ``f``
QUOTE        best bid, bid qty (ask,      update id ``u``, -    -
             ask qty)
LEVEL        level price, new qty (0      final update id       BID or ASK
             removes the level)           ``u``, first ``U``
BOOK_RESET   the book was discarded (gap  -, -                  -
             or resync): rebuild from the
             LEVEL records with SNAPSHOT
             that follow
GAP          a bridged ring's stand-in    first lost source     -
             for a source sequence that   sequence of the
             never arrived (treat as      run, run length
             BOOK_RESET)
MARK         mark price, funding rate     -, -                  -
             (index price, estimated
             settle price); txn_ns =
             next funding time
LIQUIDATION  order price, original qty    -, -                  the liquidation order's side:
             (average price, filled                             SELL closes a long, BUY a short
             qty); txn_ns = order time
===========  ===========================  ===================  ==============================

MARK and LIQUIDATION come from perpetual futures venues (Binance USD-M ``markPrice`` and
``forceOrder`` streams, docs/venues.md). MARK's funding rate is a signed fraction per funding
interval in 1e-8 units (``"-0.00010000"`` is ``-10000``): the only ``*_e8`` field that can be
negative. A venue that sends no index or estimated settle price leaves that field 0.
A TRADE whose venue marks it other than a regular market trade (USD-M ``X`` = ``INSURANCE_FUND``,
``ADL``, ``NA``) carries F_NOT_MARKET.

Bridged rings (``[venue] kind = "bridge"``, docs/bridge.md): the record has no spare bytes, so
the source sequence is not a new field: it is ``seq`` itself. The receiving bridge gives every
source sequence its own position, a GAP record where the record was lost, so position ``p`` holds
source sequence ``p + base``, ``base`` fixed for the ring's life (the bridge's ``src_base``
counter; 0 when the receiver follows the source from its start). Every other field, exchange and
receive times included, is the source's byte for byte; ``publish_ns`` is the local publish.

Venue and instrument: ``venue`` is the code of the venue the record came from (``VENUES``
below; 0: unknown, as in journals written before the field existed), and ``symbol_id`` the
instrument's row in its ring's symbol table. Ingest's publisher writes ``venue`` into every record
as the ring publishes it (``Publisher(stamp=...)``, hftshm/ring/broadcast.py), so no normalizer
writes it; a bridged or replayed ring keeps the source's byte (a bridge's GAP stand-in says 0).
It is the venue's kind: two venues of one kind in a group (``[[venues]]``) are told apart by their
instance, whose ring holds the record.

Timestamps (ns since the epoch): ``exch_ns`` the exchange event time ``E``; ``txn_ns`` the
trade time ``T`` (trades), the transaction time ``T`` (futures QUOTE from bookTicker), the next
funding time (MARK), the order time (LIQUIDATION), or 0; ``recv_ns`` local receive; ``publish_ns`` ring publish.
"""

from __future__ import annotations

import numpy as np

from .base import Layout, make_dtype

# kind
TRADE = 1
AGG_TRADE = 2
QUOTE = 3
LEVEL = 4
BOOK_RESET = 5
GAP = 6  # a bridged ring's placeholder for a lost source sequence (hftshm.bridge)
MARK = 7  # futures mark price and funding (hftshm.venues.binance_usdm)
LIQUIDATION = 8  # a futures liquidation order
KIND_NAMES = {TRADE: "trade", AGG_TRADE: "aggTrade", QUOTE: "quote", LEVEL: "level", BOOK_RESET: "reset",
              GAP: "gap", MARK: "mark", LIQUIDATION: "liquidation"}
KIND_CODES = {v: k for k, v in KIND_NAMES.items()}

# side
BUY = 1  # trades: the buyer was the taker
SELL = 2
BID = 1  # levels
ASK = 2

# flags
F_SNAPSHOT = 1  # LEVEL from a depth snapshot
F_LAST_IN_EVENT = 2  # last LEVEL (or QUOTE) of one depth event: the book is consistent after it
F_BEST_MATCH = 4  # trade "M"
F_FROM_BOOK = 8  # QUOTE derived from the local order book (not a bookTicker)
F_NOT_MARKET = 16  # TRADE the venue reports as other than a market trade (futures insurance fund, ADL)

# venue codes (the ``[venue] kind`` an ingest normalizes); stable: journals keep them
VENUES = {1: "binance_spot", 2: "binance_usdm", 3: "bybit_spot", 4: "bybit_linear", 5: "okx"}
VENUE_CODES = {v: k for k, v in VENUES.items()}
VENUE_CODES["binance"] = VENUE_CODES["binance_spot"]  # the kind's older name

E8 = 100_000_000

DTYPE = make_dtype(
    [
        ("seq", "<i8", 0),
        ("kind", "u1", 8),
        ("side", "u1", 9),
        ("flags", "u1", 10),
        ("venue", "u1", 11),
        ("symbol_id", "<u4", 12),
        ("exch_ns", "<i8", 16),
        ("txn_ns", "<i8", 24),
        ("recv_ns", "<i8", 32),
        ("publish_ns", "<i8", 40),
        ("venue_id", "<i8", 48),
        ("venue_id2", "<i8", 56),
        ("price_e8", "<i8", 64),
        ("qty_e8", "<i8", 72),
        ("price2_e8", "<i8", 80),
        ("qty2_e8", "<i8", 88),
        ("price", "<f8", 96),
        ("qty", "<f8", 104),
        ("price2", "<f8", 112),
        ("qty2", "<f8", 120),
    ],
    128,
)

LAYOUT = Layout("md_event.v2", DTYPE, __doc__)

# md_event.v1 (the same bytes, with ``flags`` a u2 whose high byte, now ``venue``, was always 0):
# its journals read as v2 records of venue 0 (hftshm/journal/files.py)
V1_FINGERPRINT = 0xEE204871FA8A8BBD


def format_e8(value: int) -> str:
    """The decimal text Binance uses for a 1e-8 fixed-point value: 8 decimals, no exponent."""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(int(value)), E8)
    return f"{sign}{whole}.{frac:08d}"


def records(n: int = 1) -> np.ndarray:
    return np.zeros(n, DTYPE)


# The field offsets the compiled writers (venues/inband_arrays.py, venues/binance_spot/fastrecord.py)
# use when they write a record as 16 little-endian int64 words instead of through numpy's fields.
WORD_OFFSETS = {"seq": 0, "kind": 8, "side": 9, "flags": 10, "venue": 11, "symbol_id": 12, "exch_ns": 16, "txn_ns": 24,
                "recv_ns": 32, "publish_ns": 40, "venue_id": 48, "venue_id2": 56, "price_e8": 64,
                "qty_e8": 72, "price2_e8": 80, "qty2_e8": 88, "price": 96, "qty": 104, "price2": 112,
                "qty2": 120}


def check_words(writer: str) -> None:
    """Refuse to load ``writer`` (ImportError) unless the record is what it writes word by word."""
    import sys
    found = {n: DTYPE.fields[n][1] for n in DTYPE.names}
    if found != WORD_OFFSETS or DTYPE.itemsize != 128:
        raise ImportError(f"md.DTYPE changed: {found}; {writer} writes {WORD_OFFSETS}")
    if sys.byteorder != "little":  # the records are little-endian; the kernels write native words
        raise ImportError(f"{writer} writes md records as little-endian int64 words")
