"""``hftshm tail`` lapped by the producer: it says so on stderr, counts exactly what it lost, and
goes on; its records and its losses add up to everything published."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import numpy as np

from hftshm.layouts import md
from hftshm.ring import BroadcastRing
from hftshm.ring import header as H
from hftshm.ring import reader_table as RT

from .live_fixture import env, hftshm_cmd


def _attached(ring, pid: int, timeout=30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for slot in range(H.READER_SLOTS):
            state = int(ring.hdr[RT.word(slot, RT.STATE)])
            if state & RT.STATE_MASK == RT.ACTIVE and int(ring.hdr[RT.word(slot, RT.PID)]) == pid:
                return
        time.sleep(0.02)
    raise AssertionError("tail never attached")


def test_tail_reports_laps_and_losses(instance):
    ring = BroadcastRing.create(instance, "md", md.LAYOUT, 64, policy="overwrite", symbols=["BTCUSDT"])
    pub = ring.publisher()
    proc = subprocess.Popen(hftshm_cmd("tail", "md", "-i", instance, "--json"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env())
    try:
        _attached(ring, proc.pid)
        recs = md.records(1000)
        recs["price_e8"] = np.arange(1000) * md.E8
        pub.publish_batch(recs[:10])
        first = [json.loads(proc.stdout.readline()) for _ in range(10)]
        proc.send_signal(signal.SIGSTOP)  # a tail that falls a ring behind
        for i in range(10, 1000, 50):
            pub.publish_batch(recs[i : i + 50])
        proc.send_signal(signal.SIGCONT)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        pub.close()
        ring.unlink()
        ring.close()
    assert proc.returncode == 0, err
    rows = first + [json.loads(line) for line in out.splitlines()]
    seqs = [r["seq"] for r in rows]
    assert seqs == sorted(set(seqs))  # no record twice, in order
    assert [r["price"] for r in rows] == [md.format_e8(s * md.E8) for s in seqs]  # none torn
    lost = 1000 - len(rows)
    assert lost > 0 and seqs[-1] == 999 and seqs[:10] == list(range(10))
    assert "lapped by the producer: lost" in err
    assert f"tail: {lost:,} records lost in all" in err


def test_tail_reads_a_many_to_one_ring(instance):
    from hftshm.layouts import order
    from hftshm.ring import ManyToOneRing

    ring = ManyToOneRing.create(instance, "orders", order.LAYOUT, 64, symbols=["BTCUSDT", "ETHUSDT"])
    producer = ring.producer("strategy-a")
    try:
        recs = np.zeros(3, order.DTYPE)
        recs["order_id"] = [11, 12, 13]
        recs["symbol_id"] = [1, 0, 1]
        recs["action"] = order.NEW
        recs["price_e8"] = [101 * md.E8, 102 * md.E8, 103 * md.E8]
        producer.put_batch(recs)
        res = subprocess.run(hftshm_cmd("tail", "orders", "-i", instance, "--from-seq", "0", "--count", "2", "--json",
                                        "--symbol", "ETHUSDT"), capture_output=True, text=True, timeout=30, env=env())
    finally:
        producer.close()
        ring.unlink()
        ring.close()
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [(r["seq"], r["order_id"], r["symbol"], r["price"], r["action"]) for r in rows] == [
        (0, 11, "ETHUSDT", "101.00000000", "new"), (2, 13, "ETHUSDT", "103.00000000", "new")]
