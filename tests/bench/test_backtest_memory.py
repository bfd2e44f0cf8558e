"""The day-sized journal of ``hftshm bench backtest --day-records``: the capture's records tiled in
time, and the backtest's process watched."""

from __future__ import annotations

import numpy as np

from hftshm.bench import backtest_memory as BM
from hftshm.bench.backtest_speed import grid_config, market
from hftshm.journal import files
from hftshm.journal.capture_import import import_capture
from tests.backtest._md import HERE

CAPTURE = HERE.parent / "data" / "btcusdt_usdm_20240808.capture.gz"


def test_tiled_journal_continues_time_and_sequence(tmp_path):
    lines = []
    with __import__("gzip").open(CAPTURE, "rb") as f:
        for _ in range(3000):
            lines.append(f.readline())
    cap = tmp_path / "c.capture"
    cap.write_bytes(b"".join(lines))
    import_capture(cap, tmp_path / "md", ["btcusdt"])
    _, recs = files.load_ring(tmp_path / "md")
    n = 2 * len(recs) + len(recs) // 2
    info = BM.tile(tmp_path / "md", tmp_path / "day", n)
    assert info["records"] == n and info["copies"] == 3
    _, day = files.load_ring(tmp_path / "day")
    assert (day["seq"] == np.arange(1, n + 1)).all()
    k = len(recs)
    for c in (1, 2):  # each copy after the last
        assert day["recv_ns"][c * k:(c + 1) * k].min() > day["recv_ns"][(c - 1) * k:c * k].max()
    span = int(day["recv_ns"][k] - recs["recv_ns"][0])
    assert (day["recv_ns"][k:2 * k] - recs["recv_ns"] == span).all()
    second = day[len(recs): 2 * len(recs)]
    timed = recs["exch_ns"] > 0
    assert (second["exch_ns"][timed] - recs["exch_ns"][timed] == span).all()
    assert (second["exch_ns"][~timed] == 0).all()  # no time stays no time
    for field in ("kind", "price_e8", "qty_e8", "symbol_id"):
        assert (second[field] == recs[field]).all()
    m = BM.measure(tmp_path / "day", grid_config(market(tmp_path / "md", "usdm")))
    assert m["records"] == n and m["trades"] >= 0
    assert 0 < m["peak_rss_anon_bytes"] <= m["peak_rss_bytes"]
