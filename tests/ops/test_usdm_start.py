"""End to end: ``hftshm start`` with the shipped USD-M example config (docs/examples/usdm-sim.toml)
on the simulator's synthetic USD-M market. Ingest reads both routed paths, the strategy trades the
perpetual over /ws-fapi/v1, and ``hftshm status`` shows the fills, the signed position, the mark
price and the funding (compressed to a few seconds); the md journal holds MARK and LIQUIDATION
records in their documented shape; the final position equals the journaled fills; the stop is
clean (exit 0, nothing left in /dev/shm)."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import numpy as np

from hftshm.journal import files
from hftshm.layouts import exec_report as F
from hftshm.layouts import md
from hftshm.layouts import order as O
from tests.runtime.helpers import CLI, leftovers, stop, supervisor, wait_running

START_S = 600  # a first run compiles every kernel (minutes on a loaded machine); an exit fails at once

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "usdm-sim.toml"
E8 = 100_000_000
FUNDING_S = 3.0
MD_S = 10.0  # run at least this long: >= 3 MARK (1 s) and >= 2 LIQUIDATION (5/s, pushed <= 1/s)


def _config(tmp_path: Path, name: str) -> Path:
    """The example as shipped, with this test's instance, data dir and a 3 s funding interval."""
    text = EXAMPLE.read_text()
    for pattern, value in ((r'(?m)^instance = ".*"$', f'instance = "{name}"'),
                           (r'(?m)^data_dir = ".*"$', f'data_dir = "{tmp_path / "runs"}"'),
                           (r"(?m)^funding_interval_s = [0-9.]+", f"funding_interval_s = {FUNDING_S}"),
                           (r"(?m)^liquidations_per_s = [0-9.]+", "liquidations_per_s = 5.0")):
        text, n = re.subn(pattern, value, text)
        assert n == 1, f"the example config no longer has {pattern!r}"
    path = tmp_path / "usdm.toml"
    path.write_text(text)
    return path


def _status(name: str) -> dict:
    out = subprocess.run(CLI + ["status", "--json", "--instance", name], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout)


def test_usdm_example_trades_on_the_simulator_and_status_shows_position_mark_and_funding(tmp_path, instance):
    cfg = _config(tmp_path, instance)
    with supervisor("start", "--headless", "--summary", tmp_path / "s.json", "--config", cfg) as sup:
        started = time.monotonic() + START_S
        while True:
            try:
                wait_running(instance, timeout=5)
                break
            except AssertionError:
                assert sup.poll() is None, f"hftshm start exited with {sup.returncode}: {sup.communicate()[0]}"
                assert time.monotonic() < started, f"the workers did not start within {START_S} s"
        running_at = time.monotonic()
        seen = {}
        deadline = time.monotonic() + 150
        while True:
            snap = _status(instance)
            workers = {w["name"]: w for w in snap["workers"]}
            ex = workers["execution"]["counters"]
            fut = snap["trading"].get("futures", {})
            for sym, f in fut.items():
                if f["position"] and f["mark"] > 0:
                    seen["position"] = (sym, f)
                if f["funding"]:
                    seen["funding"] = (sym, f, ex.get("funding", 0))
            if ex.get("fills", 0) >= 1:
                seen["fills"] = ex["fills"]
            # MARK comes each second and LIQUIDATION at most each second: the journal checks below
            # need a few seconds of them, which fills and funding alone need not have lasted
            if {"position", "funding", "fills"} <= set(seen) and time.monotonic() - running_at >= MD_S:
                break
            assert sup.poll() is None, sup.communicate()[0]
            assert time.monotonic() < deadline, f"after 150 s: {seen}, execution {ex}, futures {fut}"
            time.sleep(1.0)
        ingest = workers["ingest"]["counters"]
        output = stop(sup)
    assert sup.returncode == 0, output
    assert leftovers(instance) == []

    sym, f = seen["position"]
    assert sym.lower() == "btcusdt" and f["entry"] > 0
    assert abs(f["mark"] - f["entry"]) / f["entry"] < 0.05  # the mark is the simulated book's mid
    _, _, payments = seen["funding"]
    assert payments >= 1  # funding came from the user-data stream (ACCOUNT_UPDATE FUNDING_FEE)
    # both routed paths read; the futures book synced from the snapshot and kept by pu continuity
    assert ingest["records"] > 0 and ingest["connected"] == 2 and ingest["silent"] == 0
    assert ingest["snapshots"] >= 1 and ingest["depth_gaps"] == ingest["straddle_miss"] == ingest["crossed"] == 0
    assert ingest["bad_fields"] == ingest["unknown"] == ingest["trade_gaps"] == ingest["agg_gaps"] == 0

    # the final position (the summary) is the journaled fills' sum
    summary = json.loads((tmp_path / "s.json").read_text())
    run = tmp_path / "runs" / instance / "journal"
    _, fills = files.load_ring(run / "fills")
    trades = fills[fills["exec_type"] == F.EX_TRADE]
    assert len(trades) >= 1
    signed = np.where(trades["side"] == O.BUY, trades["last_qty_e8"], -trades["last_qty_e8"])
    final = summary["trading"]["positions"]
    assert round(sum(final.values()) * E8) == int(signed.sum())

    # MARK and LIQUIDATION records as documented (layouts/md.py, the normalizer's docstring)
    _, recs = files.load_ring(run / "md")
    marks = recs[recs["kind"] == md.MARK]
    liqs = recs[recs["kind"] == md.LIQUIDATION]
    assert len(marks) >= 3 and len(liqs) >= 2
    assert (marks["price_e8"] > 0).all() and (marks["price2_e8"] == marks["price_e8"]).all()  # no index: = mark
    assert (marks["qty_e8"] == 10_000).all()  # funding rate 0.0001
    period = int(FUNDING_S * 1e9)
    assert (marks["txn_ns"] % period == 0).all() and (marks["txn_ns"] > marks["exch_ns"]).all()
    assert (marks["txn_ns"] - marks["exch_ns"] <= period).all()
    assert np.isin(liqs["side"], [md.BUY, md.SELL]).all()
    assert (liqs["price_e8"] > 0).all() and (liqs["qty_e8"] > 0).all() and (liqs["qty2_e8"] == liqs["qty_e8"]).all()
    assert ((liqs["side"] == md.BUY) == (liqs["price_e8"] > liqs["price2_e8"])).all()  # beyond the touch
    assert (liqs["exch_ns"] % 1_000_000_000 == 0).all()
    assert ((liqs["exch_ns"] - liqs["txn_ns"] >= 0) & (liqs["exch_ns"] - liqs["txn_ns"] < 1_000_000_000)).all()
    assert (np.diff(liqs["exch_ns"]) >= 1_000_000_000).all()  # one symbol: at most one a second
