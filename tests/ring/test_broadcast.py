"""Broadcast ring, one process: publish and read paths, wrap, gating, overwrite accounting."""

import numpy as np
import pytest

from hftshm.layouts import bench
from hftshm.ring import BroadcastRing
from hftshm.ring import header as H
from hftshm.ring import reader_table as RT
from support import SeqChecker, bench_records


def make(instance, capacity=64, policy="wait"):
    return BroadcastRing.create(instance, "md", bench.LAYOUT, capacity, policy=policy)


def test_publish_then_read_one_at_a_time(instance):
    ring = make(instance)
    pub = ring.publisher()
    rd = ring.reader("r", gating=True)
    for rec in bench_records(1, 0, 10):
        pub.publish(rec.reshape(1))
    got = [rd.read() for _ in range(10)]
    assert [int(r["seq"]) for r in got] == list(range(10))
    assert [int(r["value"]) for r in got] == list(range(10))
    assert bench.check(np.array(got, dtype=bench.DTYPE)).all()
    assert all(r["publish_ns"] > 0 for r in got)
    assert rd.read() is None


def test_publish_accepts_void_and_tuple(instance):
    ring = make(instance)
    pub = ring.publisher()
    rd = ring.reader("r", gating=True)
    recs = bench_records(2, 0, 2)
    pub.publish(recs[0])  # numpy record
    pub.publish(tuple(recs[1]))  # tuple
    batch = rd.read_batch()
    assert list(batch["value"]) == [0, 1] and bench.check(batch).all()


def test_batch_read_stops_at_wrap_and_resumes(instance):
    ring = make(instance, capacity=16)
    pub = ring.publisher()
    rd = ring.reader("r", gating=True)
    pub.publish_batch(bench_records(1, 0, 10))
    assert len(rd.read_batch()) == 10
    pub.publish_batch(bench_records(1, 10, 12))  # seqs 10..21 wrap at 16
    first = rd.read_batch()
    second = rd.read_batch()
    assert list(first["seq"]) == list(range(10, 16))
    assert list(second["seq"]) == list(range(16, 22))
    assert np.shares_memory(first, ring.slots)  # zero-copy


def test_wait_policy_blocks_producer_at_capacity(instance):
    ring = make(instance, capacity=16)
    pub = ring.publisher()
    rd = ring.reader("g", gating=True)
    for rec in bench_records(1, 0, 16):
        assert pub.try_publish(rec)
    assert not pub.try_publish(bench_records(1, 16, 1))  # full: the gating reader needs slot 0
    assert ring.counter(H.W_WAITS) == 1
    assert len(rd.read_batch(4)) == 4
    rd.read_batch(1)  # releases the first 4
    assert pub.try_publish(bench_records(1, 16, 1))


def test_adhoc_reader_never_holds_the_producer(instance):
    ring = make(instance, capacity=16)
    pub = ring.publisher()
    rd = ring.reader()  # ad-hoc
    for rec in bench_records(1, 0, 100):
        assert pub.try_publish(rec)
    batch = rd.read_batch(copy=True)
    assert len(batch) == 0 or bench.check(batch).all()


def test_lapped_adhoc_reader_counts_loss_exactly(instance):
    ring = make(instance, capacity=16)
    pub = ring.publisher()
    rd = ring.reader(start="oldest")
    pub.publish_batch(bench_records(1, 0, 10))
    assert list(rd.read_batch(3, copy=True)["seq"]) == [0, 1, 2]
    for start in range(10, 60, 10):
        pub.publish_batch(bench_records(1, start, 10))  # 60 published; the ring holds 44..59
    batch = rd.read_batch(copy=True)
    check = SeqChecker(3)
    check.feed(batch, allow_gaps=True)
    assert int(batch["seq"][0]) - 3 == rd.lost  # exactly the records it never saw
    assert rd.lapped == 1
    assert check.torn == 0 and check.duplicated == 0
    assert ring.counter(H.W_LOST) == rd.lost


def test_overwrite_policy_counts_overruns_of_gating_reader(instance):
    ring = make(instance, capacity=16, policy="overwrite")
    pub = ring.publisher()
    rd = ring.reader("g", gating=True)
    for rec in bench_records(1, 0, 40):
        assert pub.try_publish(rec)  # never waits
    assert ring.counter(H.W_OVERRUNS) == 40 - 16  # records 0..23 overwritten unread
    batch = rd.read_batch(copy=True)
    assert int(batch["seq"][0]) == rd.lost and bench.check(batch).all()


def test_claim_commit_zero_copy(instance):
    ring = make(instance)
    pub = ring.publisher()
    rd = ring.reader("r", gating=True)
    view = pub.claim(3)
    view[:] = bench_records(5, 0, 3)
    assert len(rd.read_batch()) == 0  # not visible before commit
    pub.commit()
    batch = rd.read_batch()
    assert list(batch["seq"]) == [0, 1, 2] and bench.check(batch).all()


