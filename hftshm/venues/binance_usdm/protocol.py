"""The USD-M futures order client without I/O: Spot's order state machine
(``binance_spot.protocol.Protocol``) speaking the futures WebSocket API and user-data stream.

Binance derivatives docs, USDⓈ-M Futures, which this follows:

* "WebSocket API General Info": ``wss://ws-fapi.binance.com/ws-fapi/v1``; requests
  ``{"id", "method", "params"}``; SIGNED requests carry ``apiKey``, ``timestamp``, optional
  ``recvWindow`` and ``signature``, the HMAC-SHA256 of the parameters sorted by name
  (``binance_spot.signing``: the same payload rule, tested against the USD-M known answer).
* "Trade" / "New Order (TRADE)" ``order.place``: ``symbol, side, type, quantity, price,
  timeInForce, reduceOnly, positionSide, newClientOrderId, newOrderRespType``. One-way position
  mode: ``positionSide`` is ``BOTH`` (an account in hedge mode answers -4061, which we refuse to
  work around). Post-only is ``timeInForce = GTX`` (our LIMIT_MAKER). The answer has
  ``status``, ``executedQty``, ``avgPrice`` and ``updateTime`` (no ``transactTime``, no fills).
* "Cancel Order (TRADE)" ``order.cancel`` (``symbol`` + ``origClientOrderId``) and "Query
  Order (USER_DATA)" ``order.status``: the order's state; -2013 "Order does not exist."
* "User Data Streams": ``userDataStream.start`` (USER_STREAM: ``apiKey`` only, not signed)
  answers a ``listenKey``; the events come on a stream connection of their own
  (``user_stream_url``), and the key expires unless ``userDataStream.ping`` renews it within
  60 minutes (sent every ``KEEPALIVE_NS`` by ``expired``).
* "Event: Order Update" ``ORDER_TRADE_UPDATE`` (``o``: ``c`` client id, ``x`` execution type,
  ``X`` status, ``i`` order id, ``l`` last qty, ``z`` cumulative qty, ``L`` last price, ``n``/
  ``N`` commission, ``t`` trade id, ``R`` reduce only, ``rp`` realized profit) and "Event:
  Balance and Position Update" ``ACCOUNT_UPDATE`` (``a.m`` reason such as ORDER or
  FUNDING_FEE, ``a.B`` balances with ``bc`` the balance change, ``a.P`` positions with ``pa``
  signed amount, ``ep`` entry price, ``up`` unrealized PnL).

Timeouts and unknown outcomes are resolved as Spot's are: ``order.status``, never a resend. The
futures WebSocket API has no trade list, so fills an ``order.status`` answer shows that no event
brought are recovered from its ``executedQty`` and ``avgPrice`` (price of the missing part =
(avgPrice x executedQty - the notional already applied) / missing quantity; commission unknown,
0). Funding payments (``ACCOUNT_UPDATE`` with reason FUNDING_FEE) and the venue's positions are
queued in ``account_updates`` for the router to apply (``take_account``).
"""

from __future__ import annotations

import orjson

from ...feed.e8 import parse_e8
from ...layouts import exec_report as F
from ...layouts import order as O
from ...layouts.md import format_e8
from .. import clientid
from ..binance_spot.protocol import VENUE_STATES, Protocol
from ..orders import AverageRecovery, LiveOrder
from . import venue_codes

def signed_e8(text) -> int:
    """A signed decimal ("-0.020", position amounts and balance changes) as 1e-8 units."""
    text = str(text)
    return -parse_e8(text[1:]) if text.startswith("-") else parse_e8(text)


KEEPALIVE_NS = 30 * 60 * 1_000_000_000  # listenKey lives 60 min: renew at half of it
# our LIMIT_MAKER is a GTX (post-only) LIMIT on futures
TYPE_TIF = {O.LIMIT: None, O.MARKET: None, O.LIMIT_MAKER: "GTX"}


