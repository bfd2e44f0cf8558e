"""A test strategy that trades all the time: an IOC at the far side of the spread every
``every_ms``, buying while its position (with what is open) is at or below zero and selling
above, 0.0005 BTC. It prints its position (``position <symbol id> <e8>``) to its log at start
and after every fill, for the restart tests."""

from hftshm.layouts import order as O
from hftshm.trading.strategy import Strategy

QTY = 50_000


class Churn(Strategy):
    def on_start(self):
        self.next_ns = 0
        self.every = int(self.params.get("every_ms", 250)) * 1_000_000
        print(f"position 0 {int(self.position[0])}", flush=True)

    def on_quote(self, r):
        s, now = int(r["symbol_id"]), int(r["recv_ns"])
        bid, ask = int(r["price_e8"]), int(r["price2_e8"])
        if now < self.next_ns or bid <= 0 or ask < bid:
            return
        self.next_ns = now + self.every
        if int(self.position[s]) + int(self.open_e8[s]) <= 0:
            self.buy(s, QTY, ask, O.LIMIT, O.IOC)
        else:
            self.sell(s, QTY, bid, O.LIMIT, O.IOC)

    def on_fill(self, r):
        if int(r["exec_type"]) == 2 or int(r["last_qty_e8"]):
            s = int(r["symbol_id"])
            print(f"position {s} {int(self.position[s])}", flush=True)
