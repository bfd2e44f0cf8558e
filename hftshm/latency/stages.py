"""The stage table: stage names, and adding a stage by name from any process.

A stage slot moves FREE -> CLAIMING (compare-and-swap by the adding process, its pid in the state
word) -> ACTIVE (release store, after the name is written) and never back. Every adder claims the
lowest free slot and, on its way there, waits for each CLAIMING slot to become ACTIVE and compares
names; so two processes adding the same name at once get the same slot, never two. A CLAIMING
slot whose claimer died is taken over.
"""

from __future__ import annotations

import os
import time

from .. import atomics as A
from .. import procinfo
from ..errors import HftshmError, RingConfigError
from . import layout as L
from .errors import StageTableFull, UnknownStage

CLAIM_WAIT_S = 1.0  # a live claimer names its slot within microseconds; this is a stuck one


def check_name(name) -> bytes:
    """The stage name as stored: printable ASCII, 1 to ``NAME_LENGTH - 1`` bytes."""
    if not isinstance(name, str):
        raise RingConfigError(f"stage name must be a str, got {type(name).__name__} {name!r}")
    try:
        raw = name.encode("ascii")
    except UnicodeEncodeError:
        raise RingConfigError(f"stage name {name!r} is not ASCII") from None
    if not raw:
        raise RingConfigError("stage name is empty")
    if len(raw) >= L.NAME_LENGTH:
        raise RingConfigError(f"stage name {name!r} is {len(raw)} bytes long; at most {L.NAME_LENGTH - 1}")
    if not name.isprintable():
        raise RingConfigError(f"stage name {name!r} has non-printable characters")
    return raw


def _state_word(stage: int) -> int:
    return (L.stage_offset(stage) + L.STATE) // L.WORD


class StageTable:
    """The stage slots of a mapped latency segment (``words``: its int64 view; ``buf``: bytes)."""

    def __init__(self, words, buf, max_stages: int):
        self._words = words
        self._buf = buf
        self.max_stages = max_stages

    def state(self, stage: int) -> int:
        return int(A.load_acquire(self._words, _state_word(stage))) & L.STATE_MASK

    def name(self, stage: int) -> str:
        at = L.stage_offset(stage) + L.NAME
        return bytes(self._buf[at : at + L.NAME_LENGTH]).split(b"\0", 1)[0].decode("ascii", "replace")

    def names(self) -> list[str]:
        """Active stages in slot order (index i of the list is stage i unless one is mid-add)."""
        out = []
        for i in range(self.max_stages):
            st = self.state(i)
            if st == L.FREE:
                break
            if st == L.ACTIVE:
                out.append(self.name(i))
        return out

    def find(self, name: str) -> int:
        """Index of the active stage ``name``, or -1."""
        for i in range(self.max_stages):
            st = self.state(i)
            if st == L.FREE:
                break
            if st == L.ACTIVE and self.name(i) == name:
                return i
        return -1

    def index(self, name: str) -> int:
        check_name(name)
        i = self.find(name)
        if i < 0:
            raise UnknownStage(f"unknown stage {name!r}; stages are {self.names()}")
        return i

    def fill(self, stage: int, raw: bytes) -> None:
        """Name slot ``stage`` (claimed by us, or the creator's before the magic)."""
        at = L.stage_offset(stage)
        self._buf[at + L.NAME : at + L.NAME + L.NAME_LENGTH] = raw.ljust(L.NAME_LENGTH, b"\0")
        self._words[(at + L.ADDED_NS) // L.WORD] = time.time_ns()

    def add(self, name: str) -> int:
        """Index of stage ``name``, claiming a free slot for it if it has none."""
        raw = check_name(name)
        me = os.getpid()
        w = self._words
        i = 0
        deadline = None
        while i < self.max_stages:
            word = _state_word(i)
            st = int(A.load_acquire(w, word))
            kind, pid = st & L.STATE_MASK, st >> L.STATE_PID_SHIFT
            if kind == L.ACTIVE:
                if self.name(i) == name:
                    return i
                i += 1
                deadline = None
                continue
            if kind == L.CLAIMING and procinfo.alive(pid, 0):
                deadline = deadline or time.monotonic() + CLAIM_WAIT_S
                if time.monotonic() > deadline:
                    raise HftshmError(f"stage slot {i} has been claimed by live pid {pid} for over "
                                      f"{CLAIM_WAIT_S} s without being named")
                time.sleep(0)
                continue
            # FREE, or CLAIMING by a dead process: ours if the compare-and-swap wins, else look again
            if A.compare_and_swap(w, word, st, L.state_word(L.CLAIMING, me)) == st:
                self.fill(i, raw)
                A.store_release(w, word, L.state_word(L.ACTIVE, me))  # publishes the name
                return i
        raise StageTableFull(
            f"cannot add stage {name!r}: all {self.max_stages} stage slots are taken ({self.names()})"
        )
