"""hftshm start / replay under the supervisor: summary vs journal, crash and restart, kill -9 of
the supervisor then `hftshm clean`, and nothing left in /dev/shm."""

import json
import os
import signal
import subprocess
import time

import numpy as np
import pytest

from hftshm import instances
from hftshm.journal import files
from hftshm.runtime import rings
from hftshm.runtime.control import ControlBlock
from tests.runtime.conftest import capture_records
from tests.runtime.helpers import CLI, DATA_FIELDS, journal_records, leftovers, run_config, stop, supervisor, wait_running



@pytest.fixture
def paced_journal(hand):
    """An md journal of the real capture whose records were published over ~2 s."""
    records = capture_records()
    return journal_records(hand(), records, chunk=len(records) // 200 + 1, pause=0.01), records


def test_replay_run_summary_agrees_with_its_journal(paced_journal, tmp_path, instance):
    path, records = paced_journal
    name = instance + "r"
    cfg = run_config(tmp_path, name)
    out = subprocess.run(CLI + ["replay", str(path), "--speed", "max", "--headless", "--duration", "4",
                                "--config", str(cfg), "--summary", str(tmp_path / "s.json")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    summary = json.loads((tmp_path / "s.json").read_text())
    md = summary["rings"]["md"]
    assert md["published"] == len(records)
    journal = next(r for r in md["readers"] if r["name"] == "journal")
    assert journal["gating"] and journal["lag"] == 0 and journal["lost"] == 0
    meta, got = files.load_ring(tmp_path / "runs" / name / "journal" / "md")
    assert len(got) == md["published"] and (got["seq"] == np.arange(len(got))).all()
    for f in DATA_FIELDS:
        assert (got[f] == records[f]).all(), f
    assert summary["workers"]["replay"]["counters"]["records"] == len(records)
    assert summary["workers"]["journal"]["counters"]["records"] == len(got)
    assert summary["latency"]["publish_to_read.journal"]["count"] > 0
    assert leftovers(name) == []


def test_killed_workers_restart_and_the_journal_stays_gapless(paced_journal, tmp_path, instance):
    path, records = paced_journal
    name = instance + "k"
    cfg = run_config(tmp_path, name)
    with supervisor("replay", path, "--speed", "0.25", "--headless", "--config", cfg,
                    "--summary", tmp_path / "s.json") as sup:
        pids = wait_running(name, ["journal", "replay"])
        time.sleep(1.0)
        os.kill(pids["journal"], signal.SIGKILL)
        time.sleep(1.0)
        pids = wait_running(name, ["journal", "replay"])
        os.kill(pids["replay"], signal.SIGKILL)
        time.sleep(0.5)
        wait_running(name, ["journal", "replay"])
        # wait for the replay to finish (it is ~8 s at 0.25x), then stop
        deadline = time.monotonic() + 60
        while True:
            ctl = ControlBlock.attach(name)
            done = ctl.counter_values(ctl.find_worker("replay")).get("finished")
            ctl.close()
            if done:
                break
            assert time.monotonic() < deadline
            time.sleep(0.1)
        output = stop(sup, 120)
    assert sup.returncode == 0, output
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["workers"]["journal"]["restarts"] == 1 and summary["workers"]["replay"]["restarts"] == 1
    meta, got = files.load_ring(tmp_path / "runs" / name / "journal" / "md")
    assert summary["rings"]["md"]["published"] == len(got) == len(records), "lost or duplicated"
    assert (got["seq"] == np.arange(len(got))).all()
    for f in DATA_FIELDS:
        assert (got[f] == records[f]).all(), f
    assert leftovers(name) == []


def test_supervisor_kill9_then_clean_spares_a_live_instance(paced_journal, tmp_path, instance, hand):
    path, _ = paced_journal
    live = hand()  # a live second instance, owned by this test process
    name = instance + "x"
    cfg = run_config(tmp_path, name)
    with supervisor("replay", path, "--speed", "0.1", "--headless", "--config", cfg, output=False) as sup:
        pids = wait_running(name, ["journal", "replay"])
        os.kill(sup.pid, signal.SIGKILL)
        sup.wait()
        for pid in pids.values():  # the workers die with their supervisor (PR_SET_PDEATHSIG)
            deadline = time.monotonic() + 30
            while os.path.exists(f"/proc/{pid}") and open(f"/proc/{pid}/stat").read().split()[2] != "Z":
                assert time.monotonic() < deadline, f"worker {pid} outlived its supervisor"
                time.sleep(0.05)
        assert leftovers(name), "the kill -9 should have left segments behind"
        out = subprocess.run(CLI + ["clean"], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert leftovers(name) == []
        assert live.cfg.instance in instances.scan() and instances.scan()[live.cfg.instance].alive
        ring = rings.attach(live.cfg.instance, "md")  # intact
        ring.close()
