"""A test strategy that takes a position and keeps it: an IOC buy at the ask (0.001) every
``every_ms`` until it is long with nothing open, then nothing more, so funding is paid on a
position that stays."""

from hftshm.layouts import order as O
from hftshm.trading.strategy import Strategy

QTY = 100_000


class Hold(Strategy):
    def on_start(self):
        self.next_ns = 0
        self.every = int(self.params.get("every_ms", 250)) * 1_000_000

    def on_quote(self, r):
        s, now = int(r["symbol_id"]), int(r["recv_ns"])
        bid, ask = int(r["price_e8"]), int(r["price2_e8"])
        if now < self.next_ns or bid <= 0 or ask < bid or int(self.position[s]) + int(self.open_e8[s]) > 0:
            return
        self.next_ns = now + self.every
        self.buy(s, QTY, ask, O.LIMIT, O.IOC)