def test_start_positions(instance):
    ring = make(instance, capacity=16)
    pub = ring.publisher()
    pub.publish_batch(bench_records(1, 0, 10))
    assert ring.reader().next_seq == 10
    assert ring.reader(start="oldest").next_seq == 0
    assert list(ring.reader(start=4).read_batch(2, copy=True)["seq"]) == [4, 5]


def test_restarted_gating_reader_resumes_by_name(instance):
    ring = make(instance)
    pub = ring.publisher()
    rd = ring.reader("journal", gating=True)
    pub.publish_batch(bench_records(1, 0, 10))
    rd.read_batch(4)
    rd.read_batch(0 + 1)  # releases 0..3, holds 4
    # simulate the process dying: the slot stays ACTIVE with a pid that no longer runs
    slot = rd.slot
    ring.hdr[RT.word(slot, RT.PID)] = 999_999_999
    ring.hdr[RT.word(slot, RT.STATE)] = RT.state_word(RT.ACTIVE, 999_999_999)
    again = ring.reader("journal", gating=True)
    assert again.resumed and again.slot == slot
    assert list(again.read_batch()["seq"]) == list(range(4, 10))


def test_second_live_reader_with_same_name_is_refused(instance):
    ring = make(instance)
    ring.reader("journal", gating=True)
    with pytest.raises(Exception, match="already attached"):
        ring.reader("journal", gating=True)


def test_second_producer_is_refused(instance):
    ring = make(instance)
    ring.publisher()
    with pytest.raises(Exception, match="producer"):
        BroadcastRing.attach(instance, "md").publisher()


def test_numba_api_publishes_and_reads(instance):
    from numba import njit

    from hftshm.ring import kernels as K

    @njit
    def produce(hdr, slots, recs):
        done = 0
        while done < recs.shape[0]:
            K.bc_publish_one(hdr, slots, recs[done:done + 1])
            done += 1
        return done

    @njit
    def consume(hdr, slots, rst, n):
        total = 0
        got = 0
        mask = slots.shape[0] - 1
        while got < n:
            k = K.rd_next(hdr, rst, 1 << 20)
            if k <= 0:
                break
            start = rst[K.R_START]
            for j in range(k):
                total += slots[(start + j) & mask].value
            got += k
        return got, total

    ring = make(instance, capacity=64)
    pub = ring.publisher()
    rd = ring.reader("nb", gating=True)
    assert produce(*pub.handle(), bench_records(1, 0, 50)) == 50
    assert consume(*rd.handle(), 50) == (50, sum(range(50)))


def test_a_copied_batch_owns_only_its_records(instance):
    """read_batch(copy=True) returns an array of its own records' size, not a view of a larger
    allocation: a caller that keeps every small batch must not keep a ring's worth per batch."""
    ring = make(instance, capacity=1 << 10)
    pub = ring.publisher()
    rd = ring.reader(start="oldest")
    kept = []
    for start in range(0, 30, 3):
        pub.publish_batch(bench_records(1, start, 3))
        batch = rd.read_batch(1 << 10, copy=True)
        assert list(batch["seq"]) == [start, start + 1, start + 2]
        assert batch.base is None and batch.nbytes == 3 * batch.dtype.itemsize
        kept.append(batch)
    pub.publish_batch(bench_records(1, 30, 1))
    assert list(rd.read_batch(copy=True)["seq"]) == [30]
    assert [int(b["seq"][0]) for b in kept] == list(range(0, 30, 3))  # the buffer's reuse changed none
    pub.publish_batch(bench_records(1, 31, 2))  # record by record after batches: the same buffer
    assert [int(rd.read()["seq"]), int(rd.read()["seq"])] == [31, 32] and rd.read() is None


def test_a_batch_of_any_memory_layout_publishes_its_records_in_order(instance):
    # the compiled batch entry takes C-contiguous arrays of the ring's dtype; a strided view, a
    # read-only array or an equal dtype of another object is copied first, never misread
    ring = make(instance)
    pub = ring.publisher()
    rd = ring.reader("r", gating=True)
    recs = bench_records(1, 0, 12)
    pub.publish_batch(recs[::3])  # values 0, 3, 6, 9: strided
    frozen = recs[1:3].copy()
    frozen.flags.writeable = False
    pub.publish_batch(frozen)  # 1, 2
    pub.publish_batch(recs[4:6].astype(np.dtype(bench.DTYPE.descr)))  # 4, 5: an equal, distinct dtype
    got = rd.read_batch()
    assert list(got["value"]) == [0, 3, 6, 9, 1, 2, 4, 5] and list(got["seq"]) == list(range(8))
