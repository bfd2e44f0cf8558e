"""The state of one live order, shared by every venue's order protocol and the order router.

``LiveOrder`` is what a protocol keeps per order sent (ids, quantities, the venue's word on it,
the deadline of its outstanding question); ``report`` makes the ``layouts.exec_report`` record a
protocol hands back for each change. Venue-specific parts (frames, codes) stay in the venue's
folder (``binance_spot/protocol.py``, ``binance_usdm/protocol.py``).
"""

from __future__ import annotations

from operator import itemgetter

import numpy as np

from ..layouts import exec_report as F
from ..layouts.md import E8
from ..layouts import order as O


_REC_FIELDS = itemgetter(*(O.DTYPE.names.index(n) for n in ("order_id", "symbol_id", "strategy_id", "side", "type",
                                                              "tif", "qty_e8", "price_e8", "trigger_recv_ns",
                                                              "flags")))


class LiveOrder:
    __slots__ = ("order_id", "symbol_id", "strategy_id", "side", "type", "tif", "qty_e8", "price_e8",
                 "trigger_recv_ns", "sent_ns", "ack_ns", "cid", "state", "filled_e8", "final", "venue_cum",
                 "venue_order_id", "deadline_ns", "cancel_pending", "slot", "done", "retries", "applied_e8", "flags",
                 "known", "final_ns")

    def __init__(self, rec=None):
        self.order_id = self.symbol_id = self.strategy_id = self.side = self.type = self.tif = 0
        self.qty_e8 = self.price_e8 = self.trigger_recv_ns = self.sent_ns = self.ack_ns = self.flags = 0
        if rec is not None:
            # one item() (a tuple of Python ints) instead of nine numpy field reads: ~1 us, not ~3
            (self.order_id, self.symbol_id, self.strategy_id, self.side, self.type, self.tif, self.qty_e8,
             self.price_e8, self.trigger_recv_ns, self.flags) = _REC_FIELDS(rec.item())
        self.cid = ""
        self.state = F.ST_NEW
        self.filled_e8 = 0
        self.final = 0  # the venue's final state, once it said so
        self.final_ns = 0  # the venue time of the answer that said so, where it had one
        self.venue_cum = 0  # executed quantity the venue reported
        self.venue_order_id = 0
        self.deadline_ns = 0  # an answer is due by then (0: none outstanding)
        self.cancel_pending = False
        self.slot = -1
        self.done = False
        self.retries = 0
        self.applied_e8 = 0  # filled quantity already applied to the risk state (execution's router)
        # an earlier run's order being recovered (``Protocol.recover``): venue trade id -> quantity
        # of its fills counted so far; its trades are then matched by id, not by cumulative quantity
        self.known = None


def report(o: LiveOrder, exec_type: int, state: int, reason: int = 0, venue_code: int = 0, px: int = 0,
           qty: int = 0, fee: int = 0, venue_ns: int = 0, recv_ns: int = 0, trade_id: int = 0) -> np.ndarray:
    return F.record(o.order_id, o.venue_order_id, o.symbol_id, o.strategy_id, o.side, exec_type, state,
                    reason=reason, venue_code=venue_code, last_px_e8=px, last_qty_e8=qty, cum_qty_e8=o.filled_e8,
                    price_e8=o.price_e8, fee_e8=fee, venue_ns=venue_ns, recv_ns=recv_ns, sent_ns=o.sent_ns,
                    trigger_recv_ns=o.trigger_recv_ns, trade_id=trade_id)


class AverageRecovery:
    """For a protocol (mixed in before ``binance_spot.Protocol``) whose status answer gives an
    order's cumulative quantity and average price but not its trades (USD-M, Bybit): tracks the
    notional each order's fills applied (``quote``), so a fill the status shows and no event
    brought gets the price that makes the order's average the venue's."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.quote: dict[int, int] = {}  # order id -> notional applied (e8 quote)

    def _recovered(self, o: LiveOrder, cum: int, avg_e8: int, now_ns: int, venue_ns: int):
        """The missing quantity ``cum - filled`` as one fill, commission unknown (0). An earlier
        run's order (``o.known``) has fills this process never priced: the average stands."""
        missing = cum - o.filled_e8
        px = avg_e8
        if o.known is None:
            px = (avg_e8 * cum // E8 - self.quote.get(o.order_id, 0)) * E8 // missing
            if px <= 0:
                px = avg_e8  # rounding on a tiny remainder: the average is the best estimate
        return self._fill(o, missing, px, 0, venue_ns, now_ns, 0)

    def _fill(self, o: LiveOrder, qty: int, px: int, fee: int, venue_ns: int, now_ns: int, trade_id: int):
        self.quote[o.order_id] = self.quote.get(o.order_id, 0) + qty * px // E8
        return super()._fill(o, qty, px, fee, venue_ns, now_ns, trade_id)

    def _maybe_done(self, o: LiveOrder, now_ns: int) -> list:
        out = super()._maybe_done(o, now_ns)
        if o.done:
            self.quote.pop(o.order_id, None)
        return out
