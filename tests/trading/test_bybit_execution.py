"""The execution worker on Bybit linear, in-process simulator (``TradingInstance`` with
``sim_venue = "bybit_linear"``): the momentum strategy's orders go over the trade API, reports
come on the private stream, and when the venue places orders but answers nothing for them (the
simulator's ``drop_answers`` fault: neither the order.create answer nor the private events) the
worker asks over REST after ``timeout_ms`` and never resends: every order reached the venue once,
the dropped ones end RESOLVED, and the risk state's position equals the simulator's ledger.

Forbidden outcomes: an order at the venue twice (a resend), a dropped order left open or never
resolved, a fill lost or counted twice (position != the venue's)."""

from hftshm.launch.trading_instance import TradingInstance as Harness
from hftshm.layouts import exec_report as F
from hftshm.risk import killswitch
from hftshm.risk import reasons as R
from hftshm.risk.state import RiskState
from hftshm.venues import clientid
from hftshm.trading.area import TradingArea

from ._checks import reports, wait_for

DROPPED = 2


def test_unanswered_bybit_orders_are_asked_over_rest_never_resent(instance):
    strategies = [{"name": "mom", "kind": "momentum", "symbols": ["btcusdt"], "short": 5, "long": 20,
                   "qty": "0.001", "slip_bps": 5.0, "cooldown_ms": 300}]
    h = Harness(instance, strategies, symbols=("btcusdt",), sim_rate=400, sim_venue="bybit_linear",
                streams=("publicTrade", "orderbook.50", "tickers"),
                risk={"max_position": 0.01, "max_feed_age_s": 60.0}, execution={"timeout_ms": 1000})
    try:
        h.start()
        h.wait_running(list(h.roles), timeout=300)
        wait_for(lambda: h.counters("execution")["fills"] >= 1, 120, "a first fill over the Bybit trade API")
        bybit = h.sim.sim.bybit.venue
        h.sim.call(lambda: setattr(bybit, "drop_answers", DROPPED))
        wait_for(lambda: h.sim.call(lambda: len(bybit.dropped)) == DROPPED, 120, "orders placed without answers")
        killswitch.trip(h.control, R.MANUAL)  # no new orders: what is open ends (IOC), the position settles
        wait_for(lambda: h.counters("execution")["timeouts"] >= DROPPED and h.counters("execution")["open"] == 0,
                 60, "the dropped orders asked about over REST and ended")
        c = h.counters("execution")
        assert c["reconnects"] == 0, c
        prefix = clientid.tag(TradingArea(h.control.risk_buffer()).run_tag)

        def venue_view():
            mine = {o.link_id: o.cum_e8 for o in bybit.orders.values() if o.link_id.startswith(prefix + "-")}
            return mine, list(bybit.dropped_links), bybit.ledger.position("BTCUSDT").qty_e8

        mine, dropped, venue_pos = h.sim.call(venue_view)
        assert len(mine) == c["sent"], (len(mine), c)  # every order at the venue once: none resent
        reps = reports(instance)
        for link in dropped:
            oid = clientid.parse(prefix, link)
            r = reps[reps["order_id"] == oid]
            assert set(r["state"].tolist()) & set(F.TERMINAL_STATES), f"dropped order {link} never ended"
            filled = int(r[r["exec_type"] == F.EX_TRADE]["last_qty_e8"].sum())
            assert filled == mine[link], (link, filled, mine[link])  # its fills recovered from the query, once
        pos = int(RiskState.attach(h.control.risk_buffer()).symbols[0]["position_e8"])
        assert pos == venue_pos, (pos, venue_pos)
    finally:
        h.stop()
