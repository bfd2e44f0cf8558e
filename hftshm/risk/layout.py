"""Descriptor of the risk state block: every offset any hftshm code uses to find something in it.

One contiguous block (all offsets in bytes, little-endian, 64-byte aligned parts)::

    0      +--------------------------------------------------------------------+
           | header   magic | version | n_symbols | block size | account size | |  64 B
    64     +--------------------------------------------------------------------+ = ACCOUNT_OFFSET
           | account  ACCOUNT_DTYPE: one line of totals, then the account-wide  |  8256 B
           |          rate ring (ACCOUNT_RATE_SLOTS x int64)                    |
    8320   +--------------------------------------------------------------------+ = SYMBOLS_OFFSET
           | symbols  n_symbols x SYMBOL_DTYPE (640 B), indexed by symbol_id    |
           +--------------------------------------------------------------------+ = block_size(n)

Header (int64 words; ``W_*`` index the int64 view)::

    0        8        16        24          32           40           64
    +--------+--------+---------+-----------+------------+------------+
    | magic  |version |n_symbols|block size |symbol size |account size|
    +--------+--------+---------+-----------+------------+------------+

Account record (ACCOUNT_DTYPE)::

    0              8           16         24     64
    +--------------+-----------+----------+------+--------------------------------+
    |worst_gross_e8|rate_count |accepted  |(zero)| rate[ACCOUNT_RATE_SLOTS] (ns)  |
    +--------------+-----------+----------+------+--------------------------------+

Symbol record (SYMBOL_DTYPE). Line 0 holds everything ``check_order`` reads, so a check touches
one line of the symbol plus one rate slot; line 1 is accounting, written on fills::

    0        8        16        24     32          40        48     56     64
    +--------+--------+---------+------+-----------+---------+------+------+
    |position|open_buy|open_sell| mid  |worst_exp. |rate_cnt | mid_ns| mark |   line 0: check inputs
    +--------+--------+---------+------+-----------+---------+------+------+
    64       72       80        88     96          104       112    120    128
    +--------+--------+---------+------+-----------+---------+------+------+
    | avg_px |realized| fees    |bought| sold      | fills   |fill_ns|fundng|  line 1: accounting
    +--------+--------+---------+------+-----------+---------+------+------+
    128                                                                    640
    +----------------------------------------------------------------------+
    | rate[SYMBOL_RATE_SLOTS]: ns of the last accepted new orders (a ring)  |
    +----------------------------------------------------------------------+

Units: quantities, prices and exposures are int64 1e-8 fixed point like the order record;
``avg_px`` (quote per base), ``realized_pnl`` and ``fees`` (quote) are float64 in natural units,
because average cost and PnL are not exact in any fixed point and qty_e8 x px_e8 overflows int64.

Sign conventions: ``position_e8`` > 0 long, < 0 short; ``open_buy_e8``/``open_sell_e8`` >= 0;
``realized_pnl`` > 0 is profit; ``fees`` > 0 is paid, < 0 a rebate;
total PnL = realized_pnl + unrealized - fees + funding.

Futures (``[venue] kind = "binance_usdm"``): ``mark_e8`` is the venue's mark price from MARK
records (0: none yet; unrealized PnL then uses the mid), ``funding`` (float64, quote) the sum of
funding payments, > 0 received; positions are the signed contract quantity.

``worst_exposure_e8`` is the symbol's worst-case exposure, ``max(|pos + open_buy|,
|pos - open_sell|) x mark`` (mark = mid, or avg_px before any mid), kept current by every update;
the account's ``worst_gross_e8`` is their sum, exact because both are integers.

Rate rings: ``rate_count`` is the number of orders ever accepted; order ``k`` (from 0) stamped
``rate[k & (slots - 1)]``. The ``limit``-th most recent is therefore ``rate[(count - limit) & mask]``
(see rate.py).

Commit protocol (``hftshm.preamble``): a block is valid once ``magic`` holds ``MAGIC``,
release-stored last by its creator (``publish``); ``RiskState.attach`` acquire-loads it first
(``check_magic``) and refuses anything else.
Writers: the update functions do read-modify-writes across several words, so a block has one
writing thread; other processes may read it (for display) and see values mid-update. Execution
applies each venue report under the trading area's undo record (``hftshm/trading/undo.py``), so
a crash mid-update is undone or kept whole by its restart.
"""

from __future__ import annotations

from ..layouts.base import make_dtype

CACHE_LINE = 64
WORD = 8
MAGIC = int.from_bytes(b"HFTRISK\x01", "little")
VERSION = 1

ACCOUNT_RATE_SLOTS = 1024  # powers of two: a slot is count & (slots - 1)
SYMBOL_RATE_SLOTS = 64

