"""Deterministic client order ids: a retried or re-read order can never become a second order.

``newClientOrderId`` is derived from the order id alone (plus the run's tag, so ids of an earlier
run of the instance never collide): ``h<tag>-<order_id hex>`` for an order and
``h<tag>_<order_id hex>`` for a cancel request. Binance allows ``^[a-zA-Z0-9-_]{1,36}$``; these
are at most 1 + 9 + 1 + 16 = 27 characters.
"""

from __future__ import annotations

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def tag(run_tag: int) -> str:
    """``run_tag`` (ms) in base 36."""
    n = int(run_tag)
    out = ""
    while True:
        n, d = divmod(n, 36)
        out = _DIGITS[d] + out
        if not n:
            return "h" + out


def order_cid(prefix: str, order_id: int) -> str:
    return f"{prefix}-{order_id:x}"


def cancel_cid(prefix: str, order_id: int) -> str:
    return f"{prefix}_{order_id:x}"


def parse(prefix: str, cid: str) -> int:
    """The order id in one of our ids (``order_cid`` or ``cancel_cid``), or 0 if not ours."""
    if not cid or not cid.startswith(prefix) or len(cid) <= len(prefix) + 1 or cid[len(prefix)] not in "-_":
        return 0
    try:
        return int(cid[len(prefix) + 1:], 16)
    except ValueError:
        return 0


def looks_ours(cid: str) -> bool:
    """Whether ``cid`` has the shape of an order id of ours from any run (``h<tag>-<hex>``)."""
    head, sep, tail = cid.partition("-")
    if not sep or len(head) < 2 or head[0] != "h" or not tail:
        return False
    return all(c in _DIGITS for c in head[1:]) and all(c in "0123456789abcdef" for c in tail)
