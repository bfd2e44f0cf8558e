"""Replay: a journal published back into a ring gives the same records (fresh seq/publish_ns),
in order, at the recorded pace or as fast as possible; and `journal inspect` summarizes it."""

import json
import subprocess
import sys

import numpy as np
import pytest

from hftshm.journal.republish import Replay
from hftshm.layouts import md
from hftshm.runtime import rings
from .conftest import capture_records
from .helpers import DATA_FIELDS, journal_records


@pytest.fixture
def journal_dir(hand):
    records = capture_records()
    return journal_records(hand(), records), records


def test_replay_into_a_ring_reproduces_the_records(journal_dir, hand, instance):
    path, records = journal_dir
    h = hand()  # a second instance, beside the recording one
    ring = rings.attach(h.cfg.instance, "md")
    reader = ring.reader("check", gating=True, start="oldest", wait="backoff")
    out = subprocess.run([sys.executable, "-m", "hftshm.cli", "replay", str(path), "--into", h.cfg.instance,
                          "--speed", "max"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"replayed {len(records)} records" in out.stdout
    got = []
    while True:
        b = reader.read_batch(copy=True)
        if not len(b):
            break
        got.append(b)
    got = np.concatenate(got)
    assert len(got) == len(records) and reader.lost == 0
    assert (got["seq"] == np.arange(len(records))).all()
    for f in DATA_FIELDS:
        assert (got[f] == records[f]).all(), f
    reader.close()
    ring.close()


def test_replay_keeps_the_recorded_pace():
    recs = np.zeros(5, md.DTYPE)
    recs["publish_ns"] = [0, 1_000_000, 2_000_000, 10_000_000, 10_000_001]
    r = Replay(recs, 2.0)  # twice as fast: due at 0, 0.5, 1, 5, 5.0000005 ms
    assert len(r.due(now_ns=1000)) == 1  # the first call starts the clock
    assert len(r.due(now_ns=1000 + 499_999)) == 0
    assert len(r.due(now_ns=1000 + 1_000_000)) == 2
    assert len(r.due(now_ns=1000 + 4_999_999)) == 0
    assert len(r.due(now_ns=1000 + 6_000_000)) == 2 and r.finished
    fast = Replay(recs, float("inf"))
    assert len(fast.due(now_ns=1)) == 5
    with pytest.raises(ValueError, match="speed must be positive"):
        Replay(recs, 0)


def test_journal_inspect_summarizes(journal_dir):
    path, records = journal_dir
    out = subprocess.run([sys.executable, "-m", "hftshm.cli", "journal", "inspect", str(path), "--json"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["records"] == len(records) and info["gaps"] == 0 and info["missing"] == 0
    assert info["first_seq"] == 0 and info["last_seq"] == len(records) - 1
    kinds, counts = np.unique(records["kind"], return_counts=True)
    assert info["by_kind"] == {md.KIND_NAMES[int(k)]: int(c) for k, c in zip(kinds, counts)}
    assert info["by_symbol"] == {"BTCUSDT": len(records)}
    text = subprocess.run([sys.executable, "-m", "hftshm.cli", "journal", "inspect", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert text.returncode == 0 and "BTCUSDT" in text.stdout and "gaps 0" in text.stdout


def test_journal_inspect_names_a_bad_file(tmp_path):
    bad = tmp_path / "x.hftj"
    bad.write_bytes(b"not a journal" * 400)
    out = subprocess.run([sys.executable, "-m", "hftshm.cli", "journal", "inspect", str(bad)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "not an hftshm journal" in out.stderr
