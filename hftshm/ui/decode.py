"""Records to plain dicts and one-line text, for ``hftshm tail`` and ``hftshm.attach``.

Prices and quantities come from the exact ``*_e8`` integers as decimal strings with 8 decimals
(Binance's own text, ``layouts.md.format_e8``), never from the float fields. Symbols come from
the ring's symbol table; names of kinds, sides and states from the layout modules.
"""

from __future__ import annotations

import time

import numpy as np

from ..layouts import exec_report, md, order
from ..layouts.md import format_e8

MD, ORDER, FILL = md.LAYOUT.name, order.LAYOUT.name, exec_report.LAYOUT.name
MD_SIDES = {md.TRADE: {md.BUY: "buy", md.SELL: "sell"}, md.AGG_TRADE: {md.BUY: "buy", md.SELL: "sell"},
            md.LEVEL: {md.BID: "bid", md.ASK: "ask"}, md.LIQUIDATION: {md.BUY: "buy", md.SELL: "sell"}}
# Futures kinds also get their fields by meaning (layouts/md.py), beside the generic ones.
_NAMED = {
    md.MARK: (("mark_price", "price_e8"), ("funding_rate", "qty_e8"), ("index_price", "price2_e8"),
              ("settle_price", "qty2_e8"), ("next_funding_ns", "txn_ns")),
    md.LIQUIDATION: (("order_price", "price_e8"), ("order_qty", "qty_e8"), ("avg_price", "price2_e8"),
                     ("filled_qty", "qty2_e8"), ("order_ns", "txn_ns")),
}

# the field that ``--kind`` filters on, and its names, per layout
KIND_FIELD = {MD: ("kind", md.KIND_NAMES), ORDER: ("action", order.ACTION_NAMES), FILL: ("exec_type", exec_report.EXEC_NAMES)}


def symbol_name(symbols, sid: int) -> str:
    return symbols[sid] if 0 <= sid < len(symbols) else f"#{sid}"


def _reason(code: int) -> str:
    from ..risk.reasons import name

    return name(code) if code else ""


def _md(r, symbols) -> dict:
    kind = int(r["kind"])
    d = {
        "seq": int(r["seq"]), "kind": md.KIND_NAMES.get(kind, str(kind)),
        "symbol": symbol_name(symbols, int(r["symbol_id"])), "venue": md.VENUES.get(int(r["venue"]), ""),
        "side": MD_SIDES.get(kind, {}).get(int(r["side"]), ""), "flags": int(r["flags"]),
        "price": format_e8(r["price_e8"]), "qty": format_e8(r["qty_e8"]),
        "price2": format_e8(r["price2_e8"]), "qty2": format_e8(r["qty2_e8"]),
        "venue_id": int(r["venue_id"]), "venue_id2": int(r["venue_id2"]),
        "exch_ns": int(r["exch_ns"]), "txn_ns": int(r["txn_ns"]), "recv_ns": int(r["recv_ns"]),
        "publish_ns": int(r["publish_ns"]),
    }
    for name, field in _NAMED.get(kind, ()):
        d[name] = int(r[field]) if field.endswith("_ns") else format_e8(r[field])
    return d


def _order(r, symbols) -> dict:
    return {
        "seq": int(r["seq"]), "order_id": int(r["order_id"]), "cancel_id": int(r["cancel_id"]),
        "symbol": symbol_name(symbols, int(r["symbol_id"])), "strategy_id": int(r["strategy_id"]),
        "action": order.ACTION_NAMES.get(int(r["action"]), str(int(r["action"]))),
        "side": order.SIDE_NAMES.get(int(r["side"]), ""), "type": order.TYPE_NAMES.get(int(r["type"]), ""),
        "tif": order.TIF_NAMES.get(int(r["tif"]), ""),
        "price": format_e8(r["price_e8"]), "qty": format_e8(r["qty_e8"]),
        "verdict": order.VERDICT_NAMES.get(int(r["verdict"]), str(int(r["verdict"]))),
        "reason": _reason(int(r["reason"])), "state": exec_report.STATE_NAMES.get(int(r["state"]), ""),
        "trigger_seq": int(r["trigger_seq"]), "trigger_recv_ns": int(r["trigger_recv_ns"]),
        "intent_ns": int(r["intent_ns"]), "verdict_ns": int(r["verdict_ns"]), "sent_ns": int(r["sent_ns"]),
        "ack_ns": int(r["ack_ns"]), "venue_order_id": int(r["venue_order_id"]),
        "filled_qty": format_e8(r["filled_qty_e8"]), "publish_ns": int(r["publish_ns"]),
    }


