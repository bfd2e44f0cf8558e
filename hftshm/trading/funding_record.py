"""The trading area's funding record (area_layout.py): which funding payments the risk state
holds, for a venue whose funding is one settlement per symbol per funding time (Bybit linear in
one-way mode), so that (symbol, funding time) names a payment. It lives in the control block,
owner-only like the rest of it, so it survives an execution restart with the risk state it
describes (a whole-instance restart formats both afresh: funding counts from the run's start).

Each payment is one transaction across a ``kill -9``, like a report under the undo record::

    begin    the symbol, the funding time and the symbol's ``funding`` (pre-image), state = OPEN
    apply    funding += amount
    commit   last[symbol] = the funding time (release)
    end      state = IDLE (release)

``recover`` (a restarted execution, before it applies anything): OPEN with ``last[symbol]`` at
the saved time means committed, kept; else the pre-image goes back, and the payment, not marked
applied, is applied once when the venue lists it again.

``from_ms`` is where the next funding query starts (the protocol's ``funding_from_ms``): every
payment before it is known applied. One writer (the execution process).
"""

from __future__ import annotations

import numpy as np

from .. import atomics as A
from ..errors import SegmentCorrupt
from ..risk import layout as RL
from ..risk.marks import on_funding
from ..risk.results import APPLIED
from . import area_layout as L

# a time for every symbol id the risk state before the area can hold
assert L.FUNDING_OFFSET % L.CACHE_LINE == 0 and (L.AREA_OFFSET - RL.SYMBOLS_OFFSET) // RL.SYMBOL_LENGTH <= L.FUNDING_SYMBOLS


class FundingRecord:
    def __init__(self, area):
        self.words = area.words[L.FUNDING_OFFSET // 8: (L.FUNDING_OFFSET + L.FUNDING_LENGTH) // 8]
        self.floats = self.words.view(np.float64)
        self.last = self.words[L.FR_LAST: L.FR_LAST + L.FUNDING_SYMBOLS]

    @property
    def from_ms(self) -> int:
        return int(self.words[L.FR_FROM])

    def set_from(self, ms: int) -> None:
        """Funding before ``ms`` is applied (it only moves forward)."""
        if ms > int(self.words[L.FR_FROM]):
            self.words[L.FR_FROM] = ms

    def applied(self, symbol_id: int, time_ms: int) -> bool:
        """The payment of ``symbol_id`` at funding time ``time_ms`` (or a later one) is applied."""
        return 0 <= symbol_id < L.FUNDING_SYMBOLS and time_ms <= int(self.last[symbol_id])

    def apply(self, symbols, account, symbol_id: int, amount_e8: int, time_ms: int) -> bool:
        """Add the payment to the symbol's ``funding`` once: False (nothing changed) when it, or
        a later one of the symbol, is applied already, or the symbol is outside the record."""
        if not 0 <= symbol_id < min(L.FUNDING_SYMBOLS, symbols.shape[0]) or self.applied(symbol_id, time_ms):
            return False
        w = self.words
        if int(A.load_acquire(w, L.FR_STATE)) != L.IDLE:
            raise SegmentCorrupt("trading area: a funding payment's application stopped midway (funding record "
                                 "still open); execution must restart to recover it")
        w[L.FR_SYMBOL] = symbol_id
        w[L.FR_TIME] = time_ms
        self.floats[L.FR_BEFORE] = float(symbols[symbol_id]["funding"])
        A.store_release(w, L.FR_STATE, L.OPEN)  # the pre-image is complete before OPEN shows
        A.fence_release()  # and the funding's store comes after it
        if on_funding(symbols, account, symbol_id, amount_e8) != APPLIED:
            raise ValueError(f"funding record: symbol {symbol_id} refused by the risk state")
        A.store_release(self.last, symbol_id, time_ms)  # the commit point: after the funding's store
        A.store_release(w, L.FR_STATE, L.IDLE)
        return True

    def recover(self, symbols) -> tuple[str, int, int] | None:
        """After a crash, before anything is applied: None if no payment was being applied, else
        ("kept" | "undone", symbol id, funding time ms)."""
        w = self.words
        state = int(A.load_acquire(w, L.FR_STATE))
        if state == L.IDLE:
            return None
        if state != L.OPEN:
            raise SegmentCorrupt(f"trading area: funding record state {state}, expected {L.IDLE} or {L.OPEN}")
        sid, t = int(w[L.FR_SYMBOL]), int(w[L.FR_TIME])
        if int(self.last[sid]) >= t:
            outcome = "kept"
        else:
            symbols[sid]["funding"] = self.floats[L.FR_BEFORE]
            outcome = "undone"
        A.store_release(w, L.FR_STATE, L.IDLE)
        return outcome, sid, t
