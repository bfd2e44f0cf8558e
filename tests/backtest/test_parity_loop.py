"""The parity loop: the simulator trading on a replayed capture (``--replay-orders``), and, behind
``stress``, the whole loop of ``hftshm bench parity`` (a live run, then its backtest) asserting
the share of live fills the backtest reproduces."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from hftshm.exchange import errors
from hftshm.exchange.config import ExchangeConfig
from hftshm.exchange.matching import OrderRequest
from hftshm.exchange.loaded_capture import Capture
from hftshm.exchange.playback import Applied, stamped
from hftshm.exchange.replay_trading import ReplayEngine, schedule
from hftshm.exchange.venue import Venue
from hftshm.feed.e8 import parse_e8
from hftshm.layouts import md as M

E8 = M.E8
T = 1_723_161_254_000_000_000


def frame(t_ns, stream, data: dict) -> str:
    return f'{t_ns} {json.dumps({"stream": stream, "data": data}, separators=(",", ":"))}'


def ticker(t_ns, u, bid, bq, ask, aq) -> str:
    return frame(t_ns, "btcusdt@bookTicker", {"u": u, "s": "BTCUSDT", "b": bid, "B": bq, "a": ask, "A": aq})


def trade(t_ns, tid, px, qty, buyer_maker) -> str:
    ms = t_ns // 1_000_000 + 1200  # the recorder's clock was behind the venue's
    return frame(t_ns, "btcusdt@trade", {"e": "trade", "E": ms, "s": "BTCUSDT", "t": tid, "p": px, "q": qty,
                                         "T": ms - 1, "m": buyer_maker, "M": True})


@pytest.fixture
def capture_file(tmp_path):
    lines = [ticker(T, 1, "60000.00", "2.0", "60000.01", "0.5"),
             trade(T + 3_300_000, 1, "60000.00", "1.5", True),  # sells 1.5 into the bid
             ticker(T + 7_000_000, 2, "60000.00", "0.5", "60000.01", "0.5"),
             trade(T + 9_000_000, 2, "60000.00", "0.8", True),
             ticker(T + 20_000_000, 3, "59999.99", "1.0", "60000.01", "0.5")]
    p = tmp_path / "tiny.capture"
    p.write_text("\n".join(lines) + "\n")
    return p


@pytest.fixture
def capture(capture_file):
    return Capture.load(capture_file)


def req(side, kind, price, qty, tif="GTC"):
    return OrderRequest("btcusdt", side, kind, tif, parse_e8(price), parse_e8(qty), 0, None, "FULL")


def engine(cap):
    cfg = ExchangeConfig(port=0, replay=None, symbols=("btcusdt",))
    v = Venue(cfg)
    eng = ReplayEngine(v.markets, v.account, 0, 1_000_000 // 10 * 10, cfg.specs, cap)  # 0.1% taker, in 1e8
    events = []
    eng.sink = events.extend
    return eng, events


def test_schedule_is_whole_milliseconds(capture):
    start = 1_800_000_000_000_400_000  # 0.4 ms past a millisecond
    due = schedule(capture, start, 1.0)
    assert due[0] == 1_800_000_000_001_000_000  # rounded up
    assert [d - due[0] for d in due] == [0, 4_000_000, 7_000_000, 9_000_000, 20_000_000]  # 3.3 ms -> 4 ms
    assert schedule(capture, start, 2.0)[1] - due[0] == 2_000_000  # 3.3 / 2 -> 2 ms
    with pytest.raises(ValueError, match="finite speed"):
        schedule(capture, start, float("inf"))


def test_a_frame_takes_the_time_the_venue_applied_it(capture):
    eng, _ = engine(capture)
    due = schedule(capture, T, 1.0)
    eng.start(due)
    woken = []
    eng.on_applied = lambda: woken.append(len(eng.applied_ms))
    late = due[1] + 2_500_000  # the pump woke 2.5 ms after frame 1 was due: 0 and 1 happen now
    eng.advance(late)
    assert eng.applied_ms == [late // 1_000_000] * 2 and woken == [2]
    eng.advance(late + 100_000)  # nothing more due: no wake-up for the connections
    assert woken == [2]
    # an order catches the book up: frames 2 and 3 happen at its arrival
    arrival = due[3] + 700_000
    eng.place(req("BUY", "LIMIT", "59000.00", "0.1"), arrival)
    assert eng.applied_ms[2:] == [arrival // 1_000_000] * 2 and woken == [2, 4]
    assert all(a * 1_000_000 >= d for a, d in zip(eng.applied_ms, due))  # never before it is due
    # the frame's E and T say it, in both encodings (built once for every connection); a ticker
    # (no time) is sent as recorded
    applied = Applied(capture, eng.applied_ms)
    env, ws = applied.sent(1, True)
    body = json.loads(env)["data"]
    assert body["E"] == body["T"] == eng.applied_ms[1] and ws.endswith(env)
    assert env.endswith(b"}") and applied.sent(1, False)[0] == json.dumps(body, separators=(",", ":")).encode()
    assert applied.sent(1, True) is applied.sent(1, True)
    assert applied.sent(0, True)[0] == stamped(capture.frames[0], 123, True) == capture.frames[0].combined


def test_a_connection_gets_each_frame_stamped_as_the_venue_applied_it(capture_file):
    """Through the socket: every trade's E is the venue's own time for that frame, which is never
    before it was due; a second connection, joining late, gets the same stamps."""
    import asyncio

    import websockets

    from hftshm.exchange.server import ExchangeSimulator

    async def main():
        cfg = ExchangeConfig(port=0, replay=capture_file, replay_orders=True, speed=1.0)
        async with ExchangeSimulator(cfg) as sim:
            async def read(n):
                async with websockets.connect(sim.url("/stream?streams=btcusdt@trade/btcusdt@bookTicker")) as ws:
                    return [json.loads(await ws.recv())["data"] for _ in range(n)]
            first = await asyncio.wait_for(read(5), 20)
            second = await asyncio.wait_for(read(5), 20)
            return first, second, list(sim.venue.engine.applied_ms), list(sim.venue.engine.due)

    first, second, applied, due = asyncio.run(main())
    assert [("E" in d) for d in first] == [False, True, False, True, False]
    assert [d["E"] for d in first if "E" in d] == [applied[1], applied[3]]
    assert applied[1] * 1_000_000 >= due[1] and applied[3] * 1_000_000 >= due[3]
    assert second == first


def test_orders_match_against_the_frames_due_at_arrival(capture):
    eng, events = engine(capture)
    due = schedule(capture, T, 1.0)
    eng.start(due)
    # a taker at the first ticker's ask: capped at the displayed 0.5
    out = eng.place(req("BUY", "LIMIT", "60000.01", "0.8", "IOC"), due[0])
    trades = [e for e in out.events if e.get("x") == "TRADE"]
    assert [(e["L"], e["l"]) for e in trades] == [("60000.01000000", "0.50000000")]
    assert out.events[-2]["X"] == "EXPIRED"
    # a post-only bid that would cross: refused as Binance refuses it
    with pytest.raises(errors.ApiError, match="immediately match"):
        eng.place(req("BUY", "LIMIT_MAKER", "60000.01", "0.1"), due[0])
    # a resting bid behind the 2.0 BTC shown at 60000.00: the 1.5 sold does not reach it, the
    # ticker's drop to 0.5 is cancels behind it (conservative), the 0.8 sold next fills 0.3 of it
    out = eng.place(req("BUY", "LIMIT", "60000.00", "1.0"), due[0] + 10)
    assert [e["x"] for e in out.events if "x" in e] == ["NEW"]
    eng.advance(due[1])
    assert events == []
    eng.advance(due[3])
    fills = [e for e in events if e.get("x") == "TRADE"]
    assert [(e["L"], e["l"], e["m"]) for e in fills] == [("60000.00000000", "0.30000000", True)]
    # cancel: the rest leaves the book and the model
    eng.cancel("btcusdt", out.result["orderId"], None, None, due[3] + 10)
    assert not eng.model.resting[0] and not eng.by_model_id
    with pytest.raises(errors.ApiError, match="Unknown order"):
        eng.cancel("btcusdt", out.result["orderId"], None, None, due[3] + 20)


def test_sim_config_refuses_replay_orders_without_a_finite_replay(capture, tmp_path):
    with pytest.raises(ValueError, match="replay_orders needs a replay capture"):
        ExchangeConfig(port=0, replay_orders=True)
    p = tmp_path / "c.capture"
    p.write_text(ticker(T, 1, "60000.00", "2.0", "60000.01", "0.5") + "\n")
    with pytest.raises(ValueError, match="finite speed"):
        ExchangeConfig(port=0, replay=p, speed=float("inf"), replay_orders=True)


def test_start_config_checks_replay_orders(tmp_path):
    from hftshm.runtime import config as config_mod

    with pytest.raises(config_mod.ConfigError, match="replay_orders needs"):
        config_mod.from_dict({"venue": {"kind": "sim"}, "sim": {"replay_orders": True}})


@pytest.mark.stress
def test_parity_loop_reproduces_live_fills(tmp_path):
    """``hftshm bench parity``'s loop: 30 s live on the simulator replaying the vendored capture
    (the imbalance strategy), then the backtest of that run at its recorded latency. Most of the
    time is the workers' start; the assertion is on the match, never on a time."""
    from hftshm.bench import parity

    from ._md import CAPTURE

    res = parity.run(CAPTURE, seconds=30, keep=tmp_path / "parity")
    assert res["live_fills"] >= 20, res
    # by order identity: the sequence measure (also reported) compares unrelated orders after a
    # single divergence, which a loaded machine's latency spikes can cause
    assert res["fill_match_pct_by_trigger"] >= 95.0, res
    assert res["pnl_within_target"], res