class UsdmProtocol(AverageRecovery, Protocol):
    codes = venue_codes

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.listen_key = ""  # from userDataStream.start; the worker opens the user stream with it
        self.listen_key_changes = 0  # bumped on each new key (the worker reconnects the stream)
        self.keepalive_ns = 0
        # (kind, symbol id, value...) for the router: ("funding", sid, amount_e8, venue_ns),
        # ("position", sid, position_e8, entry_px_e8)
        self.account_updates: list[tuple] = []
        self.unknown_symbols = 0
        self.bad_events = 0  # user-data events that could not be read
        self._sid = {s: i for i, s in enumerate(self.symbols)}

    # --- requests ------------------------------------------------------------------------------
    def place(self, o: LiveOrder, now_ns: int) -> bytes:
        o.cid = clientid.order_cid(self.prefix, o.order_id)
        self.orders[o.order_id] = o
        p = {"symbol": self.symbols[o.symbol_id], "side": O.SIDE_NAMES.get(o.side, "?"),
             "type": "MARKET" if o.type == O.MARKET else "LIMIT" if o.type in TYPE_TIF else "?",
             "quantity": format_e8(o.qty_e8), "positionSide": "BOTH", "newClientOrderId": o.cid,
             "newOrderRespType": "RESULT"}
        if o.type != O.MARKET:
            p["price"] = format_e8(o.price_e8)
            p["timeInForce"] = TYPE_TIF.get(o.type) or O.TIF_NAMES.get(o.tif, "GTC")
        if o.flags & O.F_REDUCE_ONLY:
            p["reduceOnly"] = "true"
        return self._request("p", o, "order.place", p, now_ns)

    def cancel(self, cancel_order_id: int, target_id: int, now_ns: int):
        frame, reports = super().cancel(cancel_order_id, target_id, now_ns)
        if frame is None:
            return frame, reports
        # futures order.cancel takes no newClientOrderId: rebuild the request without it
        msg = orjson.loads(frame)
        o = self.requests.pop(msg["id"])[1]
        p = {"symbol": self.symbols[o.symbol_id], "origClientOrderId": o.cid}
        return self._request("c", o, "order.cancel", p, now_ns), []

    def trades(self, o: LiveOrder, now_ns: int) -> bytes:
        """No trade list on the futures WebSocket API: ask the order's status (its executedQty
        and avgPrice recover what is missing)."""
        return self.status(o, now_ns)

    def subscribe(self, now_ns: int) -> bytes:
        """``userDataStream.start``: a listenKey for the user-data stream (not signed)."""
        self.keepalive_ns = now_ns + KEEPALIVE_NS
        return self._request("u", None, "userDataStream.start", {"apiKey": self.signer.api_key}, now_ns,
                             signed=False)

    def expired(self, now_ns: int) -> list[bytes]:
        frames = super().expired(now_ns)
        if self.listen_key and now_ns >= self.keepalive_ns:
            self.keepalive_ns = now_ns + KEEPALIVE_NS
            frames.append(self._request("k", None, "userDataStream.ping", {"apiKey": self.signer.api_key},
                                        now_ns, signed=False))
        return frames

    # --- input ---------------------------------------------------------------------------------
    def on_frame(self, text, now_ns: int):
        """A WebSocket API answer, or a user-data stream event (raw, or in a combined stream's
        ``{"stream", "data"}``)."""
        msg = orjson.loads(text)
        data = msg.get("data")
        ev = msg if "e" in msg else data if isinstance(data, dict) and "e" in data else None
        if ev is not None:
            try:
                return self._on_event(ev, now_ns), []
            except (KeyError, ValueError, TypeError, AttributeError):
                # a malformed event may have carried a fill: counted, and every open order's
                # status is asked at the next housekeeping tick instead
                self.bad_events += 1
                for o in self.orders.values():
                    if not o.done:
                        o.deadline_ns = now_ns
                return [], []
        rid = msg.get("id")
        if isinstance(rid, str) and rid[:1] in ("u", "k"):
            result = msg.get("result")
            if int(msg.get("status", 0)) == 200 and isinstance(result, dict) and result.get("listenKey"):
                if result["listenKey"] != self.listen_key:
                    self.listen_key = str(result["listenKey"])
                    self.listen_key_changes += 1
            elif rid[:1] == "u":
                self.listen_key = ""  # no user data: the worker must not trade blind
            return [], []
        return self._on_answer(msg, now_ns)

    def _ack(self, o: LiveOrder, result: dict, now_ns: int) -> list:
        return super()._ack(o, {"orderId": result.get("orderId", o.venue_order_id),
                                "transactTime": result.get("updateTime", result.get("transactTime", 0))}, now_ns)

    def _venue_state(self, o: LiveOrder, result: dict, now_ns: int, exec_type: int, venue_ns: int = 0):
        out = self._ack(o, result, now_ns) if exec_type == F.EX_RESOLVED else []
        state = VENUE_STATES.get(result.get("status"), 0)
        cum = parse_e8(result.get("executedQty", "0"))
        o.venue_cum = max(o.venue_cum, cum)
        if state in F.TERMINAL_STATES:
            # a cancel's answer: updateTime is the cancel's time (USD-M has no transactTime there)
            o.final_ns = o.final_ns if o.final else (
                venue_ns or (int(result.get("updateTime", 0) or 0) * 1_000_000 if exec_type == F.EX_CANCELED else 0))
            o.final = state
        if o.venue_cum > o.filled_e8 and exec_type == F.EX_RESOLVED:
            out.append(self._recovered(o, cum, parse_e8(result.get("avgPrice", "0")), now_ns,
                                       int(result.get("updateTime", 0) or 0) * 1_000_000))
        elif o.venue_cum > o.filled_e8 and o.final:
            o.deadline_ns = now_ns + self.timeout_ns  # their events are on the way; else ask
        out += self._maybe_done(o, now_ns)
        return out, []

    def _on_event(self, ev: dict, now_ns: int) -> list:
        kind = ev.get("e")
        if kind == "ORDER_TRADE_UPDATE":
            return self._order_update(ev, now_ns)
        if kind == "ACCOUNT_UPDATE":
            self._account_update(ev)
        elif kind == "listenKeyExpired":
            self.listen_key = ""  # the worker starts a new one
        return []

    def _order_update(self, ev: dict, now_ns: int) -> list:
        u = ev.get("o")
        if not isinstance(u, dict):
            self.unknown_events += 1
            return []
        o = self.orders.get(clientid.parse(self.prefix, str(u.get("c", ""))))
        if o is None or o.done:
            self.unknown_events += 1
            return []
        out = []
        venue_ns = int(ev.get("T") or ev.get("E") or 0) * 1_000_000
        o.venue_order_id = int(u.get("i", o.venue_order_id))
        if o.state == F.ST_NEW:
            out += super()._ack(o, {"orderId": o.venue_order_id, "transactTime": ev.get("T") or ev.get("E") or 0},
                                now_ns)
        z = parse_e8(u.get("z", "0"))
        if u.get("x") == "TRADE" and z > o.filled_e8:
            px = parse_e8(u["L"])
            last = parse_e8(u["l"])
            fee = self._fee_quote(o.symbol_id, parse_e8(u.get("n") or "0"), u.get("N") or "", px)
            qty = z - o.filled_e8
            if qty != last and last:
                fee = fee * qty // last
            out.append(self._fill(o, qty, px, fee, venue_ns, now_ns, int(u.get("t", 0))))
        state = VENUE_STATES.get(u.get("X"), 0)
        o.venue_cum = max(o.venue_cum, z)
        if state in F.TERMINAL_STATES:
            o.final = state
        return out + self._maybe_done(o, now_ns)

    def _account_update(self, ev: dict) -> None:
        a = ev.get("a")
        if not isinstance(a, dict):
            self.unknown_events += 1
            return
        venue_ns = int(ev.get("T") or ev.get("E") or 0) * 1_000_000
        touched = []
        for p in a.get("P") or ():
            sid = self._sid.get(str(p.get("s", "")))
            if sid is None or p.get("ps", "BOTH") != "BOTH":
                self.unknown_symbols += 1
                continue
            touched.append(sid)
            self.account_updates.append(("position", sid, signed_e8(p.get("pa", "0")),
                                         parse_e8(str(p.get("ep", "0")))))
        if a.get("m") != "FUNDING_FEE":
            return
        for b in a.get("B") or ():
            change = signed_e8(b.get("bc", "0"))
            if change:
                # cross margin sends no P with a funding fee: the symbol is then unknown (-1)
                self.account_updates.append(("funding", touched[0] if len(touched) == 1 else -1, change,
                                             venue_ns))

    def take_account(self) -> list[tuple]:
        out, self.account_updates = self.account_updates, []
        return out


def user_stream_url(api_url: str, listen_key: str) -> str:
    """The user-data stream for ``listen_key``, next to the WebSocket API it came from: the
    live and testnet stream hosts ("User Data Streams": ``wss://fstream.binance.com/ws/<key>``;
    or the simulator's own port."""
    if "ws-fapi.binance.com" in api_url:
        return f"wss://fstream.binance.com/ws/{listen_key}"
    if "testnet.binancefuture.com" in api_url:
        return f"wss://fstream.binancefuture.com/ws/{listen_key}"
    base = api_url.split("/ws-fapi", 1)[0]
    return f"{base}/ws/{listen_key}"
