"""A risk state with its limits, and shorthands for the calls the risk tests make."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from hftshm.layouts import order as O
from hftshm.risk import fills, marks, orders
from hftshm.risk import reasons as R
from hftshm.risk.checks import check_order
from hftshm.risk.limits import Limits
from hftshm.risk.state import RiskState

E8 = 100_000_000
NOW = 1_700_000_000 * 10**9
SECOND = 10**9

DEFAULTS = dict(n_symbols=4, max_order_qty=2, max_order_notional=100_000, max_position=5,
                max_gross_exposure=1_000_000, price_band_bps=100, max_orders_per_s=3, max_orders_per_s_total=5)


def e8(x) -> int:
    """Exact 1e-8 fixed point of a decimal written as int, str or float literal."""
    return int(Decimal(str(x)) * E8)


def order(side=O.BUY, qty=1, price=50_000, symbol=0, type=O.LIMIT, action=O.NEW, cancel_id=0, order_id=1):
    """One order record in a 1-record array; qty and price in natural units."""
    rec = np.zeros(1, O.DTYPE)
    rec["order_id"] = order_id
    rec["cancel_id"] = cancel_id
    rec["symbol_id"] = symbol
    rec["side"] = side
    rec["type"] = type
    rec["tif"] = O.GTC
    rec["action"] = action
    rec["qty_e8"] = e8(qty)
    rec["price_e8"] = e8(price)
    return rec


class Desk:
    def __init__(self, **limits):
        self.limits = Limits(**{**DEFAULTS, **limits})
        self.state = RiskState(self.limits.n_symbols)
        self.sym_limits, self.acct_limits = self.limits.arrays()
        self.trading_state = R.TS_ACTIVE

    @property
    def symbols(self):
        return self.state.symbols

    @property
    def account(self):
        return self.state.account

    def check(self, rec, now=NOW, trading_state=None) -> int:
        ts = self.trading_state if trading_state is None else trading_state
        return int(check_order(rec[0], self.symbols, self.account, self.sym_limits, self.acct_limits, ts, now))

    def name(self, rec, **kw) -> str:
        return R.name(self.check(rec, **kw))

    def accept(self, rec, now=NOW) -> int:
        return int(orders.on_accepted(rec[0], self.symbols, self.account, now))

    def mid(self, symbol, px, now=NOW) -> int:
        return int(marks.on_mid(self.symbols, self.account, symbol, e8(px), now))

    def fill(self, symbol, side, px, qty, fee=0, now=NOW) -> int:
        return int(fills.on_fill(self.symbols, self.account, symbol, side, e8(px), e8(qty), e8(fee), now))

    def sent(self, symbol, side, qty) -> int:
        return int(orders.on_sent(self.symbols, self.account, symbol, side, e8(qty)))

    def done(self, symbol, side, qty) -> int:
        return int(orders.on_done(self.symbols, self.account, symbol, side, e8(qty)))

    def sym(self, symbol):
        return self.symbols[symbol]

    def gross(self) -> int:
        return int(self.account[0]["worst_gross_e8"])
