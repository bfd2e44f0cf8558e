"""Trading figures of a running instance, for ``--summary``, ``hftshm status`` and the dashboard.

``figures(control)`` returns a plain dict (JSON-ready)::

    {"trading_state": "active"|"reduce-only"|"halted", "trading_reason": str,
     "orders_by_state": {state: n}, "rejects_by_reason": {reason: n}, "fills": n,
     "positions": {symbol: qty (float)}, "pnl": {"realized": f, "unrealized": f, "total": f},
     "venue_pushback": {"rate_limited": n, "backoffs": n, ...},  # only when the venue pushed back
     "futures": {symbol: {"position", "entry", "mark", "unrealized", "funding"}}}  # only on futures

``orders_by_state``: orders that ended, by final state, plus those live now by current state.
``trading_reason`` is the kill switch's reason name ("" when trading was never changed by hand
or by a trigger), with the cause that holds now, if any, in ``trigger`` (the risk worker's
trigger, else RISK_DOWN / JOURNAL_DOWN from execution's protection watch). An unset or unknown
trading word reads "unset (halted)" / "unknown N (halted)". Reads
shared memory only; numbers may be a few microseconds apart from each other.
"""

from __future__ import annotations

from ..errors import HftshmError
from ..layouts import exec_report as F
from ..risk import reasons as R
from ..risk.marks import mark_to_market
from ..risk.state import RiskState
from ..runtime.control import trading_state_name
from .area import TradingArea

E8 = 100_000_000


def figures(control) -> dict:
    """The figures above from the control block (counters, kill switch, risk state)."""
    out = {"trading_state": trading_state_name(control.trading_state),
           "trading_reason": R.name(control.trading_reason) if control.trading_reason else "",
           "orders_by_state": {}, "rejects_by_reason": {}, "fills": 0, "positions": {},
           "pnl": {"realized": 0.0, "unrealized": 0.0, "total": 0.0}}
    try:
        buf = control.risk_buffer()
        risk = RiskState.attach(buf)
        area = TradingArea(buf)
    except (HftshmError, ValueError):
        return out  # trading not prepared (no strategies, or an older supervisor)
    states = {F.STATE_NAMES[s]: int(area.ended[s]) for s in F.STATE_NAMES if area.ended[s]}
    for i in area.live():
        name = F.STATE_NAMES.get(int(area.slots[i]["state"]), "new")
        states[name] = states.get(name, 0) + 1
    out["orders_by_state"] = states
    out["rejects_by_reason"] = {R.name(c): int(area.rejects[c]) for c in range(area.rejects.shape[0]) if area.rejects[c]}
    from .protection import holding

    trigger = holding(control)  # the risk worker's trigger, else execution's protection watch
    if trigger:
        out["trigger"] = R.name(trigger)
    symbols = _symbols(control, risk.n_symbols)
    syms = risk.symbols
    out["fills"] = int(syms["fills"].sum())
    out["positions"] = {symbols[i]: int(syms[i]["position_e8"]) / E8 for i in range(risk.n_symbols)}
    unrealized, total, _ = mark_to_market(syms)
    realized = float(syms["realized_pnl"].sum())
    out["pnl"] = {"realized": realized, "unrealized": float(unrealized), "fees": float(syms["fees"].sum()),
                  "total": float(total)}
    futures = _futures(symbols, syms, risk.n_symbols)
    if futures:  # a futures venue: signed positions, entry, mark, unrealized at the mark, funding
        out["futures"] = futures
        out["pnl"]["funding"] = float(syms["funding"].sum())
    pushback = venue_pushback(control)
    if pushback:
        out["venue_pushback"] = pushback
    return out


def _futures(symbols: list[str], syms, n: int) -> dict:
    """Per symbol with a mark price or funding (USD-M): {position, entry, mark, unrealized, funding}."""
    out = {}
    for i in range(n):
        sym = syms[i]
        mark, funding = int(sym["mark_e8"]), float(sym["funding"])
        if not mark and not funding:
            continue
        pos, entry = int(sym["position_e8"]), float(sym["avg_px"])
        out[symbols[i]] = {"position": pos / E8, "entry": entry, "mark": mark / E8,
                           "unrealized": pos / E8 * (mark / E8 - entry) if pos and mark else 0.0, "funding": funding}
    return out


def venue_pushback(control) -> dict:
    """Execution's rate-limit counters (trading/rate_backoff.py), the ones that are not zero:
    ``rate_limited`` venue answers, ``backoffs`` pauses, ``backoff_rejects`` orders refused
    meanwhile, ``rate_halts`` halts."""
    for slot in control.worker_slots():
        if control.worker_role(slot) == "execution":
            c = control.counter_values(slot)
            return {k: c[k] for k in ("rate_limited", "backoffs", "backoff_rejects", "rate_halts") if c.get(k)}
    return {}


def _symbols(control, n: int) -> list[str]:
    """Symbol names from the md ring's table, else s0, s1, ..."""
    try:
        from ..ring import BroadcastRing

        ring = BroadcastRing.attach(control.instance, "md")
        try:
            names = list(ring.symbols)
        finally:
            ring.close()
        if len(names) >= n:
            return names[:n]
    except Exception:  # no md ring (trading state read without a full instance)
        pass
    return [f"s{i}" for i in range(n)]
