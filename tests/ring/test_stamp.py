"""A producer's stamp: one byte it writes into every record it publishes (ingest names the venue
of its md records this way, layouts/md.py). Every publish path stamps; a producer without a stamp
leaves the byte as given (a bridged or replayed ring keeps its source's); a successor's stamp is
its own; a stamp that is not one byte of the layout is refused by name."""

import numpy as np
import pytest

from hftshm.errors import RingConfigError
from hftshm.layouts import md
from hftshm.ring import BroadcastRing


def _recs(n, first=0, venue=0):
    r = md.records(n)
    r["kind"] = md.TRADE
    r["flags"] = md.F_BEST_MATCH
    r["venue"] = venue
    r["symbol_id"] = 7
    r["venue_id"] = np.arange(first, first + n)
    r["price_e8"] = 123
    return r


def test_every_publish_path_stamps_the_byte_and_nothing_else(instance):
    ring = BroadcastRing.create(instance, "md", md.LAYOUT, 64, symbols=["BTCUSDT"])
    rd = ring.reader("r", gating=True)
    pub = ring.publisher(stamp={"venue": md.VENUE_CODES["bybit_linear"]})
    pub.publish(_recs(1, 0))  # the per-record fast path
    pub.publish(_recs(1, 1)[0])  # a numpy record: the slow path
    pub.publish_batch(_recs(3, 2))
    view = pub.claim(2)  # zero-copy
    view[:] = _recs(2, 5)
    pub.commit()
    got = rd.read_batch(16)
    assert list(got["venue_id"]) == list(range(7))
    assert set(got["venue"].tolist()) == {4}
    assert set(got["flags"].tolist()) == {md.F_BEST_MATCH} and set(got["symbol_id"].tolist()) == {7}
    assert set(got["price_e8"].tolist()) == {123} and set(got["kind"].tolist()) == {md.TRADE}
    assert list(got["seq"]) == list(range(7))


def test_no_stamp_keeps_the_byte_and_a_successor_stamps_its_own(instance):
    ring = BroadcastRing.create(instance, "md", md.LAYOUT, 64, symbols=["BTCUSDT"])
    rd = ring.reader("r", gating=True)
    pub = ring.publisher(stamp={"venue": 1})
    pub.publish(_recs(1, 0, venue=9))
    pub.close()
    plain = ring.publisher()  # a bridge or a replay: the source's byte goes through
    plain.publish(_recs(1, 1, venue=9))
    plain.publish_batch(_recs(2, 2, venue=3))
    plain.close()
    again = ring.publisher(stamp={"venue": 5})
    again.publish_batch(_recs(2, 4, venue=9))
    assert rd.read_batch(16)["venue"].tolist() == [1, 9, 3, 3, 5, 5]


@pytest.mark.parametrize("stamp, words", [
    ({"venu": 1}, "'venu' is not a one-byte field"),
    ({"symbol_id": 1}, "'symbol_id' is not a one-byte field"),
    ({"venue": 256}, "a byte is 0..255"),
    ({"venue": -1}, "a byte is 0..255"),
    ({"venue": True}, "a byte is 0..255"),
    ({"venue": 1, "kind": 2}, "stamps one field"),
])
def test_a_stamp_that_is_not_one_byte_of_the_layout_is_refused(instance, stamp, words):
    ring = BroadcastRing.create(instance, "md", md.LAYOUT, 64, symbols=["BTCUSDT"])
    with pytest.raises(RingConfigError, match=words):
        ring.publisher(stamp=stamp)
    ring.publisher(stamp={"venue": 2}).publish(_recs(1))  # refused ones took no producer slot


def test_every_market_venue_has_a_venue_code():
    from hftshm import venues

    kinds = set(venues._registry())
    assert kinds and kinds <= set(md.VENUE_CODES), kinds - set(md.VENUE_CODES)
    assert len(set(md.VENUES)) == len(md.VENUES) and 0 not in md.VENUES  # 0: unknown
