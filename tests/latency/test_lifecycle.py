"""The segment: owner-only, found by `instances`, attachable from other processes, and its
recorders safe after the book is closed."""

import json
import os
import stat
import subprocess
import sys

import pytest

from hftshm import instances, naming, shm
from hftshm.errors import RingExists, RingNotFound
from hftshm.latency import LatencyBook
from support import FORK

ATTACH_AND_RECORD = """
import json, sys
from hftshm.latency import LatencyBook
book = LatencyBook.attach(sys.argv[1])
rec = book.recorder("a")
for v in (10, 20, 30):
    rec.record(v)
book.recorder("from-child", add=True).record(5)
print(json.dumps({"stages": book.stages, "a": book.summary("a")}))
book.close()
"""


def test_segment_is_owner_only_and_belongs_to_its_instance(make_book, instance):
    make_book(["a"])
    name = naming.latency_segment(instance)
    assert stat.S_IMODE(os.stat(os.path.join(shm.SHM_DIR, name)).st_mode) == 0o600
    inst = instances.scan()[instance]
    assert inst.segments == [name] and inst.alive and inst.owner_pids == [os.getpid()]


def test_attach_from_a_fresh_interpreter(make_book, instance):
    book = make_book(["a", "b"])
    book.recorder("a").record(1)
    out = subprocess.run([sys.executable, "-c", ATTACH_AND_RECORD, instance], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    assert seen["stages"] == ["a", "b", "from-child"]
    assert seen["a"]["count"] == 4 and seen["a"]["max_us"] == 0.03
    assert book.stages == ["a", "b", "from-child"]
    assert book.summary("a")["count"] == 4 and book.summary("from-child")["max_us"] == 0.005


def _child(instance):
    book = LatencyBook.attach(instance)
    book.recorder("b").record(777)
    book.close()


def test_attach_from_a_forked_child(make_book, instance):
    book = make_book(["a", "b"])
    p = FORK.Process(target=_child, args=(instance,))
    p.start()
    p.join(60)
    assert p.exitcode == 0
    assert book.summary("b")["count"] == 1 and book.summary("b")["max_us"] == 0.777


def test_recorder_outlives_close(make_book, instance):
    book = make_book(["a"])
    rec = book.recorder("a")
    record = rec.record
    del rec
    book.close()
    record(5)  # the mapping is kept alive by the recorder's view
    other = LatencyBook.attach(instance)
    assert other.summary("a")["count"] == 1
    other.close()


def test_create_twice_and_attach_after_unlink(make_book, instance):
    book = make_book(["a"])
    with pytest.raises(RingExists, match=f"hftshm.{instance}.lat"):
        LatencyBook.create(instance, ["a"])
    assert book.unlink()
    assert not book.unlink()
    with pytest.raises(RingNotFound, match=f"hftshm.{instance}.lat"):
        LatencyBook.attach(instance)


def test_context_manager_and_geometry(make_book, instance):
    make_book(["a"], max_stages=4, snapshots=10, period_s=0.5)
    with LatencyBook.attach(instance) as book:
        assert (book.max_stages, book.snapshots, book.period_s, book.max_window_s) == (4, 10, 0.5, 4.5)
        assert book.owner_pid == os.getpid()
