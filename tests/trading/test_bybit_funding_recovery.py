"""Bybit funding settled while execution cannot hear it, on the in-process simulator
(``TradingInstance`` with ``sim_venue = "bybit_linear"``, funding every second on a position
the hold strategy keeps): the private stream cut by the simulator (``cut_private``: closed and
refused) while funding times pass, then served again; and execution killed (``kill -9``) while
funding times pass, then started again. Each time the payments the stream never brought are
asked for over ``GET /v5/execution/list`` and applied, so the risk state's funding equals the
simulator's booked funding.

Forbidden outcomes: a payment lost (our funding short of the simulator's), a payment applied
twice (our funding or execution's ``funding`` count past it), funding applied while the
stream was cut (then nothing was recovered and this test would prove nothing)."""

import dataclasses
import signal
from pathlib import Path

from hftshm.launch.trading_instance import TradingInstance as Harness
from hftshm.risk.state import RiskState
from hftshm.trading.area import TradingArea
from hftshm.trading.funding_record import FundingRecord

from ._checks import wait_for

HERE = Path(__file__).parent
E8 = 100_000_000
FUNDING_S = 1.0  # the simulator's funding interval here
MISSED = 2  # funding times to let pass while execution cannot hear them


def test_funding_missed_by_the_private_stream_or_a_restart_is_recovered_payment_for_payment(instance):
    strategies = [{"name": "hold", "kind": "file", "path": str(HERE / "hold_strategy.py"), "class": "Hold",
                   "symbols": ["btcusdt"], "every_ms": 250}]
    h = Harness(instance, strategies, symbols=("btcusdt",), sim_rate=400, sim_venue="bybit_linear",
                streams=("publicTrade", "orderbook.50", "tickers"),
                risk={"max_position": 0.01, "max_feed_age_s": 60.0})
    h.sim_cfg = dataclasses.replace(h.sim_cfg, funding_interval_s=FUNDING_S)
    try:
        h.start()
        h.wait_running(list(h.roles), timeout=300)
        server = h.sim.sim.bybit
        venue = server.venue
        risk = RiskState.attach(h.control.risk_buffer())
        record = FundingRecord(TradingArea(h.control.risk_buffer()))

        def booked() -> list[tuple[int, int]]:
            """(funding time ms, amount e8 received) of every payment the simulator booked."""
            return h.sim.call(lambda: [(r.time_ms, r.amount_e8) for r in venue.ledger.funding_record])

        def ours() -> int:
            return round(float(risk.symbols[0]["funding"]) * E8)

        def matched() -> bool:
            """Ours equals the simulator's (two equal reads of it around ours: no funding time
            between), each payment counted once (execution's counters go on across its restart)
            and the last one's time in the trading area's funding record."""
            first = booked()
            mine, applied = ours(), h.counters("execution")["funding"]
            return first == booked() and len(first) > 0 and mine == sum(a for _, a in first) and \
                applied == len(first) and int(record.last[0]) == first[-1][0]

        wait_for(lambda: int(risk.symbols[0]["position_e8"]) > 0 and len(booked()) >= 1, 120,
                 "a long position and a first funding payment")
        wait_for(matched, 60, "the first payments applied from the private stream")

        # the private stream cut while funding times pass: nothing comes on it
        h.sim.call(lambda: server.cut_private(True))
        before, applied = ours(), h.counters("execution")["funding"]
        n = len(booked())
        wait_for(lambda: len(booked()) >= n + MISSED, 60, "funding times passing while the stream is cut")
        assert ours() == before and h.counters("execution")["funding"] == applied, "funding came while cut"
        h.sim.call(lambda: server.cut_private(False))
        wait_for(matched, 60, "the missed payments recovered after the reconnect")
        assert h.counters("execution")["reconnects"] >= 1
        assert "funding query" in h.log("execution")

        # execution killed while funding times pass, then started again
        h.kill("execution", signal.SIGKILL)
        n = len(booked())
        wait_for(lambda: len(booked()) >= n + MISSED, 60, "funding times passing while execution is down")
        h.spawn("execution")
        h.wait_running(["execution"], timeout=120)
        wait_for(matched, 60, "the payments made while execution was down recovered")
        assert int(risk.symbols[0]["position_e8"]) > 0  # (funding was paid on the same position all along)
    finally:
        h.stop()