def test_bench_parity_and_compare_live_bad_input_exit_2(tmp_path):
    from typer.testing import CliRunner

    from hftshm.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["bench", "parity", str(tmp_path / "nothing.capture")])
    assert res.exit_code == 2 and "does not exist" in res.output
    res = runner.invoke(app, ["bench", "parity", str(tmp_path), "--seconds", "0"])
    assert res.exit_code == 2
    (tmp_path / "run" / "journal" / "md").mkdir(parents=True)
    res = runner.invoke(app, ["backtest", "-", "--compare-live", str(tmp_path / "run")])
    assert res.exit_code == 2 and "no config.json there" in res.output


def test_unknown_parity_strategy_is_a_clear_error(tmp_path):
    from hftshm.bench import parity

    with pytest.raises(ValueError, match="unknown strategy momentum; choose from imbalance, grid"):
        parity.live_config(tmp_path / "c", tmp_path, "x", 10, 1.0, ["momentum"])


def test_parity_trades_the_captures_own_symbols_and_streams(tmp_path):
    """The live run subscribes to what the capture holds (another symbol, no depth stream), and
    sizes its orders for that symbol's price on the rules the simulator will serve."""
    import gzip
    import tomllib
    from decimal import Decimal

    import orjson

    from hftshm.bench import parity
    from hftshm.bench.replayed_markets import order_qty_e8

    from ._md import CAPTURE

    def as_xrp(line):  # the vendored bookTicker, as a symbol at 1/100,000 the price, 100,000 the size
        ts, _, raw = line.partition(b" ")
        d = orjson.loads(raw)
        x = d["data"]
        x.update(s="XRPUSDT", **{k: f"{Decimal(x[k]) / 100_000:.8f}" for k in ("b", "a")},
                 **{k: f"{Decimal(x[k]) * 100_000:.8f}" for k in ("B", "A")})
        return ts + b" " + orjson.dumps({"stream": "xrpusdt@bookTicker", "data": x}) + b"\n"

    with gzip.open(CAPTURE, "rb") as f:
        lines = [as_xrp(line) for line in f if b"@bookTicker" in line][:50]
    cap = tmp_path / "xrp.capture"
    cap.write_bytes(b"".join(lines))
    m = parity.capture_markets(cap)
    # prices 0.6183763: 7 decimals, so tick 1e-7 and a step of 0.1 (exact notionals); ~60 USDT a
    # order: 100 XRP
    assert (m.symbols, m.streams, m.qty_e8) == (("xrpusdt",), ("bookTicker",), 100 * 10**8)
    cfg = tomllib.loads(parity.live_config(cap, tmp_path, "x", 10, 1.0, ["imbalance", "grid"], m))
    assert cfg["venue"]["symbols"] == ["xrpusdt"] and cfg["venue"]["streams"] == ["bookTicker"]
    assert [(s["symbols"], s["qty"]) for s in cfg["strategies"]] == [(["xrpusdt"], "100.00000000")] * 2
    assert cfg["risk"]["symbols"]["xrpusdt"] == {"max_order_qty": "1000.00000000", "max_position": "10000.00000000"}
    # the vendored capture: its three streams (in order of first frame) and 0.001 BTC, as the loop
    # has always traded
    assert parity.capture_markets(CAPTURE) == parity.Markets(("btcusdt",), ("depth@100ms", "bookTicker", "trade"),
                                                             100_000)
    assert order_qty_e8(61_837.63, 1_000, 500_000_000) == 100_000
    assert order_qty_e8(20_000.0, 1_000, 1_000 * 10**8) == 10**7  # 0.1: twice the minimum notional of 1,000


