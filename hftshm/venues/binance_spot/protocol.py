"""The execution client without I/O: order state machine over Binance's WebSocket API.

Text frames go in with the time (``on_frame(text, now_ns)``); request frames and execution
reports (``layouts.exec_report`` records) come out. The asyncio worker only moves the frames. Tests feed
literal venue answers (web-socket-api.md "Place new order", "Cancel order", "Query order",
"Account trade list"; user-data-stream.md "Order Update").

Order states (``fill.ST_*``)::

    NEW --ack--> ACKED --trade--> PARTIAL --trade--> FILLED
     |             |                 |
     +--reject     +--canceled / expired (from either, after a cancel or an IOC's end)
     +--no answer in timeout_ms: ask order.status; "does not exist" once recvWindow has
        passed since it was signed means it never arrived (REJECTED, reason NOT_SENT)

Rules that keep every fill counted once and no order sent twice:

* an order is final when the venue said so (answer or event) AND the fills applied add up to
  the venue's executed quantity; fills are applied by cumulative quantity (``z``), so an event
  seen twice, or a fill both in an event and in ``myTrades``, counts once;
* a fill may arrive after a cancel was sent (it is applied; the cancel then ends the rest, or is
  rejected with -2011 if nothing was left);
* nothing is ever re-sent: an unknown outcome (timeout, disconnect, 5xx, "duplicate order") is
  resolved with ``order.status`` and, when it executed something, ``myTrades``.
"""

from __future__ import annotations

import re

import orjson

from ...feed.e8 import parse_e8
from ...layouts import exec_report as F
from ...layouts import order as O
from ...layouts.md import E8, format_e8
from ...risk import reasons as R
from .. import clientid
from ..orders import LiveOrder, report
from . import venue_codes

VENUE_STATES = {"NEW": F.ST_ACKED, "PARTIALLY_FILLED": F.ST_PARTIAL, "FILLED": F.ST_FILLED,
                "CANCELED": F.ST_CANCELED, "EXPIRED": F.ST_EXPIRED, "REJECTED": F.ST_REJECTED,
                "PENDING_CANCEL": F.ST_PARTIAL, "EXPIRED_IN_MATCH": F.ST_EXPIRED}
END_EXEC = {F.ST_CANCELED: F.EX_CANCELED, F.ST_EXPIRED: F.EX_EXPIRED, F.ST_REJECTED: F.EX_REJECTED}
SKEW_MS = 1000  # allowance for the venue's clock when deciding an order never arrived
SWEEP_LIMIT = 1000  # allOrders page size (the venue's maximum)
_PLAIN = re.compile(r"[A-Za-z0-9_.-]*").fullmatch  # text that JSON and the signed payload take as it is


