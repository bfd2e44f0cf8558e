"""``hftshm bench ingest`` runs and writes JSON shaped like ``bench ring --json``; no timings
are asserted."""

from __future__ import annotations

import json
import subprocess
import sys


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
