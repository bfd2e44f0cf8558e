"""MdScratch: one pack_into per record, mirroring md.DTYPE; sparse structs zero what they skip."""

from __future__ import annotations

import numpy as np
import pytest

from hftshm.feed.scratch import RECORD, MdScratch, sparse_record
from hftshm.layouts import md


def test_record_struct_matches_the_layout():
    assert RECORD.size == md.DTYPE.itemsize == 128


def test_put_fills_every_field_and_derives_floats():
    out = MdScratch(capacity=1)
    out.put(md.LEVEL, md.ASK, md.F_LAST_IN_EVENT, 42, 11, 12, 13, 14, 15, 6_183_763_000_000, 1, 3, 2**63 - 1)
    out.view()["venue"] = 9  # left to the ring's stamp: a put writes it 0
    out.clear()
    out.put(md.LEVEL, md.ASK, md.F_LAST_IN_EVENT, 42, 11, 12, 13, 14, 15, 6_183_763_000_000, 1, 3, 2**63 - 1)
    (rec,) = out.view().tolist()
    assert rec == (0, md.LEVEL, md.ASK, md.F_LAST_IN_EVENT, 0, 42, 11, 12, 13, 0, 14, 15,
                   6_183_763_000_000, 1, 3, 2**63 - 1, 61837.63, 1e-8, 3e-8, 92233720368.54775807)


def test_growth_keeps_earlier_records():
    out = MdScratch(capacity=2)
    for i in range(10):
        out.put(md.LEVEL, md.BID, 0, 1, 0, 0, i, 0, 0, i, i)
    assert out.view()["recv_ns"].tolist() == list(range(10))
    out.truncate(3)
    assert len(out.view()) == 3
    out.clear()
    assert len(out.view()) == 0


def test_single_overwrites_the_previous_contents():
    out = MdScratch()
    first = out.single(md.QUOTE, 0, 0, 1, 0, 0, 5, 9, 0, 1, 2, 3, 4)
    assert first["venue_id"][0] == 9
    out.single(md.QUOTE, 0, 0, 1, 0, 0, 5, 10, 0, 1, 2, 3, 4)
    assert first["venue_id"][0] == 10  # a view: valid until the next call, as documented


def test_sparse_record_zeroes_the_fields_it_skips():
    out = MdScratch()
    out.single(md.LEVEL, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
    sparse_record("kind", "recv_ns").pack_into(out.mv, 0, md.TRADE, 99)
    rec = dict(zip(md.DTYPE.names, out.one.tolist()[0]))
    assert rec["kind"] == md.TRADE and rec["recv_ns"] == 99
    assert all(v == 0 for k, v in rec.items() if k not in ("kind", "recv_ns"))
    with pytest.raises(ValueError, match="not md.DTYPE fields"):
        sparse_record("kind", "bogus")


def test_views_share_memory_with_the_array():
    out = MdScratch()
    assert np.shares_memory(out.one, out.array)
