"""Reason codes and trading states: small stable integers, each with a short name and a message.

A reason is a uint8 (``order.reason``, ``fill.reason``); 0 means OK. The ranges keep room to grow:

========  ==========================================================
1..31     pre-trade rejects, returned by ``checks.check_order``
32..47    venue and execution outcomes, mapped later by execution
48..63    kill-switch causes: why the trading state changed (and 55, execution's BACKOFF
          refusal, next to its halt cause 54)
65..67    instrument rules (65 a halt cause and a reject; 66, 67 pre-trade rejects)
========  ==========================================================

Codes are part of the record format: never renumber one, only add.
"""

from __future__ import annotations

OK = 0

# --- pre-trade rejects (checks.check_order) -----------------------------------------------------
MAX_ORDER_QTY = 1
MAX_NOTIONAL = 2
MAX_POSITION = 3
MAX_GROSS_EXPOSURE = 4
PRICE_BAND = 5
NO_REFERENCE_PRICE = 6
RATE_LIMIT = 7
HALTED = 8
REDUCE_ONLY = 9
UNKNOWN_SYMBOL = 10
BAD_ORDER = 11

# --- venue and execution outcomes (reserved; execution maps venue codes onto these) -------------
VENUE_REJECT = 32  # any other venue refusal (venue_code says which)
TIMEOUT_UNKNOWN = 33
VENUE_AUTH = 34  # -1022 bad signature, -2014/-2015 bad or unknown API key, -1021 timestamp
VENUE_FILTER = 35  # -1013 filter failure, -1111 too precise, -11xx bad parameters
VENUE_BALANCE = 36  # -2010 insufficient balance
VENUE_RATE_LIMIT = 37  # -1003 / -1015: too many requests or orders (not executed)
VENUE_WOULD_TAKE = 38  # -2010 a LIMIT_MAKER that would trade
CANCEL_UNKNOWN = 39  # -2011 / -2013, or a cancel for no live order of ours
NOT_SENT = 40  # resolved after a timeout or restart: the venue never got the order
VENUE_CLOSED = 41  # -2010 market closed
STALE = 42  # older than [execution] max_order_age_ms when execution came to send it

# --- kill-switch causes (killswitch.py) ---------------------------------------------------------
LOSS_LIMIT = 48
FEED_STALE = 49
RING_LAG = 50
MANUAL = 51
RISK_DOWN = 52  # execution's protection watch: the risk worker's heartbeat is stale or it is gone
JOURNAL_DOWN = 53  # the journal worker is down (execution's watch) or cannot write (the journal)
# --- execution: the venue pushes back (trading/rate_backoff.py) ---
VENUE_RATE_HALT = 54  # kill-switch cause: rate-limit answers kept coming although execution backed off
BACKOFF = 55  # an order refused by execution (not sent) while it backs off after a rate-limit answer
RECONCILE_FAILED = 56  # kill-switch cause: execution could not match its open orders with the venue's at start
# --- usdm (60-64): Binance USD-M futures answers (hftshm/venues/binance_usdm/venue_codes.py)
VENUE_MARGIN = 60  # -2019 margin is insufficient
VENUE_REDUCE_ONLY = 61  # -2022 a reduceOnly order would increase the position (or there is none to reduce)
VENUE_POSITION_MODE = 62  # -4061 positionSide does not match the account's mode (hedge mode; we use one-way)
# --- instrument rules from the venue (hftshm.venues.instruments; helper range 65-67) ---
NO_INSTRUMENT_RULES = 65  # kill-switch cause and pre-trade reject: no venue rules for the symbol
INSTRUMENT_PRICE = 66  # pre-trade reject: price off the venue's tick, min/max price or percent-price band
INSTRUMENT_QTY = 67  # pre-trade reject: qty off the venue's step, min/max qty, or notional out of bounds
# --- bybitorders (70-74): Bybit v5 retCodes (hftshm/venues/bybit/retcodes.py); 74 unused ---
VENUE_UNAVAILABLE = 70  # 10019 / 10404: the trade service is restarting or does not serve the op (not executed)
VENUE_OPEN_ORDERS = 71  # 110020: the venue's limit of active orders is reached
VENUE_POSITION_LIMIT = 72  # 110021 / 110090: the order could take the position over the venue's limit
VENUE_PRICE_LIMIT = 73  # 110003: the price is outside the venue's allowed range around its mark

