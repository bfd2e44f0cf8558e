"""Queue-position models of a resting limit order: how much quantity is ahead of it at its price.

An order joins the back of its level: ``ahead`` starts at the level's displayed quantity. Then:

* a trade at the order's price (aggressor on the other side) takes quantity from the front:
  ``ahead -= qty``; what goes past zero fills the order (the same in both models);
* the level's displayed quantity falls by more than the trades just counted: someone cancelled.
  Where in the queue? The models differ:

  - ``conservative``: every cancel is behind the order; ``ahead`` only shrinks to stay within the
    level (``ahead = min(ahead, new level qty)``). This is the "risk-averse" queue model of
    hftbacktest (docs, "Queue Models"): it advances only on trades.
  - ``probabilistic``: a share ``p`` of the decrease is behind the order and ``1 - p`` ahead, with
    ``p = f(back) / (f(back) + f(front))``, ``f(x) = x ** power``, ``front = ahead``,
    ``back = level - ahead``: the longer the queue behind, the likelier a cancel comes from there.
    This is hftbacktest's ``ProbQueueModel`` with its ``PowerProbQueueFunc``, itself after Erik
    Rigtorp's "Estimating order queue position" (2013). ``power = 0`` makes it an even split.

* the level grows: new orders join behind: ``ahead`` is unchanged.

Quantities are 1e-8 integers; the probabilistic step is computed in float64 and rounded down
(towards the front), so it never places the order further back than the arithmetic says.
"""

from __future__ import annotations

import math

CONSERVATIVE = "conservative"
PROBABILISTIC = "probabilistic"


def on_trade(ahead: int, qty: int) -> tuple[int, int]:
    """A trade of ``qty`` at the order's price: (new ahead, quantity that reached the order)."""
    ahead -= qty
    if ahead < 0:
        return 0, -ahead
    return ahead, 0


class QueueModel:
    def __init__(self, name: str, power: float = 2.0):
        if name not in (CONSERVATIVE, PROBABILISTIC):
            raise ValueError(f"queue model must be {CONSERVATIVE!r} or {PROBABILISTIC!r}, got {name!r}")
        self.name = name
        self.power = float(power)

    def on_level(self, ahead: int, prev_qty: int, new_qty: int, traded: int) -> int:
        """The level at the order's price went from ``prev_qty`` to ``new_qty``; ``traded`` of it
        was trades already applied with ``on_trade``. Returns the new ``ahead``."""
        if new_qty <= 0:
            return 0
        cancelled = prev_qty - new_qty - traded
        if cancelled <= 0 or self.name == CONSERVATIVE:
            return min(ahead, new_qty)
        front = float(ahead)
        back = float(max(prev_qty - traded - ahead, 0))
        fb, ff = self.prob_weights(front, back)
        p_back = fb / (fb + ff) if fb + ff > 0 else 0.5
        est = front - (1.0 - p_back) * cancelled
        # more cancelled than there was behind: the rest came from ahead
        est += min(back - p_back * cancelled, 0.0)
        return max(0, min(int(math.floor(est)), new_qty))

    def prob_weights(self, front: float, back: float) -> tuple[float, float]:
        """(f(back), f(front)) with f(x) = x ** power."""
        return back ** self.power, front ** self.power
