"""``hftshm tail``, ``status`` and ``hftshm.attach`` against a live fixture instance (subprocesses).

One instance serves the module: a publisher process writing known records at 1000/s, and a
gating reader in this process that checks every record (lost, duplicated or wrong is forbidden).
"""

from __future__ import annotations

import itertools
import json
import os
import select
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import hftshm
from hftshm import procinfo
from hftshm.layouts import md
from hftshm.ring import header as H
from hftshm.ring import reader_table as RT

from . import fixture_instance as F
from .live_fixture import LiveInstance, env, expected, hftshm_cmd

_ids = itertools.count()


@pytest.fixture(scope="module")
def live():
    inst = LiveInstance(f"u{os.getpid()}L{next(_ids)}")
    inst.wait_published(200)
    yield inst
    inst.close()


def run(*args, timeout=30):
    return subprocess.run(hftshm_cmd(*args), capture_output=True, text=True, timeout=timeout, env=env())


def _check_md_dicts(rows, seqs):
    seqs = np.asarray(seqs)
    exp = expected(seqs)
    assert [r["seq"] for r in rows] == list(seqs)
    for r, kind, sid, price, qty, vid in zip(rows, exp["kind"], exp["symbol_id"], exp["price_e8"], exp["qty_e8"],
                                             exp["venue_id"]):
        assert r["kind"] == md.KIND_NAMES[int(kind)]
        assert r["symbol"] == F.SYMBOLS[int(sid)]
        assert r["price"] == md.format_e8(int(price))
        assert r["qty"] == md.format_e8(int(qty))
        assert r["venue_id"] == int(vid)


def test_tail_json_gives_the_records_published(live):
    res = run("tail", "md", "--instance", live.name, "--from-seq", "0", "--count", "300", "--json")
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    _check_md_dicts(rows, range(300))
    assert rows[1]["kind"] == "quote" and rows[1]["price2"] == "61837.65000000" and rows[1]["qty2"] == "5.00000000"
    assert rows[0]["side"] == "sell" and rows[3]["side"] == "buy"


def test_tail_filters_by_symbol_and_kind(live):
    res = run("tail", "md", "-i", live.name, "--from-seq", "0", "--count", "20", "--json", "--symbol", "ethusdt",
              "--kind", "quote")
    assert res.returncode == 0, res.stderr
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    seqs = [s for s in range(1000) if s % 3 == 1 and s % 4 == 1][:20]  # ETHUSDT and QUOTE
    _check_md_dicts(rows, seqs)


def test_tail_table_and_bad_options(live):
    res = run("tail", "md", "-i", live.name, "--from-seq", "4", "--count", "4")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split()[:4] == ["seq", "time", "symbol", "kind"]
    assert lines[1].split()[0] == "4" and "ETHUSDT" in lines[1] and "61837.67" in lines[1]
    assert len(lines) == 5
    bad = run("tail", "md", "-i", live.name, "--symbol", "DOGEUSDT", "--count", "1")
    assert bad.returncode == 2 and "BTCUSDT, ETHUSDT, SOLUSDT" in bad.stderr
    bad = run("tail", "md", "-i", live.name, "--kind", "nonsense", "--count", "1")
    assert bad.returncode == 2 and "trade" in bad.stderr and "quote" in bad.stderr
    bad = run("tail", "nosuchring", "-i", live.name, "--count", "1")
    assert bad.returncode == 2 and "no ring 'nosuchring'" in bad.stderr


def test_tail_exits_cleanly_on_a_closed_pipe(live):
    shell = " ".join(hftshm_cmd("tail", "md", "-i", live.name, "--json")) + " | head -n 3"
    res = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True, text=True, timeout=30, env=env())
    assert len(res.stdout.splitlines()) == 3
    assert "Traceback" not in res.stderr and "Broken pipe" not in res.stderr
    assert res.returncode == 0, res.stderr


def test_status_json(live):
    live.wait_published(500)
    res = run("status", "--json", "--instance", live.name)
    assert res.returncode == 0, res.stderr
    s = json.loads(res.stdout)
    assert s["instance"] == live.name and s["state"] == "running" and s["kill_switch"] == "active"
    (ring,) = s["rings"]
    assert ring["name"] == "md" and ring["capacity"] == 1 << 16 and ring["symbols"] == 3
    assert ring["published"] >= 500 and ring["rate"] > 0
    checker = next(r for r in ring["readers"] if r["name"] == "checker")
    assert checker["gating"] and checker["state"] == "active" and checker["lost"] == 0 and checker["pid"] == os.getpid()
    (worker,) = s["workers"]
    assert worker["name"] == "ingest" and worker["state"] == "running" and worker["counters"]["msgs"] >= 500
    assert s["feed"]["connection"] == "connected" and s["feed"]["messages"] >= 500
    stages = {st["name"]: st for st in s["stages"]}
    assert set(stages) == set(F.STAGES)
    e2r = stages["exch_to_recv"]["total"]  # the fixture records 20.0 .. 29.9 us
    assert 19.0 <= e2r["p50_us"] <= 31.0 and e2r["max_us"] <= 31.0 and e2r["count"] >= 500
    assert s["trading"] == {} or s["trading"]["trading_state"] == "active"  # figures() may be a stub


