"""Backtests of several venues' md journals (``[[venues]]``): one merged stream, one table."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from hftshm.backtest.errors import BacktestError
from hftshm.backtest.run import build, run
from hftshm.backtest.source import MdSource
from hftshm.backtest.venues import MergedSource, parse_journals
from hftshm.cli import app
from hftshm.layouts import exec_report as F
from hftshm.layouts import md as M
from hftshm.layouts import order as O

from ._md import E8, T0, WIDE_RISK, backtest, quote, trade, write_md
from ._md import cfg as cfg_of

STRAT = str((__import__("pathlib").Path(__file__).parent / "strategies.py").resolve())
MS = 1_000_000


def _toml_value(v) -> str:
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    return json.dumps(v)


def _key(k: str) -> str:
    return json.dumps(k) if ":" in k else k  # "usdm:btcusdt" is a quoted key


def group_toml(path, strategies, venues=(("usdm", ["btcusdt"]), ("bybit", ["btcusdt", "ethusdt"])),
               risk=None, venue_risk=None, backtest=None):
    """A config of several venues as `hftshm start` takes it, with [backtest] tables."""
    lines = ['instance = "bt"']
    for name, syms in venues:
        lines += ["[[venues]]", f'name = "{name}"', 'kind = "sim"', f"symbols = {json.dumps(syms)}"]
        if venue_risk and name in venue_risk:
            lines.append(f"risk = {_toml_value(venue_risk[name])}")
    for s in strategies:
        lines.append("[[strategies]]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in s.items()]
    lines.append("[risk]")
    lines += [f"{k} = {_toml_value(v)}" for k, v in (WIDE_RISK if risk is None else risk).items()]
    for section, table in (backtest or {}).items():
        lines.append(f"[backtest.{section}]")
        lines += [f"{_key(k)} = {_toml_value(v)}" for k, v in table.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def two(tmp_path):
    """usdm: BTCUSDT around 60,000 (feed latency 1 ms); bybit: BTCUSDT around 61,000 and ETHUSDT
    (ids 0, 1; feed latency 5 ms). Local times interleave, with ties."""
    usdm, bybit = [], []
    for k in range(40):
        t = T0 + k * 10 * MS
        usdm.append(quote(t, (60_000 + k) * E8, E8, (60_001 + k) * E8, E8, exch_ns=t - MS))
        if k % 3 == 0:
            usdm.append(trade(t + 2 * MS, (60_001 + k) * E8, E8 // 10, O.BUY, exch_ns=t + MS))
        tb = t + (0 if k % 4 == 0 else 3 * MS)  # every 4th a tie with usdm's quote
        bybit.append(quote(tb, (61_000 + k) * E8, E8, (61_002 + k) * E8, E8, exch_ns=tb - 5 * MS, symbol=0))
        bybit.append(quote(tb, 3_000 * E8, E8, 3_001 * E8, E8, exch_ns=tb - 5 * MS, symbol=1))
    u = write_md(tmp_path / "usdm", np.concatenate(usdm))
    b = write_md(tmp_path / "bybit", np.concatenate(bybit), symbols=("btcusdt", "ethusdt"))
    return {"usdm": u, "bybit": b}


def _per_venue_order(src: MergedSource):
    """The merged stream's records with the venue each came from (by its table id)."""
    recs, local, venue = [], [], []
    for c in src.chunks():
        recs.append(c.records.copy())
        local.append(c.local)
        venue.append(c.venue)
    return np.concatenate(recs), np.concatenate(local), np.concatenate(venue)


