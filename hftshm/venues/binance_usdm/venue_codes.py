"""Binance USD-M error answers -> our reason codes, and which of them leave an order's fate
unknown (execution then asks ``order.status``; it never resends).

Codes from Binance derivatives docs, USDⓈ-M Futures, "Error Code" (10xx general server or
network, 11xx request issues, 20xx processing issues, 40xx filters and other, 50xx order
execution); the WebSocket API answers carry them in ``error.code`` ("WebSocket API General
Info": "Error message").
"""

from __future__ import annotations

from ...risk import reasons as R

AUTH = {-1021, -1022, -2014, -2015}  # timestamp outside recvWindow, bad signature, bad/unknown key
RATE = {-1003, -1015}  # too many requests, too many orders
# -1000 unknown error, -1006 unexpected response, -1007 "Timeout waiting for response from
# backend server. Send status unknown; execution status unknown.", -1008 server overloaded:
# the order may exist
UNKNOWN_OUTCOME = {-1000, -1006, -1007, -1008}
FILTER = {-1013, -1111, -1116, -1117, -1121, -4003, -4014, -4023, -4024, -4131, -4164}
REASONS = {
    -2019: R.VENUE_MARGIN,  # "Margin is insufficient."
    -2022: R.VENUE_REDUCE_ONLY,  # "ReduceOnly Order is rejected."
    -4061: R.VENUE_POSITION_MODE,  # "Order's position side does not match user's setting."
    -5022: R.VENUE_WOULD_TAKE,  # "Due to the order could not be executed as maker, the Post Only order will be rejected."
    -2011: R.CANCEL_UNKNOWN,  # "Unknown order sent." (cancel)
    -2013: R.CANCEL_UNKNOWN,  # "Order does not exist."
}


def reason(code: int, msg: str = "") -> int:
    """The reason code of a refused order.place / order.cancel answer."""
    if code in AUTH:
        return R.VENUE_AUTH
    if code in RATE:
        return R.VENUE_RATE_LIMIT
    got = REASONS.get(code)
    if got is not None:
        return got
    if code in FILTER or -1199 <= code <= -1100:
        return R.VENUE_FILTER
    return R.VENUE_REJECT


def outcome_unknown(code: int, status: int, msg: str = "") -> bool:
    """Whether a refused order.place may still have executed: ask, never resend."""
    return code in UNKNOWN_OUTCOME or status >= 500
