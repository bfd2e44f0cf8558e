"""No journal, no trading: a journal worker that cannot write (the kernel refuses with EFBIG,
through the process's file-size limit, exactly as a full disk refuses with ENOSPC) stays up,
halts trading with JOURNAL_DOWN, counts and retries; once the disk takes writes again every
record is on disk or counted as overwritten in the ring. A crash's leftovers (an empty or
torn-header file) never stop the journal from starting.

Forbidden outcomes, checked on every record: a record neither on disk nor counted (lost silently),
on disk twice (duplicated), or different from what was published (torn); a wait-ring record
released unwritten; trading left ACTIVE while a halting journal is down."""

import json
import resource
import time

import numpy as np
import pytest

from hftshm.journal import files
from hftshm.journal import format as F
from hftshm.layouts import md, order
from hftshm.risk import reasons as R
from hftshm.runtime import control_layout as C
from hftshm.runtime import rings
from hftshm.runtime.control import ACTIVE, HALTED
from hftshm.launch.summary import journal_figures, ring_figures
from .conftest import capture_records
from .helpers import DATA_FIELDS, publish


def spawn_limited(h, name, fsize):
    """`h.spawn("journal", name)`, then the running worker's file-size limit (soft) set to
    ``fsize`` bytes: from then on the kernel refuses its writes past that size."""
    h.spawn("journal", name)
    h.wait_running(name)
    resource.prlimit(h.procs[name].pid, resource.RLIMIT_FSIZE, (fsize, resource.RLIM_INFINITY))