# --- header --------------------------------------------------------------------------------------
HEADER_OFFSET = 0
MAGIC_OFFSET = HEADER_OFFSET + 0
VERSION_OFFSET = HEADER_OFFSET + 8
N_SYMBOLS_OFFSET = HEADER_OFFSET + 16
BLOCK_SIZE_OFFSET = HEADER_OFFSET + 24
SYMBOL_SIZE_OFFSET = HEADER_OFFSET + 32
ACCOUNT_SIZE_OFFSET = HEADER_OFFSET + 40
HEADER_LENGTH = CACHE_LINE
HEADER_WORDS = HEADER_LENGTH // WORD

W_MAGIC = MAGIC_OFFSET // WORD
W_VERSION = VERSION_OFFSET // WORD
W_N_SYMBOLS = N_SYMBOLS_OFFSET // WORD
W_BLOCK_SIZE = BLOCK_SIZE_OFFSET // WORD
W_SYMBOL_SIZE = SYMBOL_SIZE_OFFSET // WORD
W_ACCOUNT_SIZE = ACCOUNT_SIZE_OFFSET // WORD

# --- account -------------------------------------------------------------------------------------
ACCOUNT_RATE_OFFSET = CACHE_LINE  # within the account record
ACCOUNT_DTYPE = make_dtype(
    [
        ("worst_gross_e8", "<i8", 0),
        ("rate_count", "<i8", 8),
        ("accepted", "<i8", 16),  # new orders accepted, in total
        ("rate", ("<i8", (ACCOUNT_RATE_SLOTS,)), ACCOUNT_RATE_OFFSET),
    ],
    ACCOUNT_RATE_OFFSET + ACCOUNT_RATE_SLOTS * WORD,
)
ACCOUNT_OFFSET = HEADER_OFFSET + HEADER_LENGTH
ACCOUNT_LENGTH = ACCOUNT_DTYPE.itemsize

# --- symbols -------------------------------------------------------------------------------------
SYMBOL_CHECK_LINE = 0  # line 0: what check_order reads
SYMBOL_BOOK_LINE = CACHE_LINE  # line 1: accounting
SYMBOL_RATE_OFFSET = 2 * CACHE_LINE
SYMBOL_DTYPE = make_dtype(
    [
        ("position_e8", "<i8", SYMBOL_CHECK_LINE + 0),
        ("open_buy_e8", "<i8", SYMBOL_CHECK_LINE + 8),
        ("open_sell_e8", "<i8", SYMBOL_CHECK_LINE + 16),
        ("mid_e8", "<i8", SYMBOL_CHECK_LINE + 24),
        ("worst_exposure_e8", "<i8", SYMBOL_CHECK_LINE + 32),
        ("rate_count", "<i8", SYMBOL_CHECK_LINE + 40),
        ("mid_ns", "<i8", SYMBOL_CHECK_LINE + 48),
        ("mark_e8", "<i8", SYMBOL_CHECK_LINE + 56),  # futures mark price (MARK records); 0: none
        ("avg_px", "<f8", SYMBOL_BOOK_LINE + 0),
        ("realized_pnl", "<f8", SYMBOL_BOOK_LINE + 8),
        ("fees", "<f8", SYMBOL_BOOK_LINE + 16),
        ("bought_e8", "<i8", SYMBOL_BOOK_LINE + 24),
        ("sold_e8", "<i8", SYMBOL_BOOK_LINE + 32),
        ("fills", "<i8", SYMBOL_BOOK_LINE + 40),
        ("last_fill_ns", "<i8", SYMBOL_BOOK_LINE + 48),
        ("funding", "<f8", SYMBOL_BOOK_LINE + 56),  # futures funding paid (< 0) or received (> 0)
        ("rate", ("<i8", (SYMBOL_RATE_SLOTS,)), SYMBOL_RATE_OFFSET),
    ],
    SYMBOL_RATE_OFFSET + SYMBOL_RATE_SLOTS * WORD,
)
SYMBOLS_OFFSET = ACCOUNT_OFFSET + ACCOUNT_LENGTH
SYMBOL_LENGTH = SYMBOL_DTYPE.itemsize

assert SYMBOLS_OFFSET % CACHE_LINE == 0 and SYMBOL_LENGTH % CACHE_LINE == 0
assert ACCOUNT_RATE_SLOTS & (ACCOUNT_RATE_SLOTS - 1) == 0 and SYMBOL_RATE_SLOTS & (SYMBOL_RATE_SLOTS - 1) == 0


def block_size(n_symbols: int) -> int:
    """Bytes of a block for ``n_symbols`` symbol ids."""
    return SYMBOLS_OFFSET + n_symbols * SYMBOL_LENGTH