@pytest.mark.parametrize("chunk", [3, 7, 1 << 16])
def test_merged_stream_order_ids_and_times(two, monkeypatch, chunk):
    import hftshm.backtest.source as S

    monkeypatch.setattr(S, "CHUNK", chunk)  # chunk edges fall between and inside ties
    src = MergedSource(two)
    assert src.symbols == ["USDM:BTCUSDT", "BYBIT:BTCUSDT", "BYBIT:ETHUSDT"]
    assert src.venue_of == [0, 1, 1]
    recs, local, venue = _per_venue_order(src)
    assert len(recs) == src.total == MdSource(two["usdm"]).total + MdSource(two["bybit"]).total
    v_of = np.array(src.venue_of)[recs["symbol_id"]]
    assert np.all(np.diff(local) >= 0)
    # each venue's records in its own journal order (seq), with its own ids mapped and L unchanged
    for v, name in enumerate(src.venues):
        own = MdSource(two[name])
        ref = np.concatenate([c.records for c in own.chunks()])
        ref_l = np.concatenate([c.local for c in own.chunks()])
        ref_v = np.concatenate([c.venue for c in own.chunks()])
        mine = v_of == v
        assert np.array_equal(recs["seq"][mine], ref["seq"])
        assert np.array_equal(recs["symbol_id"][mine], np.array(src.to_table[v])[ref["symbol_id"]])
        assert np.array_equal(recs["price_e8"][mine], ref["price_e8"])
        assert np.array_equal(local[mine], ref_l)
        # venue time: its own, or later where another venue's was ahead (never earlier, never past L)
        assert np.all(venue[mine] >= ref_v)
    assert np.all(venue <= local) and np.all(np.diff(venue) >= 0)
    # ties on L: usdm (config order first) before bybit
    for t in np.unique(local):
        at = v_of[local == t]
        assert np.all(np.diff(at) >= 0), t
    assert any(len(set(v_of[local == t])) == 2 for t in np.unique(local))  # the fixture has ties
    # bybit's feed is 4 ms slower: its records were applied up to that much late, and counted
    assert src.raised["bybit"]["records"] > 0 and src.raised["bybit"]["max_ns"] <= 4 * MS + 3 * MS
    assert src.raised["usdm"]["records"] == 0
    assert src.feed_offset_ns == {"usdm": MS, "bybit": 5 * MS}


def cross(name="x", qty=100_000, symbols=("usdm:btcusdt", "bybit:btcusdt")):
    return {"name": name, "kind": "file", "path": STRAT, "class": "BuyFirstAsk", "symbols": list(symbols),
            "qty_e8": qty}


def test_cross_venue_intents_fill_on_their_own_venue_book(two, tmp_path):
    cfg = group_toml(tmp_path / "c.toml", [cross()], backtest={"fill": {"taker": "unlimited"}})
    bt, src, _ = build(two, cfg)
    runner = next(iter(bt.runners.values()))
    assert runner.strategy.symbols == src.symbols
    assert runner.strategy.trading == [0, 1]
    bt.run()
    strat = runner.strategy
    assert strat.sent == {"USDM:BTCUSDT": 60_001 * E8, "BYBIT:BTCUSDT": 61_002 * E8}
    trades = [r for r in strat.seen_fills if r["exec_type"] == F.EX_TRADE]
    got = {strat.symbols[int(r["symbol_id"])]: int(r["last_px_e8"]) for r in trades}
    assert got == strat.sent  # each leg at its own venue's ask, not the other's
    # the strategy saw its symbols' quotes in local time order, ETHUSDT's never
    times = [t for _, t, _ in strat.seen]
    assert times == sorted(times) and {s for s, _, _ in strat.seen} == {"USDM:BTCUSDT", "BYBIT:BTCUSDT"}
    assert all(t >= recv for _, t, recv in strat.seen)
    assert list(bt.position) == [100_000, 100_000, 0]


def test_run_names_symbols_venue_symbol_and_totals_per_venue(two, tmp_path):
    cfg = group_toml(tmp_path / "c.toml", [cross()], backtest={"fill": {"taker": "unlimited"}})
    res = run(two, tmp_path / "out", cfg)
    assert res["engine"] == "python"
    assert res["symbols"] == ["USDM:BTCUSDT", "BYBIT:BTCUSDT", "BYBIT:ETHUSDT"]
    assert res["per_symbol"]["USDM:BTCUSDT"]["trades"] == 1 and res["per_symbol"]["BYBIT:ETHUSDT"]["trades"] == 0
    assert set(res["venues"]) == {"usdm", "bybit"}
    assert res["venues"]["usdm"]["trades"] == 1 and res["venues"]["bybit"]["trades"] == 1
    assert res["venues"]["bybit"]["venue_time_raised"] > 0
    total = res["venues"]["usdm"]["net_pnl"] + res["venues"]["bybit"]["net_pnl"]
    assert total == pytest.approx(res["summary"]["net_pnl"])
    fees = res["venues"]["usdm"]["fees"] + res["venues"]["bybit"]["fees"]
    assert fees == pytest.approx(res["summary"]["fees"]) and fees > 0
    csv = (tmp_path / "out" / "equity.csv").read_text()
    assert "usdm:btcusdt" in csv and "bybit:ethusdt" in csv


