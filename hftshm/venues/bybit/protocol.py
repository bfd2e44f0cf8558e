"""Bybit v5 linear (USDT perpetual) orders without I/O: Binance Spot's order state machine
(``binance_spot.protocol.Protocol``: write-ahead ids, never a resend, fills counted once)
speaking Bybit's trade API, private stream and order query.

Bybit's v5 docs, which this follows:

* "WebSocket Trade" > "Guideline": ``wss://stream.bybit.com/v5/trade``; first
  ``{"reqId","op":"auth","args":[apiKey, expires, signature]}`` (``signing.py``), answered
  ``{"retCode":0,"retMsg":"OK","op":"auth","connId"}``; then ``{"reqId", "header":
  {"X-BAPI-TIMESTAMP","X-BAPI-RECV-WINDOW"}, "op":"order.create"|"order.cancel", "args":[one
  order]}``, answered ``{"reqId","retCode","retMsg","op","data":{"orderId","orderLinkId"},
  "retExtInfo","header":{"X-Bapi-Limit","X-Bapi-Limit-Status","X-Bapi-Limit-Reset-Timestamp",
  "Traceid","Timenow"},"connId"}``. The answer says the order was accepted, not its state.
* "Trade" > "Place Order" (the args): ``category`` linear, ``symbol``, ``side`` Buy/Sell,
  ``orderType`` Limit/Market, ``qty``, ``price``, ``timeInForce`` GTC/IOC/FOK/PostOnly (our
  LIMIT_MAKER), ``orderLinkId`` (ours, deterministic: ``venues/clientid.py``; at most 36
  characters of letters, digits, ``-`` and ``_``), ``reduceOnly``, ``positionIdx`` 0 (one-way
  mode; we do not trade hedge mode). "Cancel Order": ``category``, ``symbol``,
  ``orderLinkId`` (or ``orderId``).
* "WebSocket Stream" > "Private": ``wss://stream.bybit.com/v5/private``, the same auth op, then
  ``{"op":"subscribe","args":["order","execution"]}``; answers ``{"success","ret_msg","op",
  "conn_id"}``. Topic ``order`` (``orderLinkId``, ``orderId``, ``orderStatus``, ``cumExecQty``,
  ``avgPrice``, ``rejectReason``, ``updatedTime``) brings acks and ends; topic ``execution``
  (``execId``, ``execPrice``, ``execQty``, ``execFee``, ``execType``, ``orderQty``,
  ``leavesQty``, ``execTime``) brings fills. A fill's cumulative quantity is ``orderQty -
  leavesQty`` at that trade, so fills are applied by cumulative quantity as on Binance: an
  execution seen twice, or one also recovered from a query, counts once.
* Funding comes on the same ``execution`` topic ("WebSocket Stream" > "Private" > "Execution":
  ``execType`` "Only USDT Perpetual has `Funding` feed"; "Enums Definitions" > ``execType``
  ``Funding`` is the funding fee, and ``orderType`` ``UNKNOWN`` is "mainly used when execType is
  Funding"): one event per position at each funding time, with ``symbol``, ``execFee`` the
  funding fee in the settle coin, a fee as a trade's is (positive: paid by us; negative:
  received), ``execQty`` the position size, ``execPrice``/``markPrice`` the mark, ``feeRate``
  the funding rate, ``side`` the position's side, ``execTime``, and no order of ours
  (``orderLinkId`` ""). It is queued as ``("funding", symbol id, -execFee, venue ns)`` (> 0
  received, as ``risk.marks.on_funding`` takes it) for the router (``take_account``), as USD-M's
  ``ACCOUNT_UPDATE`` FUNDING_FEE is; a symbol we do not trade goes as symbol -1, which the router
  attributes as it does USD-M's cross-margin funding. Each ``execId`` is applied once.
* Funding settled while the private stream was down (a reconnect, an execution restart) is
  asked for over REST each time the private topics are subscribed: "Trade" > "Get Trade
  History" ``GET /v5/execution/list`` with ``category`` linear, ``execType`` Funding,
  ``startTime``/``endTime`` (ms; at most 7 days apart), ``limit`` up to 100 and ``cursor`` (the
  answer's ``result.nextPageCursor``), answered ``result.list[]`` with ``execId``, ``execTime``,
  ``execFee``, ``execType`` and ``symbol`` as on the stream (newest first). It starts at
  ``funding_from_ms`` (the trading area's funding record: every payment before it is applied).
  Every page is gathered first; then they, and the stream's funding events held meanwhile, are
  queued oldest first, each ``execId`` once. A payment is one per symbol and funding time
  (one-way mode): the router applies it only if the symbol's last applied funding time, kept in
  the trading area (``trading/funding_record.py``), is earlier, which holds across a restart of
  execution. An error answer (HTTP status, retCode != 0) queues ``("funding_error", code,
  message)`` and the query is asked again, from its first page, after ``FUNDING_RETRY_NS``;
  nothing of a failed query is applied. Funding of a symbol we do not trade is taken from the
  stream only (nothing marks it applied across a restart).
* "Trade" > "Get Open & Closed Orders" ``GET /v5/order/realtime`` (``openOnly`` 0: open orders;
  1: the most recent 500 closed ones, cleared when Bybit restarts its service) and "Get Order
  History" ``GET /v5/order/history``, signed as "Integration Guidance" says (``signing.py``):
  the trade API has no query op, so an unknown outcome is resolved over REST. The protocol
  returns such a query as an ``HttpRequest`` next to its frames; the I/O layer makes the call
  and hands the answer back through ``on_frame`` (``HttpRequest.answer_frame``). An order is
  taken as never sent only when none of the three knows it and the recv window has passed.

Uncertain (not checked against a live account; said in docs/venues.md too): whether
``/v5/order/realtime`` with ``openOnly`` 0 and an ``orderLinkId`` also returns that order once
closed (we ask open, then closed, then history, which is correct either way); how soon a new
order appears in ``/v5/order/history``; a live funding event's fields beyond the four we read
(``symbol``, ``execFee``, ``execId``, ``execTime``); that a funding execution's ``execTime`` is the
same on the stream and in the execution list (the funding time), and how soon it is listed
(``FUNDING_SETTLE_MS``). Executions that are neither our trades nor
funding (``AdlTrade``, ``BustTrade``, ...) are counted (``other_execs``), not applied.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from urllib.parse import urlencode

import orjson

from ...feed.e8 import parse_e8
from ...layouts import exec_report as F
from ...layouts import order as O
from ...layouts.md import format_e8
from .. import clientid
from ..binance_spot.protocol import Protocol
from ..orders import AverageRecovery, LiveOrder, report
from . import retcodes
from .signing import signer_from

CATEGORY = "linear"
# "Enums" > orderStatus (linear): PartiallyFilledCanceled is spot's, mapped in case it comes
STATES = {"New": F.ST_ACKED, "PartiallyFilled": F.ST_PARTIAL, "Untriggered": F.ST_ACKED, "Triggered": F.ST_ACKED,
          "Filled": F.ST_FILLED, "Cancelled": F.ST_CANCELED, "PartiallyFilledCanceled": F.ST_CANCELED,
          "Deactivated": F.ST_CANCELED, "Rejected": F.ST_REJECTED}
TIF = {O.GTC: "GTC", O.IOC: "IOC", O.FOK: "FOK"}
AUTH_EXPIRES_MS = 10_000  # the auth signature is valid this long
STATUS_PATHS = (("/v5/order/realtime", {"openOnly": "0"}), ("/v5/order/realtime", {"openOnly": "1"}),
                ("/v5/order/history", {}))
OPEN_PAGE = 50  # "Get Open & Closed Orders": limit [1, 50]
PRIVATE_TOPICS = ("order", "execution")
FUNDING_IDS = 4096  # funding execIds remembered, so a repeated event is not applied twice
EXECUTIONS_PATH = "/v5/execution/list"  # "Trade" > "Get Trade History"
EXEC_PAGE = 100  # "Get Trade History": limit [1, 100]
EXEC_SPAN_MS = 7 * 86_400_000  # "Get Trade History": endTime - startTime at most 7 days
FUNDING_RETRY_NS = 5_000_000_000  # a failed funding query is asked again after this
FUNDING_ANSWER_NS = 30_000_000_000  # a funding query not answered in this is taken as failed
FUNDING_SETTLE_MS = 60_000  # a settlement is taken as listed by then: the next query overlaps this much
FUNDING_PAGES = 1000  # pages of one funding query at most (a cursor that never ends fails it)


@dataclass
class FundingAsk:
    """A funding query under way: ``[start_ms, end_ms]`` in windows of at most EXEC_SPAN_MS
    (``window_ms`` the current one's start), page by page (``cursor``); ``items`` by execId."""

    start_ms: int
    end_ms: int
    window_ms: int = 0
    cursor: str = ""
    pages: int = 0
    items: dict = field(default_factory=dict)
    rid: str = ""  # the request in flight, "" while waiting to retry
    deadline_ns: int = 0  # the answer's deadline (in flight)
    due_ns: int = 0  # when to ask again (after an error)


@dataclass(frozen=True)
class HttpRequest:
    """A signed REST call the protocol wants made (never a WebSocket frame): the I/O layer sends
    ``GET {rest_url}{path}?{query}`` with ``headers`` and feeds ``answer_frame(status, body)``
    to ``on_frame``."""

    req_id: str
    method: str
    path: str
    query: str
    headers: dict = field(repr=False)  # holds the signature, not the secret

    def url(self, base: str) -> str:
        return f"{base.rstrip('/')}{self.path}?{self.query}"

    def answer_frame(self, status: int, body: bytes | str) -> bytes:
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            parsed = None
        return orjson.dumps({"reqId": self.req_id, "http": int(status), "body": parsed})


def id_int(text) -> int:
    """A venue id as the 63-bit integer our records hold: decimal ids as they are, UUIDs (linear
    order ids, execution ids) by their low 63 bits; 0 for anything else."""
    s = str(text or "")
    if s.isdigit():
        return int(s) & ((1 << 63) - 1)
    h = s.replace("-", "")
    try:
        return int(h, 16) & ((1 << 63) - 1) if h else 0
    except ValueError:
        return 0


def decimal(value_e8: int) -> str:
    """A 1e-8 value as the plain decimal Bybit's examples use ("0.1", "1600")."""
    return format_e8(value_e8).rstrip("0").rstrip(".")


def _funding_time(v: dict) -> tuple:
    """A listed funding execution's sort key: its time (ms; 0 when unreadable), then its symbol."""
    t = str(v.get("execTime") or "0")
    return int(t) if t.isdigit() else 0, str(v.get("symbol", ""))


def signed_e8(text) -> int:
    text = str(text or "0")
    return -parse_e8(text[1:]) if text.startswith("-") else parse_e8(text)


class BybitProtocol(AverageRecovery, Protocol):
    """One execution session's Bybit order state: the trade connection (``subscribe`` gives its
    auth frame; answers and ``order.create``/``order.cancel`` frames), the private connection
    (``private_frames``; its events go to the same ``on_frame``) and REST queries."""

    codes = retcodes
    funding_by_time = True  # one funding payment per symbol and funding time (one-way mode): trading/funding_record.py

    def __init__(self, signer, symbols: list[str], assets: list[tuple[str, str]], prefix: str,
                 recv_window_ms: int = 5000, timeout_ms: int = 2000):
        super().__init__(signer_from(signer), symbols, assets, prefix, recv_window_ms, timeout_ms)
        self.trade_authed = False
        self.private_authed = False
        self.private_subscribed = False
        self.auth_refused = None  # (connection, code, message) of a refused auth: fail closed
        self.venue_ids: dict[int, str] = {}  # order id -> Bybit's orderId (a UUID on linear)
        self.stage: dict[int, int] = {}  # order id -> the status query being asked (STATUS_PATHS)
        self.end_reason: dict[int, int] = {}  # order id -> reason its end report carries
        self.open_lists: dict[str, list] = {}  # reconciliation: request id (one a settle coin) -> orders listed
        self.bad_events = 0
        self.other_execs = 0  # executions that are neither our trades nor funding (ADL, ...): not applied
        # ("funding", symbol id or -1, amount_e8 (> 0 received), venue ns) for the router (take_account)
        self.account_updates: list[tuple] = []
        self.funding_events = 0  # funding executions read (a zero fee is read and not queued)
        self.funding_repeats = 0  # a funding execId seen again: not applied twice
        self.unknown_symbols = 0  # funding for a symbol we do not trade (queued as symbol -1)
        self._funding_ids: OrderedDict = OrderedDict()
        self.funding_from_ms = 0  # funding queries start here (set from the trading area; 0: 7 days back)
        self.funding_ask: FundingAsk | None = None
        self.funding_held: list[dict] = []  # stream funding events held while a query runs
        self.funding_asks = 0  # funding queries completed
        self.funding_errors = 0  # funding query answers that failed (each asked again)
        self._sid = {s: i for i, s in enumerate(self.symbols)}
        self.unknown_answers = 0
        self.late_events = 0  # order events for our orders already ended (a Filled after its last execution)

    @property
    def ready(self) -> bool:
        """Both connections authenticated and the private topics subscribed: orders may go."""
        return self.trade_authed and self.private_subscribed

    # --- requests ------------------------------------------------------------------------------
    def _request(self, kind: str, o: LiveOrder | None, op: str, args: dict, now_ns: int, signed=True) -> bytes:
        self._next += 1
        rid = f"{kind}{self._next}"
        if o is not None:
            self.requests[rid] = (kind, o)
            o.deadline_ns = now_ns + self.timeout_ns
        elif kind == "x":
            self.requests[rid] = (kind, None)
        if op in ("order.cancel", "order.create") and "category" not in args:
            args = {"category": CATEGORY, **args}
        return orjson.dumps({"reqId": rid, "header": {"X-BAPI-TIMESTAMP": str(now_ns // 1_000_000),
                                                      "X-BAPI-RECV-WINDOW": self.recv_window},
                             "op": op, "args": [args]})

    def _rest(self, kind: str, o: LiveOrder | None, path: str, params: dict, now_ns: int) -> HttpRequest:
        self._next += 1
        rid = f"{kind}{self._next}"
        self.requests[rid] = (kind, o)
        if o is not None:
            o.deadline_ns = now_ns + self.timeout_ns
        query = urlencode(params)
        return HttpRequest(rid, "GET", path, query,
                           self.signer.rest_headers(now_ns // 1_000_000, self.recv_window, query))

    def subscribe(self, now_ns: int) -> bytes:
        """The trade connection's auth op (sent first on each connection)."""
        self.trade_authed = False
        return self._auth("u", now_ns)

    def private_frames(self, now_ns: int) -> list[bytes]:
        """What the private connection sends once open: auth, then the order and execution topics
        (the subscribe waits on the server side for nothing: Bybit answers each op in turn)."""
        self.private_authed = self.private_subscribed = False
        return [self._auth("v", now_ns), orjson.dumps({"req_id": "sub", "op": "subscribe",
                                                       "args": list(PRIVATE_TOPICS)})]

    def _auth(self, kind: str, now_ns: int) -> bytes:
        self._next += 1
        return orjson.dumps({"reqId" if kind == "u" else "req_id": f"{kind}{self._next}", "op": "auth",
                             "args": self.signer.auth_args(now_ns // 1_000_000 + AUTH_EXPIRES_MS)})

    def place(self, o: LiveOrder, now_ns: int) -> bytes:
        o.cid = clientid.order_cid(self.prefix, o.order_id)
        self.orders[o.order_id] = o
        a = {"category": CATEGORY, "symbol": self.symbols[o.symbol_id], "side": "Buy" if o.side == O.BUY else
             "Sell" if o.side == O.SELL else "?", "orderType": "Market" if o.type == O.MARKET else
             "Limit" if o.type in (O.LIMIT, O.LIMIT_MAKER) else "?", "qty": decimal(o.qty_e8),
             "orderLinkId": o.cid, "positionIdx": 0}
        if o.type != O.MARKET:
            a["price"] = decimal(o.price_e8)
            a["timeInForce"] = "PostOnly" if o.type == O.LIMIT_MAKER else TIF.get(o.tif, "GTC")
        else:
            a["timeInForce"] = "IOC"  # "Place Order": market orders are IOC
        if o.flags & O.F_REDUCE_ONLY:
            a["reduceOnly"] = True
        return self._request("p", o, "order.create", a, now_ns)

    def cancel(self, cancel_order_id: int, target_id: int, now_ns: int):
        """(frame or None, reports): cancel our live order ``target_id`` by its orderLinkId."""
        o = self.orders.get(target_id)
        if o is None or o.final:
            return super().cancel(cancel_order_id, target_id, now_ns)  # the CANCEL_UNKNOWN report
        o.cancel_pending = True
        return self._request("c", o, "order.cancel", {"symbol": self.symbols[o.symbol_id], "orderLinkId": o.cid},
                             now_ns), []

    def status(self, o: LiveOrder, now_ns: int, stage: int = 0) -> HttpRequest:
        """The order's state over REST (STATUS_PATHS[stage]), by its orderLinkId."""
        self.stage[o.order_id] = stage
        path, extra = STATUS_PATHS[stage]
        cid = o.cid or clientid.order_cid(self.prefix, o.order_id)
        return self._rest("s", o, path, {"category": CATEGORY, "symbol": self.symbols[o.symbol_id],
                                         "orderLinkId": cid, **extra}, now_ns)

    def trades(self, o: LiveOrder, now_ns: int) -> HttpRequest:
        """Fills the venue counts and no execution brought: the order's cumExecQty and avgPrice
        recover them (as USD-M does; no execution list is asked)."""
        return self.status(o, now_ns)

    def set_history(self, after: dict, since_ms: dict, stored: set, fills: dict | None = None, ended=()) -> None:
        """Not on Bybit: orders of earlier runs that the state never stored are not swept (only
        the open ones are found, by reconciliation)."""
        self.sweeps = {}

    def reconcile_requests(self, now_ns: int) -> list:
        """The venue's open linear orders, one REST query per settle coin of our symbols."""
        self.reconcile = None
        self.open_lists = {}
        coins = sorted({quote for _, quote in self.assets})
        out = []
        for coin in coins:
            req = self._rest("o", None, "/v5/order/realtime", {"category": CATEGORY, "settleCoin": coin,
                                                               "openOnly": "0", "limit": str(OPEN_PAGE)}, now_ns)
            self.open_lists[req.req_id] = None
            out.append(req)
        return out

    def _reconcile(self, listed: list, now_ns: int) -> list:
        """The venue's open orders against ours, by the policy of ``Protocol._reconcile``
        (docs/operations.md "Restarts and reconciliation"): ours of this run are left to the
        normal resolution, ours of an earlier run are cancelled (through the recovered order when
        the state knew it, else by Bybit's orderId), anyone else's are left alone and counted."""
        known = cancelled = foreign = 0
        frames, seen = [], set()
        for v in listed:
            cid = str(v.get("orderLinkId", ""))
            old = self.recovering.get(cid)
            if old is not None and not old.done:
                cancelled += 1
                seen.add(cid)
                if not old.cancel_pending and not old.final:
                    frames.append(self.cancel(old.order_id, old.order_id, now_ns)[0])
            elif clientid.parse(self.prefix, cid) in self.orders:
                known += 1
            elif clientid.looks_ours(cid):
                cancelled += 1
                frames.append(self._request("x", None, "order.cancel", {"symbol": str(v.get("symbol", "")),
                                                                        "orderId": str(v.get("orderId", ""))}, now_ns))
            else:
                foreign += 1
        for cid, o in self.recovering.items():
            if cid not in seen and not o.done and not o.final and not o.deadline_ns:
                frames.append(self.status(o, now_ns))  # no longer open: it ended while we looked
        self.reconcile = (known, cancelled, foreign)
        return frames

    # --- input ---------------------------------------------------------------------------------
    def on_frame(self, text, now_ns: int):
        """(reports, frames/requests to send) for one text frame from the trade connection, the
        private connection, or a REST answer (``HttpRequest.answer_frame``)."""
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            self.unknown_answers += 1
            return [], []
        if not isinstance(msg, dict):
            self.unknown_answers += 1
            return [], []
        topic = msg.get("topic")
        if topic is not None:
            try:
                return self._on_topic(topic, msg.get("data"), now_ns), []
            except (KeyError, ValueError, TypeError, AttributeError):
                # a malformed event may have carried a fill: counted, and every open order is
                # asked about at the next housekeeping tick instead
                self.bad_events += 1
                for o in self.orders.values():
                    if not o.done:
                        o.deadline_ns = now_ns
                return [], []
        if "http" in msg:
            return self._on_rest(msg, now_ns)
        op = msg.get("op")
        if op == "auth":
            return self._on_auth(msg), []
        if op in ("subscribe", "ping", "pong"):
            if op == "subscribe":
                self.private_subscribed = bool(msg.get("success"))
                if not self.private_subscribed:
                    self.auth_refused = ("private", 0, str(msg.get("ret_msg", ""))[:200])
                else:  # from here the stream brings funding: ask for what it may have missed
                    return [], [self.funding_query(now_ns)]
            return [], []
        return self._on_answer(msg, now_ns)

    def _on_auth(self, msg: dict) -> list:
        if "retCode" in msg:  # the trade connection
            code = int(msg.get("retCode", -1))
            self.trade_authed = code == 0
            if code:
                self.auth_refused = ("trade", code, str(msg.get("retMsg", ""))[:200])
        else:  # the private connection
            self.private_authed = bool(msg.get("success"))
            if not self.private_authed:
                self.private_subscribed = False
                self.auth_refused = ("private", 0, str(msg.get("ret_msg", ""))[:200])
        return []

    def _on_answer(self, msg: dict, now_ns: int):
        """An order.create / order.cancel answer."""
        rid = msg.get("reqId")
        entry = self.requests.pop(rid, None) if isinstance(rid, str) else None
        try:
            code = int(msg.get("retCode"))
        except (TypeError, ValueError):
            self.unknown_answers += 1
            if entry is not None:
                self.requests[rid] = entry  # its deadline still runs: the order is asked about then
            return [], []
        header = msg.get("header") if isinstance(msg.get("header"), dict) else {}
        if code in retcodes.RATE:
            reset = header.get("X-Bapi-Limit-Reset-Timestamp", 0)
            self.rate_answer = (429, code, int(reset) if str(reset).isdigit() else 0, None)
        if entry is None:
            self.unknown_answers += 1
            return [], []
        kind, o = entry
        text_msg = str(msg.get("retMsg", ""))
        if o is None:  # a reconciliation cancel
            if code not in (0, 110001, 110008):  # already gone is fine
                self.reconcile = ("failed", code, text_msg[:200])
            return [], []
        o.deadline_ns = 0
        data = msg.get("data") if isinstance(msg.get("data"), dict) else {}
        if code == 0:
            if kind == "p":
                vid = str(data.get("orderId", ""))
                if vid:
                    self.venue_ids[o.order_id] = vid
                if o.state == F.ST_NEW:  # accepted; its state comes on the order topic (asked if not)
                    o.deadline_ns = now_ns + self.timeout_ns
                return self._ack(o, {"orderId": id_int(vid), "transactTime": header.get("Timenow", 0)}, now_ns), []
            if kind == "c":  # cancel_pending stays until the order topic says Cancelled (or it is asked)
                o.deadline_ns = now_ns + self.timeout_ns
            return [], []
        if kind == "p":
            if self.codes.outcome_unknown(code, 0, text_msg):
                return [], [self.status(o, now_ns)]
            o.final = o.state = F.ST_REJECTED
            o.done = True
            del self.orders[o.order_id]
            return [(o, report(o, F.EX_REJECTED, F.ST_REJECTED, self.codes.reason(code, text_msg), code,
                               recv_ns=now_ns))], []
        o.cancel_pending = False
        if (o.state == F.ST_NEW or o.known is not None or code in (110001, 110008)) and not o.done:
            o.deadline_ns = now_ns + self.timeout_ns  # it may have ended: its state is asked if nothing says
        return [(o, report(o, F.EX_CANCEL_REJECTED, o.state, self.codes.reason(code, text_msg), code,
                           recv_ns=now_ns))], []

    def _on_rest(self, msg: dict, now_ns: int):
        rid = msg.get("reqId")
        entry = self.requests.pop(rid, None) if isinstance(rid, str) else None
        if entry is None:
            return [], []  # superseded by a later question
        kind, o = entry
        body = msg.get("body") if isinstance(msg.get("body"), dict) else {}
        status = int(msg.get("http") or 0)
        code = body.get("retCode")
        result = body.get("result") if isinstance(body.get("result"), dict) else None
        listed = result.get("list") if result is not None else None
        ok = status == 200 and code == 0 and isinstance(listed, list)
        if not ok and isinstance(code, int) and code in retcodes.RATE:
            self.rate_answer = (429, code, 0, None)
        if kind == "f":
            if ok:
                return [], self._funding_listed(rid, listed, str(result.get("nextPageCursor") or ""), now_ns)
            why = (int(code) if isinstance(code, int) else status, str(body.get("retMsg", f"HTTP {status}"))[:200])
            self._funding_failed(rid, *why, now_ns)
            return [], []
        if kind == "o":
            if not ok:
                self.reconcile = ("failed", int(code) if isinstance(code, int) else status,
                                  str(body.get("retMsg", f"HTTP {status}"))[:200])
                return [], []
            if len(listed) >= OPEN_PAGE:  # (nextPageCursor is set even on a last page: the doc's example has one)
                self.reconcile = ("failed", 0, f"{OPEN_PAGE} or more open orders: not paged here")
                return [], []
            self.open_lists[rid] = listed
            if any(v is None for v in self.open_lists.values()):
                return [], []
            return [], self._reconcile([v for lst in self.open_lists.values() for v in lst], now_ns)
        if o is None or o.done:
            return [], []
        o.deadline_ns = 0
        if not ok:  # ask again when the deadline passes
            o.deadline_ns = now_ns + self.timeout_ns
            return [], []
        mine = [v for v in listed if isinstance(v, dict) and v.get("orderLinkId") == o.cid]
        if mine:
            self.stage.pop(o.order_id, None)
            return self._venue_state(o, mine[0], now_ns, F.EX_RESOLVED)
        stage = self.stage.get(o.order_id, 0) + 1
        if stage < len(STATUS_PATHS):
            return [], [self.status(o, now_ns, stage)]
        self.stage.pop(o.order_id, None)
        return self._absent(o, now_ns)

    def _venue_state(self, o: LiveOrder, v: dict, now_ns: int, exec_type: int):
        """An order as a REST query lists it (``orderStatus``, ``cumExecQty``, ``avgPrice``)."""
        vid = str(v.get("orderId", ""))
        if vid:
            self.venue_ids[o.order_id] = vid
        out = self._ack(o, {"orderId": id_int(vid), "transactTime": v.get("updatedTime", 0)}, now_ns)
        state = STATES.get(v.get("orderStatus"), 0)
        cum = parse_e8(str(v.get("cumExecQty") or "0"))
        o.venue_cum = max(o.venue_cum, cum)
        if state in F.TERMINAL_STATES:
            o.final = state
            self._note_reason(o, v)
        if o.venue_cum > o.filled_e8:
            avg = parse_e8(str(v.get("avgPrice") or "0"))
            out.append(self._recovered(o, o.venue_cum, avg, now_ns, int(v.get("updatedTime") or 0) * 1_000_000))
        out += self._maybe_done(o, now_ns)
        return out, []

    def _note_reason(self, o: LiveOrder, v: dict) -> None:
        if v.get("rejectReason") == retcodes.POST_ONLY_WOULD_TAKE:
            self.end_reason[o.order_id] = retcodes.R.VENUE_WOULD_TAKE

    def _maybe_done(self, o: LiveOrder, now_ns: int) -> list:
        out = super()._maybe_done(o, now_ns)
        if o.done:
            self.venue_ids.pop(o.order_id, None)
            self.stage.pop(o.order_id, None)
            why = self.end_reason.pop(o.order_id, 0)
            if why and out:
                out[-1][1]["reason"] = why
        return out

    # --- the private stream --------------------------------------------------------------------
    def _on_topic(self, topic: str, data, now_ns: int) -> list:
        if topic == "order":
            return [r for v in data for r in self._order_event(v, now_ns)]
        if topic == "execution":
            return [r for v in data for r in self._execution(v, now_ns)]
        self.unknown_events += 1
        return []

    def _ours(self, v: dict) -> LiveOrder | None:
        if v.get("category", CATEGORY) != CATEGORY:
            return None
        o = self.orders.get(clientid.parse(self.prefix, str(v.get("orderLinkId", ""))))
        if o is None:
            o = self.recovering.get(str(v.get("orderLinkId", "")))
        return o if o is not None and not o.done else None

    def _order_event(self, v: dict, now_ns: int) -> list:
        o = self._ours(v)
        if o is None:
            if clientid.parse(self.prefix, str(v.get("orderLinkId", ""))):
                self.late_events += 1  # ours, already ended (by its last execution): nothing to change
            else:
                self.unknown_events += 1
            return []
        state = STATES.get(v["orderStatus"], 0)  # every field read before anything changes
        cum = parse_e8(str(v.get("cumExecQty") or "0"))
        out = []
        vid = str(v.get("orderId", ""))
        if vid:
            self.venue_ids[o.order_id] = vid
        if o.state == F.ST_NEW:
            out += self._ack(o, {"orderId": id_int(vid), "transactTime": v.get("updatedTime", 0)}, now_ns)
        o.venue_cum = max(o.venue_cum, cum)
        if state in F.TERMINAL_STATES:
            o.final = state
            self._note_reason(o, v)
            if o.venue_cum > o.filled_e8:
                o.deadline_ns = now_ns + self.timeout_ns  # its executions are on the way; else ask
            else:
                o.deadline_ns = 0
        elif not o.cancel_pending:
            o.deadline_ns = 0  # the venue has it; nothing outstanding
        return out + self._maybe_done(o, now_ns)

    def _execution(self, v: dict, now_ns: int) -> list:
        kind = v.get("execType", "Trade")
        if kind == "Funding" and v.get("category", CATEGORY) == CATEGORY:
            self._funding(v)
            return []
        if kind != "Trade":
            self.other_execs += 1
            return []
        o = self._ours(v)
        if o is None:
            self.unknown_events += 1
            return []
        # every field read before anything changes: a malformed event changes nothing
        last = parse_e8(str(v["execQty"]))
        px = parse_e8(str(v["execPrice"]))
        fee = signed_e8(v.get("execFee"))  # linear: in the settle coin, our quote; negative is a rebate
        venue_ns = int(v.get("execTime") or 0) * 1_000_000
        if "orderQty" in v and "leavesQty" in v:
            z = parse_e8(str(v["orderQty"])) - parse_e8(str(v["leavesQty"]))
        else:
            z = o.filled_e8 + last  # no cumulative figure: taken as new (the doc's shape has both)
        out = []
        if o.state == F.ST_NEW:
            out += self._ack(o, {"orderId": id_int(v.get("orderId")), "transactTime": v.get("execTime", 0)}, now_ns)
        if z > o.filled_e8:
            qty = z - o.filled_e8
            if qty != last and last:
                fee = fee * qty // last
            out.append(self._fill(o, qty, px, fee, venue_ns, now_ns, id_int(v.get("execId"))))
        o.venue_cum = max(o.venue_cum, z)
        if not o.final and "leavesQty" in v and parse_e8(str(v["leavesQty"])) == 0 and z >= o.qty_e8:
            # nothing left: filled. The order topic's Filled usually comes after this execution;
            # ending the order here puts the end on this fill's report, which the router applies
            # (frees the slot, counts it). Ended only there, the order would end with no report.
            o.final = F.ST_FILLED
        return out + self._maybe_done(o, now_ns)

    def _funding(self, v: dict) -> None:
        """A funding settlement on the stream (module docstring) into ``account_updates``, or held
        while a funding query runs. A malformed one is counted in ``bad_events`` and changes
        nothing (no fill rides on it: no order is asked)."""
        try:
            signed_e8(v["execFee"])
            int(v.get("execTime") or 0)
        except (KeyError, ValueError, TypeError):
            self.bad_events += 1
            return
        if self.funding_ask is not None:  # applied after the query's, oldest first
            self.funding_held.append(v)
            return
        self._funding_queue(v)

    def _funding_queue(self, v: dict) -> bool:
        """A readable funding execution into ``account_updates`` once per execId: whether it is new."""
        paid = signed_e8(v["execFee"])  # positive: we paid
        venue_ns = int(v.get("execTime") or 0) * 1_000_000
        exec_id = str(v.get("execId") or "")
        if exec_id:
            if exec_id in self._funding_ids:
                self.funding_repeats += 1
                return False
            self._funding_ids[exec_id] = None
            if len(self._funding_ids) > FUNDING_IDS:
                self._funding_ids.popitem(last=False)
        sid = self._sid.get(str(v.get("symbol", "")))
        if sid is None:
            self.unknown_symbols += 1
            sid = -1
        self.funding_events += 1
        if paid:
            self.account_updates.append(("funding", sid, -paid, venue_ns))
        return True

    # --- funding missed by the stream (module docstring) ---------------------------------------
    def funding_query(self, now_ns: int) -> HttpRequest:
        """Ask for the funding settled from ``funding_from_ms`` to now (a query under way is
        replaced: its answer is ignored)."""
        now_ms = now_ns // 1_000_000
        start = self.funding_from_ms or now_ms - EXEC_SPAN_MS
        self._funding_drop()
        self.funding_ask = FundingAsk(start, max(start, now_ms), start)
        return self._funding_page(now_ns)

    def _funding_drop(self) -> None:
        a = self.funding_ask
        if a is not None and a.rid:
            self.requests.pop(a.rid, None)  # a late answer to it is ignored

    def _funding_page(self, now_ns: int) -> HttpRequest:
        a = self.funding_ask
        params = {"category": CATEGORY, "execType": "Funding", "startTime": a.window_ms,
                  "endTime": min(a.window_ms + EXEC_SPAN_MS, a.end_ms), "limit": EXEC_PAGE}
        if a.cursor:
            params["cursor"] = a.cursor
        req = self._rest("f", None, EXECUTIONS_PATH, params, now_ns)
        a.rid, a.deadline_ns, a.due_ns = req.req_id, now_ns + FUNDING_ANSWER_NS, 0
        a.pages += 1
        return req

    def _funding_listed(self, rid: str, listed: list, cursor: str, now_ns: int) -> list:
        """One page of the funding query: the next page's request, or, after the last, every
        payment gathered queued oldest first."""
        a = self.funding_ask
        if a is None or rid != a.rid:
            return []  # superseded by a later query
        for v in listed:
            if isinstance(v, dict) and v.get("execType") == "Funding" and v.get("category", CATEGORY) == CATEGORY:
                a.items[str(v.get("execId") or f"{v.get('symbol')}@{v.get('execTime')}")] = v
        if cursor and len(listed) >= EXEC_PAGE:  # (Bybit may give a cursor on a last page too)
            if a.pages >= FUNDING_PAGES:
                self._funding_failed(rid, 0, f"more than {FUNDING_PAGES} pages", now_ns)
                return []
            a.cursor = cursor
            return [self._funding_page(now_ns)]
        window_end = min(a.window_ms + EXEC_SPAN_MS, a.end_ms)
        if window_end < a.end_ms:  # the next window (its first ms listed twice at most: one execId)
            a.window_ms, a.cursor = window_end, ""
            return [self._funding_page(now_ns)]
        self.funding_ask, held, self.funding_held = None, self.funding_held, []
        new = 0
        for v in sorted(a.items.values(), key=_funding_time):
            if not _funding_time(v)[0]:  # no funding time: nothing could mark it applied
                self.bad_events += 1
                continue
            try:
                known = self._sid.get(str(v.get("symbol", ""))) is not None
                new += bool(known and self._funding_queue(v))  # a symbol not traded: from the stream only
            except (KeyError, ValueError, TypeError):
                self.bad_events += 1
        for v in held:  # after the query's: the router applies each symbol's payments in time order
            self._funding_queue(v)
        self.funding_asks += 1
        self.funding_from_ms = max(self.funding_from_ms, a.end_ms - FUNDING_SETTLE_MS)
        self.account_updates.append(("funding_recovered", new, a.start_ms, a.end_ms))
        return []

    def _funding_failed(self, rid: str, code: int, text: str, now_ns: int) -> None:
        """Nothing of the query is applied; it is asked again, from its first page, later."""
        a = self.funding_ask
        if a is None or rid != a.rid:
            return
        self.requests.pop(rid, None)
        self.funding_errors += 1
        a.items.clear()
        a.window_ms, a.cursor, a.pages, a.rid, a.deadline_ns = a.start_ms, "", 0, "", 0
        a.due_ns = now_ns + FUNDING_RETRY_NS
        self.account_updates.append(("funding_error", code, text))

    def funding_due(self, now_ns: int) -> list:
        """The funding query to ask again now (after an error, or no answer in time), if any."""
        a = self.funding_ask
        if a is None:
            return []
        if a.rid and now_ns >= a.deadline_ns:
            self._funding_failed(a.rid, 0, "no answer in time", now_ns)
            return []
        if not a.rid and now_ns >= a.due_ns:
            return [self._funding_page(now_ns)]
        return []

    def take_account(self) -> list[tuple]:
        """Funding settlements since the last call, for the router to apply (as USD-M's)."""
        out, self.account_updates = self.account_updates, []
        return out