class Protocol:
    """One venue session's order state. ``symbols``: upper-case names by symbol id;
    ``assets``: (base, quote) per symbol id, to convert fees to the quote currency."""

    codes = venue_codes  # the venue's error codes: reason(code, msg), outcome_unknown(code, status, msg)

    def __init__(self, signer, symbols: list[str], assets: list[tuple[str, str]], prefix: str,
                 recv_window_ms: int = 5000, timeout_ms: int = 2000):
        self.signer = signer
        self.symbols = symbols
        self.assets = assets
        self.prefix = prefix
        self.recv_window = str(recv_window_ms)
        # the LIMIT order.place frame from one template (``_place_limit``) when every text in it
        # needs no JSON escape: the same bytes as the generic path, a third of the work
        key = getattr(signer, "api_key", None)
        self._limit_fast = (isinstance(key, str) and hasattr(signer, "signature_of") and _PLAIN(key) is not None
                            and _PLAIN(prefix) is not None and all(_PLAIN(s) for s in symbols))
        self.recv_window_ms = recv_window_ms
        self.timeout_ns = timeout_ms * 1_000_000
        self.orders: dict[int, LiveOrder] = {}
        self.requests: dict[str, tuple[str, LiveOrder]] = {}
        self._next = 0
        self.timeouts = 0
        self.unknown_events = 0
        # (status, error code, retryAfter ms, rateLimits) of the last answer that was refused or
        # carried rateLimits, for the caller's backoff (trading/rate_backoff.py) to read and clear
        self.rate_answer = None
        # start-up reconciliation: None (not asked or no answer yet), (known, cancelled,
        # foreign) once the venue's open orders were matched, ("failed", code, msg) on an error
        self.reconcile = None
        # an earlier run's orders being recovered, by their client order id (``recover``)
        self.recovering: dict[str, LiveOrder] = {}
        # the order-history sweep before reconciliation (``set_history``): symbol -> the
        # allOrders parameters still to ask; request id -> symbol; order ids the state stored
        self.sweeps: dict[str, dict] = {}
        self.sweep_rids: dict[str, str] = {}
        self.history_stored: set = set()
        self.history_fills: dict = {}  # order id -> {trade id: qty} counted already (state, fills ring)
        self.history_ended: set = set()  # order ids whose end this run's fills ring holds
        self.swept = 0  # orders of an earlier run found at the venue and not in the state

    # --- requests ------------------------------------------------------------------------------
    def _request(self, kind: str, o: LiveOrder | None, method: str, params: dict, now_ns: int, signed=True) -> bytes:
        self._next += 1
        rid = f"{kind}{self._next}"
        if signed:
            params["recvWindow"] = self.recv_window
            params["timestamp"] = str(now_ns // 1_000_000)
            self.signer.sign(params)
        if o is not None:
            self.requests[rid] = (kind, o)
            o.deadline_ns = now_ns + self.timeout_ns
        return orjson.dumps({"id": rid, "method": method, "params": params})

    def place(self, o: LiveOrder, now_ns: int) -> bytes:
        """The order.place frame for a new order (record it as sent: ``o.sent_ns``)."""
        o.cid = clientid.order_cid(self.prefix, o.order_id)
        self.orders[o.order_id] = o
        if o.type == O.LIMIT and self._limit_fast and o.side in O.SIDE_NAMES and o.tif in O.TIF_NAMES:
            return self._place_limit(o, now_ns)
        p = {"symbol": self.symbols[o.symbol_id], "side": O.SIDE_NAMES.get(o.side, "?"),
             "type": O.TYPE_NAMES.get(o.type, "?"), "quantity": format_e8(o.qty_e8),
             "newClientOrderId": o.cid, "newOrderRespType": "RESULT"}
        if o.type != O.MARKET:
            p["price"] = format_e8(o.price_e8)
        if o.type == O.LIMIT:
            p["timeInForce"] = O.TIF_NAMES.get(o.tif, "GTC")
        return self._request("p", o, "order.place", p, now_ns)

    def _place_limit(self, o: LiveOrder, now_ns: int) -> bytes:
        """``place`` of a LIMIT order without the dict, the sort and the JSON encoder: the
        signed payload is the parameters sorted by name (``signing.payload``), the frame their
        generic order (tests/trading/test_protocol.py compares the two byte for byte)."""
        self._next += 1
        rid = f"p{self._next}"
        self.requests[rid] = ("p", o)
        o.deadline_ns = now_ns + self.timeout_ns
        sym, side, tif = self.symbols[o.symbol_id], O.SIDE_NAMES[o.side], O.TIF_NAMES[o.tif]
        qty, px, ts, rw, key = format_e8(o.qty_e8), format_e8(o.price_e8), str(now_ns // 1_000_000), \
            self.recv_window, self.signer.api_key
        sig = self.signer.signature_of(
            f"apiKey={key}&newClientOrderId={o.cid}&newOrderRespType=RESULT&price={px}&quantity={qty}"
            f"&recvWindow={rw}&side={side}&symbol={sym}&timeInForce={tif}&timestamp={ts}&type=LIMIT")
        return (f'{{"id":"{rid}","method":"order.place","params":{{"symbol":"{sym}","side":"{side}",'
                f'"type":"LIMIT","quantity":"{qty}","newClientOrderId":"{o.cid}","newOrderRespType":"RESULT",'
                f'"price":"{px}","timeInForce":"{tif}","recvWindow":"{rw}","timestamp":"{ts}",'
                f'"apiKey":"{key}","signature":"{sig}"}}}}').encode()

    def cancel(self, cancel_order_id: int, target_id: int, now_ns: int):
        """(frame or None, reports): cancel our live order ``target_id``."""
        o = self.orders.get(target_id)
        if o is None or o.final:
            ghost = o or LiveOrder()
            if o is None:
                ghost.order_id = target_id
            return None, [(ghost, report(ghost, F.EX_CANCEL_REJECTED, ghost.state if o else 0, R.CANCEL_UNKNOWN,
                                         recv_ns=now_ns))]
        o.cancel_pending = True
        p = {"symbol": self.symbols[o.symbol_id], "origClientOrderId": o.cid,
             "newClientOrderId": clientid.cancel_cid(self.prefix, cancel_order_id)}
        return self._request("c", o, "order.cancel", p, now_ns), []

    def status(self, o: LiveOrder, now_ns: int) -> bytes:
        p = {"symbol": self.symbols[o.symbol_id], "origClientOrderId": o.cid or clientid.order_cid(self.prefix, o.order_id)}
        return self._request("s", o, "order.status", p, now_ns)

    def trades(self, o: LiveOrder, now_ns: int) -> bytes:
        p = {"symbol": self.symbols[o.symbol_id], "orderId": str(o.venue_order_id)}
        return self._request("t", o, "myTrades", p, now_ns)

    def set_history(self, after: dict, since_ms: dict, stored: set, fills: dict | None = None,
                    ended=()) -> None:
        """Look for orders of earlier runs that the venue has and the persisted state has not
        (``state.store.History``): per symbol, ``allOrders`` from the venue order id after
        ``after[symbol]``, else from ``since_ms[symbol]`` (a 24-hour window). ``fills`` (order
        id -> {trade id: qty}) and ``ended`` (order ids): what is already counted of such orders
        (stored without an order row, or in this run's fills ring)."""
        self.history_fills = dict(fills or {})
        self.history_ended = set(ended)
        for s in self.symbols:
            if s in after:
                self.sweeps[s] = {"orderId": str(after[s] + 1)}
            elif s in since_ms:
                self.sweeps[s] = {"startTime": str(since_ms[s]), "endTime": str(since_ms[s] + 24 * 3600 * 1000 - 1)}
        self.history_stored = set(stored)

    def reconcile_requests(self, now_ns: int) -> list[bytes]:
        """Start-up reconciliation: the order-history sweep first if there is one (its last
        answer then sends ``openOrders.status``), else ``openOrders.status`` at once."""
        self.reconcile = None
        if not self.sweeps:
            return [self.open_orders(now_ns)]
        return [self._sweep(s, now_ns) for s in list(self.sweeps)]

    def _sweep(self, symbol: str, now_ns: int) -> bytes:
        frame = self._request("a", None, "allOrders", {"symbol": symbol, "limit": str(SWEEP_LIMIT),
                                                      **self.sweeps[symbol]}, now_ns)
        rid = orjson.loads(frame)["id"]
        self.requests[rid] = ("a", None)
        self.sweep_rids[rid] = symbol
        return frame

    def _swept(self, rid: str, result: list, now_ns: int):
        """One ``allOrders`` answer: each order with a client id of an earlier run of ours
        (``h<tag>-<hex>``) that neither the state nor this process knows is taken over
        (``recover``) and resolved from the status the answer gives. A full page asks for the
        next; the last answer sends ``openOrders.status``."""
        symbol = self.sweep_rids.pop(rid)
        reports, frames = [], []
        for v in result:
            cid = str(v.get("clientOrderId", ""))
            head, _, tail = cid.partition("-")
            if not clientid.looks_ours(cid) or head == self.prefix or v.get("symbol") not in self.symbols:
                continue
            oid = int(tail, 16)
            if oid in self.orders or oid in self.history_stored or oid in self.history_ended:
                continue
            o = LiveOrder()
            o.order_id, o.symbol_id, o.strategy_id = oid, self.symbols.index(v["symbol"]), oid >> O.STRATEGY_SHIFT
            o.side = O.BUY if v.get("side") == "BUY" else O.SELL
            o.type = next((k for k, n in O.TYPE_NAMES.items() if n == v.get("type")), O.LIMIT)
            o.qty_e8, o.price_e8 = parse_e8(v.get("origQty", "0")), parse_e8(v.get("price", "0"))
            o.venue_order_id, o.sent_ns = int(v.get("orderId", 0)), int(v.get("time", 0)) * 1_000_000
            o.known = dict(self.history_fills.get(oid, {}))
            o.filled_e8 = o.applied_e8 = sum(o.known.values())
            o.state = F.ST_PARTIAL if o.filled_e8 else F.ST_ACKED
            self.recover(o, cid)
            self.swept += 1
            more, ask = self._venue_state(o, v, now_ns, F.EX_RESOLVED)
            reports += more
            frames += ask
        if len(result) >= SWEEP_LIMIT:
            self.sweeps[symbol] = {"orderId": str(int(result[-1].get("orderId", 0)) + 1)}
            frames.append(self._sweep(symbol, now_ns))
        else:
            self.sweeps.pop(symbol, None)
            if not self.sweep_rids:
                frames.append(self.open_orders(now_ns))
        return reports, frames

    def open_orders(self, now_ns: int) -> bytes:
        """``openOrders.status`` for every symbol (weight 80): start-up reconciliation."""
        self.reconcile = None
        frame = self._request("o", None, "openOrders.status", {}, now_ns)
        self.requests[orjson.loads(frame)["id"]] = ("o", None)
        return frame

    def _reconcile(self, result, now_ns: int) -> list[bytes]:
        """The venue's open orders, against ours (policy in docs/operations.md "Restarts and
        reconciliation"): one of this run that we know is left to the normal resolution; one
        with a client id of ours from an earlier run (``h<tag>-<id>``, another tag): cancelled,
        through its recovered order when the persisted state knew it (``recover``: the fills it
        got and its end are then reported), else by venue order id; any other (placed by someone
        else on the account): left alone, counted. A recovered order not listed (it ended) is
        asked about again. ``reconcile`` becomes (known, cancelled, foreign)."""
        known = cancelled = foreign = 0
        frames = []
        listed = set()
        for v in result or ():
            cid = str(v.get("clientOrderId", ""))
            old = self.recovering.get(cid)
            if old is not None and not old.done:
                cancelled += 1
                listed.add(cid)
                if not old.cancel_pending and not old.final:
                    frame, _ = self.cancel(old.order_id, old.order_id, now_ns)
                    frames.append(frame)
            elif clientid.parse(self.prefix, cid) in self.orders:
                known += 1
            elif clientid.looks_ours(cid):
                cancelled += 1
                frame = self._request("x", None, "order.cancel",
                                      {"symbol": str(v.get("symbol", "")), "orderId": str(v.get("orderId", ""))}, now_ns)
                self.requests[orjson.loads(frame)["id"]] = ("x", None)
                frames.append(frame)
            else:
                foreign += 1
        for cid, o in self.recovering.items():
            if cid not in listed and not o.done and not o.final and not o.deadline_ns:
                frames.append(self.status(o, now_ns))  # no longer open: it ended while we looked
        self.reconcile = (known, cancelled, foreign)
        return frames

    def subscribe(self, now_ns: int) -> bytes:
        return self._request("u", None, "userDataStream.subscribe.signature", {}, now_ns)

    def adopt(self, o: LiveOrder) -> None:
        """Take over an order sent by an earlier process (restart): its outcome gets resolved."""
        o.cid = clientid.order_cid(self.prefix, o.order_id)
        self.orders[o.order_id] = o

    def recover(self, o: LiveOrder, cid: str) -> None:
        """Take over an order of an earlier run of the instance (client id ``cid``, of that run)
        that the persisted state did not see end; ``o.known`` holds its fills counted so far. The
        status question after connecting (``resync``) and reconciliation resolve it: fills it got
        while nothing ran are fetched (``myTrades``) and reported once; if it still rests, it is
        cancelled."""
        o.cid = cid
        if o.known is None:
            o.known = {}
        self.orders[o.order_id] = o
        self.recovering[o.cid] = o

    def forget(self, o: LiveOrder) -> None:
        """Drop an order whose frame was built but not sent (the kill switch closed in between)."""
        self.orders.pop(o.order_id, None)
        for rid in [k for k, (_, v) in self.requests.items() if v is o]:
            del self.requests[rid]

    def resync(self, now_ns: int) -> list[bytes]:
        """After a (re)connect: ask for the status of every order not known to be final."""
        self.requests.clear()
        return [self.status(o, now_ns) for o in self.orders.values() if not o.done]

    # --- input ---------------------------------------------------------------------------------
    def on_frame(self, text, now_ns: int):
        """(reports, frames to send) for one text frame from the venue."""
        msg = orjson.loads(text)
        if "event" in msg:
            return self._on_event(msg["event"], now_ns), []
        return self._on_answer(msg, now_ns)

    def _on_answer(self, msg: dict, now_ns: int):
        """(reports, frames to send) for one WebSocket API answer."""
        rid = msg.get("id")
        entry = self.requests.pop(rid, None) if isinstance(rid, str) else None
        status = int(msg.get("status", 0))
        limits = msg.get("rateLimits")
        if status != 200 or limits:
            err = msg.get("error") if status != 200 else None
            data = err.get("data") if isinstance(err, dict) else None
            retry = data.get("retryAfter", 0) if isinstance(data, dict) else 0
            self.rate_answer = (status, int(err.get("code", 0)) if isinstance(err, dict) else 0,
                                int(retry) if isinstance(retry, (int, float)) else 0, limits)
        if entry is None:
            return [], []
        kind, o = entry
        if o is None:  # start-up reconciliation
            if kind == "a":
                if status == 200 and isinstance(msg.get("result"), list):
                    return self._swept(rid, msg["result"], now_ns)
                self.sweep_rids.pop(rid, None)
                err = msg.get("error") or {}
                self.reconcile = ("failed", int(err.get("code", 0)), str(err.get("msg", ""))[:200])
            elif kind == "o":
                if status == 200 and isinstance(msg.get("result"), list):
                    return [], self._reconcile(msg["result"], now_ns)
                err = msg.get("error") or {}
                self.reconcile = ("failed", int(err.get("code", 0)), str(err.get("msg", ""))[:200])
            elif kind == "x" and status != 200:
                err = msg.get("error") or {}
                if int(err.get("code", 0)) not in (-2011, -2013):  # already gone is fine
                    self.reconcile = ("failed", int(err.get("code", 0)), str(err.get("msg", ""))[:200])
            return [], []
        o.deadline_ns = 0
        if status == 200:
            result = msg.get("result")
            if kind == "p":
                return self._placed(o, result, now_ns)
            if kind == "c":
                o.cancel_pending = False
                # (order.cancel's result has the venue's transactTime: WebSocket API, "Cancel order")
                return self._venue_state(o, result, now_ns, F.EX_CANCELED,
                                         int(result.get("transactTime", 0) or 0) * 1_000_000)
            if kind == "s":
                return self._venue_state(o, result, now_ns, F.EX_RESOLVED)
            if kind == "t":
                return self._trades(o, result, now_ns), []
            return [], []
        err = msg.get("error") or {}
        code, text_msg = int(err.get("code", 0)), str(err.get("msg", ""))
        if kind == "p":
            if self.codes.outcome_unknown(code, status, text_msg):
                return [], [self.status(o, now_ns)]
            o.final = F.ST_REJECTED
            o.state = F.ST_REJECTED
            o.done = True
            del self.orders[o.order_id]
            return [(o, report(o, F.EX_REJECTED, F.ST_REJECTED, self.codes.reason(code, text_msg), code,
                               recv_ns=now_ns))], []
        if kind == "c":
            o.cancel_pending = False
            if (o.state == F.ST_NEW or o.known is not None) and not o.done:
                # the place is still unanswered (its answer lost, or superseded), or a recovered
                # order ended at the venue meanwhile: this answer cleared the deadline, so ask
                # about the order itself when it passes again
                o.deadline_ns = now_ns + self.timeout_ns
            return [(o, report(o, F.EX_CANCEL_REJECTED, o.state, self.codes.reason(code, text_msg), code,
                               recv_ns=now_ns))], []
        if kind == "s" and code == -2013:
            return self._absent(o, now_ns)
        # a failed status/trades query: ask again when its deadline passes
        o.deadline_ns = now_ns + self.timeout_ns
        return [], []

    def _placed(self, o: LiveOrder, result: dict, now_ns: int):
        out = self._ack(o, result, now_ns)
        more, frames = self._venue_state(o, result, now_ns, 0)
        return out + more, frames

    def _ack(self, o: LiveOrder, result: dict, now_ns: int) -> list:
        o.venue_order_id = int(result.get("orderId", o.venue_order_id) or 0)
        if o.state != F.ST_NEW:
            return []
        o.state = F.ST_ACKED
        o.ack_ns = now_ns
        venue_ns = int(result.get("transactTime", 0) or 0) * 1_000_000
        return [(o, report(o, F.EX_NEW, F.ST_ACKED, venue_ns=venue_ns, recv_ns=now_ns))]

    def _venue_state(self, o: LiveOrder, result: dict, now_ns: int, exec_type: int, venue_ns: int = 0):
        """An answer that states the order's status and executed quantity (``venue_ns``: its
        venue time, where the answer has one)."""
        out = self._ack(o, result, now_ns) if exec_type == F.EX_RESOLVED else []
        if not o.venue_order_id:
            o.venue_order_id = int(result.get("orderId", 0) or 0)
        state = VENUE_STATES.get(result.get("status"), 0)
        cum = parse_e8(result.get("executedQty", "0"))
        o.venue_cum = max(o.venue_cum, cum)
        if state in F.TERMINAL_STATES:
            o.final_ns = o.final_ns if o.final else venue_ns
            o.final = state
        frames = []
        if o.venue_cum > o.filled_e8 and (exec_type == F.EX_RESOLVED or o.known is not None):
            frames.append(self.trades(o, now_ns))  # fills we missed: fetch them
        elif o.venue_cum > o.filled_e8 and o.final:
            o.deadline_ns = now_ns + self.timeout_ns  # their events are on the way; else ask
        out += self._maybe_done(o, now_ns)
        return out, frames

    def _absent(self, o: LiveOrder, now_ns: int):
        """order.status says the venue has no such order."""
        signed_ms = o.sent_ns // 1_000_000
        if now_ns // 1_000_000 <= signed_ms + self.recv_window_ms + SKEW_MS:
            o.deadline_ns = (signed_ms + self.recv_window_ms + SKEW_MS + 1) * 1_000_000  # may still arrive
            return [], []
        o.final = o.state = F.ST_REJECTED
        o.done = True
        self.orders.pop(o.order_id, None)
        self.recovering.pop(o.cid, None)
        return [(o, report(o, F.EX_RESOLVED, F.ST_REJECTED, R.NOT_SENT, recv_ns=now_ns))], []

    def _fee_quote(self, symbol_id: int, fee_e8: int, asset: str, px_e8: int) -> int:
        base, quote = self.assets[symbol_id]
        if asset == quote:
            return fee_e8
        if asset == base:
            return fee_e8 * px_e8 // E8
        return 0  # a third asset (BNB): not converted

    def _fill(self, o: LiveOrder, qty: int, px: int, fee: int, venue_ns: int, now_ns: int, trade_id: int):
        o.filled_e8 += qty
        if o.known is not None:
            o.known[trade_id] = qty
        o.state = F.ST_FILLED if o.filled_e8 >= o.qty_e8 else F.ST_PARTIAL
        return (o, report(o, F.EX_TRADE, o.state, px=px, qty=qty, fee=fee, venue_ns=venue_ns,
                          recv_ns=now_ns, trade_id=trade_id))

    def _trades(self, o: LiveOrder, trades: list, now_ns: int) -> list:
        if o.known is not None:
            return self._recovered_trades(o, trades, now_ns)
        out = []
        cum = 0
        for t in trades or ():
            qty = parse_e8(t["qty"])
            cum += qty
            new = cum - o.filled_e8
            if new <= 0:
                continue
            new = min(new, qty)
            px = parse_e8(t["price"])
            fee = self._fee_quote(o.symbol_id, parse_e8(t["commission"]), t.get("commissionAsset", ""), px)
            if new != qty:
                fee = fee * new // qty
            out.append(self._fill(o, new, px, fee, int(t.get("time", 0)) * 1_000_000, now_ns, int(t.get("id", 0))))
        o.venue_cum = max(o.venue_cum, o.filled_e8)
        return out + self._maybe_done(o, now_ns)

    def _recovered_trades(self, o: LiveOrder, trades: list, now_ns: int) -> list:
        """``myTrades`` of a recovered order: each trade whose venue id is not counted yet is
        reported once, whole (web-socket-api.md "Account trade history": one entry per trade)."""
        out = []
        for t in trades or ():
            tid = int(t.get("id", 0))
            if not tid or tid in o.known:
                continue
            qty, px = parse_e8(t["qty"]), parse_e8(t["price"])
            fee = self._fee_quote(o.symbol_id, parse_e8(t["commission"]), t.get("commissionAsset", ""), px)
            out.append(self._fill(o, qty, px, fee, int(t.get("time", 0)) * 1_000_000, now_ns, tid))
        o.venue_cum = max(o.venue_cum, o.filled_e8)
        return out + self._maybe_done(o, now_ns)

    def _maybe_done(self, o: LiveOrder, now_ns: int) -> list:
        if o.done or not o.final or o.filled_e8 < o.venue_cum:
            return []
        o.done = True
        o.deadline_ns = 0
        self.orders.pop(o.order_id, None)
        if o.known is not None:
            self.recovering.pop(o.cid, None)
        if o.final == F.ST_FILLED:
            o.state = F.ST_FILLED
            return []  # the last trade said so
        o.state = o.final
        return [(o, report(o, END_EXEC.get(o.final, F.EX_EXPIRED), o.final, venue_ns=o.final_ns, recv_ns=now_ns))]

    def _on_event(self, ev: dict, now_ns: int) -> list:
        if ev.get("e") != "executionReport":
            return []
        cid = ev.get("C") or ev.get("c", "")
        o = self.orders.get(clientid.parse(self.prefix, cid))
        if o is None or o.done:
            self.unknown_events += 1
            return []
        out = []
        x = ev.get("x")
        venue_ns = int(ev.get("E", 0)) * 1_000_000
        o.venue_order_id = int(ev.get("i", o.venue_order_id))
        if o.state == F.ST_NEW:
            out += self._ack(o, {"transactTime": ev.get("E", 0)}, now_ns)
        z = parse_e8(ev.get("z", "0"))
        if x == "TRADE" and z > o.filled_e8:
            px = parse_e8(ev["L"])
            last = parse_e8(ev["l"])
            fee = self._fee_quote(o.symbol_id, parse_e8(ev.get("n") or "0"), ev.get("N") or "", px)
            qty = z - o.filled_e8
            if qty != last and last:
                fee = fee * qty // last
            out.append(self._fill(o, qty, px, fee, venue_ns, now_ns, int(ev.get("t", 0))))
        state = VENUE_STATES.get(ev.get("X"), 0)
        o.venue_cum = max(o.venue_cum, z)
        if state in F.TERMINAL_STATES:
            o.final_ns = o.final_ns if o.final else venue_ns
            o.final = state
        return out + self._maybe_done(o, now_ns)

    # --- time ----------------------------------------------------------------------------------
    def expired(self, now_ns: int) -> list[bytes]:
        """Frames for orders whose answer is overdue: never a resend, always a question."""
        frames = []
        for o in list(self.orders.values()):
            if o.deadline_ns and now_ns >= o.deadline_ns and not o.done:
                self.timeouts += 1
                for rid in [k for k, (_, v) in self.requests.items() if v is o]:
                    del self.requests[rid]  # a late answer to it is ignored; the query supersedes it
                o.cancel_pending = False
                if o.final and o.venue_cum > o.filled_e8 and o.venue_order_id:
                    frames.append(self.trades(o, now_ns))
                else:
                    frames.append(self.status(o, now_ns))
        return frames
