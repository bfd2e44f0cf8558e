"""End to end: ``hftshm start`` with the shipped two-venue examples: Binance Spot and Binance
USD-M (docs/examples/two-venues.toml), and Binance USD-M and Bybit linear
(docs/examples/binance-bybit.toml), each venue on its own simulator and in its own venue instance,
and the built-in cross-venue strategy trading both. Once it has filled on both venues, trading is
halted and each venue's position, as ``hftshm status`` shows it, equals that simulator's own
record (asked over the venue's signed API: USD-M's ``account.position``, the sum of Spot's
``myTrades``, Bybit's ``/v5/position/list``). The stop is clean (exit 0, nothing left in /dev/shm) and
each venue's journaled fills sum to its final position. A second run shows ``[risk_total]``: a
gross exposure cap across venues halts trading on every venue. Every wait is for the condition
checked, with a deadline."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import numpy as np
import orjson
import pytest
from websockets.sync.client import connect

from hftshm.exchange.config import DEFAULT_API_KEY, DEFAULT_API_SECRET
from hftshm.journal import files
from hftshm.layouts import exec_report as F
from hftshm.layouts import order as O
from hftshm.venues.binance_spot.signing import Signer
from tests.runtime.helpers import CLI, cli_ok, example_config, leftovers, status_json, stop, supervisor, wait_running
from tests.support import bybit_positions

START_S = 600  # a first run compiles every kernel (minutes on a loaded machine); an exit fails at once
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
EXAMPLE = EXAMPLES / "two-venues.toml"
E8 = 100_000_000
LIVE = ("new", "acked", "partial")
VENUES = ("spot", "usdm")


def _config(tmp_path: Path, name: str, extra: tuple = (), example: Path = EXAMPLE) -> Path:
    return example_config(tmp_path, name, example, extra)


def _ws_api(port: int, path: str, method: str, **params) -> list:
    """One signed WebSocket API call to a Binance simulator; its result."""
    params = Signer(DEFAULT_API_KEY, DEFAULT_API_SECRET).sign({**params, "apiKey": DEFAULT_API_KEY,
                                                               "timestamp": int(time.time() * 1000)})
    with connect(f"ws://127.0.0.1:{port}{path}", open_timeout=10) as ws:
        ws.send(orjson.dumps({"id": "q", "method": method, "params": params}).decode())
        answer = orjson.loads(ws.recv(timeout=10))
    assert answer.get("status") == 200, answer
    return answer["result"]


def _usdm_positions(port: int) -> dict[str, int]:
    """The USD-M simulator's positions (symbol -> signed 1e-8), its ``account.position``."""
    return {p["symbol"]: round(float(p["positionAmt"]) * E8)
            for p in _ws_api(port, "/ws-fapi/v1", "account.position")}


def _spot_positions(port: int) -> dict[str, int]:
    """What the Spot simulator traded for us (symbol -> signed 1e-8 bought), from its ``myTrades``."""
    got = sum(round(float(t["qty"]) * E8) * (1 if t["isBuyer"] else -1)
              for t in _ws_api(port, "/ws-api/v3", "myTrades", symbol="BTCUSDT"))
    return {"BTCUSDT": got} if got else {}


def _started(sup, names, deadline) -> None:
    while True:
        try:
            for name in names:
                wait_running(name, timeout=5)
            return
        except AssertionError:
            assert sup.poll() is None, f"hftshm start exited with {sup.returncode}: {sup.communicate()[0]}"
            assert time.monotonic() < deadline, f"the workers did not start within {START_S} s"


def _fills(instance: str) -> int:
    ex = {w["name"]: w for w in status_json(instance)["workers"]}["execution"]["counters"]
    return ex.get("fills", 0)


