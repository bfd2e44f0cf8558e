"""Bybit v5 ``retCode`` answers -> our reason codes, and which leave an order's fate unknown
(execution then asks the venue about it; it never resends).

From Bybit's v5 docs, "Error Codes": the "WS OE General code" table (the trade API's own:
10404 op/category not found, 10429 system-level frequency protection, 10003 too many sessions,
10016 internal error or service restarting, 10019 trade service restarting and not accepting
new requests, 20003 too frequent on one session, 20006 duplicate reqId) and the general table
(10000 server timeout, 10001 parameter error, 10002 timestamp outside recv window, 10003 API key
invalid, 10004 bad signature, 10005 permission denied, 10006 rate limit, 10007 authentication
failed, 10009 IP banned, 10010 unmatched IP, 10017 route not found, 10018 IP rate limit, 10027
transactions banned, 10029 symbol not allowed). The derivatives 110xxx codes (the "UTA" /
"Contract" tables) are taken from that page's wording as we read it; they were not checked
against a live account, and an unmapped code is VENUE_REJECT with the code in ``venue_code``.

10003 means "API key is invalid" in the general table and "too many sessions" for the trade
API: both are refusals that no retry on this connection fixes, so both are VENUE_AUTH.
"""

from __future__ import annotations

from ...risk import reasons as R

AUTH = {10002, 10003, 10004, 10005, 10007, 10009, 10010, 33004}
RATE = {10006, 10018, 10429, 20003}
# 10000 "Server Timeout" and 10016 "internal server error" may come after the order reached the
# matching engine; 110072 "OrderLinkedID is duplicate": an order with our (deterministic) id
# exists already, so an earlier copy of this very order may have arrived. Ask, never resend.
UNKNOWN_OUTCOME = {10000, 10016, 110072}
FILTER = {10001, 10029, 110094, 110092, 110093}
REASONS = {
    10019: R.VENUE_UNAVAILABLE,  # ws trade service restarting: not accepted (a new connection is routed elsewhere)
    10404: R.VENUE_UNAVAILABLE,  # op type or category not served on this connection
    10027: R.VENUE_CLOSED,  # "Transactions are banned"
    110003: R.VENUE_PRICE_LIMIT,  # order price outside the allowable range (the venue's band around its mark)
    110004: R.VENUE_MARGIN,  # wallet balance insufficient
    110007: R.VENUE_MARGIN,  # available balance insufficient
    110012: R.VENUE_MARGIN,  # available balance insufficient
    110017: R.VENUE_REDUCE_ONLY,  # reduce-only rule not satisfied (nothing to reduce, or it would increase)
    110020: R.VENUE_OPEN_ORDERS,  # more than the allowed active orders
    110021: R.VENUE_POSITION_LIMIT,  # over the position limit (open interest)
    110090: R.VENUE_POSITION_LIMIT,  # the position could exceed the max limit
    110001: R.CANCEL_UNKNOWN,  # order does not exist (cancel)
    110008: R.CANCEL_UNKNOWN,  # order completed or cancelled already
}
# the order stream's rejectReason for a PostOnly order the venue cancelled ("Enums" >
# rejectReason): it would have taken liquidity
POST_ONLY_WOULD_TAKE = "EC_PostOnlyWillTakeLiquidity"


def reason(code: int, msg: str = "") -> int:
    """The reason code of a refused order.create / order.cancel answer."""
    if code in AUTH:
        return R.VENUE_AUTH
    if code in RATE:
        return R.VENUE_RATE_LIMIT
    got = REASONS.get(code)
    if got is not None:
        return got
    if code in FILTER:
        return R.VENUE_FILTER
    return R.VENUE_REJECT


def outcome_unknown(code: int, status: int = 0, msg: str = "") -> bool:
    """Whether a refused order.create may still have executed: ask, never resend."""
    return code in UNKNOWN_OUTCOME or status >= 500
