"""The WebSocket API (``/ws-api/v3``): one request text in, one response dict out.

Request and response shapes are web-socket-api.md's "Request format" / "Response format":
``{"id", "method", "params"}`` in, ``{"id", "status", "result" | "error", "rateLimits"}`` out.
Signed methods (TRADE, USER_DATA) are checked as "Request security" says: a known API key
(-2014 bad format, -2015 unknown), an HMAC signature over the sorted parameters (-1022) and a
``timestamp`` within ``recvWindow`` (-1021). Every request is charged its weight first
(``ratelimit.py``). No I/O here: the server passes the text and the time in and sends the dict.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Callable

import orjson

from . import errors, params as P, signing
from .config import ExchangeConfig
from .errors import ApiError
from .matching import OrderRequest
from .ratelimit import RateLimits
from .venue import Venue

log = logging.getLogger("hftshm.exchange")
API_KEY_RE = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")
MAX_RECV_WINDOW = 60_000
UNSUPPORTED_TYPES = {
    "STOP_LOSS": "Stop loss orders are not supported for this symbol.",
    "STOP_LOSS_LIMIT": "Stop loss limit orders are not supported for this symbol.",
    "TAKE_PROFIT": "Take profit orders are not supported for this symbol.",
    "TAKE_PROFIT_LIMIT": "Take profit limit orders are not supported for this symbol.",
}


@dataclass
class ApiSession:
    """Per-connection state: the URL's ``returnRateLimits`` and user-data subscriptions."""

    connected_ms: int
    return_rate_limits: bool = True
    subscriptions: set[int] = field(default_factory=set)
    next_subscription: int = 0


@dataclass(frozen=True)
class Method:
    run: Callable
    weight: Callable[[dict], int]
    signed: bool = False
    order: bool = False


def _const(w: int) -> Callable[[dict], int]:
    return lambda params: w


def _depth_weight(params: dict) -> int:
    # web-socket-api.md "Order book": weight by limit
    limit = params.get("limit", 100)
    if not isinstance(limit, int) or isinstance(limit, bool):
        return 5
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


