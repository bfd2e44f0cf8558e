"""Where a dead ingest stopped, read back from the ``md`` ring it published into.

A restarted ingest starts with a fresh normalizer: without this, the trade ids the venue sent
while no ingest ran would pass unseen (the first id after the restart has nothing to follow).
The ring still holds the predecessor's last records, so the new process reads them back once at
start, before it publishes anything:

- per symbol, the newest TRADE's ``venue_id`` (trade id ``t``) and the newest AGG_TRADE's
  (aggTrade id ``a``): the normalizer continues those sequences and counts the hole as a gap;
- the symbols whose newest book record (LEVEL, book QUOTE) is not a BOOK_RESET: consumers hold
  that book, which nobody updates any more, so the new process resets it at once.

Only the producer may call this, after it attached as the ring's producer (``Publisher`` refuses
while the predecessor lives): with no producer writing, the slots of ``[cursor - capacity,
cursor)`` hold whole records whose ``seq`` is their sequence, read in place; a slot whose ``seq``
is not (the predecessor died writing past the cursor over the oldest records) is skipped.
A symbol that no longer has a record in the ring (overwritten) has nothing to continue from:
its first id after the restart starts the sequence, as at a first start.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from hftshm.layouts import md


class ResumePoint(NamedTuple):
    last_trade: dict[int, int]  # symbol_id -> newest published trade id
    last_agg: dict[int, int]  # symbol_id -> newest published aggTrade id
    books: set[int]  # symbol_ids whose published book was not reset


CHUNK = 1 << 16  # records read back at a time, newest first


def read_resume_point(ring, symbol_ids=None, *, trades: bool = True, aggs: bool = True,
                      books: bool = True) -> ResumePoint:
    """The ``ResumePoint`` of a ``BroadcastRing`` holding ``md`` records (see the module doc).

    Reads newest first, ``CHUNK`` records at a time, and stops early once each of
    ``symbol_ids`` (default: all) has what was asked for (``trades``, ``aggs``, ``books``: ask
    only for the streams the ingest takes, or the whole ring is read to find nothing)."""
    cursor = ring.published()
    n = min(cursor, ring.capacity)
    wanted = set(range(len(ring.symbols))) if symbol_ids is None else set(symbol_ids)
    found = {md.TRADE: {}, md.AGG_TRADE: {}, md.BOOK_RESET: {}}
    asked = [k for k, on in ((md.TRADE, trades), (md.AGG_TRADE, aggs), (md.BOOK_RESET, books)) if on]
    slots, mask = ring.slots, ring.capacity - 1
    done = 0
    while done < n and not all(wanted <= found[k].keys() for k in asked):
        m = min(CHUNK, n - done)
        seqs = cursor - 1 - done - np.arange(m, dtype=np.int64)  # newest first
        at = seqs & mask
        # A predecessor killed mid-publish in a full ring may have overwritten the oldest slots
        # with records it never published (their seq is past the cursor): those hold nothing.
        at = at[slots["seq"][at] == seqs]
        kind, sid = slots["kind"][at], slots["symbol_id"][at]
        for k in asked:
            if k == md.BOOK_RESET:  # the newest book record: a reset, or a book consumers hold
                sel = (kind == md.LEVEL) | (kind == md.BOOK_RESET) | (
                    (kind == md.QUOTE) & ((slots["flags"][at] & md.F_FROM_BOOK) != 0))
                values = kind[sel]
            else:
                sel = kind == k
                values = slots["venue_id"][at][sel]
            ids, first = np.unique(sid[sel], return_index=True)
            for s_, v in zip(ids.tolist(), values[first].tolist()):
                found[k].setdefault(s_, v)  # an older chunk never overrides a newer one
        done += m
    books_held = {s_ for s_, k in found[md.BOOK_RESET].items() if k != md.BOOK_RESET}
    return ResumePoint(found[md.TRADE], found[md.AGG_TRADE], books_held)
