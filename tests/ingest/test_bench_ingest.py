"""``hftshm bench ingest`` runs and writes JSON shaped like ``bench ring --json``; no timings
are asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_bench_ingest_json_shape(tmp_path):
    out = tmp_path / "ingest.json"
    proc = subprocess.run(
        [sys.executable, "-c", "from hftshm.cli import app; app()", "bench", "ingest", "--messages", "3000",
         "--kind", "trade", "--mode", "pipeline,websockets-recv", "--latency-passes", "1", "--json", str(out)],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    assert set(data) >= {"machine", "results"} and data["machine"]["cores"] >= 1
    rows = {(r["kind"], r["mode"]): r for r in data["results"]}
    assert set(rows) == {("trade", "pipeline"), ("trade", "websockets-recv"), ("trade", "decode+normalize+publish")}
    run = rows[("trade", "pipeline")]
    assert run["messages"] == run["records"] == 3000 and run["gaps"] == run["skipped"] == 0
    assert run["msgs_per_s"] > 0
    lat = rows[("trade", "decode+normalize+publish")]
    assert all(lat[k] > 0 for k in ("p50_us", "p90_us", "p99_us", "p999_us", "max_us"))


def test_bench_ingest_usdm_capture_loses_nothing(tmp_path):
    """--venue binance_usdm: the whole USD-M capture through the simulator's /public path and the
    USD-M pipeline; every record the normalizer makes of the file directly is published."""
    out = tmp_path / "usdm.json"
    proc = subprocess.run(
        [sys.executable, "-c", "from hftshm.cli import app; app()", "bench", "ingest", "--venue", "binance_usdm",
         "--kind", "capture,trade", "--messages", "2000", "--mode", "pipeline", "--latency-passes", "1",
         "--json", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {(r["kind"], r["mode"]): r for r in json.loads(out.read_text())["results"]}
    run = rows[("capture", "pipeline")]
    assert run["venue"] == "binance_usdm" and run["messages"] == 93_953
    assert run["lost"] == 0 and run["records"] > run["messages"] and run["gaps"] == run["skipped"] == 0
    assert rows[("trade", "pipeline")]["records"] == 2000
    assert rows[("capture", "decode+normalize+publish")]["messages"] == 93_953


def test_bench_ingest_on_a_capture_of_another_symbol(tmp_path):
    """--capture: a USD-M recording of two symbols (the vendored frames renamed ETHUSDT, the
    vendored BTCUSDT ones in their middle, before ETHUSDT's snapshot): the first symbol's streams
    are measured, with its own snapshot, its whole recording lost-free; a capture of the other
    Binance venue is refused, exit 2."""
    import gzip

    data = Path(__file__).resolve().parents[1] / "data"
    head = gzip.open(data / "btcusdt_usdm_20240808.capture.gz", "rb").read().split(b"\n")[:6000]
    renamed = [line.replace(b"btcusdt", b"ethusdt").replace(b"BTCUSDT", b"ETHUSDT") for line in head]
    cap = tmp_path / "two.capture"
    snap = next(i for i, line in enumerate(renamed) if b"lastUpdateId" in line)
    cap.write_bytes(b"\n".join(renamed[:snap] + head + renamed[snap:]) + b"\n")  # BTCUSDT's snapshot first
    out = tmp_path / "eth.json"
    proc = subprocess.run(
        [sys.executable, "-c", "from hftshm.cli import app; app()", "bench", "ingest", "--venue", "binance_usdm",
         "--capture", str(cap), "--kind", "capture,trade", "--messages", "500", "--mode", "pipeline",
         "--latency-passes", "1", "--json", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    assert result["symbol"] == "ETHUSDT"
    rows = {(r["kind"], r["mode"]): r for r in result["results"]}
    run = rows[("capture", "pipeline")]
    sent = sum(1 for line in renamed if b'"stream":"ethusdt@' in line)
    assert run["messages"] == sent and run["lost"] == 0 and run["records"] > sent
    assert run["gaps"] == run["skipped"] == 0
    assert rows[("trade", "pipeline")]["records"] == 500
    assert rows[("capture", "decode+normalize+publish")]["messages"] == sent  # its own frames only
    proc = subprocess.run(
        [sys.executable, "-c", "from hftshm.cli import app; app()", "bench", "ingest", "--capture", str(cap)],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "USD-M frames: give --venue binance_usdm" in proc.stdout + proc.stderr


def test_bench_ingest_refuses_a_kind_the_venue_has_not():
    proc = subprocess.run(
        [sys.executable, "-c", "from hftshm.cli import app; app()", "bench", "ingest", "--kind", "capture"],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "unknown kind capture" in proc.stdout + proc.stderr


def test_bench_ingest_bybit_and_okx_synthetic_streams(tmp_path):
    """--venue bybit_linear / okx: the simulator's synthetic stream of one topic, unpaced; every
    trade message becomes one record, the subscription reply is the one message more."""
    for venue, kind in (("bybit_linear", "publicTrade"), ("okx", "trades")):
        out = tmp_path / f"{venue}.json"
        proc = subprocess.run(
            [sys.executable, "-c", "from hftshm.cli import app; app()", "bench", "ingest", "--venue", venue,
             "--kind", kind, "--messages", "2000", "--mode", "pipeline", "--latency-passes", "1",
             "--json", str(out)], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        rows = {(r["kind"], r["mode"]): r for r in json.loads(out.read_text())["results"]}
        run = rows[(kind, "pipeline")]
        assert run["venue"] == venue and run["messages"] == 2001 and run["records"] == 2000
        assert run["gaps"] == run["skipped"] == 0
        assert rows[(kind, "decode+normalize+publish")]["p50_us"] > 0
