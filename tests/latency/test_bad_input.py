"""Every misuse or bad input gets an error naming the problem."""

import numpy as np
import pytest

from hftshm import naming, shm
from hftshm.errors import RingConfigError, RingNotFound, SegmentCorrupt
from hftshm.latency import LatencyBook, StageTableFull, UnknownStage
from hftshm.latency import layout as L
from hftshm.ring import header as H


def test_missing_segment(instance):
    with pytest.raises(RingNotFound, match=f"hftshm.{instance}.lat"):
        LatencyBook.attach(instance)


def test_foreign_segment(instance):
    seg = shm.Segment.create(naming.latency_segment(instance), 1 << 16)
    seg.buf[:8] = b"NOTOURS!"
    seg.close()
    with pytest.raises(SegmentCorrupt, match="bad magic .* expected"):
        LatencyBook.attach(instance)


def test_tiny_segment(instance):
    shm.Segment.create(naming.latency_segment(instance), 100).close()
    with pytest.raises(SegmentCorrupt, match="too small"):
        LatencyBook.attach(instance)


def _poke(book, offset, dtype, value):
    np.frombuffer(book._seg.buf, dtype, 1, offset)[0] = value


def test_wrong_kind(make_book, instance):
    _poke(make_book(), H.KIND_OFFSET, np.uint32, H.KIND_BROADCAST)
    with pytest.raises(SegmentCorrupt, match="is a broadcast ring, expected a latency book"):
        LatencyBook.attach(instance)


def test_wrong_version(make_book, instance):
    _poke(make_book(), H.VERSION_OFFSET, np.uint32, 99)
    with pytest.raises(SegmentCorrupt, match="version 99"):
        LatencyBook.attach(instance)


def test_other_bucket_layout(make_book, instance):
    _poke(make_book(), L.SUB_BITS_OFFSET, np.int64, 5)
    with pytest.raises(SegmentCorrupt, match="5 sub-bucket bits; this hftshm uses 2048 and 6"):
        LatencyBook.attach(instance)


def test_corrupt_geometry(make_book, instance):
    _poke(make_book(), L.MAX_STAGES_OFFSET, np.int64, 10_000)
    with pytest.raises(SegmentCorrupt, match="corrupt geometry"):
        LatencyBook.attach(instance)


def test_unknown_stage_names_it_and_the_known_ones(make_book):
    book = make_book(["alpha", "beta"])
    for call in (lambda: book.recorder("gamma"), lambda: book.summary("gamma"), lambda: book.stage_index("gamma")):
        with pytest.raises(UnknownStage, match=r"unknown stage 'gamma'; stages are \['alpha', 'beta'\]"):
            call()
    with pytest.raises(UnknownStage, match="unknown stage 5"):
        book.summary(5)
    assert book.summary(1)["count"] == 0


def test_too_many_stages(make_book):
    with pytest.raises(RingConfigError, match="3 stages exceed max_stages=2"):
        make_book(["a", "b", "c"], max_stages=2)
    book = make_book(["a", "b"], max_stages=2)
    assert book.add_stage("b") == 1  # an existing name needs no free slot
    with pytest.raises(StageTableFull, match=r"cannot add stage 'c': all 2 stage slots are taken"):
        book.add_stage("c")
    with pytest.raises(StageTableFull):
        book.recorder("c", add=True)


@pytest.mark.parametrize("name, problem", [
    ("x" * 64, "is 64 bytes long; at most 63"),
    ("", "empty"),
    ("caf\u00e9", "not ASCII"),
    ("tab\there", "non-printable"),
    (7, "must be a str"),
])
def test_bad_stage_names(make_book, name, problem):
    with pytest.raises(RingConfigError, match=problem):
        make_book([name])
    book = make_book(["ok"])
    with pytest.raises(RingConfigError, match=problem):
        book.add_stage(name)


def test_longest_name_and_odd_characters_are_fine(make_book):
    names = ["x" * 63, "publish->first read", "feed/binance:trade"]
    book = make_book(names)
    assert book.stages == names


def test_repeated_stage_names(make_book):
    with pytest.raises(RingConfigError, match=r"stage names repeat: \['a'\]"):
        make_book(["a", "b", "a"])


def test_stages_must_be_a_list(make_book):
    with pytest.raises(RingConfigError, match="list of names"):
        make_book("abc")


@pytest.mark.parametrize("options, problem", [
    ({"max_stages": 0}, "max_stages must be an int from 1 to 256"),
    ({"max_stages": 257}, "max_stages"),
    ({"max_stages": True}, "max_stages"),
    ({"snapshots": 1}, "snapshots must be an int from 2"),
    ({"snapshots": 2.0}, "snapshots"),
    ({"period_s": 0}, "period_s must be from 0.001"),
    ({"period_s": "soon"}, "period_s must be a number"),
])
def test_bad_geometry(make_book, options, problem):
    with pytest.raises(RingConfigError, match=problem):
        make_book(["a"], **options)


@pytest.mark.parametrize("value, error", [("x", ValueError), (2**64, OverflowError), (None, TypeError)])
def test_recorder_refuses_what_is_no_int64(make_book, value, error):
    book = make_book(["a"])
    with pytest.raises(error):
        book.recorder("a").record(value)
    assert book.summary("a")["count"] == 0
