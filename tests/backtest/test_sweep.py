"""Parameter sweeps: every combination, in processes, each the same as a run of its own."""

from __future__ import annotations

import pytest

from hftshm.backtest.errors import BacktestError
from hftshm.backtest.sweep import parse_axis, sort_rows, sweep

from ._md import HERE, backtest, write_md
from .test_engine import synthetic

STRAT = str(HERE / "strategies.py")
CONFIG = f"""
[[strategies]]
name = "nth"
kind = "file"
path = "{STRAT}"
class = "EveryNthTrade"
every = 5

[risk]
max_orders_per_s = 60
max_orders_per_s_total = 1000
price_band_bps = 1000
"""


def test_parse_axis_reads_toml_values():
    assert parse_axis("strategies.mom.short=5,10") == (["strategies", "mom", "short"], [5, 10])
    assert parse_axis('strategies.g.qty="0.001", 0.5, word') == (["strategies", "g", "qty"], ["0.001", 0.5, "word"])
    with pytest.raises(BacktestError, match="expected SECTION.KEY=v1,v2"):
        parse_axis("short")


def test_sweep_runs_every_combination_like_single_runs(tmp_path):
    write_md(tmp_path / "md", synthetic(3, 600, 200))
    cfg = tmp_path / "bt.toml"
    cfg.write_text(CONFIG)
    rows = sweep(tmp_path / "md", cfg, ["strategies.nth.every=3,7", "backtest.latency.entry_us=0,2000"],
                 processes=2)
    assert [r["params"] for r in rows] == [
        {"strategies.nth.every": 3, "backtest.latency.entry_us": 0},
        {"strategies.nth.every": 3, "backtest.latency.entry_us": 2000},
        {"strategies.nth.every": 7, "backtest.latency.entry_us": 0},
        {"strategies.nth.every": 7, "backtest.latency.entry_us": 2000}]
    strategies = [{"name": "nth", "kind": "file", "path": STRAT, "class": "EveryNthTrade", "every": 7}]
    alone = backtest(tmp_path / "md", strategies, latency={"entry_us": 2000},
                     risk={"max_orders_per_s": 60, "max_orders_per_s_total": 1000, "price_band_bps": 1000})
    assert rows[3]["summary"] == alone["summary"]
    assert rows[0]["summary"]["orders"] > rows[2]["summary"]["orders"] > 0
    best = sort_rows(rows, "max_drawdown")
    dd = [r["summary"]["max_drawdown"] for r in best]
    assert dd == sorted(dd)
    with pytest.raises(BacktestError, match="not a summary metric"):
        sort_rows(rows, "happiness")


def test_sweep_bad_combination_fails_before_running(tmp_path):
    write_md(tmp_path / "md", synthetic(3, 50, 200))
    cfg = tmp_path / "bt.toml"
    cfg.write_text(CONFIG)
    with pytest.raises(BacktestError, match=r"combination .*queue must be one of"):
        sweep(tmp_path / "md", cfg, ["backtest.fill.queue=conservative,fifo"])
    with pytest.raises(BacktestError, match="no strategy named 'mom'"):
        sweep(tmp_path / "md", cfg, ["strategies.mom.short=5"])


def test_picture_is_drawn_or_the_run_says_how_to_get_it(tmp_path, monkeypatch):
    from hftshm.backtest import plot
    from hftshm.backtest.run import run

    from ._md import cfg

    write_md(tmp_path / "md", synthetic(5, 400, 200))
    c = lambda: cfg([{"name": "nth", "kind": "file", "path": STRAT, "class": "EveryNthTrade", "every": 5}])  # noqa: E731
    monkeypatch.setattr(plot, "available", lambda: False)
    res = run(tmp_path / "md", tmp_path / "a", cfg=c(), picture=True)
    assert res["picture"] == plot.HOW and not (tmp_path / "a/backtest.png").exists()
    assert (tmp_path / "a/summary.json").exists()  # everything else is still written
    monkeypatch.undo()
    res = run(tmp_path / "md", tmp_path / "b", cfg=c(), picture=True)
    if plot.available():
        assert res["picture"].endswith("backtest.png")
        assert (tmp_path / "b/backtest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert res["picture"] == plot.HOW
