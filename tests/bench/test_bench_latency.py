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
    import os

    out = tmp_path / "wake.json"
    cores = os.sched_getaffinity(0)
    res = CliRunner().invoke(app, ["bench", "wake", "--count", "20", "--json", str(out)])
    assert res.exit_code == 0, res.output
    rows = json.loads(out.read_text())["results"]
    wakes = [r["case"] for r in rows if "semaphore" in r["case"]]
    # where the scheduler puts them; with two cores or more, one core, then a core each
    assert wakes[1:] == (["semaphore post -> sleeping process runs, same core",
                          "semaphore post -> sleeping process runs, other core"] if len(cores) >= 2 else [])
    assert len(rows) == 6 + len(wakes)
    assert all(0 < r["p50_us"] <= r["max_us"] for r in rows)
    assert os.sched_getaffinity(0) == cores  # the bench's own pinning is undone
