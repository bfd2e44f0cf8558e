"""`hftshm bench latency` reports the cost of recording a sample; it asserts no timing."""

import json

from typer.testing import CliRunner

from hftshm.cli import app


def test_cli_writes_every_case(tmp_path):
    out = tmp_path / "lat.json"
    res = CliRunner().invoke(app, ["bench", "latency", "--samples", "20000", "--rounds", "1", "--json", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    cases = {r["case"]: r["ns_per_sample"] for r in data["results"]}
    assert {"numba record", "python Recorder.record"} <= set(cases)
    assert all(v > 0 for v in cases.values())
    assert "numba record" in res.output


def test_cli_rejects_too_few_samples():
    res = CliRunner().invoke(app, ["bench", "latency", "--samples", "5"])
    assert res.exit_code != 0 and "--samples" in res.output


def test_bench_wake_reports_naps_and_semaphore(tmp_path):
    out = tmp_path / "wake.json"
    res = CliRunner().invoke(app, ["bench", "wake", "--count", "20", "--json", str(out)])
    assert res.exit_code == 0, res.output
    rows = json.loads(out.read_text())["results"]
    assert any("semaphore" in r["case"] for r in rows) and len(rows) == 7
    assert all(0 < r["p50_us"] <= r["max_us"] for r in rows)
