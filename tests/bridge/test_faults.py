"""Faults the bridge survives: kill -9 of the server (file storage), of either bridge, a slow
receiver, bad messages, no server. Forbidden outcomes: a duplicated, reordered or altered record,
and loss that is not counted exactly."""

import asyncio
import signal
import subprocess
import sys
import threading
import time

import nats
import numpy as np

from hftshm.bridge import wire
from hftshm.layouts import md

from .helpers import RingCollector, check_exact, check_with_gaps, publish


def _pair(make_instance, url, src_cap=1 << 20, dst_cap=1 << 16, **dst_bridge):
    src = make_instance(rings={"md": {"capacity": src_cap}}, bridge={"url": url, "md_out": True})
    dst = make_instance(rings={"md": {"capacity": dst_cap, "policy": "wait"}}, venue={"kind": "bridge"},
                        bridge={"url": url, "source": src.name, **dst_bridge})
    return src, dst


def test_kill9_nats_server_mid_stream(make_instance, nats_server):
    """The server is killed while records flow (publisher still publishing, messages in flight)
    and restarted on the same file store: every record arrives once, in order, unaltered."""
    src, dst = _pair(make_instance, nats_server.url)
    src.spawn(); src.wait_running()
    dst.spawn(); dst.wait_running()
    col = RingCollector(dst.name)
    feeder = threading.Thread(target=publish, args=("md", src.name, 0, 60_000), kwargs={"chunk": 500, "pause": 0.01})
    try:
        feeder.start()
        src.wait_counter("records_out", 10_000)
        nats_server.kill9()
        time.sleep(1.0)
        nats_server.start()
        feeder.join()
        got = col.drain(60_000, timeout=180)
        # the source ring held everything, so what the server lost is filled, never duplicated
        check_exact(got, 0, 60_000)
        c = dst.counters()
        assert c["gaps_lost"] == 0 and c["src_lost"] == 0, c
        assert src.counters()["reconnects"] >= 1 and dst.counters()["reconnects"] >= 1
    finally:
        feeder.join()
        col.close()


def test_kill9_source_bridge_resumes_without_duplicates(make_instance, nats_server):
    src, dst = _pair(make_instance, nats_server.url)
    src.spawn(); src.wait_running()
    dst.spawn(); dst.wait_running()
    col = RingCollector(dst.name)
    try:
        publish("md", src.name, 0, 30_000, chunk=1000, pause=0.002)
        src.stop(sig=signal.SIGKILL)
        publish("md", src.name, 30_000, 10_000)
        src.spawn(); src.wait_running()
        publish("md", src.name, 40_000, 10_000)
        check_exact(col.drain(50_000), 0, 50_000)
        assert dst.counters()["gaps_lost"] == 0
    finally:
        col.close()


def test_kill9_receiving_bridge_resumes_without_duplicates(make_instance, nats_server):
    src, dst = _pair(make_instance, nats_server.url)
    src.spawn(); src.wait_running()
    dst.spawn(); dst.wait_running()
    col = RingCollector(dst.name)
    try:
        publish("md", src.name, 0, 30_000)
        dst.wait_counter("records_in", 5_000)
        dst.stop(sig=signal.SIGKILL)
        publish("md", src.name, 30_000, 10_000)
        dst.spawn(); dst.wait_running()
        check_exact(col.drain(40_000), 0, 40_000)
        dst.wait_counter("records_in", 40_000, timeout=30)  # the counts follow each publish
        c = dst.counters()
        assert c["gaps_lost"] == 0 and c["records_in"] == 40_000, c
    finally:
        col.close()