_TABLE = {
    OK: ("OK", "passed every check"),
    MAX_ORDER_QTY: ("MAX_ORDER_QTY", "order quantity above the symbol's max order quantity"),
    MAX_NOTIONAL: ("MAX_NOTIONAL", "order notional (qty x price, or x mid for a market order) above the max"),
    MAX_POSITION: ("MAX_POSITION", "position plus open orders on this side plus this order above the max position"),
    MAX_GROSS_EXPOSURE: ("MAX_GROSS_EXPOSURE", "worst-case gross exposure across symbols would exceed the max"),
    PRICE_BAND: ("PRICE_BAND", "limit price too far from the last mid (fat finger)"),
    NO_REFERENCE_PRICE: ("NO_REFERENCE_PRICE", "no mid yet for this symbol: cannot check price band or notional"),
    RATE_LIMIT: ("RATE_LIMIT", "too many orders accepted in the last second"),
    HALTED: ("HALTED", "trading is halted: only cancels pass"),
    REDUCE_ONLY: ("REDUCE_ONLY", "reduce-only: the order could increase |position| or flip it"),
    UNKNOWN_SYMBOL: ("UNKNOWN_SYMBOL", "symbol id outside the risk state or limits"),
    BAD_ORDER: ("BAD_ORDER", "malformed order: qty <= 0, limit price <= 0, unknown side/type/action, "
                             "or a cancel without a target"),
    VENUE_REJECT: ("VENUE_REJECT", "the venue rejected the order"),
    TIMEOUT_UNKNOWN: ("TIMEOUT_UNKNOWN", "no answer from the venue in time; the order's fate is unknown"),
    VENUE_AUTH: ("VENUE_AUTH", "the venue refused the request's signature, API key or timestamp"),
    VENUE_FILTER: ("VENUE_FILTER", "the venue's filters or parameter checks refused the order"),
    VENUE_BALANCE: ("VENUE_BALANCE", "the venue says the account's balance is insufficient"),
    VENUE_RATE_LIMIT: ("VENUE_RATE_LIMIT", "the venue's rate limit refused the request (not executed)"),
    VENUE_WOULD_TAKE: ("VENUE_WOULD_TAKE", "a LIMIT_MAKER order would have traded immediately"),
    CANCEL_UNKNOWN: ("CANCEL_UNKNOWN", "the cancel's order is not open (unknown, filled or already ended)"),
    NOT_SENT: ("NOT_SENT", "resolved with the venue: the order never reached it"),
    VENUE_CLOSED: ("VENUE_CLOSED", "the venue's market is closed"),
    STALE: ("STALE", "the order was older than [execution] max_order_age_ms when execution came to send it"),
    LOSS_LIMIT: ("LOSS_LIMIT", "total PnL at or below the loss limit"),
    FEED_STALE: ("FEED_STALE", "market data older than the allowed feed age"),
    RING_LAG: ("RING_LAG", "the risk worker fell too far behind its ring"),
    MANUAL: ("MANUAL", "changed by hand"),
    RISK_DOWN: ("RISK_DOWN", "the risk worker is gone or its heartbeat is older than [risk] protection_timeout_ms"),
    JOURNAL_DOWN: ("JOURNAL_DOWN", "the journal worker is gone, silent or cannot write: no journal, no trading"),
    VENUE_RATE_HALT: ("VENUE_RATE_HALT", "the venue kept answering 'rate limit' (-1003/-1015, 429) or banned "
                                         "the IP (418) although execution backed off"),
    BACKOFF: ("BACKOFF", "not sent: execution is backing off after a venue rate-limit answer"),
    VENUE_MARGIN: ("VENUE_MARGIN", "the venue says the futures account's margin is insufficient (-2019)"),
    VENUE_REDUCE_ONLY: ("VENUE_REDUCE_ONLY", "the venue refused a reduceOnly order: it would not reduce the "
                                             "position (-2022)"),
    VENUE_POSITION_MODE: ("VENUE_POSITION_MODE", "the futures account is in hedge mode; hftshm trades one-way "
                                                 "position mode only (-4061)"),
    RECONCILE_FAILED: ("RECONCILE_FAILED", "at start, execution could not reconcile its open orders with the "
                                           "venue's (no answer, or an error): trading stays halted"),
    NO_INSTRUMENT_RULES: ("NO_INSTRUMENT_RULES", "no instrument rules from the venue for this symbol (exchangeInfo "
                                                 "never fetched, or unreadable): trading halted"),
    INSTRUMENT_PRICE: ("INSTRUMENT_PRICE", "price off the venue's tick size, outside its min/max price or its "
                                           "percent-price band around the mid"),
    INSTRUMENT_QTY: ("INSTRUMENT_QTY", "quantity off the venue's step size or outside its min/max quantity, or "
                                       "notional outside its min/max notional"),
    VENUE_UNAVAILABLE: ("VENUE_UNAVAILABLE", "the venue's trade service refused the request while restarting, or "
                                             "does not serve it on this connection (not executed)"),
    VENUE_OPEN_ORDERS: ("VENUE_OPEN_ORDERS", "the venue's limit of active orders for the account is reached"),
    VENUE_POSITION_LIMIT: ("VENUE_POSITION_LIMIT", "the order could take the position over the venue's position "
                                                   "limit"),
    VENUE_PRICE_LIMIT: ("VENUE_PRICE_LIMIT", "the price is outside the range the venue allows around its mark"),
}

NAMES = {code: name for code, (name, _) in _TABLE.items()}
MESSAGES = {code: message for code, (_, message) in _TABLE.items()}
CODES = {name: code for code, name in NAMES.items()}
PRE_TRADE = tuple(range(MAX_ORDER_QTY, BAD_ORDER + 1)) + (NO_INSTRUMENT_RULES, INSTRUMENT_PRICE, INSTRUMENT_QTY)


def name(code: int) -> str:
    """Short stable name; unknown codes read as ``REASON_<n>`` (a newer writer's code, say)."""
    return NAMES.get(int(code), f"REASON_{int(code)}")


def message(code: int) -> str:
    return MESSAGES.get(int(code), f"unknown reason code {int(code)}")


# --- trading states ----------------------------------------------------------------------------
# The one encoding of the kill switch: the control block's trading word stores these values as
# they are (runtime/control_layout.py), and check_order takes them. 0 is deliberately no state:
# a zeroed word (or a zeroed control block) reads as unset, and check_order, the gate and every
# display treat any value but ACTIVE and REDUCE_ONLY as HALTED (fail closed).
TS_UNSET = 0
TS_ACTIVE = 1
TS_REDUCE_ONLY = 2
TS_HALTED = 3
STATE_NAMES = {TS_ACTIVE: "ACTIVE", TS_REDUCE_ONLY: "REDUCE_ONLY", TS_HALTED: "HALTED"}
STATE_CODES = {v: k for k, v in STATE_NAMES.items()}


def state_name(state: int) -> str:
    return STATE_NAMES.get(int(state), f"STATE_{int(state)}(treated as HALTED)")