def test_status_text(live):
    res = run("status", "-i", live.name)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    for text in ("md", "checker", "gating", "ingest", "running", "exch_to_recv", "msgs"):
        assert text in out


def test_status_of_a_missing_instance(live):
    res = run("status", "--instance", "nosuch0instance")
    assert res.returncode == 2 and "no instance 'nosuch0instance'" in res.stderr


def test_attach_reads_zero_copy_views_with_symbols(live):
    reader = hftshm.attach("md", instance=live.name, start=0)
    try:
        batch = reader.read(100)
        assert len(batch) == 100 and batch.dtype == md.DTYPE
        assert np.shares_memory(batch, reader.ring.slots)  # a view into the ring, not a copy
        assert reader.intact()
        assert reader.symbol(batch["symbol_id"][2]) == "SOLUSDT" and reader.symbol_id("ethusdt") == 1
        _check_md_dicts(reader.to_dicts(batch), range(100))
        assert not reader.reader.gating
        slot = reader.reader.slot
        hdr = reader.ring.hdr
        assert int(hdr[RT.word(slot, RT.STATE)]) & RT.STATE_MASK == RT.ACTIVE
    finally:
        reader.close()
    assert live.checker.gaps == 0 and live.checker.bad == 0


def test_a_notebook_that_exits_or_dies_leaves_the_system_unharmed(live):
    code = ("import hftshm, sys, os; r = hftshm.attach('md', instance=sys.argv[1]); r.wait(5); "
            "b = r.read(); print(len(b), flush=True); "
            "os.kill(os.getpid(), 9) if sys.argv[2] == 'die' else None")
    for how in ("exit", "die"):
        res = subprocess.run([sys.executable, "-c", code, live.name, how], capture_output=True, text=True, timeout=30,
                             env=env())
        assert res.stdout.strip() and int(res.stdout.split()[0]) >= 1, res.stderr
    before = live.published()
    live.wait_published(before + 100)
    assert live.checker.gaps == 0 and live.checker.bad == 0


def _wait_line(proc, timeout=60.0):
    """The tail has attached once it prints its first record (a tail that prints nothing fails
    the test after ``timeout``, never hangs it)."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        proc.kill()
        raise AssertionError(f"tail printed no record in {timeout:g} s")
    line = proc.stdout.readline()
    assert line, f"tail printed nothing: {proc.stderr.read() if proc.poll() is not None else ''}"
    return line


def test_tail_killed_20_times_leaves_the_instance_unharmed(live):
    signals = [signal.SIGKILL] * 14 + [signal.SIGINT] * 3 + [signal.SIGTERM] * 3
    for group in range(0, len(signals), 5):
        procs = [(subprocess.Popen(hftshm_cmd("tail", "md", "-i", live.name, "--json"), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=env()), sig)
                 for sig in signals[group : group + 5]]
        for proc, sig in procs:
            json.loads(_wait_line(proc))
            proc.send_signal(sig)
        for proc, sig in procs:
            proc.wait(20)
            err = proc.stderr.read()
            proc.stdout.close()
            proc.stderr.close()
            if sig != signal.SIGKILL:
                assert proc.returncode == 0 and "Traceback" not in err, err
    # the publisher goes on, the gating reader saw every record intact, nothing was overwritten
    before = live.published()
    live.wait_published(before + 200)
    deadline = time.monotonic() + 10
    while live.checker.count < before + 200 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert live.checker.count >= before + 200
    assert live.checker.gaps == 0 and live.checker.bad == 0
    ring = live.checker.ring
    assert ring.counter(H.W_OVERRUNS) == 0 and ring.counter(H.W_LOST) == 0 and ring.counter(H.W_EVICTIONS) == 0
    # the segments are intact: they attach (magic, version, layout) and the collector reads them
    res = run("status", "--json", "-i", live.name)
    s = json.loads(res.stdout)
    assert s["state"] == "running" and not s["problems"]
    names = [r["name"] for r in s["rings"][0]["readers"]]
    assert names == ["checker"]  # tails that exited freed their slots; killed ones are not shown
    held = [slot for slot in range(H.READER_SLOTS)
            if int(ring.hdr[RT.word(slot, RT.STATE)]) & RT.STATE_MASK != RT.FREE]
    pids = {int(ring.hdr[RT.word(slot, RT.PID)]) for slot in held}
    # beside the checker, only killed readers' slots (free to take, gating nothing) remain
    assert {pid for pid in pids if procinfo.alive(pid, 0)} == {os.getpid()}
    assert all(not int(ring.hdr[RT.word(slot, RT.FLAGS)]) & RT.FLAG_GATING for slot in held
               if int(ring.hdr[RT.word(slot, RT.PID)]) != os.getpid())
