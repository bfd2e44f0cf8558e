"""How far behind a reader is, on both topologies: ``lag`` counts, ``pending`` only answers
"is something readable" on a many-to-one ring, and the journal's lag alarm uses ``lag``."""

from __future__ import annotations

import types

from hftshm.layouts import bench
from hftshm.ring import BroadcastRing, ManyToOneRing
from hftshm.workers.journal import JournalAgent
from support import bench_records


def test_many_to_one_lag_counts_what_the_reader_has_not_read(instance):
    ring = ManyToOneRing.create(instance, "orders", bench.LAYOUT, 64)
    p = ring.producer("a")
    r = ring.reader("exec", gating=True)
    assert (r.lag, r.pending()) == (0, 0)
    assert p.offer_batch(bench_records(1, 0, 10))
    assert r.lag == 10 and r.pending() == 1  # pending: readable or not, not how many
    assert r.read_batch(4).shape[0] == 4
    assert r.lag == 6


def test_broadcast_lag_and_pending_agree(instance):
    ring = BroadcastRing.create(instance, "md", bench.LAYOUT, 64)
    r = ring.reader("j", gating=True)
    ring.publisher().publish_batch(bench_records(1, 0, 10))
    assert r.lag == r.pending() == 10


def _journal(ring):
    """The journal agent's lag-alarm state for one ring, without starting a worker."""
    counters = {"max_lag": 0, "lag_alarms": 0}
    j = types.SimpleNamespace(_alarm_at=[8], _alarmed=[False], _rings=[ring], counters=counters,
                              counter={"max_lag": "max_lag"})
    j.set = lambda name, value: counters.__setitem__(name, value)
    j.count = lambda name, n=1: counters.__setitem__(name, counters[name] + n)
    return j


def test_journal_lag_alarm_fires_on_the_orders_ring(instance):
    ring = ManyToOneRing.create(instance, "orders", bench.LAYOUT, 16)
    p = ring.producer("a")
    r = ring.reader("journal", gating=True)
    j = _journal(ring)
    assert p.offer_batch(bench_records(1, 0, 9))
    JournalAgent._check_lag(j, 0, r)
    assert j.counters == {"max_lag": 9, "lag_alarms": 1} and j._alarmed == [True]
