"""docs/backtest.md quotes the [backtest] keys and defaults; the commands work end to end."""

from __future__ import annotations

import json
import re
import tomllib

import numpy as np
from typer.testing import CliRunner

from hftshm.backtest import config as C
from hftshm.journal import files
from hftshm.layouts import exec_report as F
from hftshm.layouts import order as O

from ._md import CAPTURE, HERE, WIDE_RISK

ROOT = HERE.parents[1]
DOC = ROOT / "docs" / "backtest.md"


def doc_tables() -> dict[str, dict[str, str]]:
    lines = DOC.read_text().splitlines()
    out = {}
    for i, line in enumerate(lines):
        m = re.match(r"^<!-- backtest-config (\S+) -->$", line.strip())
        if not m:
            continue
        rows = []
        j = i + 1
        while j < len(lines) and lines[j].startswith("|"):
            rows.append([c.strip() for c in lines[j].strip().strip("|").split("|")])
            j += 1
        out[m.group(1)] = {r[0].strip("`"): r[1] for r in rows[2:]}
    return out


def test_backtest_reference_matches_the_code():
    tables = doc_tables()
    code = {"backtest": C.DEFAULT_BACKTEST, "backtest.latency": C.DEFAULT_LATENCY, "backtest.fill": C.DEFAULT_FILL}
    assert set(tables) == set(code)
    for section, defaults in code.items():
        assert set(tables[section]) == set(defaults), section
        for key, cell in tables[section].items():
            value = tomllib.loads(f"v = {cell.strip('`')}")["v"]
            assert value == defaults[key] and type(value) is type(defaults[key]), (section, key)


def test_example_toml_in_the_reference_loads():
    text = DOC.read_text()
    start = text.index("## Reference")
    block = re.search(r"```toml\n(.*?)```", text[start:], re.S).group(1)
    data = tomllib.loads(block)
    data["strategies"] = [{"name": "g", "kind": "grid"}]
    cfg = C.from_dict(data, ["btcusdt"])
    assert cfg.filters("btcusdt").tick_e8 == 1_000_000


def test_import_then_backtest_the_grid_from_the_command_line(tmp_path):
    from hftshm.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["journal", "import", str(CAPTURE), "--out", str(tmp_path / "md")])
    assert res.exit_code == 0, res.output
    assert "md records (spot)" in res.output
    res = runner.invoke(app, ["journal", "import", str(CAPTURE), "--out", str(tmp_path / "md")])
    assert res.exit_code == 2 and "already holds journal files" in res.output
    cfg = tmp_path / "bt.toml"
    risk = "\n".join(f"{k} = {v}" for k, v in WIDE_RISK.items())
    cfg.write_text(f"""
[[strategies]]
name = "grid"
kind = "grid"
levels = 5
spacing_ticks = 50
step_ticks = 50

[risk]
{risk}

[backtest.latency]
entry_us = 400
response_us = 600

[backtest.fill]
queue = "probabilistic"
""")
    out = tmp_path / "run"
    res = runner.invoke(app, ["backtest", str(tmp_path / "md"), "--config", str(cfg), "--out", str(out),
                              "--json", str(tmp_path / "r.json")])
    assert res.exit_code == 0, res.output
    result = json.loads((tmp_path / "r.json").read_text())
    s = result["summary"]
    _, orders = files.load_ring(out / "journal" / "orders")
    _, fills = files.load_ring(out / "journal" / "fills")
    trades = fills[fills["exec_type"] == F.EX_TRADE]
    assert s["trades"] == len(trades) > 10
    new = orders[orders["action"] == O.NEW]
    assert (new["type"] == O.LIMIT_MAKER).all() and (new["tif"] == O.GTC).all()  # post-only, as configured
    assert s["maker_share"] == 1.0  # post-only orders never take
    # the grid keeps its position within max_position (0.01) from fills alone
    signed = np.where(trades["side"] == O.BUY, trades["last_qty_e8"], -trades["last_qty_e8"]).cumsum()
    assert np.abs(signed).max() <= 1_000_000
    assert abs(s["gross_pnl"] - s["net_pnl"] - s["fees"]) < 1e-6
    eq = np.load(out / "equity.npy")
    assert len(eq) > 300 and (np.diff(eq["time_ns"]) > 0).all()  # 1 s rows over ~345 s
    res = runner.invoke(app, ["journal", "inspect", str(out / "journal" / "fills")])
    assert res.exit_code == 0 and "exec_report.v1" in res.output


def test_backtest_command_bad_input_exits_2(tmp_path):
    from hftshm.cli import app

    cfg = tmp_path / "bt.toml"
    cfg.write_text('[[strategies]]\nname = "x"\nkind = "nope"\n')
    res = CliRunner().invoke(app, ["backtest", str(tmp_path / "missing"), "--config", str(cfg)])
    assert res.exit_code == 2 and "does not exist" in res.output


def test_bench_backtest_runs_the_captures_own_symbol(tmp_path):
    """The grid trades the capture's first symbol, on the tick and step its prices and sizes are
    on, sized near 120 quote units a level (it used to refuse any capture without BTCUSDT)."""
    from hftshm.cli import app

    lines = []
    for i in range(200):
        bid = 5200 + (i % 7)  # 0.5200 .. 0.5206: a tick of 0.0001
        lines.append('%d {"stream":"xrpusdt@bookTicker","data":{"u":%d,"s":"XRPUSDT","b":"0.%d","B":"%d.0",'
                     '"a":"0.%d","A":"8.0"}}' % (1_000_000_000 + i * 1_000_000, i, bid, 90 + i, bid + 1))
    cap = tmp_path / "xrp.capture"
    cap.write_text("\n".join(lines) + "\n")
    res = CliRunner().invoke(app, ["bench", "backtest", str(cap), "--runs", "1", "--json", str(tmp_path / "r.json")])
    assert res.exit_code == 0, res.output
    figures = json.loads((tmp_path / "r.json").read_text())["figures"]
    assert figures["symbol"] == "xrpusdt" and figures["md_records"] == 200
    assert float(figures["filter_tick"]) == 0.0001 and float(figures["filter_step"]) == 1
    assert float(figures["qty"]) == 200  # 120 / 0.52005 to one significant digit, on a step of 1
    res = CliRunner().invoke(app, ["bench", "backtest", str(tmp_path / "none.capture")])
    assert res.exit_code == 2 and "does not exist" in res.output


def test_bench_backtest_on_the_spot_capture(tmp_path):
    """The vendored Spot capture (its first 20,000 lines): Spot's known BTCUSDT rules, 0.002 BTC
    a level as on USD-M; the risk limit stays a valid config value (500 levels: 1 BTC)."""
    import gzip

    from hftshm.cli import app

    head = gzip.open(HERE.parent / "data" / "btcusdt_spot_20240808.capture.gz", "rb").read().split(b"\n")[:20000]
    cap = tmp_path / "spot.capture"
    cap.write_bytes(b"\n".join(head) + b"\n")
    res = CliRunner().invoke(app, ["bench", "backtest", str(cap), "--runs", "1", "--json", str(tmp_path / "r.json")])
    assert res.exit_code == 0, res.output
    result = json.loads((tmp_path / "r.json").read_text())
    figures = result["figures"]
    assert figures["venue"] == "spot" and figures["symbol"] == "btcusdt"
    assert (float(figures["filter_tick"]), float(figures["filter_step"]), float(figures["qty"])) == (0.01, 0.00001, 0.002)
    assert result["config"]["risk"]["max_position"] == 1.0 and figures["orders"] > 0
