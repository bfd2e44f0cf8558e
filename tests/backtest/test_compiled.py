"""The compiled loop (``hftshm.backtest.fast``) against the Python engine, the reference: the same
orders and fills, byte for byte, on the shared capture and on small scenarios; and the grid's
arithmetic is the live Grid's."""

from __future__ import annotations

import numpy as np
import pytest

from hftshm.backtest import fast
from hftshm.backtest.errors import BacktestError
from hftshm.backtest.run import build, results, run
from hftshm.journal.capture_import import import_capture
from hftshm.layouts import exec_report as F
from hftshm.layouts import md as M

from ._md import CAPTURE, HERE, T0, WIDE_RISK, cfg, quote, trade, write_md

E8 = M.E8
TICK = 1_000_000  # Spot BTCUSDT: 0.01


def grid(**params):
    return [{"name": "g", "kind": "grid", "levels": 3, "spacing_ticks": 2, "step_ticks": 2, "qty": "0.001",
             "max_position": "0.003", **params}]


def level(t_ns, side, px, qty, symbol=0):
    r = np.zeros(1, M.DTYPE)
    r["kind"], r["symbol_id"], r["recv_ns"], r["side"] = M.LEVEL, symbol, t_ns, side
    r["price_e8"], r["qty_e8"], r["price"], r["qty"] = px, qty, px / E8, qty / E8
    return r


def both(journal, c):
    """(python, compiled) runs of one config: orders, fills, ticks to venue, maker trade ids."""
    out = []
    for engine in ("python", "compiled"):
        bt, src, _ = build(journal, cfg=c)
        if engine == "python":
            bt.run()
            orders, fills, _curve = results(bt)
            out.append((orders, fills, bt.tick_to_venue, bt.venue.maker_trades, bt.position.tolist()))
        else:
            assert fast.eligible(bt) is None
            r = fast.run(bt, src.chunks())
            out.append((r["orders"], r["fills"], r["tick_to_venue"], r["maker_trades"], r["position"].tolist()))
    return out


def assert_same(py, co):
    for name, a, b in (("orders", py[0], co[0]), ("fills", py[1], co[1])):
        assert a.dtype == b.dtype and len(a) == len(b), f"{name}: {len(a)} python, {len(b)} compiled"
        for f in a.dtype.names:
            bad = np.flatnonzero(a[f] != b[f])
            assert not len(bad), f"{name}[{bad[0]}].{f}: python {a[bad[0]]}, compiled {b[bad[0]]}"
        assert a.tobytes() == b.tobytes(), f"{name}: padding bytes differ"
    assert py[2] == co[2] and py[3] == co[3] and py[4] == co[4]


@pytest.fixture(scope="module")
def spot(tmp_path_factory):
    out = tmp_path_factory.mktemp("spot") / "md"
    import_capture(CAPTURE, out, ["btcusdt"])
    return out


CAPTURE_CASES = [
    # probabilistic queue, constant latency, the bench's fees
    (dict(levels=5, spacing_ticks=20, step_ticks=10, qty="0.0002", max_position="0.001"),
     dict(latency={"entry_us": 500, "response_us": 500},
          fill={"queue": "probabilistic", "queue_power": 3.0, "maker_fee_bps": 2.0, "taker_fee_bps": 5.0})),
    # conservative queue, zero latency, compute time, unlimited taker
    (dict(levels=3, spacing_ticks=5, step_ticks=5, qty="0.0003", max_position="0.0006"),
     dict(latency={"entry_us": 0, "response_us": 0, "compute_us": 7}, fill={"taker": "unlimited"})),
    # tight risk: rate-limit rejects, the grid's cool-down after them
    (dict(levels=4, spacing_ticks=3, step_ticks=3, qty="0.0002", max_position="0.0008", cooldown_ms=50),
     dict(latency={"entry_us": 2000, "response_us": 100}, risk={**WIDE_RISK, "max_orders_per_s": 5})),
]


@pytest.mark.parametrize("params,bt", CAPTURE_CASES)
def test_compiled_loop_matches_the_python_engine_on_the_capture(spot, params, bt):
    bt = dict(bt)
    risk = bt.pop("risk", None)
    py, co = both(spot, cfg(grid(**params), risk=risk, **bt))
    assert len(py[1]) > 50, "the case should trade"
    assert_same(py, co)


def test_the_capture_case_with_risk_rejects_has_them(spot):
    params, bt = CAPTURE_CASES[2]
    bt = dict(bt)
    risk = bt.pop("risk")
    py, _ = both(spot, cfg(grid(**params), risk=risk, **bt))
    assert (py[1]["exec_type"] == F.EX_REJECTED).sum() > 0  # the case above compares rejects too


