"""The ring benchmark runs and reports every figure; it asserts no timing, only completeness."""

import json

from typer.testing import CliRunner

from hftshm.cli import app
from hftshm.bench import ring as ring_bench


def test_every_case_reports_lossless_figures():
    opts = ring_bench.Options(seconds=0.2, latency_seconds=0.2, rate=2000, apis=("record", "batch", "numba"),
                              waits=("backoff",), peers=True)
    result = ring_bench.run(opts)
    rows = result["results"]
    assert {r["transport"] for r in rows} >= {"hftshm", "multiprocessing.Queue", "multiprocessing.Pipe"}
    for row in rows:
        assert "error" not in row, row
        assert row["lost"] == 0
        assert set(ring_bench.FIELDS) <= set(row)
        assert row["records_per_s"] > 0 and 0 < row["p50_us"] <= row["p99_us"] <= row["max_us"]
    assert len(result["ratios"]) == 3 * (len(rows) - 3)
    assert result["machine"]["cores"] >= 1


def test_cli_writes_the_documented_json(tmp_path):
    out = tmp_path / "ring.json"
    res = CliRunner().invoke(app, ["bench", "ring", "--seconds", "0.2", "--latency-seconds", "0.2", "--rate", "2000",
                                   "--api", "numba", "--wait", "blocking", "--no-peers", "--json", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert set(data) >= {"machine", "results"}
    (row,) = data["results"]
    assert (row["transport"], row["api"], row["wait"], row["lost"]) == ("hftshm", "numba", "blocking", 0)


def test_cli_rejects_unknown_wait():
    res = CliRunner().invoke(app, ["bench", "ring", "--wait", "nap"])
    assert res.exit_code != 0 and "unknown wait nap" in res.output
