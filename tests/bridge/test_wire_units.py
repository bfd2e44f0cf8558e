"""The sans-I/O cores on literal input: message format, outbound batching and gaps, inbound
continuity, duplicates, refusals and placeholders."""

import numpy as np
import pytest

from hftshm.bridge import inbound as IB
from hftshm.bridge import wire
from hftshm.bridge.outbound import Outbound, resume_position
from hftshm.bridge.placeholders import md_gap
from hftshm.layouts import md

from .helpers import md_records

FP = md.LAYOUT.fingerprint


def _ring_records(first, n):
    r = md_records(first, n)
    r["seq"] = np.arange(first, first + n)
    return r


def test_header_is_48_bytes_little_endian():
    p = wire.encode(wire.GAP, 7, 100, 5, FP, 128)
    assert len(p) == 48 and p[:4] == b"HBR1"
    assert int.from_bytes(p[16:24], "little") == 100 and int.from_bytes(p[24:32], "little") == 5
    assert wire.decode_header(p) == (wire.GAP, 7, 100, 5, FP, 128)


@pytest.mark.parametrize("payload, words", [
    (b"HBR", "shorter than"),
    (b"XXXX" + bytes(44), "not the bridge magic"),
    (wire.encode(wire.RECORDS, 1, 0, 2, FP, 128, bytes(128)), "announces 304 B"),
    (wire.encode(wire.RECORDS, 1, 0, 0, FP, 128), "count 0"),
])
def test_bad_messages_name_what_is_wrong(payload, words):
    with pytest.raises(wire.WireError, match=words):
        wire.decode_header(payload)


def test_outbound_batches_and_announces_a_lap_as_one_gap():
    out = Outbound(epoch=9, fingerprint=FP, record_size=128, next_seq=0, max_batch=64)
    msgs = out.take(_ring_records(0, 130))
    assert [(m.kind, m.first_seq, m.count) for m in msgs] == [(1, 0, 64), (1, 64, 64), (1, 128, 2)]
    assert [m.msg_id for m in msgs] == ["9.0.64", "9.64.64", "9.128.2"]
    msgs = out.take(_ring_records(1000, 3))  # lapped: 130..999 overwritten before they were read
    assert [(m.kind, m.first_seq, m.count) for m in msgs] == [(2, 130, 870), (1, 1000, 3)]
    assert out.lapped == 870 and out.next_seq == 1003
    assert out.take(_ring_records(1001, 4))[0].first_seq == 1003  # a re-read is trimmed
    assert out.resent_skipped == 2


def test_resume_position_follows_the_last_message_of_the_same_epoch():
    last = wire.encode(wire.RECORDS, 5, 640, 64, FP, 128, bytes(64 * 128))
    assert resume_position(last, 5) == 704
    assert resume_position(last, 6) is None and resume_position(None, 5) is None


def _inbound(**kw):
    return IB.Inbound(md.DTYPE, FP, md_gap, **kw)


def _msg(first, n, epoch=3, kind=wire.RECORDS, fp=FP):
    body = _ring_records(first, n).tobytes() if kind == wire.RECORDS else b""
    return wire.encode(kind, epoch, first, n, fp, 128, body)


def test_inbound_trims_duplicates_and_refuses_foreign_layout_and_epoch():
    inb = _inbound()
    v = inb.on_message(_msg(0, 10))
    assert v.kind == IB.ACCEPT and (v.records["seq"] == np.arange(10)).all() and inb.base == 0
    assert inb.on_message(_msg(0, 10)).kind == IB.DUPLICATE
    v = inb.on_message(_msg(5, 10))  # overlaps: 5..9 were published
    assert v.kind == IB.ACCEPT and (v.records["seq"] == np.arange(10, 15)).all()
    assert inb.counts["duplicates"] == 15
    assert inb.on_message(_msg(15, 1, fp=FP + 1)).reason == IB.REFUSE_LAYOUT
    assert inb.on_message(_msg(15, 1, epoch=4)).reason == IB.REFUSE_EPOCH
    assert inb.on_message(b"junk").reason == IB.REFUSE_MALFORMED
    assert (inb.counts["refused_layout"], inb.counts["refused_epoch"], inb.counts["refused_malformed"]) == (1, 1, 1)
    assert inb.next_src == 15


def test_inbound_takes_md_event_v1_messages_as_the_same_bytes():
    """A source not yet upgraded (or its messages still in the stream) sends md_event.v1: the same
    128 bytes, byte 11 always zero; they are taken as v2 records of venue 0, flags kept."""
    inb = _inbound()
    old = _ring_records(0, 3)
    old["flags"] = md.F_BEST_MATCH
    old["venue"] = 0
    v1 = md.V1_FINGERPRINT - (1 << 64)  # as a signed word, as the wire carries it
    v = inb.on_message(wire.encode(wire.RECORDS, 3, 0, 3, v1, 128, old.tobytes()))
    assert v.kind == IB.ACCEPT and (v.records["venue"] == 0).all() and (v.records["flags"] == md.F_BEST_MATCH).all()
    assert inb.counts["refused_layout"] == 0


