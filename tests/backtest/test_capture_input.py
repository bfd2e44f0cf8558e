"""A raw capture given to ``hftshm backtest`` (and its sweeps): converted for the run, through the
same conversion as ``hftshm journal import``, with nothing left behind."""

from __future__ import annotations

import gzip
import tempfile

import pytest
from typer.testing import CliRunner

from cli import app
from hftshm.backtest.errors import BacktestError
from hftshm.backtest.run import run
from hftshm.backtest.sweep import sweep
from hftshm.feed.capture import iter_capture, looks_like_capture
from hftshm.journal import files
from hftshm.journal.capture_import import import_capture

from ._md import HERE

CAPTURE = HERE.parent / "data" / "btcusdt_spot_20240808.capture.gz"
CONFIG = """
[[strategies]]
name = "g"
kind = "grid"
levels = 2
spacing_ticks = 50
step_ticks = 100
qty = "0.001"
max_position = "0.004"

[risk]
max_orders_per_s = 50
max_orders_per_s_total = 200

[backtest.latency]
entry_us = 300
response_us = 300
"""


@pytest.fixture(scope="module")
def short_capture(tmp_path_factory):
    """The vendored Spot capture's first 4,000 lines, gzipped under a name without .gz."""
    out = tmp_path_factory.mktemp("cap") / "spot.capture"
    lines = []
    for recv, frame in iter_capture(CAPTURE):
        lines.append(b"%d %s" % (recv, frame))
        if len(lines) == 4000:
            break
    out.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    return out


@pytest.fixture
def own_temp(tmp_path, monkeypatch):
    """The system temp dir, this test's own: what is converted there must be gone after."""
    d = tmp_path / "systemp"
    d.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(d))
    return d


def test_looks_like_capture(short_capture, tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_bytes(b"1723161200123456789 {}\n")
    assert looks_like_capture(short_capture) and looks_like_capture(plain)
    import_capture(short_capture, tmp_path / "md")
    (journal,) = files.ring_files(tmp_path / "md")
    assert not looks_like_capture(journal) and not looks_like_capture(tmp_path / "md")
    (tmp_path / "text").write_text("hello world\n")
    (tmp_path / "broken.gz").write_bytes(b"\x1f\x8b\x08")  # a truncated gzip
    assert not looks_like_capture(tmp_path / "text") and not looks_like_capture(tmp_path / "broken.gz")
    assert not looks_like_capture(tmp_path / "missing")


def test_a_capture_backtests_as_its_imported_journal(short_capture, tmp_path, own_temp):
    cfg = tmp_path / "bt.toml"
    cfg.write_text(CONFIG)
    info = import_capture(short_capture, tmp_path / "md")
    from_journal = run(tmp_path / "md", tmp_path / "a", cfg)
    from_capture = run(short_capture, tmp_path / "b", cfg)
    assert from_journal["summary"]["orders"] > 0 and from_journal["summary"]["trades"] > 0
    assert from_capture["summary"] == from_journal["summary"]
    for ring in ("orders", "fills"):
        _, a = files.load_ring(tmp_path / "a" / "journal" / ring)
        _, b = files.load_ring(tmp_path / "b" / "journal" / ring)
        assert len(a) and a.tobytes() == b.tobytes()
    assert from_capture["journal"] == str(short_capture)
    (imported,) = from_capture["imported"]
    assert imported["records"] == info["records"] and imported["venue"] == "spot"
    # the converted journal is gone: the run directory holds the results only
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == sorted(p.name for p in (tmp_path / "a").iterdir())
    # without a run directory, it was made in the system's temp dir, and removed
    assert run(short_capture, None, cfg)["summary"] == from_journal["summary"]
    assert list(own_temp.iterdir()) == []


def test_a_sweep_over_a_capture_converts_it_once(short_capture, tmp_path, own_temp, monkeypatch):
    from hftshm.journal import capture_import

    cfg = tmp_path / "bt.toml"
    cfg.write_text(CONFIG)
    import_capture(short_capture, tmp_path / "md")
    axis = ["strategies.g.levels=1,2,3"]
    calls = []
    real = capture_import.import_capture
    monkeypatch.setattr(capture_import, "import_capture", lambda *a, **k: calls.append(a) or real(*a, **k))
    assert sweep(short_capture, cfg, axis, processes=1) == sweep(tmp_path / "md", cfg, axis, processes=1)
    assert len(calls) == 1
    assert list(own_temp.iterdir()) == []
    with pytest.raises(BacktestError, match="does not exist"):  # the config is read before a conversion
        sweep(short_capture, tmp_path / "none.toml", axis, processes=1)
    assert len(calls) == 1


def test_a_damaged_capture_is_refused_and_leaves_nothing(short_capture, tmp_path, own_temp):
    """A gzip cut short: a clear error, exit 2; no run directory (nor the parents made for it) and
    no half journal left; ``journal import`` too."""
    cut = tmp_path / "cut.capture.gz"
    cut.write_bytes(short_capture.read_bytes()[:40_000])
    cfg = tmp_path / "bt.toml"
    cfg.write_text(CONFIG)
    res = CliRunner().invoke(app, ["backtest", str(cut), "--config", str(cfg), "--out", str(tmp_path / "a" / "b" / "c")])
    assert res.exit_code == 2, res.output
    assert "cannot read it to the end" in " ".join(res.output.split())
    assert not (tmp_path / "a").exists() and list(own_temp.iterdir()) == []
    for extra in ([], ["--symbols", "btcusdt", "--venue", "spot"]):  # the sniff, then the conversion
        res = CliRunner().invoke(app, ["journal", "import", str(cut), "--out", str(tmp_path / "j"), *extra])
        assert res.exit_code == 2 and "cannot read" in res.output, res.output
        assert not (tmp_path / "j").exists()


def test_backtest_command_on_captures(short_capture, tmp_path, own_temp):
    cfg = tmp_path / "bt.toml"
    cfg.write_text(CONFIG)
    res = CliRunner().invoke(app, ["backtest", str(short_capture), "--config", str(cfg), "--out", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    assert "converted" in res.output and "md records (spot)" in res.output
    assert (tmp_path / "r" / "summary.json").is_file()
    # a capture without a combined-stream frame: refused by name, no run directory left behind
    bad = tmp_path / "bad.capture"
    bad.write_text('123 {"e":"nothing"}\n')
    res = CliRunner().invoke(app, ["backtest", str(bad), "--config", str(cfg), "--out", str(tmp_path / "r2")])
    assert res.exit_code == 2, res.output
    assert "bad.capture" in res.output and "hftshm journal import" in " ".join(res.output.split())
    assert not (tmp_path / "r2").exists() and list(own_temp.iterdir()) == []
    with pytest.raises(BacktestError, match="bad.capture"):
        run(bad, None, cfg)
