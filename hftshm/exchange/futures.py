"""USD-M futures on the simulator: the futures WebSocket API (``/ws-fapi/v1``), one-way
positions, funding and ``reduceOnly``, over the same matching engine as Spot.

Binance derivatives docs, USDⓈ-M Futures, followed here: "New Order (TRADE)", "Cancel Order
(TRADE)", "Query Order (USER_DATA)" (answers in the futures shape: ``avgPrice``, ``cumQuote``,
``reduceOnly``, ``positionSide``, ``updateTime``), "Start User Data Stream (USER_STREAM)"
(``userDataStream.start`` -> a ``listenKey``; its events are served on ``/ws/<listenKey>``),
"Event: Order Update" (``ORDER_TRADE_UPDATE``), "Event: Balance and Position Update"
(``ACCOUNT_UPDATE``, reason ``ORDER`` or ``FUNDING_FEE``) and "Error Code".

What is simulated, and how:

* Matching is ``MatchingEngine``'s (the same books, fills and executions record); its Spot
  balance locks are replaced by ``MarginAccount`` (nothing to lock on a futures account) and the
  futures ledger below is the account's truth. Commission is charged in the quote asset on the
  fill's notional at the maker or taker rate.
* Positions are one-way (``positionSide`` BOTH; LONG or SHORT is -4061), kept by average cost
  exactly as the risk state keeps them (``hftshm.risk.fills``): entry price, realized PnL.
  Initial margin is |position| x price / ``leverage``; an order that would need more than the
  wallet balance is -2019 "Margin is insufficient.".
* ``reduceOnly``: refused (-2022 "ReduceOnly Order is rejected.") unless it is against the
  position and its quantity plus that of the other open reduceOnly orders on its side is at most
  |position|; after every fill, reduceOnly orders that could now increase the position are
  cancelled. ``violations`` counts reduceOnly fills that increased |position| (it stays 0).
* Funding every ``funding_interval_s`` of simulated time (Binance: 8 h; tests compress it), at
  the multiples of the interval since the epoch: each position pays ``position x mark x rate``
  (a long pays a positive rate), mark = the book's mid, recorded in ``funding_record``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from hftshm.feed.e8 import parse_e8
from hftshm.layouts.md import E8, format_e8

from . import errors, params as P
from .account import Account
from .order_book import ASK, BID
from .errors import ApiError
from .matching import OrderRequest, _fee
from .venue import UserEvents
from .wsapi import ApiSession, Method, WsApi, _const

MARGIN = (-2019, "Margin is insufficient.")
REDUCE_ONLY = (-2022, "ReduceOnly Order is rejected.")
POSITION_SIDE = (-4061, "Order's position side does not match user's setting.")
POST_ONLY = (-5022, "Due to the order could not be executed as maker, the Post Only order will be rejected.")


class MarginAccount(Account):
    """A futures account locks nothing per order: the ledger's margin check stands in."""

    def lock(self, asset: str, amount: int) -> bool:
        return True

    def unlock(self, asset: str, amount: int) -> None:
        pass

    def spend_locked(self, asset: str, amount: int) -> None:
        pass

    def credit(self, asset: str, amount: int) -> None:
        pass


@dataclass
class Position:
    qty_e8: int = 0  # signed: > 0 long
    entry: float = 0.0  # average entry price
    realized: float = 0.0
    fees: float = 0.0
    funding: float = 0.0  # > 0 received


@dataclass(frozen=True)
class FundingPayment:
    symbol: str
    time_ms: int
    position_e8: int
    mark_e8: int
    rate_e8: int
    amount_e8: int  # > 0 received


@dataclass(frozen=True)
class FuturesEvents(UserEvents):
    """User-data events already in the futures shape (for /ws/<listenKey> connections)."""