@pytest.mark.parametrize("example", ["two-venues.toml", "binance-bybit.toml"])
def test_a_cross_venue_strategy_trades_both_venues_and_each_position_matches_its_venue(tmp_path, instance, example):
    venue_of = {"two-venues.toml": {"spot": _spot_positions, "usdm": _usdm_positions},
                "binance-bybit.toml": {"usdm": _usdm_positions, "bybit": bybit_positions}}[example]
    first, second = venue_of
    names = {v: f"{instance}-{v}" for v in venue_of}
    runs = tmp_path / "runs"
    with supervisor("start", "--headless", "--summary", tmp_path / "s.json",
                    "--config", _config(tmp_path, instance, example=EXAMPLES / example)) as sup:
        _started(sup, names.values(), time.monotonic() + START_S)
        ports = {v: int((runs / n / "exchange.port").read_text()) for v, n in names.items()}
        deadline = time.monotonic() + 180
        while not all(_fills(n) >= 2 for n in names.values()):  # the strategy fills on both venues
            assert sup.poll() is None, sup.communicate()[0]
            assert time.monotonic() < deadline, {v: status_json(n)["trading"] for v, n in names.items()}
            time.sleep(0.5)
        # the strategy worker runs in the first venue's instance only, and reads both md rings
        workers = {v: {w["name"]: w for w in status_json(n)["workers"]} for v, n in names.items()}
        assert "strategy-spread" in workers[first] and "strategy-spread" not in workers[second]
        for n in names.values():
            cli_ok("halt", "--instance", n)
        deadline = time.monotonic() + 60
        while True:  # nothing open, and each venue's position is that simulator's
            same, seen = True, {}
            for v, n in names.items():
                t = status_json(n)["trading"]
                ours = {s: round(q * E8) for s, q in t["positions"].items()}
                theirs = venue_of[v](ports[v])
                live = sum(k for s, k in t["orders_by_state"].items() if s in LIVE)
                seen[v] = (ours, theirs, live)
                same &= (ours == {s: theirs.get(s, 0) for s in ours} and set(theirs) <= set(ours) and not live)
            if same:
                break
            assert time.monotonic() < deadline, f"after the halt (ours, the venue's, open): {seen}"
            time.sleep(0.5)
        assert any(q != 0 for ours, _, _ in seen.values() for q in ours.values()) or all(
            _fills(n) >= 2 for n in names.values())
        for n in names.values():
            cli_ok("resume", "--instance", n)  # (a run that ends halted exits 3)
        output = stop(sup)
    assert sup.returncode == 0, output
    for n in names.values():
        assert leftovers(n) == []

    summary = json.loads((tmp_path / "s.json").read_text())
    assert set(summary["venues"]) == set(venue_of)
    for v, n in names.items():  # every fill journaled in its venue's journal; the final position is their sum
        _, fills = files.load_ring(runs / n / "journal" / "fills")
        trades = fills[fills["exec_type"] == F.EX_TRADE]
        mine = trades[(trades["order_id"] >> O.STRATEGY_SHIFT) == 1]  # the spread strategy (id 1)
        assert len(mine) == len(trades) >= 2
        signed = np.where(trades["side"] == O.BUY, trades["last_qty_e8"], -trades["last_qty_e8"])
        final = summary["venues"][v]["trading"]["positions"]
        assert round(sum(final.values()) * E8) == int(signed.sum())


def test_the_total_gross_exposure_cap_halts_every_venue(tmp_path, instance):
    names = {v: f"{instance}-{v}" for v in VENUES}
    cfg = _config(tmp_path, instance, ((r"(?m)^max_gross_exposure = [0-9.]+", "max_gross_exposure = 1"),))
    with supervisor("start", "--headless", "--config", cfg) as sup:
        _started(sup, names.values(), time.monotonic() + START_S)
        deadline = time.monotonic() + 180
        while True:  # the first fill puts the venues' summed gross exposure above 1 USDT
            states = {v: status_json(n)["trading"] for v, n in names.items()}
            if all(t["trading_state"] == "halted" for t in states.values()):
                break
            assert sup.poll() is None, sup.communicate()[0]
            assert time.monotonic() < deadline, states
            time.sleep(0.5)
        output = stop(sup)
    assert all(t["trading_reason"] == "MAX_GROSS_EXPOSURE" for t in states.values()), states
    assert "[risk_total] MAX_GROSS_EXPOSURE" in output
    assert sup.returncode == 3, output  # a run that ends halted says so
    for n in names.values():
        assert leftovers(n) == []


def test_a_venue_that_cannot_start_stops_the_whole_start_and_leaves_nothing(tmp_path, instance):
    import socket

    names = {v: f"{instance}-{v}" for v in VENUES}
    with socket.socket() as taken:  # the second venue's simulator is told to use a port already in use
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cfg = _config(tmp_path, instance, ((r'sim = \{ venue = "binance_usdm" \}',
                                            f'sim = {{ venue = "binance_usdm", port = {port} }}'),))
        out = subprocess.run(CLI + ["start", "--headless", "--config", str(cfg)], capture_output=True, text=True,
                             timeout=300)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "hftshm start failed" in out.stdout + out.stderr
    for n in names.values():  # the first venue's simulator and segments went too
        assert leftovers(n) == []
    assert subprocess.run(["pgrep", "-f", f"{tmp_path}"], capture_output=True).stdout == b""