class WsApi:
    def __init__(self, venue: Venue, cfg: ExchangeConfig, limits: RateLimits):
        self.venue = venue
        self.cfg = cfg
        self.limits = limits
        self.methods: dict[str, Method] = {
            "ping": Method(lambda p, s, t: {}, _const(1)),
            "time": Method(lambda p, s, t: {"serverTime": t // 1_000_000}, _const(1)),
            "exchangeInfo": Method(self._exchange_info, _const(20)),
            "depth": Method(self._depth, _depth_weight),
            "order.place": Method(self._place, _const(1), signed=True, order=True),
            "order.cancel": Method(self._cancel, _const(1), signed=True),
            "order.status": Method(self._status, _const(4), signed=True),
            "openOrders.status": Method(self._open_orders, lambda p: 6 if p.get("symbol") else 80, signed=True),
            "account.status": Method(self._account, _const(20), signed=True),
            "myTrades": Method(self._my_trades, _const(20), signed=True),
            "allOrders": Method(self._all_orders, _const(20), signed=True),
            "userDataStream.subscribe.signature": Method(self._subscribe, _const(2), signed=True),
            "userDataStream.unsubscribe": Method(self._unsubscribe, _const(2)),
        }

    def handle(self, text: str | bytes, session: ApiSession, now_ns: int) -> dict:
        """The response to one request frame; never raises for bad input."""
        req_id = None
        rate_limits = None
        show_limits = session.return_rate_limits
        try:
            try:
                req = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                raise ApiError(-1135, f"Invalid JSON Request: {exc}") from None
            if not isinstance(req, dict):
                raise ApiError(-1135, "Invalid JSON Request: expected an object")
            req_id = req.get("id")
            if isinstance(req_id, bool) or not isinstance(req_id, (int, str, type(None))):
                req_id = None
                raise ApiError(-1135, "Invalid JSON Request: 'id' must be an integer, a string or null")
            name = req.get("method")
            if not isinstance(name, str):
                raise errors.mandatory("method")
            if name.startswith("v3/"):
                name = name[3:]
            method = self.methods.get(name)
            if method is None:
                raise ApiError(-1020, f"This operation is not supported: unknown method {name!r}.")
            params = req.get("params", {})
            if not isinstance(params, dict):
                raise ApiError(-1135, "Invalid 'params' in JSON request; expected an object.")
            flag = P.boolean(params, "returnRateLimits")
            if flag is not None:
                show_limits = flag
            rate_limits = self.limits.charge(method.weight(params), method.order, now_ns // 1_000_000)
            if method.signed:
                self._authenticate(params, now_ns)
            result = method.run(params, session, now_ns)
        except ApiError as exc:
            rate_limits = getattr(exc, "rate_limits", rate_limits)
            resp = {"id": req_id, "status": exc.status, "error": exc.body()}
        except Exception:  # a bug, not bad input: answer as Binance does and keep serving
            log.exception("WebSocket API request failed")
            resp = {"id": req_id, "status": 500,
                    "error": {"code": -1000, "msg": "An unknown error occurred while processing the request."}}
        else:
            resp = {"id": req_id, "status": 200, "result": result}
        if show_limits and rate_limits is not None:
            resp["rateLimits"] = rate_limits
        return resp

    def _authenticate(self, params: dict, now_ns: int) -> None:
        key = params.get("apiKey")
        if key is None or key == "":
            raise errors.mandatory("apiKey")
        if not isinstance(key, str) or not API_KEY_RE.match(key):
            raise errors.error(errors.BAD_KEY_FORMAT, 401)
        if key != self.cfg.api_key:
            raise errors.error(errors.REJECTED_KEY, 401)
        if not params.get("signature"):
            raise errors.mandatory("signature")
        ts = P.integer(params, "timestamp", required=True, minimum=0)
        window = P.integer(params, "recvWindow", minimum=0)
        if window is None:
            window = 5000
        elif window > MAX_RECV_WINDOW:
            raise ApiError(-1102, f"'recvWindow' contains unexpected value. Cannot be greater than '{MAX_RECV_WINDOW}'.")
        if not signing.verify(self.cfg.api_secret, params):
            raise errors.error(errors.INVALID_SIGNATURE)
        server_ms = now_ns // 1_000_000
        if ts >= 10**14:  # microseconds are accepted too
            ts //= 1000
        # web-socket-api.md "Timing security"
        if ts >= server_ms + 1000:
            raise ApiError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")
        if server_ms - ts > window:
            raise ApiError(-1021, "Timestamp for this request is outside of the recvWindow.")

    # ----- methods: (params, session, now_ns) -> result

    def _exchange_info(self, params: dict, session: ApiSession, now_ns: int) -> dict:
        symbol, symbols = params.get("symbol"), params.get("symbols")
        if symbol is not None and symbols is not None:
            raise ApiError(-1128, "Combination of optional parameters invalid.")
        if symbols is not None and (not isinstance(symbols, list) or not symbols):
            raise errors.invalid_value("symbols")
        names = [symbol] if symbol is not None else symbols
        return self.venue.exchange_info(names, self.limits.exchange_info(), now_ns // 1_000_000)

    def _depth(self, params: dict, session: ApiSession, now_ns: int) -> dict:
        symbol = params.get("symbol")
        if symbol is None:
            raise errors.mandatory("symbol")
        limit = P.integer(params, "limit", minimum=1)
        if limit is None:
            limit = 100
        if limit > 5000:
            raise errors.invalid_value("limit")
        return self.venue.depth(symbol, limit, now_ns)

    def _place(self, params: dict, session: ApiSession, now_ns: int) -> dict:
        return self.venue.place(self.order_request(params), now_ns)

    def order_request(self, params: dict) -> OrderRequest:
        """Check order.place parameters (web-socket-api.md "Place new order")."""
        symbol = params.get("symbol")
        if symbol is None:
            raise errors.mandatory("symbol")
        s = self.venue.stream_symbol(symbol)
        side = P.enum(params, "side", ("BUY", "SELL"), errors.INVALID_SIDE, required=True)
        kind = params.get("type")
        if kind is None:
            raise errors.mandatory("type")
        if not isinstance(kind, str):
            raise errors.error(errors.INVALID_TYPE)
        if kind in UNSUPPORTED_TYPES:
            raise ApiError(-1013, UNSUPPORTED_TYPES[kind])
        if kind not in ("LIMIT", "LIMIT_MAKER", "MARKET"):
            raise errors.error(errors.INVALID_TYPE)
        for name in ("stopPrice", "trailingDelta"):
            if params.get(name) is not None:
                raise errors.not_required(name)
        if params.get("icebergQty") is not None:
            raise ApiError(-1013, "Iceberg orders are not supported for this symbol.")
        stp = params.get("selfTradePreventionMode")
        if stp is not None and stp != "NONE":
            raise errors.invalid_value("selfTradePreventionMode")
        resp = P.enum(params, "newOrderRespType", ("ACK", "RESULT", "FULL"),
                      (-1130, "Data sent for parameter 'newOrderRespType' is not valid."))
        tif = P.enum(params, "timeInForce", ("GTC", "IOC", "FOK"), errors.INVALID_TIF)
        if kind == "LIMIT":
            if tif is None:
                raise errors.mandatory("timeInForce")
            price = P.decimal_e8(params, "price", required=True)
            qty = P.decimal_e8(params, "quantity", required=True)
            quote = 0
        elif kind == "LIMIT_MAKER":
            if tif is not None:
                raise errors.not_required("timeInForce")
            tif = "GTC"
            price = P.decimal_e8(params, "price", required=True)
            qty = P.decimal_e8(params, "quantity", required=True)
            quote = 0
        else:
            for name in ("timeInForce", "price"):
                if params.get(name) is not None:
                    raise errors.not_required(name)
            tif = "GTC"
            price = 0
            qty = P.decimal_e8(params, "quantity")
            quote = P.decimal_e8(params, "quoteOrderQty")
            if qty is None and quote is None:
                raise ApiError(-1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!")
            if qty is not None and quote is not None:
                raise errors.not_required("quoteOrderQty")
            qty, quote = qty or 0, quote or 0
        if kind != "MARKET" and params.get("quoteOrderQty") is not None:
            raise errors.not_required("quoteOrderQty")
        return OrderRequest(symbol=s, side=side, type=kind, tif=tif, price_e8=price, qty_e8=qty,
                            quote_e8=quote, client_id=P.client_id(params, "newClientOrderId"),
                            resp_type=resp)

    def _order_ref(self, params: dict) -> tuple[str, int | None, str | None]:
        symbol = params.get("symbol")
        if symbol is None:
            raise errors.mandatory("symbol")
        order_id = P.integer(params, "orderId", minimum=0)
        client_id = P.client_id(params, "origClientOrderId")
        if order_id is None and client_id is None:
            raise ApiError(-1102, "Param 'orderId' or 'origClientOrderId' must be sent, but both were empty/null!")
        return symbol, order_id, client_id

    def _cancel(self, params: dict, session: ApiSession, now_ns: int) -> dict:
        symbol, order_id, client_id = self._order_ref(params)
        restriction = params.get("cancelRestrictions")
        if restriction is not None:
            if restriction not in ("ONLY_NEW", "ONLY_PARTIALLY_FILLED"):
                raise ApiError(-1145, "Invalid cancelRestrictions")
            order = self.venue.engine.find(self.venue.stream_symbol(symbol), order_id, client_id)
            wanted = "NEW" if restriction == "ONLY_NEW" else "PARTIALLY_FILLED"
            if order is not None and order.open and order.status != wanted:
                raise errors.cancel_rejected("Order was not canceled due to cancel restrictions.")
        new_id = P.client_id(params, "newClientOrderId")
        return self.venue.cancel(symbol, order_id, client_id, new_id, now_ns)

    def _status(self, params: dict, session: ApiSession, now_ns: int) -> dict:
        symbol, order_id, client_id = self._order_ref(params)
        return self.venue.order_status(symbol, order_id, client_id, now_ns)

    def _open_orders(self, params: dict, session: ApiSession, now_ns: int) -> list:
        return self.venue.open_orders(params.get("symbol") or None, now_ns)

    def _account(self, params: dict, session: ApiSession, now_ns: int) -> dict:
        return self.venue.account_status(now_ns, bool(P.boolean(params, "omitZeroBalances")))

    def _my_trades(self, params: dict, session: ApiSession, now_ns: int) -> list:
        symbol = params.get("symbol")
        if symbol is None:
            raise errors.mandatory("symbol")
        return self.venue.my_trades(symbol, P.integer(params, "orderId", minimum=0), now_ns)

    def _all_orders(self, params: dict, session: ApiSession, now_ns: int) -> list:
        # web-socket-api.md "Account order history (USER_DATA)": symbol mandatory; orderId (from
        # that id on), or startTime/endTime (ms, at most 24 hours apart; orderId then ignored);
        # limit default 500, at most 1000
        symbol = params.get("symbol")
        if symbol is None:
            raise errors.mandatory("symbol")
        order_id = P.integer(params, "orderId", minimum=0)
        start, end = P.integer(params, "startTime", minimum=0), P.integer(params, "endTime", minimum=0)
        limit = P.integer(params, "limit", minimum=1)
        if limit is not None and limit > 1000:
            raise errors.invalid_value("limit")
        if start is not None and end is not None and (end < start or end - start > 24 * 3600 * 1000):
            raise ApiError(-1127, "More than 24 hours between startTime and endTime.")
        return self.venue.all_orders(symbol, order_id, start, end, limit or 500, now_ns)

    def _subscribe(self, params: dict, session: ApiSession, now_ns: int) -> dict:
        # One account, so one subscription per connection (web-socket-api.md "User Data Stream
        # subscription": "only one active subscription for a given account on a given connection").
        if session.subscriptions:
            raise errors.error(errors.SUBSCRIPTION_ACTIVE)
        sid = session.next_subscription
        session.next_subscription += 1
        session.subscriptions.add(sid)
        return {"subscriptionId": sid}

    def _unsubscribe(self, params: dict, session: ApiSession, now_ns: int) -> dict:
        sid = P.integer(params, "subscriptionId", minimum=0)
        if sid is None:
            session.subscriptions.clear()
        elif sid in session.subscriptions:
            session.subscriptions.discard(sid)
        else:
            raise errors.error(errors.SUBSCRIPTION_INACTIVE)
        return {}


def event_frame_payloads(session: ApiSession, events: list[dict]) -> list[bytes]:
    """User-data events as this session receives them: ``{"subscriptionId": N, "event": {..}}``."""
    return [orjson.dumps({"subscriptionId": sid, "event": ev})
            for ev in events for sid in sorted(session.subscriptions)]
