"""End to end: ``hftshm start`` with the shipped Bybit example config (docs/examples/bybit-sim.toml)
on the simulator speaking Bybit v5 linear. Execution authenticates the trade API (/v5/trade) and
the private stream (/v5/private), reconciles over REST, and the momentum strategy trades; then
trading is halted and, once nothing is open, the position ``hftshm status`` shows equals the
simulator's own ledger (asked over its signed ``GET /v5/position/list``), and the funding in the
risk state equals what the simulator booked (a compressed funding interval; its Funding
executions, asked over ``GET /v5/execution/list``), applied one by one from the private stream.
After the stop: exit 0, nothing left in /dev/shm, every fill journaled, and the final position
equals the journaled fills. Every wait is for the condition checked, with a deadline (no fixed
sleeps)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from hftshm.journal import files
from hftshm.layouts import exec_report as F
from hftshm.layouts import order as O
from hftshm.runtime.control import ControlBlock
from hftshm.trading.area import TradingArea
from hftshm.trading.snapshot import figures
from tests.runtime.helpers import cli_ok, example_config, leftovers, status_json, stop, supervisor, wait_running
from tests.support import bybit_get, bybit_positions

START_S = 600  # a first run compiles every kernel (minutes on a loaded machine); an exit fails at once
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "bybit-sim.toml"
E8 = 100_000_000
FILLS = 3  # fills to see before the halt
LIVE = ("new", "acked", "partial")  # orders_by_state names of orders not ended
FUNDING_S = 3.0  # the simulator's funding interval here (the example's is 60 s)


def _sim_funding(port: int) -> list[int]:
    """The funding the simulator booked, oldest first, as amounts received (1e-8; Bybit's execFee
    is the fee paid), from its Funding executions over the signed "Get Trade History" call."""
    listed = bybit_get(port, "/v5/execution/list", "category=linear&execType=Funding&limit=100")
    assert len(listed) < 100, "more funding executions than one page: shorten the run"
    out = []
    for e in reversed(listed):
        fee = e["execFee"]
        out.append(round(float(fee[1:]) * E8) if fee.startswith("-") else -round(float(fee) * E8))
    return out


def _our_funding(name: str) -> tuple[int, int]:
    """(the risk state's funding, 1e-8; execution's ``funding`` counter), read from shared memory."""
    ctl = ControlBlock.attach(name)
    try:
        pnl = figures(ctl)["pnl"]
        return round(pnl.get("funding", 0.0) * E8), ctl.counter_values(ctl.find_worker("execution"))["funding"]
    finally:
        ctl.close()


def _live_slots(name: str) -> int:
    """Trading-area slots still held (an order that ended must free its slot: 256 in all)."""
    ctl = ControlBlock.attach(name)
    try:
        return len(TradingArea(ctl.risk_buffer()).live())
    finally:
        ctl.close()


def test_bybit_example_trades_on_the_simulator_and_positions_match_the_venue(tmp_path, instance):
    cfg = example_config(tmp_path, instance, EXAMPLE, ((r"(?m)^funding_interval_s = [0-9.]+", f"funding_interval_s = {FUNDING_S}"),))
    run = tmp_path / "runs" / instance
    with supervisor("start", "--headless", "--summary", tmp_path / "s.json", "--config", cfg) as sup:
        started = time.monotonic() + START_S
        while True:
            try:
                wait_running(instance, timeout=5)
                break
            except AssertionError:
                assert sup.poll() is None, f"hftshm start exited with {sup.returncode}: {sup.communicate()[0]}"
                assert time.monotonic() < started, f"the workers did not start within {START_S} s"
        port = int((run / "exchange.port").read_text())
        deadline = time.monotonic() + 150
        while True:  # the strategy trades through the Bybit protocol, and funding is paid on its position
            snap = status_json(instance)
            ex = {w["name"]: w for w in snap["workers"]}["execution"]["counters"]
            if ex.get("fills", 0) >= FILLS and _sim_funding(port):
                break
            assert sup.poll() is None, sup.communicate()[0]
            assert time.monotonic() < deadline, (f"after 150 s: execution {ex}, trading {snap['trading']}, "
                                                 f"the simulator's funding {_sim_funding(port)}")
            time.sleep(0.5)

        cli_ok("halt", "--instance", instance)  # no new orders: the position settles
        deadline = time.monotonic() + 60
        while True:  # nothing open here, and our position is the venue's
            snap = status_json(instance)
            t = snap["trading"]
            ours = {s: round(q * E8) for s, q in t["positions"].items()}
            venue = bybit_positions(port)
            live = sum(n for s, n in t["orders_by_state"].items() if s in LIVE)
            same = ours == {s: venue.get(s, 0) for s in ours} and set(venue) <= set(ours)
            if same and not live and not _live_slots(instance):
                break
            assert time.monotonic() < deadline, (f"after the halt: ours {ours}, the venue's {venue}, open {live}, "
                                                 f"trading-area slots live {_live_slots(instance)}")
            time.sleep(0.5)
        matched_ns = time.time_ns()  # nothing open, halted: no fill comes until the resume
        ex = {w["name"]: w for w in snap["workers"]}["execution"]["counters"]
        # funding goes on while a position is open: ours is compared between two equal reads of the
        # simulator's, so no funding time falls between them
        deadline = time.monotonic() + 60
        while True:  # and hftshm status shows it, read between the same two
            booked = _sim_funding(port)
            ours, applied = _our_funding(instance)
            shown = status_json(instance)["trading"]
            if booked == _sim_funding(port) and ours == sum(booked) == round(shown["pnl"]["funding"] * E8) \
                    and applied == len(booked):
                break
            assert time.monotonic() < deadline, f"funding: ours {ours} in {applied} payments, the simulator's {booked}"
            time.sleep(0.2)
        cli_ok("resume", "--instance", instance)  # (a run that ends halted exits 3: trading was stopped)
        output = stop(sup)
    assert sup.returncode == 0, output
    assert leftovers(instance) == []

    # the Bybit session: one connection set, every sent order acknowledged (by its answer or its query)
    assert ex["reconnects"] == 0, ex  # (a late answer is asked about: timeouts may happen on a loaded machine)
    # every payment booked is nonzero and hftshm status shows their sum; the sum itself may be 0
    # (one payment long and one as large short cancel, as happened once)
    assert booked and all(booked) and round(shown["pnl"]["funding"] * E8) == sum(booked), (booked, shown)
    assert round(sum(f["funding"] for f in shown["futures"].values()) * E8) == sum(booked), shown
    assert ex["acked"] == ex["sent"] >= FILLS and ex["venue_rejects"] == 0, ex
    log = (run / "logs" / "execution.log").read_text()
    assert "reconciled with the venue" in log  # the open orders, asked over REST before trading
    rules = json.loads((run / "instruments.json").read_text())  # fetched at start from Bybit's endpoint
    assert "/v5/market/instruments-info" in json.dumps(rules)

    # every fill journaled; the final position (the summary) is their sum (after the resume the
    # strategy may trade again: the venue's position was compared at the halt, above)
    summary = json.loads((tmp_path / "s.json").read_text())
    _, fills = files.load_ring(run / "journal" / "fills")
    trades = fills[fills["exec_type"] == F.EX_TRADE]
    assert len(trades) == summary["trading"]["fills"] >= FILLS
    assert (trades["last_px_e8"] > 0).all() and (trades["last_qty_e8"] > 0).all()
    # Bybit's execId (a UUID) kept as its low 63 bits; 0 only for a fill recovered from an order
    # query (an answer late on a loaded machine); no execution counted twice
    ids = trades["trade_id"][trades["trade_id"] != 0]
    assert len(ids) >= 1 and len(np.unique(ids)) == len(ids)
    signed = np.where(trades["side"] == O.BUY, trades["last_qty_e8"], -trades["last_qty_e8"])
    final = summary["trading"]["positions"]
    assert round(sum(final.values()) * E8) == int(signed.sum())
    halted = trades[trades["recv_ns"] <= matched_ns]
    at_halt = np.where(halted["side"] == O.BUY, halted["last_qty_e8"], -halted["last_qty_e8"]).sum()
    assert int(at_halt) == sum(venue.values())  # the journal up to the halt holds what the venue had
