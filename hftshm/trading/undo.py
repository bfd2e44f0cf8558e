"""The undo record of the trading area (area_layout.py): each report execution applies is all or
nothing across a ``kill -9``, so a fill is counted in the risk state exactly once.

Applying one report writes many words: the symbol's position, average price, PnL, fees, counts,
open quantity and exposure, the account's gross exposure (``risk.fills.on_fill``,
``risk.orders.on_done``), the order's slot (filled quantity, state, venue id, freed at the end)
and the tallies (``ended``, ``rejects``). A crash between any two of those stores would leave a
torn state, and a crash after them but before the report reaches the fills ring would leave a
fill the risk state counts and nothing else has seen, to be fetched from the venue and applied
again by the next execution. So every report is one transaction::

    begin     pre-images of every word it may change into the record, then state = OPEN (release)
    apply     the risk state, the slot, the tallies (plain stores, one writer)
    publish   the report on the fills ring: its cursor passes ``seq`` (the commit point)
    end       state = IDLE (release)

``recover`` (a restarted execution, before it reads any slot): OPEN with the fills ring's cursor
past ``seq`` means the report was published, and everything before the publish is applied: keep
it. OPEN otherwise restores every pre-image (idempotent: a crash during ``recover`` just runs it
again), so the report is as if never seen: the order's slot says so, the venue is asked and the
fill is applied and published once. A crash inside ``begin`` leaves IDLE and nothing applied.

Writers: execution alone writes every word this restores; the risk worker's symbol words
(``mid_e8``, ``mid_ns``, ``mark_e8``) are saved with the rest of the line but never restored.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .. import atomics as A
from ..errors import HftshmError, SegmentCorrupt
from ..ring.fast import entry_point
from ..ring.pointers import address, words_at
from ..risk import layout as RL
from . import area_layout as L

UNDO_W = L.UNDO_OFFSET // 8
REJECTS_W = L.REJECTS_OFFSET // 8
ENDED_W = L.ENDED_OFFSET // 8
SLOTS_W = L.SLOTS_OFFSET // 8
AREA_WORDS = L.AREA_LENGTH // 8
SYMBOLS_W = RL.SYMBOLS_OFFSET // 8
SYMBOL_WORDS = RL.SYMBOL_LENGTH // 8
GROSS_W = (RL.ACCOUNT_OFFSET + RL.ACCOUNT_DTYPE.fields["worst_gross_e8"][1]) // 8
RISK_WORKER_FIELDS = ("mid_e8", "mid_ns", "mark_e8")  # workers/risk.py apply_mids: never restored
# 1: restore this word of the symbol image
RESTORE = np.ones(L.SYMBOL_IMAGE_WORDS, np.int64)
for _f in RISK_WORKER_FIELDS:
    RESTORE[RL.SYMBOL_DTYPE.fields[_f][1] // 8] = 0
assert L.SLOT_DTYPE.itemsize == L.SLOT_WORDS * 8 and RL.SYMBOL_BOOK_LINE + RL.CACHE_LINE == L.SYMBOL_IMAGE_WORDS * 8
assert all(RL.SYMBOL_DTYPE.fields[f][1] < L.SYMBOL_IMAGE_WORDS * 8 for f in RISK_WORKER_FIELDS)


@njit(cache=True)
def begin_at(area_addr, risk_addr, risk_words, cursor_addr, cursor_word, order_id, symbol_id, slot, ended, reason):
    """Save the pre-images a report's application may change, then mark the record OPEN. Returns
    0, or -1 (nothing written) if the record is still OPEN: an earlier application stopped
    midway, and only a restart's ``recover`` may resolve it."""
    area = words_at(area_addr, AREA_WORDS)
    risk = words_at(risk_addr, risk_words)
    cursor = words_at(cursor_addr, cursor_word + 1)
    u = UNDO_W
    if area[u + L.U_STATE] != L.IDLE:
        return -1
    area[u + L.U_SEQ] = A.load_relaxed(cursor, cursor_word)  # its one producer reads its own cursor
    area[u + L.U_ORDER] = order_id
    base = SYMBOLS_W + symbol_id * SYMBOL_WORDS
    if symbol_id >= 0 and base + L.SYMBOL_IMAGE_WORDS <= risk_words:
        for k in range(L.SYMBOL_IMAGE_WORDS):
            area[u + L.U_SYMBOL_IMAGE + k] = risk[base + k]
        area[u + L.U_GROSS] = risk[GROSS_W]
        area[u + L.U_SYMBOL] = symbol_id
    else:
        area[u + L.U_SYMBOL] = -1
    if 0 <= slot < L.SLOTS:
        for k in range(L.SLOT_WORDS):
            area[u + L.U_SLOT_IMAGE + k] = area[SLOTS_W + slot * L.SLOT_WORDS + k]
        area[u + L.U_SLOT] = slot
    else:
        area[u + L.U_SLOT] = -1
    if 0 <= ended < L.STATES:
        area[u + L.U_ENDED_VALUE] = area[ENDED_W + ended]
        area[u + L.U_ENDED] = ended
    else:
        area[u + L.U_ENDED] = -1
    if 0 <= reason < L.REASONS:
        area[u + L.U_REJECTS_VALUE] = area[REJECTS_W + reason]
        area[u + L.U_REJECTS] = reason
    else:
        area[u + L.U_REJECTS] = -1
    A.store_release(area, u + L.U_STATE, L.OPEN)  # the pre-images are complete before OPEN shows
    A.fence_release()  # and the application's stores come after it
    return 0


