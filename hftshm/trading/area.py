"""The trading area (see area_layout.py): format, attach, and the slot operations execution uses."""

from __future__ import annotations

import time

import numpy as np

from .. import atomics as A
from .. import preamble
from ..errors import SegmentCorrupt
from ..risk import layout as RL
from . import area_layout as L


class TradingArea:
    def __init__(self, risk_buffer, fresh: bool = False):
        raw = np.frombuffer(risk_buffer, np.uint8)[L.AREA_OFFSET: L.AREA_OFFSET + L.AREA_LENGTH]
        self.raw = raw
        self.words = raw.view(np.int64)
        self.rejects = self.words[L.REJECTS_OFFSET // 8: L.REJECTS_OFFSET // 8 + L.REASONS]
        self.ended = self.words[L.ENDED_OFFSET // 8: L.ENDED_OFFSET // 8 + L.STATES]
        self.hwm = self.words[L.HWM_OFFSET // 8: L.HWM_OFFSET // 8 + L.STRATEGIES]
        self.slots = raw[L.SLOTS_OFFSET: L.FUNDING_OFFSET].view(L.SLOT_DTYPE)
        if not fresh:
            preamble.check_magic(self.words, L.W_MAGIC, L.MAGIC, "trading area", "not prepared by trading.setup")
            if int(self.words[L.W_VERSION]) != L.VERSION:
                raise SegmentCorrupt(f"trading area: version {int(self.words[L.W_VERSION])}, expected {L.VERSION}")

    @classmethod
    def format(cls, risk_buffer, n_symbols: int) -> "TradingArea":
        """Zero the area and write its header, magic last. Refuses a risk block that would overlap."""
        if RL.block_size(n_symbols) > L.AREA_OFFSET:
            raise ValueError(f"{n_symbols} symbols need a {RL.block_size(n_symbols)} B risk block; "
                             f"at most {L.AREA_OFFSET} B fit before the trading area")
        area = cls(risk_buffer, fresh=True)
        area.raw[:] = 0
        area.words[L.W_VERSION] = L.VERSION
        area.words[L.W_SLOTS] = L.SLOTS
        area.words[L.W_RUN_TAG] = time.time_ns() // 1_000_000
        preamble.publish(area.words, L.W_MAGIC, L.MAGIC)  # the magic goes last
        return area

    @property
    def run_tag(self) -> int:
        return int(self.words[L.W_RUN_TAG])

    @property
    def trigger(self) -> int:
        return int(A.load_acquire(self.words, L.W_TRIGGER))

    def set_trigger(self, reason: int, now_ns: int) -> None:
        self.words[L.W_TRIGGER_NS] = now_ns
        A.store_release(self.words, L.W_TRIGGER, reason)

    def live(self) -> list[int]:
        """Indexes of the slots holding an order."""
        return [int(i) for i in np.flatnonzero(self.slots["order_id"] != 0)]

    def free_slot(self) -> int:
        """A free slot's index, or -1 when all are taken."""
        free = np.flatnonzero(self.slots["order_id"] == 0)
        return int(free[0]) if free.shape[0] else -1
