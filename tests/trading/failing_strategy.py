"""A test strategy whose code fails: it raises on its ``fail_after``-th quote."""

from hftshm.trading.strategy import Strategy


class FailsLater(Strategy):
    def on_start(self):
        self.quotes = 0

    def on_quote(self, r):
        self.quotes += 1
        if self.quotes >= int(self.params.get("fail_after", 200)):
            raise RuntimeError("the strategy's own bug")
