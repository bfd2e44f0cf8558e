"""Fixed test strategies (kind = "file"): their orders depend on market data only, never on fills,
so runs at different latencies send the same orders."""

from hftshm.layouts import order as O
from hftshm.trading.strategy import Strategy

TICK = 1_000_000  # 0.01


class EveryNthTrade(Strategy):
    """On every ``every``-th trade: an IOC ``slip_bps`` through the trade price, sides alternating
    (buy first); records what it saw: (local time seen, recv_ns) per trigger, fill times."""

    def on_start(self):
        self.n = 0
        self.every = int(self.params.get("every", 50))
        self.slip = float(self.params.get("slip_bps", 50))
        self.qty = int(self.params.get("qty_e8", 100_000))
        self.tif = O.GTC if self.params.get("gtc") else O.IOC
        self.sides = 0
        self.seen_fills = []  # (clock at on_fill, record)

    def on_trade(self, r):
        self.n += 1
        if self.n % self.every:
            return
        px = int(r["price_e8"])
        buy = self.sides % 2 == 0
        self.sides += 1
        if buy:
            price = (px + int(px * self.slip / 1e4)) // TICK * TICK
            self.buy(int(r["symbol_id"]), self.qty, price, O.LIMIT, self.tif)
        else:
            price = -(-(px - int(px * self.slip / 1e4)) // TICK) * TICK
            self.sell(int(r["symbol_id"]), self.qty, price, O.LIMIT, self.tif)

    def on_fill(self, r):
        self.seen_fills.append((self._engine.clock(), r.copy()))


class RestingBid(Strategy):
    """One GTC buy ``ticks`` below the bid of the ``at``-th quote, then nothing."""

    def on_start(self):
        self.n = 0
        self.at = int(self.params.get("at", 1))
        self.ticks = int(self.params.get("ticks", 0))
        self.kind = O.LIMIT_MAKER if self.params.get("maker") else O.LIMIT

    def on_quote(self, r):
        self.n += 1
        if self.n == self.at:
            self.buy(int(r["symbol_id"]), int(self.params.get("qty_e8", 100_000)),
                     int(r["price_e8"]) - self.ticks * TICK, self.kind, O.GTC)


class Timed(Strategy):
    """Every 0.5 s of the local clock: one IOC buy through the last ask it saw."""

    timer_s = 0.5

    def on_start(self):
        self.ask = 0
        self.ticks = []  # (now given to on_timer, clock when it ran)

    def on_quote(self, r):
        self.ask = int(r["price2_e8"])

    def on_timer(self, now_ns):
        self.ticks.append((now_ns, self._engine.clock()))
        if self.ask:
            self.buy(0, 100_000, self.ask + 10 * TICK, O.LIMIT, O.IOC)


class FirstTradeLog(Strategy):
    """On the first trade: one IOC buy ``ticks`` through its price. Logs its own timeline:
    ("md", seq, clock) per quote or trade, ("fill", exec_type, clock) per report."""

    def on_start(self):
        self.done = False
        self.log = []

    def on_quote(self, r):
        self.log.append(("md", int(r["seq"]), self._engine.clock()))

    def on_trade(self, r):
        self.log.append(("md", int(r["seq"]), self._engine.clock()))
        if not self.done:
            self.done = True
            self.buy(int(r["symbol_id"]), 100_000, int(r["price_e8"]) + int(self.params.get("ticks", 10)) * TICK,
                     O.LIMIT, O.IOC)

    def on_fill(self, r):
        self.log.append(("fill", int(r["exec_type"]), self._engine.clock()))


class BuyFirstAsk(Strategy):
    """On the first quote of each symbol it trades: one IOC buy of ``qty_e8`` at that ask (a
    cross-venue strategy's legs: each names its own venue's book); records what it saw."""

    def on_start(self):
        self.done = set()
        self.seen = []  # (symbol name, local clock, recv_ns) per quote
        self.sent = {}  # symbol name -> the ask bought at
        self.seen_fills = []

    def on_quote(self, r):
        s = int(r["symbol_id"])
        self.seen.append((self.symbols[s], self._engine.clock(), int(r["recv_ns"])))
        if s in self.done:
            return
        self.done.add(s)
        self.sent[self.symbols[s]] = int(r["price2_e8"])
        self.buy(s, int(self.params.get("qty_e8", 100_000)), int(r["price2_e8"]), O.LIMIT, O.IOC)

    def on_fill(self, r):
        self.seen_fills.append(r.copy())


class PlaceThenCancel(Strategy):
    """On the first quote: one GTC buy ``ticks`` below the bid, and its cancel at once."""

    def on_start(self):
        self.done = False

    def on_quote(self, r):
        if not self.done:
            self.done = True
            oid = self.buy(int(r["symbol_id"]), 100_000, int(r["price_e8"]) - int(self.params.get("ticks", 5)) * TICK,
                           O.LIMIT, O.GTC)
            self.cancel(oid)