def test_parity_refuses_a_usdm_capture_before_starting_anything(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from hftshm.cli import app

    usdm = Path(__file__).parents[1] / "data" / "btcusdt_usdm_20240808.capture.gz"
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # no run directory may be left behind
    res = CliRunner().invoke(app, ["bench", "parity", str(usdm), "--seconds", "5"])
    assert res.exit_code == 2, res.output
    assert "binance_usdm capture" in res.output and "Binance Spot captures only" in res.output
    assert list(tmp_path.iterdir()) == []


def test_compare_live_takes_filters_from_the_runs_instrument_rules(tmp_path):
    """A symbol outside the simulator's known table backtests on the rules its live run traded
    on (the run's instruments.json); a [backtest.symbols.X] table of the config still wins."""
    from hftshm.backtest import config as C
    from hftshm.backtest import rules
    from hftshm.backtest.errors import BacktestError
    from hftshm.venues import instruments as I

    strategies = [{"name": "imb", "kind": "imbalance"}]
    with pytest.raises(BacktestError, match=r"no filters for dogeusdt"):
        C.from_dict({"strategies": strategies}, ["dogeusdt"]).filters("dogeusdt")  # no run rules: as before
    assert rules.run_rules(tmp_path) == {}
    doge = I.InstrumentRules(symbol="DOGEUSDT", base="DOGE", quote="USDT", tick_e8=1_000, step_e8=100_000_000,
                             min_notional_e8=0)
    (tmp_path / I.FILE_NAME).write_text(I.dumps([doge], "test", 0))
    table: dict = {}
    rules.with_run_filters(table, rules.run_rules(tmp_path), ["DOGEUSDT"])
    f = C.from_dict({"strategies": strategies, "backtest": table}, ["dogeusdt"]).filters("dogeusdt")
    assert (f.tick_e8, f.step_e8, f.min_notional_e8) == (1_000, 100_000_000, 1)  # 0 there: no minimum
    given = {"symbols": {"dogeusdt": {"tick": "0.0001", "step": "1", "min_notional": "5"}}}
    rules.with_run_filters(given, rules.run_rules(tmp_path), ["dogeusdt"])
    assert given["symbols"]["dogeusdt"]["tick"] == "0.0001"
    (tmp_path / I.FILE_NAME).write_text("{")
    with pytest.raises(BacktestError, match="not JSON"):
        rules.run_rules(tmp_path)


def test_replayed_markets_refuse_what_they_cannot_size(tmp_path):
    """Past the simulator's maxQty (a price near 0.001) or quoted in something not a dollar."""
    from hftshm.bench.replayed_markets import capture_markets, order_qty_e8

    with pytest.raises(ValueError, match="10000 units, above the simulator's maxQty of 9000"):
        order_qty_e8(0.006, 100_000, 500_000_000, 9_000 * 10**8)
    q = ('%d {"stream":"ethbtc@bookTicker","data":{"u":%d,"s":"ETHBTC","b":"0.04210000","B":"9.00000000",'
         '"a":"0.04220000","A":"8.00000000"}}\n')
    cap = tmp_path / "ethbtc.capture"
    cap.write_text(q % (1, 1))
    with pytest.raises(ValueError, match="ethbtc is quoted in BTC; orders are sized in US dollars"):
        capture_markets(cap)