def lift_limit(h, name):
    resource.prlimit(h.procs[name].pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def counters(h, name="journal"):
    return h.control.counter_values(h.control.find_worker(name))


def wait_for(h, what, timeout=60, name="journal"):
    deadline = time.monotonic() + timeout
    while True:
        c = counters(h, name)
        if what(c):
            return c
        proc = h.procs[name]
        assert proc.poll() is None, f"the journal died ({proc.returncode}): {proc.stderr.read().decode()[-3000:]}"
        assert time.monotonic() < deadline, c
        time.sleep(0.02)


def check_md(h, records, lost):
    """Every published md record is on disk exactly once and intact, or counted as lost."""
    meta, got = files.load_ring(files.ring_dir(h.cfg.run_dir(), "md"))  # checks every checksum
    seq = got["seq"].astype(np.int64)
    assert (np.diff(seq) > 0).all(), "duplicated or out of order"
    assert len(got) + lost == len(records), f"{len(got)} on disk + {lost} counted lost != {len(records)} published"
    for f in DATA_FIELDS:
        assert (got[f] == records[seq][f]).all(), f"field {f} differs from what was published"
    return got


@pytest.mark.parametrize("halt_on_md", [True, False])
def test_disk_refusing_writes_halts_trading_and_loses_nothing_uncounted(hand, halt_on_md):
    # a small md ring, so it laps the journal while the journal is down: that loss is counted
    h = hand(rings={"md": {"capacity": 4096}}, journal={"halt_on_md_failure": halt_on_md})
    records = capture_records()
    assert len(records) > 12_000
    h.control.set_trading(ACTIVE, R.MANUAL)
    spawn_limited(h, "journal", 300_000)  # about 2,300 md records fit
    ring = rings.attach(h.cfg.instance, "md")
    publish(ring, records[:4000], pause=0.001)
    c = wait_for(h, lambda c: c["down"] == 1 and c["write_errors"] >= 1)
    if halt_on_md:
        assert h.control.trading_state == HALTED and h.control.trading_reason == R.JOURNAL_DOWN
    else:
        assert h.control.trading_state == ACTIVE  # alarmed and counted, trading goes on
    publish(ring, records[4000:10_000], pause=0.0005)  # laps the journal: 4096 slots
    wait_for(h, lambda c: c["write_errors"] >= 2)  # it retries, and stays up
    lift_limit(h, "journal")
    c = wait_for(h, lambda c: c["down"] == 0)
    assert c["down_ms"] > 0
    publish(ring, records[10_000:], pause=0.0005)
    wait_for(h, lambda c: c["records"] + c["lost"] >= len(records) and c["lost"] > 0)
    assert h.stop("journal") == 0
    c = counters(h)
    figs = ring_figures(ring)
    ring.close()
    assert c["lost"] > 0 and c["unjournaled"] == 0
    check_md(h, records, c["lost"])
    summary = journal_figures(h.cfg, h.control, {"md": figs})
    assert summary["rings"]["md"] == {"published": len(records), "journaled": len(records) - c["lost"],
                                      "not_journaled": c["lost"]}
    assert summary["write_errors"] == c["write_errors"] and not summary["complete"]
    assert files.verify(files.ring_dir(h.cfg.run_dir(), "md")).problems == []  # the failed batch was cut off


def test_journal_that_cannot_create_files_holds_orders_unreleased(hand):
    h = hand(ring_names=("md", "orders"))
    h.control.set_trading(ACTIVE, R.MANUAL)
    spawn_limited(h, "journal", 1000)  # not even a 4096-byte header fits
    oring = rings.attach(h.cfg.instance, "orders")
    orders = np.zeros(300, order.DTYPE)
    orders["order_id"] = np.arange(1, 301)
    prod = oring.producer("test")
    assert prod.put_batch(orders[:100], timeout=10)
    wait_for(h, lambda c: c["down"] == 1 and c["write_errors"] >= 1)
    assert h.control.trading_state == HALTED and h.control.trading_reason == R.JOURNAL_DOWN
    assert prod.put_batch(orders[100:], timeout=10)
    time.sleep(1.5)  # a retry or two
    journal_reader = [r for r in ring_figures(oring)["readers"] if r["name"] == "journal"][0]
    assert journal_reader["cursor"] == 0, "orders released without being written"
    directory = files.ring_dir(h.cfg.run_dir(), "orders")
    assert not list(directory.glob("*.hftj")), "a failed create left a file behind"
    h.control.set_trading(ACTIVE, R.MANUAL)  # resumed by hand while the journal is still down
    wait_for(h, lambda c: c["write_errors"] >= 3)
    assert h.control.trading_state == HALTED, "trading resumed while the journal was down"
    lift_limit(h, "journal")
    wait_for(h, lambda c: c["down"] == 0 and c["records"] >= 300)
    assert h.stop("journal") == 0
    prod.close()
    oring.close()
    _, got = files.load_ring(directory)
    assert got["order_id"].tolist() == list(range(1, 301)) and got["seq"].tolist() == list(range(300))


@pytest.mark.parametrize("leftover", [b"", b"HFTJRNL\x01" + b"\0" * 92, None])
def test_a_crash_leftover_never_stops_the_journal(hand, leftover):
    """0 bytes (died before the header), a torn header, a header whose bytes are damaged."""
    h = hand()
    directory = files.ring_dir(h.cfg.run_dir(), "md")
    directory.mkdir(parents=True)
    path = directory / files.file_name("md", 0)
    if leftover is None:
        head = bytearray(F.encode("md", md.LAYOUT, 0, ["BTCUSDT"], "x"))
        head[200] ^= 0xFF  # inside the JSON
        path.write_bytes(bytes(head) + b"\0" * 1000)
    else:
        path.write_bytes(leftover)
    records = capture_records(limit=2000)
    h.spawn("journal", "journal")
    h.wait_running("journal")
    ring = rings.attach(h.cfg.instance, "md")
    publish(ring, records)
    c = wait_for(h, lambda c: c["records"] >= len(records))
    assert c["repairs"] == 1 and c["write_errors"] == 0
    assert h.stop("journal") == 0
    ring.close()
    meta, got = files.load_ring(directory)
    assert len(got) == len(records) and (got["seq"] == np.arange(len(records))).all()
    if leftover is None:  # a damaged header is kept aside, never deleted
        assert (directory / (path.name + ".damaged")).read_bytes()[:8] == b"HFTJRNL\x01"


def test_the_summary_counts_what_a_dead_journal_missed(hand):
    """The fault as observed: no journal worker running at all. The summary must not say all is well."""
    h = hand()
    ring = rings.attach(h.cfg.instance, "md")
    publish(ring, capture_records(limit=500))
    figs = ring_figures(ring)
    ring.close()
    out = journal_figures(h.cfg, h.control, {"md": figs})
    assert out["rings"]["md"]["not_journaled"] == figs["published"] > 0
    assert out["not_journaled"] == figs["published"] and out["complete"] is False
    assert out["worker_state"] == "absent"
    json.dumps(out)


def test_a_journal_directory_it_cannot_create_halts_and_is_retried(hand):
    """The disk fails before the first write (here: `journal` is a file, so no directory can be made)."""
    h = hand()
    h.control.set_trading(ACTIVE, R.MANUAL)
    blocker = h.cfg.run_dir() / "journal"
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("in the way")
    h.spawn("journal", "journal")
    h.wait_running("journal")
    wait_for(h, lambda c: c["down"] == 1 and c["write_errors"] >= 1)
    assert h.control.trading_state == HALTED and h.control.trading_reason == R.JOURNAL_DOWN
    ring = rings.attach(h.cfg.instance, "md")
    records = capture_records(limit=1000)
    publish(ring, records)
    blocker.unlink()
    wait_for(h, lambda c: c["down"] == 0 and c["records"] >= len(records))
    assert h.stop("journal") == 0
    ring.close()
    check_md(h, records, lost=0)
