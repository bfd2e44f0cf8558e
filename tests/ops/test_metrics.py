"""The Prometheus exporter: scraped over real HTTP on 127.0.0.1 and parsed with
prometheus_client's own parser; its figures equal ``hftshm status --json``'s."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request

import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from hftshm.latency import buckets as B
from hftshm.metrics import histograms
from tests.ui.live_fixture import LiveInstance, env

N = 400


def scrape(url: str) -> dict:
    """{(sample name, frozenset(labels)): value}, and every family's type, from one scrape."""
    text = urllib.request.urlopen(url, timeout=120).read().decode()
    out, types, names = {}, {}, {}
    for fam in text_string_to_metric_families(text):
        types[fam.name] = fam.type
        names[fam.name] = {s.name for s in fam.samples}
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return {"samples": out, "types": types, "names": names}


def value(scraped: dict, name: str, **labels) -> float:
    want = frozenset(labels.items())
    hits = [v for (n, ls), v in scraped["samples"].items() if n == name and want <= ls]
    assert len(hits) == 1, (name, labels, hits)
    return hits[0]


def test_fold_counts_each_sample_under_the_first_bound_at_or_above_its_book_bucket():
    hist = np.zeros(B.BUCKETS, np.int64)
    samples = [0, 100, 900, 2_000, 2_450, 20_000, 30_000, 1_500_000, 3_000_000_000, 200_000_000_000]
    for v in samples:
        hist[B.bucket_of(v)] += 1
    folded = dict(histograms.fold(hist, len(samples)))
    assert folded["+Inf"] == len(samples)
    counts = [c for _, c in histograms.fold(hist, len(samples))]
    assert counts == sorted(counts)  # cumulative
    assert folded[repr(250e-9)] == 2  # 0 and 100 ns are exact buckets
    assert folded[repr(1e-6)] == 3  # 900 ns
    assert folded[repr(5e-6)] == 5  # 2.0 and 2.45 us
    assert folded[repr(50e-6)] == 7
    assert folded[repr(2e-3)] == 8  # 1.5 ms
    assert folded[repr(5.0)] == 9  # 3 s; 200 s only under +Inf
    # a book bucket straddling a bound counts under the next bound up, never below its samples
    for (le, c) in histograms.fold(hist, len(samples))[:-1]:
        assert c == sum(1 for v in samples if B.bucket_low(B.bucket_of(v)) + B.bucket_width(B.bucket_of(v)) - 1
                        <= round(float(le) * 1e9)), le


def _status(instance: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "hftshm.cli", "status", "--json", "--instance", instance],
                         capture_output=True, text=True, env=env(), timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def serve(instance: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "hftshm.cli", "metrics", "--port", "0", "--instance", instance],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env())
    line = proc.stderr.readline()
    assert "serving" in line, line + proc.stderr.read()
    url = line.split()[-1]
    assert url.startswith("http://127.0.0.1:"), url
    return proc, url


