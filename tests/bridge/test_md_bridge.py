"""md out -> JetStream -> md in, through real worker processes and a real nats-server."""

import numpy as np
import pytest

from hftshm.layouts import md

from .helpers import RingCollector, check_exact, publish


def _pair(make_instance, nats_server, capacity=1 << 20, storage="file", **src_bridge):
    src = make_instance(rings={"md": {"capacity": capacity}},
                        bridge={"url": nats_server.url, "md_out": True, "storage": storage, **src_bridge})
    dst = make_instance(rings={"md": {"capacity": 1 << 16, "policy": "wait"}}, venue={"kind": "bridge"},
                        bridge={"url": nats_server.url, "source": src.name})
    return src, dst


def _run(make_instance, nats_server, n):
    src, dst = _pair(make_instance, nats_server)
    src.spawn()
    src.wait_running()
    collector = RingCollector(dst.name)
    try:
        publish("md", src.name, 0, n)
        dst.spawn()
        dst.wait_running()
        got = collector.drain(n, timeout=300)
        check_exact(got, 0, n)
        c = dst.counters()
        assert c["records_in"] == n and c["gaps_lost"] == 0 and c["src_lost"] == 0 and c["src_base"] == 0, c
        s = src.wait_counter("records_out", n)
        assert s["lapped_out"] == 0, s
    finally:
        collector.close()


def test_md_bridge_50k_exact(make_instance, nats_server):
    _run(make_instance, nats_server, 50_000)


@pytest.mark.stress
def test_md_bridge_1m_exact(make_instance, nats_server):
    _run(make_instance, nats_server, 1_000_000)


def test_status_shows_the_bridge_counters(make_instance, nats_server):
    import json
    import subprocess
    import sys

    src, dst = _pair(make_instance, nats_server, capacity=1 << 16)
    src.spawn()
    src.wait_running()
    dst.spawn()
    dst.wait_running()
    publish("md", src.name, 0, 1000)
    dst.wait_counter("records_in", 1000)
    for h, want in ((src, {"msgs_out": None, "records_out": 1000, "lag_out": 0, "reconnects": 0}),
                    (dst, {"msgs_in": None, "records_in": 1000, "gaps_filled": 0, "gaps_lost": 0, "lag_in": None})):
        out = subprocess.run([sys.executable, "-m", "hftshm.cli", "status", "--json", "--instance", h.name],
                             capture_output=True, text=True, timeout=60)
        snap = json.loads(out.stdout)
        bridge = next(w for w in snap["workers"] if w["name"] == "bridge")
        for key, value in want.items():
            assert key in bridge["counters"], (key, bridge)
            if value is not None:
                assert bridge["counters"][key] == value, (key, bridge)
        text = subprocess.run([sys.executable, "-m", "hftshm.cli", "status", "--instance", h.name],
                              capture_output=True, text=True, timeout=60, env={**__import__("os").environ,
                                                                               "COLUMNS": "200"}).stdout
        assert "bridge" in text and all(k in text for k in want)


def test_attach_and_tail_read_the_bridged_ring_as_the_source(make_instance, nats_server):
    import json
    import subprocess
    import sys

    import hftshm

    src, dst = _pair(make_instance, nats_server, capacity=1 << 16)
    src.spawn()
    src.wait_running()
    dst.spawn()
    dst.wait_running()
    publish("md", src.name, 0, 500)
    dst.wait_counter("records_in", 500)
    with hftshm.attach("md", dst.name, start="oldest") as r:
        got = r.read(1000, copy=True)
    check_exact(got, 0, 500)
    out = subprocess.run([sys.executable, "-m", "hftshm.cli", "tail", "md", "--instance", dst.name, "--from-seq",
                          "100", "--count", "3", "--json"], capture_output=True, text=True, timeout=60)
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    assert [rec["seq"] for rec in lines] == [100, 101, 102], out.stdout + out.stderr
