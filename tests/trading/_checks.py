"""Reading back what a trading run did: every report on the fills ring, the venue's own record."""

import time

import numpy as np

from hftshm.layouts import exec_report as F
from hftshm.ring import BroadcastRing
from hftshm.venues import clientid
from hftshm.trading.area import TradingArea


def reports(instance) -> np.ndarray:
    ring = BroadcastRing.attach(instance, "fills", F.LAYOUT)
    try:
        r = ring.reader(None, start="oldest")
        out = r.read_batch(1 << 20, copy=True)
        r.close()
        return out
    finally:
        ring.close()


def venue_orders(h) -> list[tuple[int, object]]:
    """(our order id, venue order) for every order the simulator received, cancels' new ids undone."""
    prefix = clientid.tag(TradingArea(h.control.risk_buffer()).run_tag)

    def grab():
        eng = h.sim.sim.venue.engine
        by_order = {}
        for (sym, cid), o in eng._last_cid.items():
            oid = clientid.parse(prefix, cid)
            if cid.startswith(prefix + "-"):
                by_order.setdefault(id(o), (oid, o.status, o.order_id))
        return list(by_order.values()), [o.order_id for o in eng._orders.values()], list(eng.executions)

    return h.sim.call(grab)


def wait_for(cond, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def intents(instance) -> np.ndarray:
    """Every order record still in the orders ring (strategies' intents), oldest first."""
    from hftshm.layouts import order as O
    from hftshm.ring import ManyToOneRing

    ring = ManyToOneRing.attach(instance, "orders", O.LAYOUT)
    try:
        r = ring.reader(None, start="oldest")
        out = r.read_batch(1 << 20, copy=True)
        r.close()
        return out
    finally:
        ring.close()