def _fill(r, symbols) -> dict:
    return {
        "seq": int(r["seq"]), "order_id": int(r["order_id"]), "venue_order_id": int(r["venue_order_id"]),
        "trade_id": int(r["trade_id"]), "symbol": symbol_name(symbols, int(r["symbol_id"])),
        "strategy_id": int(r["strategy_id"]), "side": order.SIDE_NAMES.get(int(r["side"]), ""),
        "exec_type": exec_report.EXEC_NAMES.get(int(r["exec_type"]), str(int(r["exec_type"]))),
        "state": exec_report.STATE_NAMES.get(int(r["state"]), ""), "reason": _reason(int(r["reason"])),
        "venue_code": int(r["venue_code"]),
        "last_px": format_e8(r["last_px_e8"]), "last_qty": format_e8(r["last_qty_e8"]),
        "cum_qty": format_e8(r["cum_qty_e8"]), "price": format_e8(r["price_e8"]), "fee": format_e8(r["fee_e8"]),
        "venue_ns": int(r["venue_ns"]), "recv_ns": int(r["recv_ns"]), "sent_ns": int(r["sent_ns"]),
        "trigger_recv_ns": int(r["trigger_recv_ns"]), "publish_ns": int(r["publish_ns"]),
    }


def _generic(r, symbols) -> dict:
    return {name: r[name].item() for name in r.dtype.names}


_DECODERS = {MD: _md, ORDER: _order, FILL: _fill}


def to_dict(record, layout: str, symbols=()) -> dict:
    """One record (a numpy record or 1-record view) as a JSON-ready dict."""
    return _DECODERS.get(layout, _generic)(record, symbols)


def to_dicts(records: np.ndarray, layout: str, symbols=()) -> list[dict]:
    decode = _DECODERS.get(layout, _generic)
    return [decode(r, symbols) for r in records]


# --- one-line text --------------------------------------------------------------------------


def _clock(ns: int) -> str:
    if ns <= 0:
        return "-"
    return time.strftime("%H:%M:%S", time.localtime(ns / 1e9)) + f".{ns % 1_000_000_000 // 1000:06d}"


def _num(text: str) -> str:
    """Trailing zeros off a format_e8 string for the table (JSON keeps all 8 decimals)."""
    return text.rstrip("0").rstrip(".") if "." in text else text


# (header, width, right-aligned, how to get it from the dict)
_COLUMNS = {
    MD: [("seq", 10, True, lambda d: d["seq"]), ("time", 15, False, lambda d: _clock(d["recv_ns"])),
         ("symbol", 10, False, lambda d: d["symbol"]), ("kind", 11, False, lambda d: d["kind"]),
         ("side", 4, False, lambda d: d["side"]), ("price", 16, True, lambda d: _num(d["price"])),
         ("qty", 14, True, lambda d: _num(d["qty"])), ("price2", 16, True, lambda d: _num(d["price2"])),
         ("qty2", 14, True, lambda d: _num(d["qty2"])), ("id", 12, True, lambda d: d["venue_id"])],
    ORDER: [("seq", 8, True, lambda d: d["seq"]), ("time", 15, False, lambda d: _clock(d["intent_ns"])),
            ("order_id", 15, True, lambda d: d["order_id"]), ("symbol", 10, False, lambda d: d["symbol"]),
            ("action", 6, False, lambda d: d["action"]), ("side", 4, False, lambda d: d["side"]),
            ("type", 11, False, lambda d: d["type"]), ("price", 16, True, lambda d: _num(d["price"])),
            ("qty", 14, True, lambda d: _num(d["qty"])), ("verdict", 8, False, lambda d: d["verdict"]),
            ("reason", 14, False, lambda d: d["reason"])],
    FILL: [("seq", 8, True, lambda d: d["seq"]), ("time", 15, False, lambda d: _clock(d["recv_ns"])),
           ("order_id", 15, True, lambda d: d["order_id"]), ("symbol", 10, False, lambda d: d["symbol"]),
           ("exec", 9, False, lambda d: d["exec_type"]), ("state", 12, False, lambda d: d["state"]),
           ("side", 4, False, lambda d: d["side"]), ("last_px", 16, True, lambda d: _num(d["last_px"])),
           ("last_qty", 14, True, lambda d: _num(d["last_qty"])), ("cum_qty", 14, True, lambda d: _num(d["cum_qty"]))],
}


def _cell(value, width: int, right: bool) -> str:
    text = str(value)
    return text.rjust(width) if right else text.ljust(width)


def _widths(cols, symbol_width: int):
    """``cols`` with the symbol column at least ``symbol_width`` wide (a group's ``venue:SYMBOL``)."""
    return [(h, max(w, symbol_width) if h == "symbol" else w, right, get) for h, w, right, get in cols]


def header_line(layout: str, dtype: np.dtype | None = None, symbol_width: int = 0) -> str:
    cols = _COLUMNS.get(layout)
    if cols is None:
        return " ".join(dtype.names) if dtype is not None else ""
    return " ".join(_cell(h, w, right) for h, w, right, _ in _widths(cols, symbol_width)).rstrip()


def text_line(d: dict, layout: str, symbol_width: int = 0) -> str:
    cols = _COLUMNS.get(layout)
    if cols is None:
        return " ".join(str(v) for v in d.values())
    return " ".join(_cell(get(d), w, right) for _, w, right, get in _widths(cols, symbol_width)).rstrip()
