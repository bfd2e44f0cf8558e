"""``hftshm bench bridge``'s latency case runs end to end on a real server and measures exactly
the paced records: each arrives once, in order (the start-up record is not counted); it reports
the CPU time and run-queue wait of each of its four processes."""

from __future__ import annotations

import os

from hftshm.bench import jetstream_bridge as jb


def test_bridge_latency_case_measures_every_paced_record_once(nats_server, tmp_path):
    row = jb.bridge_latency(nats_server.url, 2_000.0, 0.5, tmp_path)
    assert row["exact"] and row["records"] == 1_000
    assert 0 < row["p50_us"] <= row["p99_us"]  # publish stamps of the remote ring follow the source's
    procs = {"publisher", "md_out", "md_in", "server"}  # the server found by its port
    assert set(row["cpu_ms"]) == procs and set(row["runq_wait_ms"]) == procs
    assert all(v >= 0 for v in (*row["cpu_ms"].values(), *row["runq_wait_ms"].values()))
    assert row["cpu_ms"]["md_in"] > 0  # it published 1,000 records into its ring while measured


def test_local_server_runs_in_a_session_of_its_own(nats_server):
    # so that the kernel's autogroup scheduling does not weigh it with the process that started it
    assert os.getsid(nats_server.proc.pid) == nats_server.proc.pid != os.getsid(0)
