"""The journal worker: every published record reaches disk once, in order, across kill -9.

Forbidden outcomes, checked on every record: a record missing from the journal (lost), present
twice (duplicated), or different from what was published (torn or corrupted)."""

import signal

import numpy as np

from hftshm.journal import files
from hftshm.layouts import md
from hftshm.runtime import rings
from .conftest import capture_records
from .helpers import DATA_FIELDS, journal_records, publish, wait_journaled

def _check_journal(h, records):
    meta, got = files.load_ring(files.ring_dir(h.cfg.run_dir(), "md"))
    assert meta["symbols"] == ["BTCUSDT"] and meta["layout"] == md.LAYOUT.name
    assert len(got) == len(records), "lost or duplicated records"
    assert (got["seq"] == np.arange(len(records))).all(), "not contiguous and in order"
    for f in DATA_FIELDS:
        assert (got[f] == records[f]).all(), f"field {f} differs from what was published"
    return got


def test_every_record_reaches_the_journal_in_order(hand):
    h = hand()
    records = capture_records()
    journal_records(h, records)
    _check_journal(h, records)
    # the file is readable with numpy alone, as the format doc says (header, then framed batches)
    import json
    path = files.ring_files(files.ring_dir(h.cfg.run_dir(), "md"))[0]
    raw = open(path, "rb").read()
    meta = json.loads(raw[68:68 + int.from_bytes(raw[64:68], "little")])
    dt, at, parts = np.dtype(meta["dtype"]), 4096, []
    while at < len(raw):
        count = int.from_bytes(raw[at + 4:at + 8], "little")
        parts.append(np.frombuffer(raw, dt, count, at + 32))
        at += 32 + count * dt.itemsize
    plain = np.concatenate(parts)
    assert plain.dtype.itemsize == 128 and plain["price_e8"].tolist() == records["price_e8"][:len(plain)].tolist()


def test_journal_killed_and_restarted_stays_gapless(hand):
    h = hand(journal={"rotate_mb": 0.25})  # several files
    records = capture_records()
    h.spawn("journal", "journal")
    h.wait_running("journal")
    ring = rings.attach(h.cfg.instance, "md")
    half = len(records) // 2
    publish(ring, records[:half], pause=0.001)
    h.stop("journal", signal.SIGKILL)
    publish(ring, records[half:half + 1000])  # published while no journal runs
    h.spawn("journal", "journal")
    h.wait_running("journal")
    publish(ring, records[half + 1000:], pause=0.0005)
    wait_journaled(h, len(records) - half)
    assert h.stop("journal") == 0
    ring.close()
    _check_journal(h, records)
    assert len(files.ring_files(files.ring_dir(h.cfg.run_dir(), "md"))) > 1


def test_torn_tail_is_cut_on_restart(hand):
    h = hand()
    records = capture_records(limit=3000)
    h.spawn("journal", "journal")
    h.wait_running("journal")
    ring = rings.attach(h.cfg.instance, "md")
    publish(ring, records[:1000])
    wait_journaled(h, 1000)
    h.stop("journal", signal.SIGKILL)
    path = files.ring_files(files.ring_dir(h.cfg.run_dir(), "md"))[-1]
    with open(path, "ab") as f:  # a crash in the middle of a write leaves part of a record
        f.write(b"\x01" * 50)
    h.spawn("journal", "journal")
    h.wait_running("journal")
    publish(ring, records[1000:])
    wait_journaled(h, len(records) - 1000)
    assert h.stop("journal") == 0
    ring.close()
    _check_journal(h, records)
