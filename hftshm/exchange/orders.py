"""A user order's state, and how Binance shows it: order responses and ``executionReport``.

Shapes follow web-socket-api.md ("Place new order", "Query order", "Cancel order") and
user-data-stream.md "Order Update". Quantities are kept in lots and prices in ticks; text is
made here with the symbol's tick and step sizes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hftshm.layouts.md import format_e8

from .config import SymbolSpec

ZERO = "0.00000000"
OPEN_STATUSES = ("NEW", "PARTIALLY_FILLED")


@dataclass
class Fill:
    price_px: int
    lots: int
    quote_e8: int
    commission_e8: int
    commission_asset: str
    trade_id: int
    maker: bool


@dataclass
class Order:
    spec: SymbolSpec
    order_id: int
    client_id: str
    side: str  # "BUY" / "SELL"
    type: str  # "LIMIT", "LIMIT_MAKER", "MARKET"
    tif: str  # "GTC", "IOC", "FOK"
    price_px: int  # 0 for MARKET
    orig_lots: int
    orig_quote_e8: int  # quoteOrderQty of a MARKET order, else 0
    time_ms: int
    status: str = "NEW"
    exec_lots: int = 0
    cum_quote_e8: int = 0
    update_ms: int = 0
    working_ms: int = -1  # when it started working (accepted by the engine)
    resting: bool = False  # on the book, waiting for takers
    locked_asset: str = ""
    locked_e8: int = 0  # still locked for this order
    fills: list[Fill] = field(default_factory=list)

    @property
    def symbol(self) -> str:
        return self.spec.symbol

    @property
    def is_buy(self) -> bool:
        return self.side == "BUY"

    @property
    def open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def left_lots(self) -> int:
        return self.orig_lots - self.exec_lots

    def px_text(self, px: int) -> str:
        return format_e8(px * self.spec.tick_e8)

    def qty_text(self, lots: int) -> str:
        return format_e8(lots * self.spec.step_e8)

    def _core(self) -> dict:
        return {
            "price": self.px_text(self.price_px),
            "origQty": self.qty_text(self.orig_lots),
            "executedQty": self.qty_text(self.exec_lots),
        }

    def status_view(self) -> dict:
        """order.status / openOrders.status entry."""
        return {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_id,
            **self._core(),
            "cummulativeQuoteQty": format_e8(self.cum_quote_e8),
            "status": self.status,
            "timeInForce": self.tif,
            "type": self.type,
            "side": self.side,
            "stopPrice": ZERO,
            "icebergQty": ZERO,
            "time": self.time_ms,
            "updateTime": self.update_ms,
            "isWorking": self.type != "MARKET",
            "workingTime": self.working_ms,
            "origQuoteOrderQty": format_e8(self.orig_quote_e8),
            "selfTradePreventionMode": "NONE",
        }

    def place_view(self, resp_type: str, transact_ms: int) -> dict:
        """order.place result in the ``ACK``, ``RESULT`` or ``FULL`` format."""
        out = {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_id,
            "transactTime": transact_ms,
        }
        if resp_type == "ACK":
            return out
        out.update(self._core())
        out["origQuoteOrderQty"] = format_e8(self.orig_quote_e8)
        out["cummulativeQuoteQty"] = format_e8(self.cum_quote_e8)
        out["status"] = self.status
        out["timeInForce"] = self.tif
        out["type"] = self.type
        out["side"] = self.side
        out["workingTime"] = self.working_ms
        if resp_type == "FULL":
            out["fills"] = [
                {
                    "price": self.px_text(f.price_px),
                    "qty": self.qty_text(f.lots),
                    "commission": format_e8(f.commission_e8),
                    "commissionAsset": f.commission_asset,
                    "tradeId": f.trade_id,
                }
                for f in self.fills
            ]
        out["selfTradePreventionMode"] = "NONE"
        return out

    def cancel_view(self, orig_client_id: str, transact_ms: int) -> dict:
        return {
            "symbol": self.symbol,
            "origClientOrderId": orig_client_id,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_id,
            "transactTime": transact_ms,
            **self._core(),
            "origQuoteOrderQty": format_e8(self.orig_quote_e8),
            "cummulativeQuoteQty": format_e8(self.cum_quote_e8),
            "status": self.status,
            "timeInForce": self.tif,
            "type": self.type,
            "side": self.side,
            "selfTradePreventionMode": "NONE",
        }

    def report(self, exec_type: str, now_ms: int, exec_id: int, fill: Fill | None = None,
               orig_client_id: str = "") -> dict:
        """An ``executionReport`` event (user-data-stream.md "Order Update")."""
        ev = {
            "e": "executionReport",
            "E": now_ms,
            "s": self.symbol,
            "c": self.client_id,
            "S": self.side,
            "o": self.type,
            "f": self.tif,
            "q": self.qty_text(self.orig_lots),
            "p": self.px_text(self.price_px),
            "P": ZERO,
            "F": ZERO,
            "g": -1,
            "C": orig_client_id,
            "x": exec_type,
            "X": self.status,
            "r": "NONE",
            "i": self.order_id,
            "l": self.qty_text(fill.lots) if fill else ZERO,
            "z": self.qty_text(self.exec_lots),
            "L": self.px_text(fill.price_px) if fill else ZERO,
            "n": format_e8(fill.commission_e8) if fill else "0",
            "N": fill.commission_asset if fill else None,
            "T": now_ms,
            "t": fill.trade_id if fill else -1,
            "I": exec_id,
            "w": self.resting,
            "m": fill.maker if fill else False,
            "M": False,
            "O": self.time_ms,
            "Z": format_e8(self.cum_quote_e8),
            "Y": format_e8(fill.quote_e8) if fill else ZERO,
            "Q": format_e8(self.orig_quote_e8),
        }
        if self.working_ms >= 0:
            ev["W"] = self.working_ms
        ev["V"] = "NONE"
        return ev