def test_one_venue_strategies_and_builtins_name_venue_symbol(two, tmp_path):
    strategies = [{"name": "imb", "kind": "imbalance", "symbols": ["bybit:ethusdt"], "threshold": 0.3},
                  {"name": "mom", "kind": "momentum", "symbols": ["usdm:btcusdt"]}]
    res = run(two, None, group_toml(tmp_path / "c.toml", strategies))
    bt, src, _ = build(two, tmp_path / "c.toml")
    trading = {r.strategy.params["name"]: r.strategy.trading for r in bt.runners.values()}
    assert trading == {"imb": [2], "mom": [0]}
    assert [s["symbols"] for s in res["strategies"]] == [["bybit:ethusdt"], ["usdm:btcusdt"]]


def test_each_venue_risk_limits_apply_to_its_own_symbols(two, tmp_path):
    # usdm may hold 0.0005 BTC, bybit 0.01: the same 0.001 buy is refused on usdm only
    cfg = group_toml(tmp_path / "c.toml", [cross(qty=100_000)], venue_risk={"usdm": {"max_position": 0.0005}},
                     backtest={"fill": {"taker": "unlimited"}})
    res = run(two, None, cfg)
    assert res["summary"]["risk_rejects"] == 1
    assert res["per_symbol"]["USDM:BTCUSDT"]["trades"] == 0 and res["per_symbol"]["BYBIT:BTCUSDT"]["trades"] == 1
    # a venue's per-symbol override ([[venues]] risk.symbols) reaches that venue's symbol only
    cfg = group_toml(tmp_path / "d.toml", [cross(qty=100_000)],
                     venue_risk={"bybit": {"symbols": {"btcusdt": {"max_order_qty": 0.0001}}}},
                     backtest={"fill": {"taker": "unlimited"}})
    bt, _, _ = build(two, cfg)
    assert bt.gate_of[1] is not bt.gate_of[0] and bt.gate_of[1] is bt.gate_of[2]
    bt.run()
    rejected = [bt.orders[i][0] for i in bt.order_list if bt.orders[i][0]["verdict"] == O.REJECTED]
    assert [int(o["symbol_id"]) for o in rejected] == [1]
    assert list(bt.position) == [100_000, 0, 0]


def test_account_limits_are_per_venue(two, tmp_path):
    # max_gross_exposure 7,000: either 0.1 BTC leg alone passes (~6,000), both together would not
    cfg = group_toml(tmp_path / "c.toml", [cross(qty=10_000_000)], risk={**WIDE_RISK, "max_gross_exposure": 7_000},
                     backtest={"fill": {"taker": "unlimited"}})
    res = run(two, None, cfg)
    assert res["summary"]["risk_rejects"] == 0 and res["summary"]["trades"] == 2


@pytest.mark.parametrize("given, match", [
    ({"usdm"}, r"\(x\) trades venue 'bybit': give its md journal \(bybit=PATH\)"),
    ({"usdm", "bybit", "okx"}, r"venue 'okx': not a venue of the config \(\[\[venues\]\]: usdm, bybit\)"),
])
def test_missing_or_unknown_venue_journal_is_refused(two, tmp_path, given, match):
    journals = {v: two.get(v, tmp_path / "nowhere") for v in given}
    with pytest.raises(BacktestError, match=match):
        run(journals, None, group_toml(tmp_path / "c.toml", [cross()]))


def test_a_venue_journal_that_is_not_there_names_the_venue(two, tmp_path):
    with pytest.raises(BacktestError, match=r"venue 'bybit': md journal .* does not exist"):
        run({"usdm": two["usdm"], "bybit": tmp_path / "nowhere"}, None, group_toml(tmp_path / "c.toml", [cross()]))


def test_journals_recorded_at_different_times_are_refused(two, tmp_path):
    later = [quote(T0 + 3600 * 1_000_000_000 + k * MS, 61_000 * E8, E8, 61_001 * E8, E8) for k in range(5)]
    b = write_md(tmp_path / "later", np.concatenate(later))
    with pytest.raises(BacktestError, match=r"venue 'usdm'.s journal ends before venue 'bybit'.s begins"):
        MergedSource({"usdm": two["usdm"], "bybit": b})
    MergedSource(two)  # overlapping: taken


def test_config_and_journals_must_agree_on_venues(two, tmp_path):
    with pytest.raises(BacktestError, match="give each venue's md journal as VENUE=PATH"):
        run(two["usdm"], None, group_toml(tmp_path / "c.toml", [cross()]))
    one = tmp_path / "one.toml"
    one.write_text('[[strategies]]\nname = "imb"\nkind = "imbalance"\n')
    with pytest.raises(BacktestError, match="need a config of several venues"):
        run(two, None, one)
    with pytest.raises(BacktestError, match=r"journals of venues usdm, bybit: the config's venues are none"):
        run(two, None, cfg=cfg_of([{"name": "imb", "kind": "imbalance"}]))
    with pytest.raises(BacktestError, match="model 'recorded' follows one live instance's run"):
        run(two, None, group_toml(tmp_path / "r.toml", [cross()],
                                  backtest={"latency": {"model": "recorded", "run": str(tmp_path)}}))


