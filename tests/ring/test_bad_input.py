"""Every misuse or bad input gets an error naming the problem, and breaks nothing."""

import numpy as np
import pytest

from hftshm import naming, shm
from hftshm.errors import (LayoutMismatch, RecordTypeError, RingConfigError, RingExists, RingNotFound,
                           SegmentCorrupt)
from hftshm.layouts import bench, md
from hftshm.ring import BroadcastRing, ManyToOneRing
from hftshm.ring import header as H
from support import bench_records


def test_missing_ring(instance):
    with pytest.raises(RingNotFound, match=f"hftshm.{instance}.r.nope"):
        BroadcastRing.attach(instance, "nope")


def test_foreign_segment(instance):
    seg = shm.Segment.create(naming.ring_segment(instance, "junk"), 1 << 16)
    seg.buf[:8] = b"NOTOURS!"
    seg.close()
    with pytest.raises(SegmentCorrupt, match="bad magic .* expected"):
        BroadcastRing.attach(instance, "junk")


def test_tiny_segment(instance):
    shm.Segment.create(naming.ring_segment(instance, "tiny"), 100).close()
    with pytest.raises(SegmentCorrupt, match="too small"):
        BroadcastRing.attach(instance, "tiny")


def test_wrong_version(instance):
    ring = BroadcastRing.create(instance, "md", bench.LAYOUT, 16)
    np.frombuffer(ring._seg.buf, np.uint32, 1, H.VERSION_OFFSET)[0] = 99
    with pytest.raises(SegmentCorrupt, match="version 99"):
        BroadcastRing.attach(instance, "md")


def test_wrong_topology(instance):
    BroadcastRing.create(instance, "md", bench.LAYOUT, 16)
    with pytest.raises(SegmentCorrupt, match="is a broadcast ring, expected a many-to-one ring"):
        ManyToOneRing.attach(instance, "md")


def test_layout_mismatch_names_both(instance):
    BroadcastRing.create(instance, "md", bench.LAYOUT, 16)
    with pytest.raises(LayoutMismatch) as err:
        BroadcastRing.attach(instance, "md", md.LAYOUT)
    assert "bench.v1" in str(err.value) and "md_event.v2" in str(err.value)


@pytest.mark.parametrize("capacity", [0, 1, 3, 1000, -8, 2.0])
def test_capacity_must_be_power_of_two(instance, capacity):
    with pytest.raises(RingConfigError, match="power of two"):
        BroadcastRing.create(instance, "md", bench.LAYOUT, capacity)


def test_ring_exists(instance):
    BroadcastRing.create(instance, "md", bench.LAYOUT, 16)
    with pytest.raises(RingExists, match="already exists"):
        BroadcastRing.create(instance, "md", bench.LAYOUT, 16)


@pytest.mark.parametrize("bad", ["", "a.b", "x" * 30, "sp ace", "é"])
def test_bad_names(instance, bad):
    with pytest.raises(RingConfigError, match="bad ring name"):
        BroadcastRing.create(instance, bad, bench.LAYOUT, 16)


def test_bad_policy(instance):
    with pytest.raises(RingConfigError, match="policy"):
        BroadcastRing.create(instance, "md", bench.LAYOUT, 16, policy="drop")


def test_wrong_record_dtype(instance):
    ring = BroadcastRing.create(instance, "md", bench.LAYOUT, 16)
    pub = ring.publisher()
    with pytest.raises(RecordTypeError, match="dtype"):
        pub.publish(np.zeros(1, md.DTYPE))
    with pytest.raises(RecordTypeError, match="dtype"):
        pub.publish_batch(np.zeros(4, md.DTYPE))
    with pytest.raises(RecordTypeError, match="one-dimensional"):
        pub.publish_batch(np.zeros((2, 2), bench.DTYPE))
    with pytest.raises(RecordTypeError, match="exactly one record"):
        pub.publish(np.zeros(3, bench.DTYPE))
    with pytest.raises(RecordTypeError):
        pub.publish("a string")
    producer = ManyToOneRing.create(instance, "o", bench.LAYOUT, 16).producer()
    with pytest.raises(RecordTypeError, match="dtype"):
        producer.offer(np.zeros(1, md.DTYPE))
    assert ring.published() == 0  # nothing was written by any of it


def test_batch_larger_than_ring(instance):
    ring = BroadcastRing.create(instance, "md", bench.LAYOUT, 16)
    with pytest.raises(RingConfigError, match="larger than the ring"):
        ring.publisher().publish_batch(bench_records(1, 0, 17))
    m2o = ManyToOneRing.create(instance, "o", bench.LAYOUT, 16)
    with pytest.raises(RingConfigError, match="larger than the ring"):
        m2o.producer().offer_batch(bench_records(1, 0, 17))


def test_start_outside_the_ring(instance):
    ring = BroadcastRing.create(instance, "md", bench.LAYOUT, 16)
    ring.publisher().publish_batch(bench_records(1, 0, 10))
    with pytest.raises(RingConfigError, match="not in the ring"):
        ring.reader(start=11)
    with pytest.raises(RingConfigError, match="start must be"):
        ring.reader(start="yesterday")


def test_gating_reader_needs_a_name(instance):
    ring = BroadcastRing.create(instance, "md", bench.LAYOUT, 16)
    with pytest.raises(RingConfigError, match="needs a name"):
        ring.reader(gating=True)


def test_unknown_wait_strategy(instance):
    ring = BroadcastRing.create(instance, "md", bench.LAYOUT, 16)
    with pytest.raises(ValueError, match="unknown wait strategy 'snooze'"):
        ring.reader(wait="snooze")
