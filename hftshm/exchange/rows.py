"""The market-message row: one ``int64[9]`` per public message, before it is rendered.

The kernels in ``market.py`` write rows, ``Market`` stamps trade and aggregate ids on them,
``Venue`` routes them and ``streams.py`` renders them as Binance payloads. Prices are in ticks,
quantities in lots (see ``order_book.py``); ``t`` is nanoseconds since the epoch.

::

    col   0     1    2       3        4            5           6      7      8
        +-----+----+-------+--------+------------+-----------+------+------+------+
  TRADE |kind | t  | px    | qty    |buyer_maker | user      | id   |      |      |
  AGG   |kind | t  | px    | qty    |buyer_maker | n_trades  | id   | f    | l    |
  BOOK  |kind | t  | bid_px| bid_qty| ask_px     | ask_qty   | uid  |      |      |
        +-----+----+-------+--------+------------+-----------+------+------+------+

``user`` on a TRADE: -1 synthetic maker, -2 a user's taker order, k >= 0 the k-th resting user
order passed to the kernel (it was the maker). An AGG row follows the ``n_trades`` TRADE rows it
aggregates, so its first and last trade ids ``f``/``l`` are stamped from the trade count.
"""

TRADE = 1
AGG = 2
BOOK = 3

C_KIND, C_T = 0, 1
C_PX, C_QTY, C_BUYER_MAKER, C_USER = 2, 3, 4, 5  # TRADE, AGG (C_USER is n_trades on AGG)
C_N = C_USER
C_BID_PX, C_BID_QTY, C_ASK_PX, C_ASK_QTY = 2, 3, 4, 5  # BOOK
C_ID = 6  # trade id, aggregate trade id, or book update id
C_F, C_L = 7, 8
WIDTH = 9

SYNTHETIC = -1
USER_TAKER = -2

# stream suffix of each row kind
KIND_STREAM = {TRADE: "trade", AGG: "aggTrade", BOOK: "bookTicker"}
