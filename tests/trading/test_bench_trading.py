"""``hftshm bench trading``'s pieces that need no pipeline: the scheduler figures it reads per
process, the variant syntax, and the refusals of bad options (the whole run is a benchmark and
asserts nothing)."""

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from hftshm.bench import tick_to_trade as bench

CAPTURE = Path(__file__).parents[1] / "data" / "btcusdt_spot_20240808.capture.gz"  # btcusdt only
USDM = CAPTURE.with_name("btcusdt_usdm_20240808.capture.gz")


def test_sched_reads_this_process():
    x = 0
    for i in range(200_000):  # some CPU to count
        x += i
    s = bench.sched(os.getpid())
    assert s.cpu_s > 0 and s.run_ns > 0 and s.slices > 0
    assert s.voluntary >= 0 and s.involuntary >= 0 and s.wait_ns >= 0
    d = bench.sched(os.getpid()) - s
    assert d.run_ns >= 0 and d.slices >= 0


def test_sched_of_a_gone_process_is_zero():
    assert bench.sched(2**22 + 12345) == bench.Sched()


def test_variants_split_worker_keys_and_params():
    got = bench.parse_overrides("journal.wait=backoff, strategies.wait=blocking,ingest.hold_wakes=0,"
                                "risk.max_nap_us=500.5,execution.cpu=1,execution.restart=false")
    assert got == {"journal": {"wait": "backoff"}, "strategy-mom": {"wait": "blocking"},
                   "strategy-imb": {"wait": "blocking"}, "ingest": {"hold_wakes": 0},
                   "risk": {"max_nap_us": 500.5}, "execution": {"cpu": 1, "restart": False}}
    assert type(got["execution"]["cpu"]) is int  # a core number is an integer key
    assert bench.parse_overrides('strategies.symbols=["ethusdt"],ingest.hold_wakes=2024-01-01') == {
        "strategy-mom": {"symbols": ["ethusdt"]}, "strategy-imb": {"symbols": ["ethusdt"]},
        "ingest": {"hold_wakes": "2024-01-01"}}  # a TOML date stays text: no worker param is one
    with pytest.raises(ValueError, match="WORKER.KEY=VALUE"):
        bench.parse_overrides("journal=backoff")


def test_a_strategy_table_key_goes_to_every_strategy_table():
    strategies = [{"name": "mom", "kind": "momentum"}, {"name": "imb", "kind": "imbalance"}]
    config, params = bench.split_overrides(
        strategies, bench.parse_overrides("strategies.host=execution,strategies.wait=blocking,ingest.hold_wakes=0"))
    assert [s["host"] for s in strategies] == ["execution", "execution"]
    assert config == {"strategy-mom": {"wait": "blocking"}, "strategy-imb": {"wait": "blocking"}, "ingest": {}}
    assert params == {"strategy-mom": {}, "strategy-imb": {}, "ingest": {"hold_wakes": 0}}


@pytest.mark.parametrize("args,message", [
    (["--replay", "/nonexistent/capture"], "is not a readable file"),
    (["--variant", "nokey"], "WORKER.KEY=VALUE"),
    (["--speed", "0"], "--speed must be > 0"),
    (["--variant", "execution.cpu=1.5"], "[workers.execution] cpu = 1.5"),
    (["--sim-cpu", "4095"], "--sim-cpu 4095: not a core this process may run on"),
    (["--wait", "nosuch"], "--wait: [workers."),
    (["--variant", "exection.wait=blocking"], "exection: no such worker in this run"),
    (["--no-journal", "--variant", "journal.wait=backoff"], "journal: no such worker in this run"),
    (["--replay", str(CAPTURE), "--variant", 'strategies.symbols=["ethusdt"]'], "ethusdt"),
    (["--replay", str(USDM)], "is a binance_usdm capture"),
    (["--variant", "ingest.hold_wakes=0", "--variant", "journal.wait=nosuch"], "[workers.journal] wait = 'nosuch'"),
])
def test_bad_options_are_refused_before_anything_starts(args, message):
    res = CliRunner().invoke(app, ["bench", "trading", *args])
    assert res.exit_code == 2
    assert message in " ".join(res.output.replace("│", " ").split())  # the error box wraps lines


def test_a_replay_sizes_the_strategies_for_its_symbols_price(tmp_path):
    """0.001 of a symbol near 0.52 is under any minimum notional: the strategies trade ~60 USDT
    (100 XRP on the 0.00001 tick the simulator serves for these prices), risk limits in step."""
    q = ('%d {"stream":"xrpusdt@bookTicker","data":{"u":%d,"s":"XRPUSDT","b":"0.52341000","B":"900.00000000",'
         '"a":"0.52342000","A":"800.00000000"}}')
    cap = tmp_path / "xrp.capture"
    cap.write_text("".join(q % (100 + i, i) + "\n" for i in range(3)))
    h = bench._harness(10_000.0, None, 20, str(cap), 1.0, {}, True, str(tmp_path / "run"))
    assert [(s["symbols"], s["qty"]) for s in h.strategies] == [(["xrpusdt"], "100.00000000")] * 2
    assert h.risk["symbols"] == {"xrpusdt": {"max_order_qty": "100000.00000000", "max_position": "1000000.00000000"}}
    assert h.config(1).strategies[0].symbols == ["xrpusdt"]  # a valid config for that capture
