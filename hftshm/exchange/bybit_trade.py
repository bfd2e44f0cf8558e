"""Bybit v5 linear orders on the simulator: the trade API, the private stream and the order
query, matching against a Bybit book of the simulator's own (the shapes the client parses are in
hftshm/venues/bybit/protocol.py, which cites Bybit's docs for each).

Endpoints (``server.py`` routes them here):

* ``/v5/trade``: ``{"op":"auth","args":[key, expires, sign]}`` (sign = HMAC-SHA256 of
  ``"GET/realtime" + expires``; answered ``retCode`` 0, 10003 unknown key, 10004 bad or expired
  signature, 10001 malformed, 20001 repeat auth), then ``order.create`` / ``order.cancel``
  (``category`` linear only: else 10404). Before auth an order op is answered 10007 "User
  authentication failed." (our choice: Bybit's docs do not say which code it uses there).
* ``/v5/private``: the same auth (answered ``{"success", "ret_msg", "op", "conn_id"}``), then
  ``subscribe`` to ``order`` and ``execution``; ``ping`` is answered ``pong``.
* ``GET /v5/order/realtime`` (``openOnly`` 0 open, 1 closed) and ``GET /v5/order/history``,
  signed with the ``X-BAPI-*`` headers (bad signature: retCode 10004). ``GET /v5/position/list``
  ("Position" > "Get Position Info": ``symbol``, ``side`` Buy/Sell or "" when flat, ``size``,
  ``avgPrice``, one-way ``positionIdx`` 0): the ledger's positions, for tests and operators to
  compare with hftshm's. ``GET /v5/market/instruments-info`` ("Market" > "Get Instruments
  Info", public): each symbol's tick, step and bounds from the simulator's own table, the rules
  its matching uses (hftshm fetches them at start, ``venues/bybit/exchange_info.py``).
  ``GET /v5/execution/list`` ("Trade" > "Get Trade History", bybit-exchange.github.io/docs/v5/order/execution):
  the executions made, trades and funding, newest first, by ``symbol``, ``execType`` and the
  ``startTime``/``endTime`` window (ms, both ends included; neither: the last 7 days; one of
  them: the 7 days from or to it; both more than 7 days apart: 10001), ``limit`` 1-100 (default
  50) a page and ``cursor`` the answer's ``nextPageCursor`` ("" on the last page). hftshm asks it
  for the funding its private stream missed; tests compare it with hftshm's.

Matching (per symbol, prices in ticks and quantities in lots of the simulator's symbol spec): a
marketable order takes the book's levels (taker fee), the rest of a GTC rests, an IOC's or a
market order's rest is cancelled, an FOK that cannot fill whole is cancelled, a PostOnly that
would take is cancelled with rejectReason ``EC_PostOnlyWillTakeLiquidity``. Resting orders are
filled as maker (maker fee) when the market's own trades (a random walk, every ``TICK_S``) hit
their price. ``reduceOnly`` that would not reduce the position, or is larger than it, is refused
with 110017 (Bybit may trim the larger one instead; not modelled). No margin is checked.
Positions and fees go to a ``futures.Ledger`` (``ledger``), which tests compare with hftshm's
risk state. The book here is the one every public linear connection shows (``inband.py``): what
an order takes from it is in each connection's next ``orderbook.50`` delta.

Funding (``funding``, called by the server every ``TICK_S`` whether or not orders are being
placed), as ``futures.FuturesApi.tick`` does USD-M's: at each multiple of ``funding_interval_s``
since the epoch (from the first one after the first trade connection), each open position pays position x mark
x ``funding_rate`` (a long pays a positive rate; the mark is this book's mid), booked in the
ledger (``Position.funding``, ``funding_record``) and sent on the private ``execution`` topic as
Bybit's funding execution (``execType`` Funding, ``execFee`` the amount paid, negative when
received, ``execQty`` the position, ``execPrice``/``markPrice`` the mark, ``feeRate`` the rate,
``side`` the position's, ``orderType`` UNKNOWN, no ``orderLinkId``; the fields
``venues/bybit/protocol.py`` cites). The public ``tickers`` stream's ``fundingRate`` and
``nextFundingTime`` are the stream's own (``inband.py``), not these.

Faults for tests: ``drop_answers`` = N: the next N orders are placed and neither their
order.create answers nor their private events are sent, so the client must resolve them by
asking. ``BybitTradeServer.cut_private(True)``: every private connection is closed and new ones
are closed at once until ``cut_private(False)``; what happens meanwhile (funding) is not sent.
``fail_executions`` = N: the next N ``/v5/execution/list`` calls are answered retCode 10016.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import random
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import orjson
from websockets.exceptions import ConnectionClosed

from hftshm.layouts.md import E8

from .futures import FundingPayment, Ledger
from .inband import Market

TRADE_PATH = "/v5/trade"
PRIVATE_PATH = "/v5/private"
INSTRUMENTS_PATH = "/v5/market/instruments-info"  # public: no signature
EXECUTIONS_PATH = "/v5/execution/list"
REST_PATHS = ("/v5/order/realtime", "/v5/order/history", "/v5/position/list", INSTRUMENTS_PATH, EXECUTIONS_PATH)
TICK_S = 0.01
OPEN_STATES = ("New", "PartiallyFilled")


def _sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def _text(v_e8: int) -> str:
    whole, frac = divmod(abs(v_e8), E8)
    s = f"{'-' if v_e8 < 0 else ''}{whole}.{frac:08d}".rstrip("0").rstrip(".")
    return s or "0"


def _e8(text) -> int | None:
    """A decimal string as 1e-8 units, None if it is not one."""
    s = str(text)
    whole, _, frac = s.partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()) or len(frac) > 8:
        return None
    return int(whole) * E8 + int((frac + "00000000")[:8] or 0)


@dataclass
class SimOrder:
    order_id: str
    link_id: str
    symbol: str
    buy: bool
    type: str  # Limit / Market
    tif: str
    qty_e8: int
    price_e8: int
    reduce_only: bool
    created_ms: int
    status: str = "New"
    cum_e8: int = 0
    value_e8: int = 0  # cumulative notional, for avgPrice
    fee_e8: int = 0
    reject_reason: str = "EC_NoError"
    updated_ms: int = 0

    def view(self) -> dict:
        """As "Get Open & Closed Orders" and the ``order`` topic list an order (the fields the
        client reads, and the usual companions)."""
        avg = self.value_e8 * E8 // self.cum_e8 if self.cum_e8 else 0
        return {"orderId": self.order_id, "orderLinkId": self.link_id, "blockTradeId": "", "symbol": self.symbol,
                "price": _text(self.price_e8), "qty": _text(self.qty_e8), "side": "Buy" if self.buy else "Sell",
                "isLeverage": "", "positionIdx": 0, "orderStatus": self.status, "cancelType": "UNKNOWN",
                "rejectReason": self.reject_reason, "avgPrice": _text(avg) if avg else "0",
                "leavesQty": _text(self.qty_e8 - self.cum_e8 if self.status in OPEN_STATES else 0),
                "leavesValue": "0", "cumExecQty": _text(self.cum_e8), "cumExecValue": _text(self.value_e8),
                "cumExecFee": _text(self.fee_e8), "timeInForce": self.tif, "orderType": self.type,
                "stopOrderType": "UNKNOWN", "orderIv": "", "triggerPrice": "0", "takeProfit": "", "stopLoss": "",
                "reduceOnly": self.reduce_only, "closeOnTrigger": False, "smpType": "None", "smpGroup": 0,
                "smpOrderId": "", "createdTime": str(self.created_ms), "updatedTime": str(self.updated_ms),
                "category": "linear", "feeCurrency": ""}


@dataclass
class Session:
    authed: bool = False
    topics: set = field(default_factory=set)
    req_ids: set = field(default_factory=set)
    conn_id: str = ""


class BybitTrade:
    """The sans-I/O venue: requests in, (answer, events) out. ``events``: (topic, item) pairs
    for the private connections."""

    def __init__(self, symbols, api_key: str, api_secret: str, maker_fee_e8: int, taker_fee_e8: int,
                 levels: int = 20, seed: int = 1, funding_interval_s: float = 28800.0, funding_rate: str = "0.0001"):
        self.rng = random.Random(seed)
        self.markets = {s.upper(): Market(s.lower(), levels, self.rng) for s in symbols}
        self.api_key = api_key
        self._secret = api_secret
        self.maker_fee_e8, self.taker_fee_e8 = maker_fee_e8, taker_fee_e8
        self.orders: dict[str, SimOrder] = {}  # orderId -> order
        self.by_link: dict[str, SimOrder] = {}
        self.ledger = Ledger(0)
        self.executions: list[dict] = []  # every execution sent (trades and funding), in order
        self.funding_step_ms = max(1, int(funding_interval_s * 1000))
        rate = _e8(funding_rate[1:] if funding_rate.startswith("-") else funding_rate)
        if rate is None:
            raise ValueError(f"funding_rate must be a signed decimal like '0.0001', got {funding_rate!r}")
        self.funding_rate_e8 = -rate if funding_rate.startswith("-") else rate
        self.next_funding_ms = 0  # the next funding time; 0 until the first call to ``funding``
        self.drop_answers = 0
        self.fail_executions = 0  # fault: the next N execution-list calls answer 10016
        self.dropped: list[str] = []  # reqIds whose answer was not sent (fault)
        self.dropped_links: list[str] = []  # ...and those orders' orderLinkIds
        self._conns = 0

    # --- auth ---------------------------------------------------------------------------------
    def new_session(self) -> Session:
        self._conns += 1
        return Session(conn_id=f"sim-bybit-{self._conns}")

    def _auth(self, args, now_ms: int) -> tuple[int, str]:
        if not isinstance(args, list) or len(args) != 3 or not isinstance(args[1], int):
            return 10001, "param error"
        key, expires, sign = args
        if key != self.api_key:
            return 10003, "Invalid apikey"
        if expires <= now_ms or not isinstance(sign, str) or not hmac.compare_digest(
                _sign(self._secret, f"GET/realtime{expires}"), sign.lower()):
            return 10004, "Invalid sign"
        return 0, "OK"

    # --- the trade API ------------------------------------------------------------------------
    def handle_trade(self, text, s: Session, now_ms: int) -> tuple[bytes | None, list]:
        try:
            req = orjson.loads(text)
            op = req["op"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return self._answer(None, 10001, "param error: not a request", "", s), []
        rid = req.get("reqId")
        if op == "auth":
            if s.authed:
                code, msg = 20001, "Repeat auth"
            else:
                code, msg = self._auth(req.get("args"), now_ms)
                s.authed = code == 0
            out = {"retCode": code, "retMsg": msg, "op": "auth", "connId": s.conn_id}
            if rid is not None:
                out["reqId"] = rid
            return orjson.dumps(out), []
        if op == "ping":
            return orjson.dumps({"retCode": 0, "retMsg": "OK", "op": "pong", "data": [str(now_ms)],
                                 "connId": s.conn_id}), []
        if op not in ("order.create", "order.cancel"):
            return self._answer(rid, 10404, f"op type is not found: {op}", op, s), []
        if not s.authed:
            return self._answer(rid, 10007, "User authentication failed.", op, s), []
        if rid is not None:
            if rid in s.req_ids:
                return self._answer(rid, 20006, "reqId is duplicated", op, s), []
            s.req_ids.add(rid)
        header = req.get("header") if isinstance(req.get("header"), dict) else {}
        try:
            ts, window = int(header["X-BAPI-TIMESTAMP"]), int(header.get("X-BAPI-RECV-WINDOW", 5000))
        except (KeyError, ValueError, TypeError):
            return self._answer(rid, 10001, "params error: X-BAPI-TIMESTAMP missing", op, s), []
        if not (now_ms - window <= ts < now_ms + 1000):
            return self._answer(rid, 10002, "invalid request, please check your server timestamp or recv_window "
                                "param", op, s), []
        args = req.get("args")
        if not isinstance(args, list) or len(args) != 1 or not isinstance(args[0], dict):
            return self._answer(rid, 10001, "params error: args must hold one order", op, s), []
        a = args[0]
        if a.get("category") != "linear":
            return self._answer(rid, 10404, "category is not correct/supported", op, s), []
        if op == "order.cancel":
            return self._cancel(rid, a, s, now_ms)
        return self._create(rid, a, s, now_ms)

    def _answer(self, rid, code: int, msg: str, op: str, s: Session, data: dict | None = None) -> bytes:
        now = int(time.time() * 1000)
        out = {"reqId": rid, "retCode": code, "retMsg": msg, "op": op, "data": data or {}, "retExtInfo": {},
               "header": {"X-Bapi-Limit": "10", "X-Bapi-Limit-Status": "9",
                          "X-Bapi-Limit-Reset-Timestamp": str(now + 1000), "Traceid": uuid.uuid4().hex,
                          "Timenow": str(now)}, "connId": s.conn_id}
        if rid is None:
            del out["reqId"]
        return orjson.dumps(out)

    def _create(self, rid, a: dict, s: Session, now_ms: int):
        sym = a.get("symbol")
        m = self.markets.get(sym)
        if m is None:
            return self._answer(rid, 10001, f"params error: symbol invalid {sym!r}", "order.create", s), []
        side, otype = a.get("side"), a.get("orderType")
        qty = _e8(a.get("qty", ""))
        tif = a.get("timeInForce") or ("IOC" if otype == "Market" else "GTC")
        price = _e8(a.get("price", "")) if otype == "Limit" else 0
        link = str(a.get("orderLinkId") or "")
        spec = m.spec
        if side not in ("Buy", "Sell") or otype not in ("Limit", "Market") or tif not in ("GTC", "IOC", "FOK",
                                                                                          "PostOnly"):
            return self._answer(rid, 10001, "params error: side, orderType or timeInForce invalid", "order.create",
                                s), []
        if not qty or qty % spec.step_e8 or price is None or (otype == "Limit" and (not price or price % spec.tick_e8)):
            return self._answer(rid, 10001, "params error: qty or price invalid (step / tick)", "order.create", s), []
        if len(link) > 36:
            return self._answer(rid, 10001, "params error: orderLinkId longer than 36", "order.create", s), []
        if link and link in self.by_link:
            return self._answer(rid, 110072, "OrderLinkedID is duplicate", "order.create", s), []
        buy = side == "Buy"
        reduce_only = a.get("reduceOnly") is True
        if reduce_only:
            pos = self.ledger.position(sym).qty_e8
            if pos == 0 or (pos > 0) == buy or qty > abs(pos):
                return self._answer(rid, 110017, "Reduce-only rule not satisfied", "order.create", s), []
        o = SimOrder(str(uuid.UUID(int=self.rng.getrandbits(128))), link, sym, buy, otype, tif, qty, price,
                     reduce_only, now_ms, updated_ms=now_ms)
        self.orders[o.order_id] = o
        if link:
            self.by_link[link] = o
        events = self._match(o, m, now_ms)
        answer = self._answer(rid, 0, "OK", "order.create", s, {"orderId": o.order_id, "orderLinkId": link})
        if self.drop_answers > 0:  # fault: placed, but neither its answer nor its events go out
            self.drop_answers -= 1
            self.dropped.append(rid)
            self.dropped_links.append(link)
            answer, events = None, []
        return answer, events

    def _cancel(self, rid, a: dict, s: Session, now_ms: int):
        o = self.by_link.get(str(a.get("orderLinkId") or "")) or self.orders.get(str(a.get("orderId") or ""))
        if o is None or o.status not in OPEN_STATES or o.symbol != a.get("symbol"):
            return self._answer(rid, 110001, "order not exists or too late to cancel", "order.cancel", s), []
        o.status, o.updated_ms = "Cancelled", now_ms
        return (self._answer(rid, 0, "OK", "order.cancel", s, {"orderId": o.order_id, "orderLinkId": o.link_id}),
                [("order", o.view())])

    # --- matching -----------------------------------------------------------------------------
    def _match(self, o: SimOrder, m: Market, now_ms: int) -> list:
        spec = m.spec
        book = m.asks if o.buy else m.bids
        limit = o.price_e8 // spec.tick_e8 if o.type == "Limit" else None

        def crosses(p):
            return limit is None or (p <= limit if o.buy else p >= limit)

        levels = sorted(book, reverse=not o.buy)
        takeable = sum(book[p] for p in levels if crosses(p)) * spec.step_e8
        events = []
        if o.tif == "PostOnly" and levels and crosses(levels[0]):
            o.status, o.reject_reason = "Cancelled", "EC_PostOnlyWillTakeLiquidity"
            return [("order", o.view())]
        if o.tif == "FOK" and takeable < o.qty_e8:
            o.status = "Cancelled"
            return [("order", o.view())]
        for p in levels:
            if o.cum_e8 >= o.qty_e8 or not crosses(p):
                break
            lots = min(book[p], (o.qty_e8 - o.cum_e8) // spec.step_e8)
            book[p] -= lots
            if not book[p]:
                del book[p]
            events.append(self._fill(o, p * spec.tick_e8, lots * spec.step_e8, False, now_ms))
        if o.cum_e8 >= o.qty_e8:
            o.status = "Filled"
        elif o.tif in ("IOC", "FOK") or o.type == "Market":
            o.status = "Cancelled"
        else:
            o.status = "PartiallyFilled" if o.cum_e8 else "New"
        o.updated_ms = now_ms
        return events + [("order", o.view())]

    def _fill(self, o: SimOrder, px_e8: int, qty_e8: int, maker: bool, now_ms: int):
        fee = qty_e8 * px_e8 // E8 * (self.maker_fee_e8 if maker else self.taker_fee_e8) // E8
        o.cum_e8 += qty_e8
        o.value_e8 += qty_e8 * px_e8 // E8
        o.fee_e8 += fee
        self.ledger.fill(o.symbol, o.buy, px_e8, qty_e8, fee)
        ex = {"category": "linear", "symbol": o.symbol, "closedSize": "0", "execFee": _text(fee),
              "execId": str(uuid.UUID(int=self.rng.getrandbits(128))), "execPrice": _text(px_e8),
              "execQty": _text(qty_e8), "execType": "Trade", "execValue": _text(qty_e8 * px_e8 // E8),
              "feeRate": _text(self.maker_fee_e8 if maker else self.taker_fee_e8), "tradeIv": "", "markIv": "",
              "blockTradeId": "", "markPrice": _text(px_e8), "indexPrice": "", "underlyingPrice": "",
              "leavesQty": _text(o.qty_e8 - o.cum_e8), "orderId": o.order_id, "orderLinkId": o.link_id,
              "orderPrice": _text(o.price_e8), "orderQty": _text(o.qty_e8), "orderType": o.type,
              "stopOrderType": "UNKNOWN", "side": "Buy" if o.buy else "Sell", "execTime": str(now_ms),
              "isLeverage": "0", "isMaker": maker, "seq": len(self.executions) + 1, "createType": "CreateByUser"}
        self.executions.append(ex)
        return ("execution", ex)

    def tick(self, now_ms: int) -> list:
        """The market moves and trades once a symbol; a trade reaching a resting order's price
        fills it (maker) first, as price priority would."""
        events = []
        for sym, m in self.markets.items():
            if not m.bids or not m.asks:
                continue  # a side taken empty: no market on it
            m.change()
            buyer_took, _, lots = m.trade()
            for o in [o for o in self.orders.values() if o.symbol == sym and o.status in OPEN_STATES]:
                if o.buy == buyer_took:
                    continue  # a buyer taking hits resting sells only
                touch = min(m.asks) if buyer_took else max(m.bids)
                px_ticks = o.price_e8 // m.spec.tick_e8
                if (o.buy and px_ticks < touch) or (not o.buy and px_ticks > touch):
                    continue
                take = min(lots * m.spec.step_e8, o.qty_e8 - o.cum_e8)
                if take <= 0:
                    continue
                events.append(self._fill(o, o.price_e8, take, True, now_ms))
                o.status = "Filled" if o.cum_e8 >= o.qty_e8 else "PartiallyFilled"
                o.updated_ms = now_ms
                events.append(("order", o.view()))
        return events

    def mark_e8(self, m: Market) -> int:
        """The mark price: this book's mid (the last one, when a side has been taken empty)."""
        if m.bids and m.asks:
            m.mark_e8 = (max(m.bids) + min(m.asks)) * m.spec.tick_e8 // 2
        return m.mark_e8

    def funding(self, now_ms: int) -> list:
        """Pay funding at the funding time passed since the last call (module docstring): the
        ``execution`` events. The first call only sets the next funding time."""
        step = self.funding_step_ms
        if not self.next_funding_ms:
            self.next_funding_ms = (now_ms // step + 1) * step
            return []
        if now_ms < self.next_funding_ms:
            return []
        t, rate = self.next_funding_ms, self.funding_rate_e8
        self.next_funding_ms = (now_ms // step + 1) * step  # funding times missed meanwhile: paid once
        events = []
        for sym, m in self.markets.items():
            p = self.ledger.position(sym)
            if not p.qty_e8:
                continue
            mark = self.mark_e8(m)
            amount = -(p.qty_e8 * mark // E8) * rate // E8  # received (> 0); a long pays a positive rate
            p.funding += amount / E8
            self.ledger.wallet_e8 += amount
            self.ledger.funding_record.append(FundingPayment(sym, t, p.qty_e8, mark, rate, amount))
            size = abs(p.qty_e8)
            ex = {"category": "linear", "symbol": sym, "execFee": _text(-amount),
                  "execId": str(uuid.UUID(int=self.rng.getrandbits(128))), "execPrice": _text(mark),
                  "execQty": _text(size), "execType": "Funding", "execValue": _text(size * mark // E8),
                  "isMaker": False, "feeRate": _text(rate), "tradeIv": "", "markIv": "", "blockTradeId": "",
                  "markPrice": _text(mark), "indexPrice": "", "underlyingPrice": "", "leavesQty": "0",
                  "orderId": f"{t // 1000}-{sym}-1-{'Buy' if p.qty_e8 > 0 else 'Sell'}", "orderLinkId": "",
                  "orderPrice": "0", "orderQty": "0", "orderType": "UNKNOWN", "stopOrderType": "UNKNOWN",
                  "side": "Buy" if p.qty_e8 > 0 else "Sell", "execTime": str(t), "isLeverage": "0",
                  "closedSize": "0", "seq": len(self.executions) + 1, "createType": ""}
            self.executions.append(ex)
            events.append(("execution", ex))
        return events

    # --- the private stream -------------------------------------------------------------------
    def handle_private(self, text, s: Session, now_ms: int) -> bytes:
        try:
            req = orjson.loads(text)
            op = req["op"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return orjson.dumps({"success": False, "ret_msg": "error:invalid request", "op": "", "conn_id": s.conn_id})
        rid = req.get("req_id", "")
        if op == "ping":
            return orjson.dumps({"req_id": rid, "op": "pong", "args": [str(now_ms)], "conn_id": s.conn_id})
        if op == "auth":
            code, msg = self._auth(req.get("args"), now_ms)
            s.authed = s.authed or code == 0
            return orjson.dumps({"success": code == 0, "ret_msg": "" if code == 0 else f"error:{msg}", "op": "auth",
                                 "conn_id": s.conn_id, "req_id": rid})
        if op == "subscribe":
            topics = req.get("args")
            ok = s.authed and isinstance(topics, list) and all(t in ("order", "execution") for t in topics)
            if ok:
                s.topics.update(topics)
            why = "" if ok else ("error:Request not authorized" if not s.authed else "error:handler not found")
            return orjson.dumps({"success": ok, "ret_msg": why, "op": "subscribe", "conn_id": s.conn_id,
                                 "req_id": rid})
        return orjson.dumps({"success": False, "ret_msg": f"error:unknown op {op}", "op": op, "conn_id": s.conn_id})

    @staticmethod
    def private_message(topic: str, items: list, now_ms: int) -> bytes:
        return orjson.dumps({"id": uuid.uuid4().hex, "topic": topic, "creationTime": now_ms, "data": items})

    # --- REST ---------------------------------------------------------------------------------
    def rest(self, path: str, query: str, headers, now_ms: int) -> dict:
        """``GET /v5/order/realtime`` / ``/v5/order/history`` / ``/v5/position/list`` /
        ``/v5/market/instruments-info``: the answer body."""
        if path == INSTRUMENTS_PATH:
            return self._instruments({k: v[-1] for k, v in parse_qs(query).items()}, now_ms)
        key, sign = headers.get("X-BAPI-API-KEY", ""), headers.get("X-BAPI-SIGN", "")
        window = headers.get("X-BAPI-RECV-WINDOW", "5000")
        try:
            ts, window_ms = int(headers.get("X-BAPI-TIMESTAMP", "")), int(window)
        except ValueError:
            return self._rest_error(10001, "params error: X-BAPI-TIMESTAMP or X-BAPI-RECV-WINDOW")
        if key != self.api_key:
            return self._rest_error(10003, "API key is invalid.")
        if not hmac.compare_digest(_sign(self._secret, f"{ts}{key}{window}{query}"), str(sign).lower()):
            return self._rest_error(10004, "Error sign, please check your signature generation algorithm.")
        if not (now_ms - window_ms <= ts < now_ms + 1000):
            return self._rest_error(10002, "The request time exceeds the time window range.")
        q = {k: v[-1] for k, v in parse_qs(query).items()}
        if q.get("category") != "linear":
            return self._rest_error(10001, "params error: category")
        if path == "/v5/position/list":
            return self._positions(q, now_ms)
        if path == EXECUTIONS_PATH:
            return self._executions(q, now_ms)
        history = path.endswith("/history")
        closed = q.get("openOnly", "0") == "1"
        out = []
        for o in sorted(self.orders.values(), key=lambda o: -o.created_ms):
            if "symbol" in q and o.symbol != q["symbol"]:
                continue
            if "settleCoin" in q and not o.symbol.endswith(q["settleCoin"]):
                continue
            if "orderLinkId" in q and o.link_id != q["orderLinkId"]:
                continue
            if "orderId" in q and o.order_id != q["orderId"]:
                continue
            if not history and (o.status in OPEN_STATES) == closed:
                continue
            out.append(o.view())
        out = out[: int(q.get("limit", 20))]
        return {"retCode": 0, "retMsg": "OK", "result": {"list": out, "nextPageCursor": "", "category": "linear"},
                "retExtInfo": {}, "time": now_ms}

    def _instruments(self, q: dict, now_ms: int) -> dict:
        if q.get("category") != "linear":
            return self._rest_error(10001, "params error: category")
        out = []
        for sym, m in sorted(self.markets.items()):
            if q.get("symbol", sym) != sym:
                continue
            spec = m.spec
            out.append({"symbol": sym, "contractType": "LinearPerpetual", "status": "Trading", "baseCoin": spec.base,
                        "quoteCoin": spec.quote, "settleCoin": spec.quote,
                        "priceFilter": {"minPrice": _text(spec.tick_e8), "maxPrice": "1999999", "tickSize":
                                        _text(spec.tick_e8)},
                        "lotSizeFilter": {"maxOrderQty": _text(spec.max_qty_e8), "minOrderQty": _text(spec.min_qty_e8),
                                          "qtyStep": _text(spec.step_e8), "maxMktOrderQty": _text(spec.max_qty_e8),
                                          "postOnlyMaxOrderQty": _text(spec.max_qty_e8),
                                          "minNotionalValue": _text(spec.min_notional_e8)}})
        return {"retCode": 0, "retMsg": "OK", "result": {"category": "linear", "list": out, "nextPageCursor": ""},
                "retExtInfo": {}, "time": now_ms}

    def _executions(self, q: dict, now_ms: int) -> dict:
        """"Get Trade History" (module docstring). The cursor is the offset of the next page in
        the window's list, newest first: an execution made meanwhile is after ``endTime`` or
        shifts the list by one, so a page may repeat one execution but never skips one."""
        if self.fail_executions > 0:
            self.fail_executions -= 1
            return self._rest_error(10016, "Internal server error.")
        span = 7 * 86_400_000
        try:
            limit = int(q.get("limit", "50"))
            start = int(q["startTime"]) if "startTime" in q else None
            end = int(q["endTime"]) if "endTime" in q else None
            cursor = q.get("cursor", "")
            offset = int(cursor[1:]) if cursor else 0
            if cursor and (not cursor.startswith("o") or offset < 0):
                raise ValueError(cursor)
        except ValueError:
            return self._rest_error(10001, "params error: limit, startTime, endTime or cursor")
        if not 1 <= limit <= 100:
            return self._rest_error(10001, "params error: limit must be 1 to 100")
        if start is None:
            end = now_ms if end is None else end
            start = end - span
        elif end is None:
            end = start + span
        elif not 0 <= end - start <= span:
            return self._rest_error(10001, "params error: endTime - startTime must be 0 to 7 days")
        listed = sorted((ex for ex in reversed(self.executions) if q.get("symbol", ex["symbol"]) == ex["symbol"]
                         and q.get("execType", ex["execType"]) == ex["execType"]
                         and start <= int(ex["execTime"]) <= end), key=lambda ex: -int(ex["execTime"]))
        out = listed[offset: offset + limit]
        after = f"o{offset + limit}" if offset + limit < len(listed) else ""
        return {"retCode": 0, "retMsg": "OK", "result": {"nextPageCursor": after, "category": "linear", "list": out},
                "retExtInfo": {}, "time": now_ms}

    def _positions(self, q: dict, now_ms: int) -> dict:
        out = []
        for sym in sorted(self.markets):
            if q.get("symbol", sym) != sym or not sym.endswith(q.get("settleCoin", "")):
                continue
            p = self.ledger.position(sym)
            out.append({"positionIdx": 0, "symbol": sym, "side": "Buy" if p.qty_e8 > 0 else "Sell" if p.qty_e8 else "",
                        "size": _text(abs(p.qty_e8)), "avgPrice": f"{p.entry:.8f}".rstrip("0").rstrip(".") or "0",
                        "curRealisedPnl": f"{p.realized - p.fees:.8f}", "updatedTime": str(now_ms)})
        return {"retCode": 0, "retMsg": "OK", "result": {"list": out, "nextPageCursor": "", "category": "linear"},
                "retExtInfo": {}, "time": now_ms}

    @staticmethod
    def _rest_error(code: int, msg: str) -> dict:
        return {"retCode": code, "retMsg": msg, "result": {}, "retExtInfo": {}, "time": int(time.time() * 1000)}


class BybitTradeServer:
    """The I/O side: serves /v5/trade and /v5/private connections and the REST queries for one
    ``BybitTrade``; its market ticks run while a trade connection is open."""

    def __init__(self, venue: BybitTrade):
        self.venue = venue
        self.private: dict = {}  # connection -> Session
        self._tick_task: asyncio.Task | None = None
        self._trades = 0
        self.private_down = False  # fault (cut_private): private connections closed and refused

    def cut_private(self, down: bool) -> None:
        """Fault: close every private connection and refuse new ones (``down``), or serve again."""
        self.private_down = down
        if down:
            for conn in list(self.private):
                asyncio.get_running_loop().create_task(conn.close())

    def publish(self, events: list) -> None:
        if not events:
            return
        now = int(time.time() * 1000)
        by_topic: dict[str, list] = {}
        for topic, item in events:
            by_topic.setdefault(topic, []).append(item)
        for conn, s in list(self.private.items()):
            msgs = [BybitTrade.private_message(t, items, now) for t, items in by_topic.items() if t in s.topics]
            if msgs:  # one task a connection, its messages in order
                asyncio.get_running_loop().create_task(_send(conn, msgs))

    async def serve_trade(self, conn) -> None:
        s = self.venue.new_session()
        self._trades += 1
        if self._tick_task is None:
            self._tick_task = asyncio.create_task(self._ticks())
        try:
            async for message in conn:
                answer, events = self.venue.handle_trade(message, s, int(time.time() * 1000))
                self.publish(events)  # the events go out with (not before) the answer
                if answer is not None:
                    await conn.send(answer.decode())
        except ConnectionClosed:
            pass
        finally:
            self._trades -= 1

    async def serve_private(self, conn) -> None:
        if self.private_down:  # fault: refused (opened, then closed at once)
            await conn.close()
            return
        s = self.venue.new_session()
        self.private[conn] = s
        try:
            async for message in conn:
                await conn.send(self.venue.handle_private(message, s, int(time.time() * 1000)).decode())
        except ConnectionClosed:
            pass
        finally:
            self.private.pop(conn, None)

    def rest_body(self, path: str, query: str, headers) -> bytes:
        return orjson.dumps(self.venue.rest(path, query, headers, int(time.time() * 1000)))

    async def _ticks(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            now_ms = int(time.time() * 1000)
            if self._trades:
                self.publish(self.venue.tick(now_ms))
            self.publish(self.venue.funding(now_ms))

    async def stop(self) -> None:
        if self._tick_task is not None:
            self._tick_task.cancel()
            await asyncio.gather(self._tick_task, return_exceptions=True)


async def _send(conn, messages: list[bytes]) -> None:
    try:
        for data in messages:
            await conn.send(data.decode())
    except ConnectionClosed:
        pass