def test_hftshm_metrics_equals_status_json(instance):
    live = LiveInstance(instance, n=N, rate=5000.0, capacity=1 << 12)
    proc = None
    try:
        live.wait_published(N)
        proc, url = serve(instance)
        time.sleep(0.3)  # the checker has read the last record
        got = scrape(url)
        status = _status(instance)
        # counters end in _total; latency is a histogram
        for fam, kind in got["types"].items():
            assert fam.startswith("hftshm_"), fam
        assert got["types"]["hftshm_latency_seconds"] == "histogram"
        counters = [f for f, kind in got["types"].items() if kind == "counter"]
        assert "hftshm_ring_published" in counters and "hftshm_worker_restarts" in counters
        for fam in counters:
            assert all(n == f"{fam}_total" for n in got["names"][fam]), (fam, got["names"][fam])
        i = {"instance": instance}
        assert value(got, "hftshm_instance_info", **i, state=status["state"], venue=status["venue"]) == 1
        assert value(got, "hftshm_trading_state", **i, state=status["kill_switch"]) == 1
        for ring in status["rings"]:
            r = {**i, "ring": ring["name"]}
            assert value(got, "hftshm_ring_published_total", **r) == ring["published"] == N
            assert value(got, "hftshm_ring_capacity", **r) == ring["capacity"]
            assert value(got, "hftshm_ring_overruns_total", **r) == ring["overruns"]
            for rd in ring["readers"]:
                assert value(got, "hftshm_ring_reader_lag", **r, worker=rd["name"]) == rd["lag"]
                assert value(got, "hftshm_ring_reader_lost_total", **r, worker=rd["name"]) == rd["lost"]
        for w in status["workers"]:
            k = {**i, "worker": w["name"], "role": w["role"]}
            assert value(got, "hftshm_worker_restarts_total", **k) == w["restarts"]
            assert value(got, "hftshm_worker_up", **k) == (1 if w["state"] == "running" and w["alive"] else 0)
            for name, v in w["counters"].items():
                assert value(got, "hftshm_worker_counter", **k, counter=name) == v
        feed = status["feed"]
        assert value(got, "hftshm_feed_messages_total", **i, worker=feed["worker"]) == feed["messages"] == N
        assert value(got, "hftshm_feed_connected", **i, worker=feed["worker"]) == 1
        for st in status["stages"]:
            s = {**i, "stage": st["name"]}
            assert value(got, "hftshm_latency_seconds_count", **s) == st["total"]["count"] == N
            assert value(got, "hftshm_latency_seconds_bucket", **s, le="+Inf") == N
        # the fixture's samples: recv_to_publish 2.0 to 2.45 us, exch_to_recv 20 to 29.9 us
        assert value(got, "hftshm_latency_seconds_bucket", **i, stage="recv_to_publish", le="1e-06") == 0
        assert value(got, "hftshm_latency_seconds_bucket", **i, stage="recv_to_publish", le="5e-06") == N
        assert value(got, "hftshm_latency_seconds_bucket", **i, stage="exch_to_recv", le="1e-05") == 0
        assert value(got, "hftshm_latency_seconds_bucket", **i, stage="exch_to_recv", le="5e-05") == N
        total_ns = N // 10 * sum(2_000 + j * 50 for j in range(10))
        assert abs(value(got, "hftshm_latency_seconds_sum", **i, stage="recv_to_publish") - total_ns / 1e9) < 1e-9
    finally:
        if proc is not None:
            proc.terminate()
            assert proc.wait(30) == 0
        live.close()


def test_trading_figures_equal_status_json(instance, tmp_path):
    """Positions, PnL, orders by state and rejects by reason, set by hand in a prepared trading
    area (execution's writes, without execution), so they hold still while both read them."""
    from hftshm.launch.instance import Instance
    from hftshm.layouts import exec_report as F
    from hftshm.risk import reasons as R
    from hftshm.risk.state import RiskState
    from hftshm.runtime import config as config_mod
    from hftshm.runtime import control_layout as C
    from hftshm.trading.area import TradingArea

    cfg = config_mod.from_dict({"instance": instance, "data_dir": str(tmp_path),
                                "venue": {"symbols": ["btcusdt", "ethusdt"]}})
    built = Instance.create(cfg, tmp_path, trading=True, stages=("tick_to_trade",))
    control = built.control
    proc = None
    try:
        control.set_state(C.RUNNING)
        syms = RiskState.attach(control.risk_buffer()).symbols
        syms[0]["position_e8"], syms[0]["fills"], syms[0]["realized_pnl"], syms[0]["fees"] = 2_500_000, 3, 1.5, 0.25
        syms[1]["position_e8"], syms[1]["fills"] = -100_000_000, 1
        area = TradingArea(control.risk_buffer())
        area.rejects[R.MAX_POSITION], area.rejects[R.VENUE_RATE_LIMIT] = 7, 2
        area.ended[F.ST_FILLED], area.ended[F.ST_CANCELED] = 4, 9
        proc, url = serve(instance)
        got = scrape(url)
        t = _status(instance)["trading"]
        i = {"instance": instance}
        assert t["positions"] == {"BTCUSDT": 0.025, "ETHUSDT": -1.0}
        for sym, qty in t["positions"].items():
            assert value(got, "hftshm_position", **i, symbol=sym, venue="sim") == qty
        assert t["rejects_by_reason"] == {"MAX_POSITION": 7, "VENUE_RATE_LIMIT": 2}
        for reason, n in t["rejects_by_reason"].items():
            assert value(got, "hftshm_rejects_total", **i, reason=reason) == n
        assert t["orders_by_state"] and all(n for n in t["orders_by_state"].values())
        for state, n in t["orders_by_state"].items():
            assert value(got, "hftshm_orders", **i, state=state) == n
        assert value(got, "hftshm_fills_total", **i) == t["fills"] == 4
        for kind in ("realized", "unrealized", "fees", "total"):
            assert value(got, "hftshm_pnl", **i, kind=kind) == t["pnl"][kind]
        assert value(got, "hftshm_trading_state", **i, state=t["trading_state"]) == 1
        assert value(got, "hftshm_trading_halted", **i) == 0
        assert value(got, "hftshm_latency_seconds_count", **i, stage="tick_to_trade") == 0
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
        built.close()
