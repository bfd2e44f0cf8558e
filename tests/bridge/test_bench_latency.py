"""``hftshm bench bridge``'s latency case runs end to end on a real server and measures exactly
the paced records: each arrives once, in order (the start-up record is not counted)."""

from __future__ import annotations

from hftshm.bench import jetstream_bridge as jb


def test_bridge_latency_case_measures_every_paced_record_once(nats_server, tmp_path):
    row = jb.bridge_latency(nats_server.url, 2_000.0, 0.5, tmp_path)
    assert row["exact"] and row["records"] == 1_000
    assert 0 < row["p50_us"] <= row["p99_us"]  # publish stamps of the remote ring follow the source's