def scenario(seed: int, n: int = 400) -> np.ndarray:
    """A random walk of quotes, trades at and through the grid's prices, and depth levels."""
    rng = np.random.default_rng(seed)
    mid = 6_000_000 * TICK
    out = []
    t = T0
    for _ in range(n):
        t += int(rng.integers(0, 400_000))
        r = rng.random()
        if r < 0.4:
            mid += int(rng.integers(-3, 4)) * TICK
            out.append(quote(t, mid - TICK, int(rng.integers(1, 50)) * 100_000, mid + TICK,
                             int(rng.integers(1, 50)) * 100_000))
        elif r < 0.7:
            px = mid + int(rng.integers(-12, 13)) * TICK
            out.append(trade(t, px, int(rng.integers(1, 30)) * 100_000, 2 if px < mid else 1))
        else:
            side = M.BID if rng.random() < 0.5 else M.ASK
            px = mid + (-1 if side == M.BID else 1) * int(rng.integers(1, 12)) * TICK
            out.append(level(t, side, px, int(rng.integers(0, 40)) * 100_000))
    return np.concatenate(out)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("queue", ["conservative", "probabilistic"])
def test_compiled_loop_matches_the_python_engine_on_small_scenarios(tmp_path, seed, queue):
    j = write_md(tmp_path / "md", scenario(seed))
    lat = [{"entry_us": 0, "response_us": 0}, {"entry_us": 300, "response_us": 200, "compute_us": 50}][seed % 2]
    py, co = both(j, cfg(grid(), latency=lat, fill={"queue": queue, "queue_power": 1.5 + seed}))
    assert len(py[1]) > 5
    assert_same(py, co)


def test_literal_scenario_fills_rejects_and_cancels_alike(tmp_path):
    """Post-only rejects (the book moved through the asks while they travelled), cancels and
    cancel rejects, the cool-down, then a trade through the bids and a quote through the asks."""
    b, a = 6_000_000 * TICK, 6_000_002 * TICK
    recs = np.concatenate([
        quote(T0, b, 10**6, a, 10**6),
        quote(T0 + 100_000, b + 20 * TICK, 10**6, a + 20 * TICK, 10**6),  # through the asks in flight
        quote(T0 + 1_000_000, b, 10**6, a, 10**6),  # within the cool-down
        level(T0 + 1_001_000, M.BID, b - 4 * TICK, 5 * 10**5),
        quote(T0 + 3_000_000, b + 6 * TICK, 10**6, b + 8 * TICK, 10**6),  # the grid again
        level(T0 + 3_500_000, M.BID, b + 2 * TICK, 3 * 10**5),
        trade(T0 + 5_000_000, b - TICK, 10**5, M.SELL),  # through every bid
        quote(T0 + 6_000_000, b + 12 * TICK, 10**6, b + 14 * TICK, 10**6),  # the bid reaches the asks
        quote(T0 + 9_000_000, b, 10**6, a, 10**6),
    ])
    j = write_md(tmp_path / "md", recs)
    py, co = both(j, cfg(grid(cooldown_ms=1), latency={"entry_us": 500, "response_us": 500}))
    et = py[1]["exec_type"]
    assert (et == F.EX_TRADE).sum() >= 2 and (et == F.EX_REJECTED).sum() >= 1 and (et == F.EX_CANCELED).sum() >= 1
    assert_same(py, co)


def test_auto_runs_the_compiled_loop_where_it_applies_and_python_elsewhere(spot):
    c = cfg(grid(levels=2, spacing_ticks=20, step_ticks=10, qty="0.0002", max_position="0.001"))
    assert run(spot, None, cfg=c)["engine"] == "compiled"
    nth = [{"name": "nth", "kind": "file", "path": str(HERE / "strategies.py"), "class": "EveryNthTrade",
            "every": 50}]
    assert run(spot, None, cfg=cfg(nth))["engine"] == "python"
    with pytest.raises(BacktestError, match="the compiled loop cannot run this backtest: it runs the built-in grid"):
        run(spot, None, cfg=cfg(nth), engine="compiled")
    feed = cfg(grid(), latency={"model": "feed", "entry_mult": 1.0, "response_mult": 1.0, "offset_us": 0})
    assert run(spot, None, cfg=feed)["engine"] == "python"


def test_grid_arithmetic_is_one_definition():
    """The live Grid computes its first levels with the compiled loop's function."""
    from hftshm.trading import builtins

    assert fast.grid_firsts is builtins.grid_firsts and builtins._firsts is builtins.grid_firsts.py_func
    assert fast.may_buy is builtins.may_buy and builtins._may_buy is builtins.may_buy.py_func
    assert fast.may_sell is builtins.may_sell and builtins._may_sell is builtins.may_sell.py_func
    assert builtins.grid_firsts(100, 104, 1, 2, 2) == builtins._firsts(100, 104, 1, 2, 2) == (100, 104)
    assert builtins._firsts(101, 104, 1, 2, 2) == (100, 106)  # mid 102.5: 100.5 down, 104.5 up, to even