@dataclass
class Ledger:
    wallet_e8: int
    positions: dict[str, Position] = field(default_factory=dict)
    funding_record: list[FundingPayment] = field(default_factory=list)
    violations: int = 0

    def position(self, symbol: str) -> Position:
        return self.positions.setdefault(symbol, Position())

    def fill(self, symbol: str, buy: bool, px_e8: int, qty_e8: int, fee_e8: int) -> float:
        """Apply one fill (average cost, as hftshm.risk.fills); the realized PnL of it."""
        p = self.position(symbol)
        signed = qty_e8 if buy else -qty_e8
        pos, new, px = p.qty_e8, p.qty_e8 + signed, px_e8 / E8
        realized = 0.0
        if pos == 0 or (pos > 0) == (signed > 0):
            p.entry = (abs(pos) * p.entry + qty_e8 * px) / abs(new)
        else:
            closed = min(qty_e8, abs(pos))
            realized = closed / E8 * ((px - p.entry) if pos > 0 else (p.entry - px))
            if new == 0:
                p.entry = 0.0
            elif (new > 0) != (pos > 0):
                p.entry = px
        p.qty_e8 = new
        p.realized += realized
        p.fees += fee_e8 / E8
        self.wallet_e8 += round(realized * E8) - fee_e8
        return realized