def test_slow_receiver_never_stalls_the_source_and_counts_its_loss(make_instance, nats_server):
    """The stream keeps 100 messages. The receiver is frozen (SIGSTOP) while the source publishes
    500 messages' worth: the source never waits for it; what the stream discarded before the
    receiver woke is lost to it, and it counts exactly that, one GAP record per lost sequence."""
    src = make_instance(rings={"md": {"capacity": 1 << 16}},
                        bridge={"url": nats_server.url, "md_out": True, "max_msgs": 100, "batch": 64})
    dst = make_instance(rings={"md": {"capacity": 1 << 16, "policy": "wait"}}, venue={"kind": "bridge"},
                        bridge={"url": nats_server.url, "source": src.name})
    src.spawn(); src.wait_running()
    dst.spawn(); dst.wait_running()
    col = RingCollector(dst.name)
    try:
        publish("md", src.name, 0, 64)
        col.drain(64)
        dst.procs["bridge"].send_signal(signal.SIGSTOP)
        n = 64 + 500 * 64
        publish("md", src.name, 64, n - 64)
        s = src.wait_counter("records_out", n)  # the source finished while the receiver slept
        assert s["lapped_out"] == 0
        dst.procs["bridge"].send_signal(signal.SIGCONT)
        got = col.drain(n)
        lost = check_with_gaps(got, 0, n)
        c = dst.counters()
        assert lost > 0 and c["gaps_lost"] == lost and c["src_lost"] == 0, (lost, c)
        assert c["records_in"] == n - lost, c
    finally:
        col.close()


def test_lapped_source_sends_an_explicit_gap(make_instance, nats_server):
    """The source ring overwrites what the bridge has not read (its bridge is down): the
    restarted bridge sends one GAP for exactly those, the receiver counts them as lost at the source."""
    src = make_instance(rings={"md": {"capacity": 1 << 12}}, bridge={"url": nats_server.url, "md_out": True})
    dst = make_instance(rings={"md": {"capacity": 1 << 16, "policy": "wait"}}, venue={"kind": "bridge"},
                        bridge={"url": nats_server.url, "source": src.name})
    src.spawn(); src.wait_running()
    dst.spawn(); dst.wait_running()
    col = RingCollector(dst.name)
    try:
        publish("md", src.name, 0, 1000)
        src.wait_counter("records_out", 1000)
        src.stop()
        publish("md", src.name, 1000, 10_000)  # the ring holds 4096: 1000..6903 are overwritten
        src.spawn(); src.wait_running()
        got = col.drain(11_000)
        lost = 11_000 - 4096 - 1000
        gap = got[1000:1000 + lost]
        assert (gap["kind"] == md.GAP).all() and (gap["seq"] == np.arange(1000, 1000 + lost)).all()
        keep = np.concatenate([got[:1000], got[1000 + lost:]])
        check_exact(keep[:1000], 0, 1000)
        check_exact(keep[1000:], 1000 + lost, 4096)
        assert dst.counters()["src_lost"] == lost and src.counters()["lapped_out"] == lost
    finally:
        col.close()


def _inject(url, subject, payloads):
    async def go():
        nc = await nats.connect(url)
        js = nc.jetstream()
        for p in payloads:
            await js.publish(subject, p)
        await nc.close()
    asyncio.run(go())


def test_foreign_layout_and_wrong_epoch_are_refused_counted_logged(make_instance, nats_server):
    src, dst = _pair(make_instance, nats_server.url)
    src.spawn(); src.wait_running()
    dst.spawn(); dst.wait_running()
    col = RingCollector(dst.name)
    try:
        publish("md", src.name, 0, 100)
        got = col.drain(100)
        epoch = dst.counters()["epoch"]
        subject = wire.subject(src.name, "md")
        body = np.zeros(1, md.DTYPE).tobytes()
        _inject(nats_server.url, subject, [
            wire.encode(wire.RECORDS, epoch, 100, 1, 12345, 128, body),  # foreign layout
            wire.encode(wire.RECORDS, epoch + 1, 100, 1, md.LAYOUT.fingerprint, 128, body),  # other epoch
            b"not a bridge message",
        ])
        c = dst.wait_counter("refused_bad", 1)
        assert c["refused_layout"] == 1 and c["refused_epoch"] == 1, c
        publish("md", src.name, 100, 100)
        check_exact(col.drain(200), 0, 200)
        log = dst.log()
        assert "refused" in log and "layout" in log and "epoch" in log
    finally:
        col.close()


def test_unreachable_server_at_start_is_a_clear_error(make_instance):
    from hftshm.bridge.nats_server import free_port
    src = make_instance(bridge={"url": f"nats://127.0.0.1:{free_port()}", "md_out": True,
                                "connect_timeout_s": 0.5})
    src.spawn()
    proc = src.procs["bridge"]
    assert proc.wait(60) != 0
    assert "is not reachable" in src.log() and "nats-server" in src.log()