def test_equity_rows_alike(spot):
    """The summary from the equity curve and the accounts: the same trades, positions, fees and
    PnL (a row's state is the compiled loop's at the first strategy event at or after its
    boundary, the Python engine's at its batch start: the rows between may differ)."""
    c = cfg(grid(levels=5, spacing_ticks=20, step_ticks=10, qty="0.0002", max_position="0.001"),
            latency={"entry_us": 500, "response_us": 500})
    py = run(spot, None, cfg=c, engine="python")
    co = run(spot, None, cfg=c, engine="compiled")
    assert py["summary"]["trades"] == co["summary"]["trades"] and py["per_symbol"] == co["per_symbol"]
    for key in ("net_pnl", "gross_pnl", "fees"):
        assert co["summary"][key] == pytest.approx(py["summary"][key], abs=1e-9)


def test_engine_option_on_the_command_line(spot, tmp_path):
    from typer.testing import CliRunner

    from hftshm.cli import app

    cfg_file = tmp_path / "bt.toml"
    risk = "\n".join(f"{k} = {v}" for k, v in WIDE_RISK.items())
    cfg_file.write_text(f'[[strategies]]\nname = "g"\nkind = "grid"\nlevels = 2\nspacing_ticks = 20\n'
                        f'step_ticks = 10\n\n[risk]\n{risk}\n')
    runner = CliRunner()
    for engine in ("compiled", "python"):
        res = runner.invoke(app, ["backtest", str(spot), "--config", str(cfg_file), "--engine", engine,
                                  "--json", str(tmp_path / f"{engine}.json")])
        assert res.exit_code == 0, res.output
        assert __import__("json").loads((tmp_path / f"{engine}.json").read_text())["engine"] == engine
    res = runner.invoke(app, ["backtest", str(spot), "--config", str(cfg_file), "--engine", "gpu"])
    assert res.exit_code == 2 and "engine must be one of auto, compiled, python" in res.output


def test_buffers_grow_mid_run_without_changing_a_fill(spot, monkeypatch):
    """Tiny starting buffers: every one of them grows (GROW) during the run, and the orders and
    fills are still the Python engine's."""
    monkeypatch.setattr(fast, "INITIAL", 4)
    params, bt = CAPTURE_CASES[0]
    py, co = both(spot, cfg(grid(**params), **bt))
    assert len(co[1]) > 64 and len(co[0]) > 64
    assert_same(py, co)


@pytest.mark.parametrize("chunk,small,lead", [(7, 3, 40), (100, 5, 300), (1000, 4096, 1 << 13)])
def test_compiled_loop_across_chunk_boundaries(spot, monkeypatch, chunk, small, lead):
    """The compiled loop's window (a chunk's own arrays, a small joined buffer across a boundary,
    grown while a cursor lags; the venue at most ``LEAD`` records ahead) changes nothing: the same
    orders and fills as one whole chunk."""
    from hftshm.backtest import source

    c = cfg(grid(**CAPTURE_CASES[0][0]), **CAPTURE_CASES[0][1])
    bt, src, _ = build(spot, cfg=c)
    whole = fast.run(bt, src.chunks())
    windows = []
    real = fast._Windows.refill

    def refill(self, k):
        shift = real(self, k)
        windows.append((len(self.recs), self.t is None))
        return shift

    monkeypatch.setattr(source, "CHUNK", chunk)
    monkeypatch.setattr(fast._Windows, "SMALL", small)
    monkeypatch.setattr(fast._Windows, "refill", refill)
    monkeypatch.setattr(fast, "LEAD", lead)
    bt, src, _ = build(spot, cfg=c)
    part = fast.run(bt, src.chunks())
    assert len(whole["fills"]) > 50
    for key in ("orders", "fills", "curve"):
        assert whole[key].tobytes() == part[key].tobytes(), key
    assert whole["tick_to_venue"] == part["tick_to_venue"] and whole["records"] == part["records"]
    assert any(view for _, view in windows) and not all(view for _, view in windows)  # both kinds ran
    # never the journal: the lead, plus the records of one instant (a depth message's levels all
    # have its receive time: the venue applies them together), plus the joins
    local = np.concatenate([ch.local for ch in src.chunks()])
    burst = np.diff(np.flatnonzero(np.diff(local) != 0)).max()
    most = 2 * lead + burst + 4 * chunk + 2 * small + 64
    assert max(n for n, _ in windows) <= most
    assert len(local) > 5 * most or lead == 1 << 13
