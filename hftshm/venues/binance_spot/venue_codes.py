"""Binance error answers (errors.md) -> our reason codes, and which of them leave an order's
fate unknown (so execution asks the venue instead of calling it rejected)."""

from __future__ import annotations

from ...risk import reasons as R

AUTH = {-1021, -1022, -2014, -2015}
RATE = {-1003, -1015}
UNKNOWN_OUTCOME = {-1000, -1006, -1007}  # unknown error, unexpected response, timeout: may have executed


def reason(code: int, msg: str = "") -> int:
    """The reason code of a refused order.place / order.cancel answer."""
    if code in AUTH:
        return R.VENUE_AUTH
    if code in RATE:
        return R.VENUE_RATE_LIMIT
    if code == -2010:
        low = msg.lower()
        if "insufficient balance" in low:
            return R.VENUE_BALANCE
        if "immediately match" in low:
            return R.VENUE_WOULD_TAKE
        if "market is closed" in low:
            return R.VENUE_CLOSED
        return R.VENUE_REJECT
    if code in (-2011, -2013):
        return R.CANCEL_UNKNOWN
    if code == -1013 or -1199 <= code <= -1100:
        return R.VENUE_FILTER
    return R.VENUE_REJECT


def outcome_unknown(code: int, status: int, msg: str = "") -> bool:
    """Whether a refused order.place may still have executed, or was ours already (duplicate)."""
    return code in UNKNOWN_OUTCOME or status >= 500 or (code == -2010 and "duplicate" in msg.lower())