class FuturesApi(WsApi):
    """The USD-M WebSocket API on the simulator's venue; ``convert`` turns the engine's Spot-shaped
    user events into futures ones and applies their fills to the ledger (once each)."""

    def __init__(self, venue, cfg, limits):
        super().__init__(venue, cfg, limits)
        venue.account = venue.engine.account = MarginAccount({})
        self.ledger = Ledger(parse_e8(dict(cfg.balances).get("USDT", "100000")))
        self.reduce_only: set[tuple[str, int]] = set()
        self.listen_keys: set[str] = set()
        self.marks: dict[str, int] = {}
        self.next_funding_ms = 0
        self.maker_e8, self.taker_e8 = parse_e8(cfg.maker_fee), parse_e8(cfg.taker_fee)
        self.methods.update({
            "order.place": Method(self._place, _const(1), signed=True, order=True),
            "order.cancel": Method(self._cancel, _const(1), signed=True),
            "order.status": Method(self._status, _const(1), signed=True),
            "openOrders.status": Method(self._open_orders, _const(40), signed=True),
            "account.position": Method(self._positions, _const(5), signed=True),
            "userDataStream.start": Method(self._start_stream, _const(1)),
            "userDataStream.ping": Method(self._ping_stream, _const(1)),
        })
        for spot_only in ("myTrades", "account.status", "userDataStream.subscribe.signature",
                          "userDataStream.unsubscribe"):
            self.methods.pop(spot_only, None)

    # ----- user data stream

    def _start_stream(self, params: dict, session: ApiSession, now_ns: int) -> dict:
        self._key(params)
        key = f"simlistenkey{len(self.listen_keys) + 1:052d}"
        self.listen_keys.add(key)
        return {"listenKey": key}

    def _ping_stream(self, params: dict, session: ApiSession, now_ns: int) -> dict:
        self._key(params)
        return {"listenKey": sorted(self.listen_keys)[-1] if self.listen_keys else ""}

    def _key(self, params: dict) -> None:
        if params.get("apiKey") != self.cfg.api_key:
            raise errors.error(errors.REJECTED_KEY, 401)

    # ----- orders

    def _place(self, params: dict, session: ApiSession, now_ns: int) -> dict:
        self.absorb()
        ps = params.get("positionSide", "BOTH")
        if ps != "BOTH":
            raise ApiError(*POSITION_SIDE)
        tif = params.get("timeInForce")
        spot = {k: v for k, v in params.items() if k not in ("positionSide", "reduceOnly", "timeInForce")}
        if params.get("type") == "LIMIT":
            if tif == "GTX":
                spot["type"] = "LIMIT_MAKER"
            else:
                spot["timeInForce"] = tif
        elif tif is not None and params.get("type") != "MARKET":
            spot["timeInForce"] = tif
        if spot.get("newOrderRespType") not in (None, "ACK", "RESULT"):
            raise ApiError(-1130, "Data sent for parameter 'newOrderRespType' is not valid.")
        spot["newOrderRespType"] = "RESULT"
        req = self.order_request(spot)
        reduce_only = P.boolean(params, "reduceOnly") or False
        v = self.venue
        v.advance(now_ns)
        self.absorb()
        if reduce_only:
            self._check_reduce_only(req)
        self._check_margin(req)
        try:
            outcome = v.engine.place(req, now_ns)
        except ApiError as exc:
            if spot["type"] == "LIMIT_MAKER" and exc.body().get("msg") == errors.WOULD_TAKE:
                raise ApiError(*POST_ONLY) from None
            raise
        order = v.engine.find(req.symbol, None, req.client_id) if req.client_id else None
        oid = int(outcome.result["orderId"])
        order = order or v.engine.find(req.symbol, oid, None)
        if reduce_only:
            self.reduce_only.add((req.symbol, oid))
        v._publish(outcome)
        self.absorb()
        return self.view(order, tif_gtx=spot["type"] == "LIMIT_MAKER")

    def _check_reduce_only(self, req: OrderRequest) -> None:
        pos = self.ledger.position(req.symbol).qty_e8
        buy = req.side == "BUY"
        if pos == 0 or (pos > 0) == buy:
            raise ApiError(*REDUCE_ONLY)
        pending = sum(o.left_lots * o.spec.step_e8 for o in self.venue.engine.open_orders(req.symbol)
                      if (req.symbol, o.order_id) in self.reduce_only and o.is_buy == buy)
        if req.qty_e8 + pending > abs(pos):
            raise ApiError(*REDUCE_ONLY)

    def _check_margin(self, req: OrderRequest) -> None:
        pos = self.ledger.position(req.symbol).qty_e8
        signed = req.qty_e8 if req.side == "BUY" else -req.qty_e8
        m = self.venue.markets[req.symbol]
        px = req.price_e8 or int(m.px[ASK if signed > 0 else BID, 0]) * m.spec.tick_e8
        need = abs(pos + signed) * px // E8 // max(1, self.cfg.leverage)
        if abs(pos + signed) > abs(pos) and need > self.ledger.wallet_e8:
            raise ApiError(*MARGIN)

    def _cancel(self, params: dict, session: ApiSession, now_ns: int) -> dict:
        self.absorb()
        symbol, order_id, client_id = self._order_ref(params)
        s = self.venue.stream_symbol(symbol)
        order = self.venue.engine.find(s, order_id, client_id)
        orig = order.client_id if order is not None else None
        self.venue.cancel(symbol, order_id, client_id, None, now_ns)
        order.client_id = orig  # futures keep the client id through a cancel
        self.absorb()
        return self.view(order)

    def _status(self, params: dict, session: ApiSession, now_ns: int) -> dict:
        self.absorb()
        symbol, order_id, client_id = self._order_ref(params)
        s = self.venue.stream_symbol(symbol)
        self.venue.advance(now_ns)
        self.absorb()
        order = self.venue.engine.find(s, order_id, client_id)
        if order is None:
            raise errors.error(errors.NO_SUCH_ORDER)
        return self.view(order)

    def _open_orders(self, params: dict, session: ApiSession, now_ns: int) -> list:
        self.absorb()
        s = params.get("symbol")
        return [self.view(o) for o in self.venue.engine.open_orders(self.venue.stream_symbol(s) if s else None)]

    def _positions(self, params: dict, session: ApiSession, now_ns: int) -> list:
        """account.position (WebSocket API "Position Information"): one-way mode, one entry per
        symbol that has traded (``symbol`` narrows it), amounts as Binance's decimal strings."""
        self.absorb()
        want = str(params.get("symbol", "")).upper()
        out = []
        for s, p in sorted(self.ledger.positions.items()):
            if want and s.upper() != want:
                continue
            mark = self.mark_e8(s)
            out.append({"symbol": s.upper(), "positionSide": "BOTH", "positionAmt": _signed(p.qty_e8),
                        "entryPrice": f"{p.entry:.8f}", "markPrice": format_e8(mark),
                        "unRealizedProfit": f"{self.unrealized(s, mark):.8f}", "updateTime": now_ns // 1_000_000})
        return out

    def view(self, o, tif_gtx: bool = False) -> dict:
        """The futures order answer (order.place RESULT, order.status, order.cancel)."""
        ex = o.exec_lots * o.spec.step_e8
        avg = o.cum_quote_e8 * E8 // ex if ex else 0
        gtx = tif_gtx or o.type == "LIMIT_MAKER"
        return {"orderId": o.order_id, "symbol": o.symbol, "status": o.status, "clientOrderId": o.client_id,
                "price": o.px_text(o.price_px), "avgPrice": format_e8(avg), "origQty": o.qty_text(o.orig_lots),
                "executedQty": format_e8(ex), "cumQty": format_e8(ex), "cumQuote": format_e8(o.cum_quote_e8),
                "timeInForce": "GTX" if gtx else o.tif, "type": "LIMIT" if gtx else o.type,
                "reduceOnly": (o.spec.stream_symbol, o.order_id) in self.reduce_only, "closePosition": False,
                "side": o.side, "positionSide": "BOTH", "stopPrice": "0", "workingType": "CONTRACT_PRICE",
                "priceProtect": False, "origType": "LIMIT" if gtx else o.type, "priceMatch": "NONE",
                "selfTradePreventionMode": "NONE", "goodTillDate": 0, "updateTime": o.update_ms}

    # ----- events

    def absorb(self) -> None:
        """Convert the Spot-shaped user events waiting in the venue's outbox, in place, applying
        their fills to the ledger; then cancel reduceOnly orders that could now increase a
        position (their events converted too)."""
        v = self.venue
        while True:
            touched = set()
            for i, item in enumerate(v.outbox):
                if isinstance(item, UserEvents) and not isinstance(item, FuturesEvents):
                    v.outbox[i] = FuturesEvents(self._convert(item.events, touched))
            if not self._trim_reduce_only(touched):
                return

    def _trim_reduce_only(self, symbols: set) -> bool:
        cancelled = False
        for s in symbols:
            pos = self.ledger.position(s).qty_e8
            room = abs(pos)
            for o in self.venue.engine.open_orders(s):
                if (s, o.order_id) not in self.reduce_only:
                    continue
                left = o.left_lots * o.spec.step_e8
                if pos == 0 or (pos > 0) == o.is_buy or left > room:
                    out = self.venue.engine.cancel(s, o.order_id, None, None, o.update_ms * 1_000_000)
                    o.client_id = out.result["origClientOrderId"]
                    self.venue.outbox.append(UserEvents(out.events))
                    cancelled = True
                else:
                    room -= left
        return cancelled

    def _convert(self, events: list, touched: set) -> list:
        out = []
        for ev in events:
            if ev.get("e") != "executionReport":
                continue  # outboundAccountPosition: a futures account reports ACCOUNT_UPDATE instead
            s = ev["s"].lower()
            key = (s, ev["i"])
            rp = 0.0
            fee_e8 = 0
            x = ev["x"]
            if x == "TRADE":
                quote = parse_e8(ev["Y"])
                fee_e8 = _fee(quote, self.maker_e8 if ev["m"] else self.taker_e8)
                p = self.ledger.position(s)
                before = p.qty_e8
                rp = self.ledger.fill(s, ev["S"] == "BUY", parse_e8(ev["L"]), parse_e8(ev["l"]), fee_e8)
                after = p.qty_e8
                if key in self.reduce_only and (abs(after) > abs(before) or (after and (after > 0) != (before > 0))):
                    self.ledger.violations += 1  # a reduceOnly fill that increased or flipped the position
                touched.add(s)
            z = parse_e8(ev["z"])
            avg = parse_e8(ev["Z"]) * E8 // z if z else 0
            out.append({"e": "ORDER_TRADE_UPDATE", "E": ev["E"], "T": ev["T"], "o": {
                "s": ev["s"], "c": ev["C"] or ev["c"], "S": ev["S"],
                "o": "LIMIT" if ev["o"] == "LIMIT_MAKER" else ev["o"],
                "f": "GTX" if ev["o"] == "LIMIT_MAKER" else ev["f"], "q": ev["q"], "p": ev["p"],
                "ap": format_e8(avg), "sp": "0", "x": x, "X": ev["X"], "i": ev["i"], "l": ev["l"], "z": ev["z"],
                "L": ev["L"], "N": "USDT", "n": format_e8(fee_e8), "T": ev["T"], "t": max(ev["t"], 0), "b": "0",
                "a": "0", "m": ev["m"], "R": key in self.reduce_only, "wt": "CONTRACT_PRICE", "ot": ev["o"],
                "ps": "BOTH", "cp": False, "rp": f"{rp:.8f}", "pP": False, "si": 0, "ss": 0, "V": "NONE",
                "pm": "NONE", "gtd": 0}})
            if x == "TRADE":
                out.append(self._account_update(s, "ORDER", ev["E"], -fee_e8 + round(rp * E8)))
        return out

    def _account_update(self, s: str, reason: str, now_ms: int, change_e8: int) -> dict:
        p = self.ledger.position(s)
        up = self.unrealized(s)
        return {"e": "ACCOUNT_UPDATE", "E": now_ms, "T": now_ms, "a": {
            "m": reason,
            "B": [{"a": "USDT", "wb": format_e8(self.ledger.wallet_e8) if self.ledger.wallet_e8 >= 0 else
                   "-" + format_e8(-self.ledger.wallet_e8), "cw": "0", "bc": _signed(change_e8)}],
            "P": [{"s": s.upper(), "pa": _signed(p.qty_e8), "ep": f"{p.entry:.8f}", "bep": "0",
                   "cr": f"{p.realized:.8f}", "up": f"{up:.8f}", "mt": "isolated", "iw": "0", "ps": "BOTH"}]}}

    # ----- marks and funding

    def mark_e8(self, s: str) -> int:
        """The mark price: the book's mid (the simulator has no index)."""
        m = self.venue.markets[s]
        return (int(m.px[BID, 0]) + int(m.px[ASK, 0])) * m.spec.tick_e8 // 2

    def unrealized(self, s: str, mark_e8: int | None = None) -> float:
        p = self.ledger.position(s)
        mark = (self.mark_e8(s) if mark_e8 is None else mark_e8) / E8
        return p.qty_e8 / E8 * (mark - p.entry) if p.qty_e8 else 0.0

    def tick(self, now_ns: int) -> None:
        """Pay funding at every funding time passed since the last call."""
        now_ms = now_ns // 1_000_000
        step = max(1, int(self.cfg.funding_interval_s * 1000))
        if not self.next_funding_ms:
            self.next_funding_ms = (now_ms // step + 1) * step
            return
        if now_ms < self.next_funding_ms:
            return
        t = self.next_funding_ms
        self.next_funding_ms = (now_ms // step + 1) * step
        self.venue.advance(now_ns)
        self.absorb()
        rate = _signed_parse(self.cfg.funding_rate)
        events = []
        for s, p in self.ledger.positions.items():
            if not p.qty_e8:
                continue
            mark = self.mark_e8(s)
            amount = -(p.qty_e8 * mark // E8) * rate // E8  # a long pays a positive rate
            p.funding += amount / E8
            self.ledger.wallet_e8 += amount
            self.ledger.funding_record.append(FundingPayment(s.upper(), t, p.qty_e8, mark, rate, amount))
            events.append(self._account_update(s, "FUNDING_FEE", t, amount))
        if events:
            self.venue.outbox.append(FuturesEvents(events))


def _signed(v: int) -> str:
    return "-" + format_e8(-v) if v < 0 else format_e8(v)


def _signed_parse(text: str) -> int:
    return -parse_e8(text[1:]) if text.startswith("-") else parse_e8(text)


def user_frames(events: list) -> list[bytes]:
    """Futures user-data events as a ``/ws/<listenKey>`` connection receives them: raw."""
    return [orjson.dumps(ev) for ev in events]
