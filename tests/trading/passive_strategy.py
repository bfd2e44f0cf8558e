"""A test strategy: a small GTC buy 0.5% under the bid every ``every_ms``; it rests, so orders stay open.
It prints its position (``position <symbol id> <e8>``) at start and after every fill, as churn does."""

from hftshm.layouts import order as O
from hftshm.trading.strategy import Strategy


class Passive(Strategy):
    def on_start(self):
        self.next_ns = 0
        self.every = int(self.params.get("every_ms", 300)) * 1_000_000
        print(f"position 0 {int(self.position[0])}", flush=True)

    def on_quote(self, r):
        now = int(r["recv_ns"])
        if now < self.next_ns or r["price_e8"] <= 0:
            return
        self.next_ns = now + self.every
        px = int(r["price_e8"]) * 995 // 1000 // 1_000_000 * 1_000_000  # on the 0.01 tick
        self.buy(int(r["symbol_id"]), 10_000, px, O.LIMIT, O.GTC)  # 0.0001 BTC

    def on_fill(self, r):
        if int(r["exec_type"]) == 2:
            s = int(r["symbol_id"])
            print(f"position {s} {int(self.position[s])}", flush=True)