def test_a_ready_config_of_several_venues_runs_again(two, tmp_path):
    """``run(..., cfg=...)`` (a sweep's way) with the config ``build`` made from the file."""
    _, _, ready = build(two, group_toml(tmp_path / "c.toml", [cross()], backtest={"fill": {"taker": "unlimited"}}))
    assert list(ready.venue_risk) == ["usdm", "bybit"]
    res = run({"bybit": two["bybit"], "usdm": two["usdm"]}, None, cfg=ready)
    assert res["symbols"][0] == "USDM:BTCUSDT" and res["venues"]["usdm"]["trades"] == 1


def test_filters_by_venue_symbol(two, tmp_path):
    cfg = group_toml(tmp_path / "c.toml", [cross()],
                     backtest={"symbols": {"bybit:btcusdt": {"tick": "0.1", "step": "0.001", "min_notional": "5"}}})
    bt, src, _ = build(two, cfg)
    assert bt.venue.filters[1].tick_e8 == 10_000_000
    assert bt.venue.filters[0].tick_e8 == bt.venue.filters[1].tick_e8 // 10  # usdm: the known table's
    with pytest.raises(BacktestError, match=r"is not a symbol of the journal"):
        build(two, group_toml(tmp_path / "d.toml", [cross()],
                              backtest={"symbols": {"btcusdt": {"tick": "0.1", "step": "0.001", "min_notional": "5"}}}))


def test_parse_journals():
    assert parse_journals(["a/b.hftj"]) == "a/b.hftj"
    assert parse_journals(["usdm=a", "bybit=x=y"]) == {"usdm": "a", "bybit": "x=y"}
    with pytest.raises(BacktestError, match="name each one's venue"):
        parse_journals(["usdm=a", "b"])
    with pytest.raises(BacktestError, match="given twice"):
        parse_journals(["usdm=a", "usdm=b"])
    assert parse_journals(["USDM=a", "Bybit=b"]) == {"usdm": "a", "bybit": "b"}  # names are lower case
    with pytest.raises(BacktestError, match="'usdm' is given twice"):
        parse_journals(["USDM=a", "usdm=b"])


def test_one_venue_run_is_unchanged_by_the_venue_plumbing(tmp_path):
    """A one-venue journal gives the same run through the one-venue path as the same records
    through a one-venue [[venues]] config (ids identical, names qualified)."""
    recs = []
    for k in range(60):
        t = T0 + k * 5 * MS
        recs.append(quote(t, (60_000 + k % 7) * E8, E8, (60_001 + k % 7) * E8, E8, exch_ns=t - MS))
        recs.append(trade(t + MS, (60_001 + k % 7) * E8, E8 // 10, O.BUY if k % 2 else O.SELL, exch_ns=t))
    j = write_md(tmp_path / "md", np.concatenate(recs))
    one = backtest(j, [{"name": "nth", "kind": "file", "path": STRAT, "class": "EveryNthTrade", "every": 5}])
    cfg = group_toml(tmp_path / "c.toml", [{"name": "nth", "kind": "file", "path": STRAT, "class": "EveryNthTrade",
                                            "every": 5, "symbols": ["usdm:btcusdt"]}], venues=(("usdm", ["btcusdt"]),))
    grp = run({"usdm": j}, None, cfg)
    assert one["summary"]["orders"] > 0
    assert {k: v for k, v in one["summary"].items()} == grp["summary"]
    assert one["per_symbol"]["BTCUSDT"] == grp["per_symbol"]["USDM:BTCUSDT"]


def test_cli_takes_venue_equals_path(two, tmp_path):
    cfg = group_toml(tmp_path / "c.toml", [cross()], backtest={"fill": {"taker": "unlimited"}})
    res = CliRunner().invoke(app, ["backtest", f"usdm={two['usdm']}", f"bybit={two['bybit']}", "--config", str(cfg),
                                   "--json", str(tmp_path / "r.json")])
    assert res.exit_code == 0, res.output
    out = json.loads((tmp_path / "r.json").read_text())
    assert out["venues"]["bybit"]["trades"] == 1 and out["summary"]["trades"] == 2
    res = CliRunner().invoke(app, ["backtest", f"usdm={two['usdm']}", "--config", str(cfg)])
    assert res.exit_code == 2 and "give its md journal (bybit=PATH)" in res.output