@njit(cache=True)
def end_at(area_addr):
    """The report is published: nothing to undo any more."""
    area = words_at(area_addr, AREA_WORDS)
    A.store_release(area, UNDO_W + L.U_STATE, L.IDLE)


@njit(cache=True)
def restore(area, risk, restore_mask):
    """Write every saved pre-image back (the record stays OPEN: the caller marks it IDLE after)."""
    u = UNDO_W
    s = area[u + L.U_SYMBOL]
    if s >= 0:
        base = SYMBOLS_W + s * SYMBOL_WORDS
        for k in range(L.SYMBOL_IMAGE_WORDS):
            if restore_mask[k]:
                risk[base + k] = area[u + L.U_SYMBOL_IMAGE + k]
        risk[GROSS_W] = area[u + L.U_GROSS]
    slot = area[u + L.U_SLOT]
    if slot >= 0:
        for k in range(L.SLOT_WORDS):
            area[SLOTS_W + slot * L.SLOT_WORDS + k] = area[u + L.U_SLOT_IMAGE + k]
    e = area[u + L.U_ENDED]
    if e >= 0:
        area[ENDED_W + e] = area[u + L.U_ENDED_VALUE]
    r = area[u + L.U_REJECTS]
    if r >= 0:
        area[REJECTS_W + r] = area[u + L.U_REJECTS_VALUE]
    A.fence_release()


def _risk_words(risk) -> np.ndarray:
    return risk.raw.view(np.int64)


class UndoLog:
    """``begin(order_id, symbol_id, slot, ended, reason)`` before a report's first store and
    ``end()`` right after its publish; ``cursor[cursor_word]`` is the count of reports published
    on the fills ring (the ring header's cursor)."""

    def __init__(self, area, risk, cursor: np.ndarray, cursor_word: int):
        self.area_words = area.words  # kept alive: used by address
        self.risk_words = _risk_words(risk)
        self.cursor = cursor
        if self.area_words.shape[0] != AREA_WORDS or not 0 <= cursor_word < cursor.shape[0]:
            raise ValueError("undo record: a trading area and a cursor word inside its array are needed")
        args = (address(self.area_words), address(self.risk_words), self.risk_words.shape[0], address(cursor),
                cursor_word)
        b = entry_point(begin_at, *args, 0, 0, 0, 0, 0)
        e = entry_point(end_at, args[0])
        a0, a1, a2, a3, a4 = args

        def begin(order_id: int, symbol_id: int, slot: int, ended: int, reason: int) -> None:
            if b(a0, a1, a2, a3, a4, order_id, symbol_id, slot, ended, reason):
                raise HftshmError("trading area: a report's application stopped midway (undo record still "
                                     "open); execution must restart to recover it")

        def end() -> None:
            e(a0)

        self.begin = begin
        self.end = end


def recover(area, risk, published: int) -> tuple[str, int] | None:
    """After a crash, before any slot is read: ``None`` if no report was being applied, else
    ``("kept", order id)`` (it reached the fills ring, whose cursor is ``published``) or
    ``("undone", order id)`` (it did not: every word it changed is back as before it)."""
    words = area.words
    state = int(A.load_acquire(words, UNDO_W + L.U_STATE))
    if state == L.IDLE:
        return None
    if state != L.OPEN:
        raise SegmentCorrupt(f"trading area: undo record state {state}, expected {L.IDLE} or {L.OPEN}")
    oid = int(words[UNDO_W + L.U_ORDER])
    if published > int(words[UNDO_W + L.U_SEQ]):
        outcome = "kept"
    else:
        restore(words, _risk_words(risk), RESTORE)
        outcome = "undone"
    A.store_release(words, UNDO_W + L.U_STATE, L.IDLE)
    return outcome, oid