def test_inbound_holes_become_counted_placeholders():
    inb = _inbound()
    inb.on_message(_msg(100, 5))  # a fresh receiver: base is the first sequence it sees
    assert inb.base == 100
    v = inb.on_message(_msg(110, 2))
    assert v.kind == IB.AHEAD and inb.next_src == 105
    ph = inb.lose(110)
    assert len(ph) == 5 and (ph["kind"] == md.GAP).all() and (ph["venue_id"] == 105).all()
    assert inb.counts["transport_lost"] == 5
    assert inb.on_message(_msg(110, 2)).kind == IB.ACCEPT
    v = inb.on_message(_msg(112, 3, kind=wire.GAP))  # lost at the source
    assert len(v.records) == 3 and inb.counts["src_lost"] == 3 and inb.next_src == 115


def test_a_restarted_inbound_resumes_at_the_ring_position():
    inb = _inbound(epoch=3, next_src=50, base=0)
    assert inb.on_message(_msg(0, 50)).kind == IB.DUPLICATE
    assert inb.on_message(_msg(40, 20)).records["seq"][0] == 50


def test_outbound_fast_path_gives_the_general_paths_messages():
    """A consecutive batch from ``next_seq`` skips the run split; its messages must be the ones
    the split gives (same ids, bytes and position) at every size around the batch limit."""
    for n in (1, 2, 3, 63, 64, 65, 200):
        recs = _ring_records(500, n)
        fast = Outbound(epoch=3, fingerprint=FP, record_size=128, next_seq=500, max_batch=64)
        slow = Outbound(epoch=3, fingerprint=FP, record_size=128, next_seq=499, max_batch=64)
        got, ref = fast.take(recs), slow.take(recs)[1:]  # the reference path, after its 1-record gap
        assert [(m.kind, m.first_seq, m.count, m.msg_id, m.payload) for m in got] == \
               [(m.kind, m.first_seq, m.count, m.msg_id, m.payload) for m in ref]
        assert fast.next_seq == slow.next_seq == 500 + n
        assert b"".join(m.payload[wire.HEADER_LENGTH:] for m in got) == recs.tobytes()
    # a batch that is not one consecutive run still goes through the split
    out = Outbound(epoch=3, fingerprint=FP, record_size=128, next_seq=10, max_batch=64)
    recs = np.concatenate([_ring_records(10, 2), _ring_records(20, 1)])
    assert [(m.kind, m.first_seq, m.count) for m in out.take(recs)] == [(1, 10, 2), (2, 12, 8), (1, 20, 1)]


@pytest.mark.parametrize("reply", [
    "$JS.ACK.HFTSHM_a_md.cons.1.4711.12.1765000000000000000.3",  # no domain
    "$JS.ACK.dom.ACCHASH.HFTSHM_a_md.cons.2.4711.12.1765000000000000000.3.tok",  # domain, token
    "$JS.ACK._.ACCHASH.HFTSHM_a_md.cons.2.4711.12.1765000000000000000.3",  # no token
])
def test_stream_sequence_from_the_reply_subject_agrees_with_the_client(reply):
    from nats.aio.msg import Msg

    from hftshm.bridge.links import stream_seq

    assert stream_seq(reply) == Msg.Metadata._from_reply(reply).sequence.stream == 4711


class _Counters:
    """A bridge agent's counter words, as ``InLink`` uses them."""

    def __init__(self, names):
        self.counter_names = tuple(names)
        self.counter = {n: i for i, n in enumerate(names)}
        self.words = np.zeros(len(names), np.int64)

    def get(self, name):
        return int(self.words[self.counter[name]])

    def set(self, name, value):
        self.words[self.counter[name]] = value

    def count(self, name, n=1):
        self.words[self.counter[name]] += n

    def slots(self, names):
        return [(self.words, self.counter[n]) for n in names]


@pytest.mark.parametrize("kind", [wire.RECORDS, wire.GAP])
def test_a_publish_that_a_kill_left_uncounted_is_counted_by_the_restart(instance, kind):
    """kill -9 between a ring publish and the counters after it: the restarted link finds the
    ring ahead of its counts and counts the difference as what the last publish was; the message
    that comes again is a duplicate. Forbidden: records_in (src_lost) short of the ring."""
    from workers.bridge import COUNTERS

    from hftshm.bridge.links import InLink
    from hftshm.ring import BroadcastRing

    ring = BroadcastRing.create(instance, "md", md.LAYOUT, 1024)
    agent = _Counters(COUNTERS)
    try:
        link = InLink(agent, ring, "src", None, md_gap)
        assert link._offer(_msg(0, 100), 1)
        link._sync_counts = lambda: None  # the kill lands after the publish, before the counts
        assert link._offer(_msg(100, 64, kind=kind), 2)
        link.publisher.close()
        assert ring.published() == 164 and agent.get("records_in") == 100
        again = InLink(agent, ring, "src", None, md_gap)
        counted = "records_in" if kind == wire.RECORDS else "src_lost"
        assert agent.get(counted) == 164 - (100 if counted == "src_lost" else 0)
        assert agent.get("records_in") + agent.get("src_lost") == 164
        assert again._offer(_msg(100, 64, kind=kind), 2) and ring.published() == 164
        assert agent.get("records_in") + agent.get("src_lost") == 164
        again.publisher.close()
    finally:
        ring.close()
        ring.unlink()
