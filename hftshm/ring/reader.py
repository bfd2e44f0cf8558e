"""A reader of either ring type: zero-copy batches, single records, and the numba handle.

Two kinds of reader, chosen at attach time:

* **gating** (the journal, a strategy, the execution consumer): holds the producer back - on a
  ``wait`` ring the producer never overwrites a record a gating reader has not finished with. Views
  returned by ``read_batch``/``read`` stay valid until the next read call. A gating reader has a
  name; if its process dies, a new reader of the same name resumes at the dead one's cursor.
* **ad-hoc** (``hftshm tail``, a notebook): never holds the producer back. It may be lapped; it
  detects that, never returns a torn record as valid, counts exactly how many records it lost,
  and resynchronises. ``read_batch(copy=True)`` and ``read()`` validate after copying; zero-copy
  views are intact when returned and stay so until the producer publishes ``capacity - lag`` more
  records (``intact()`` checks after use).
"""

from __future__ import annotations

import itertools
import logging
import time

import numpy as np

from .. import atomics as A
from .. import procinfo
from ..errors import HftshmError, ReaderTableFull, RecordTypeError, RingConfigError
from ..wait import DEFAULT as WAIT_DEFAULT
from ..wait import make as make_wait
from . import header as H
from . import kernels as K
from . import producer_table as PT
from . import reader_table as RT
from .fast import entry_point
from .pointers import address

log = logging.getLogger("hftshm.ring")

STUCK_CHECK_NS = 2_000_000
_adhoc_ids = itertools.count()  # a many-to-one record claimed but uncommitted this long: check its producer


class Reader:
    def __init__(self, ring, name: str | None = None, *, gating: bool = False, start="newest",
                 wait=None, window: int | None = None, copy_batch: int = 256):
        self.ring = ring
        self.hdr = hdr = ring.hdr
        self.slots = ring.slots
        self.capacity = cap = ring.capacity
        self._mask = cap - 1
        self.gating = bool(gating)
        if self.gating and not name:
            raise RingConfigError("a gating reader needs a name (it is how a restart resumes)")
        self.name = name or f"adhoc-{procinfo.me()[0]}.{next(_adhoc_ids)}"
        # where producers announce progress: the cursor of a broadcast ring, the claim word of a
        # many-to-one ring (its records complete out of order, so it has no single cursor)
        self._head_word = H.W_CURSOR if ring.KIND == H.KIND_BROADCAST else H.W_CLAIM
        rst = np.zeros(K.R_WORDS, np.int64)
        rst[K.R_SLOT] = -1
        rst[K.R_STUCK_SEQ] = -1
        # read() hands out records from batches of at most this many, so a gating reader
        # releases its cursor at least that often
        self._window = window or max(1, cap // 4)
        self.rst = rst
        self.resumed = False
        # Who idles: in a worker, the runner (it watches the agent's readers), so a worker's
        # readers take no wait strategy (``wait=None``); ``wait_strategy`` (``wait()``,
        # iteration) then builds a default one on first use (a notebook, ``hftshm tail``).
        self._wait = make_wait(wait) if wait is not None else None
        slot, resumed, cursor = self._claim_slot()
        self.slot = slot
        rst[K.R_SLOT] = slot
        rst[K.R_NEXT] = self._start_position(start, resumed, cursor)
        rst[K.R_AVAIL] = rst[K.R_NEXT]
        if slot >= 0:
            A.store_release(hdr, RT.word(slot, RT.CURSOR), int(rst[K.R_NEXT]))
            A.store_release(hdr, RT.word(slot, RT.STATE), RT.state_word(RT.ACTIVE, procinfo.me()[0]))
        if self.gating:
            self._join()
        # per-record state
        self._view = ring.slots[:0]
        self._i = 0
        self._n = 0
        self._copy_buf = np.zeros(copy_batch, ring.layout.dtype)
        self._addrs = (address(hdr), address(rst))
        self._rd_next = entry_point(K.rd_next_at, *self._addrs, 1)
        self._park = entry_point(K.rd_park_at, *self._addrs)
        self._unpark = entry_point(K.rd_unpark_at, *self._addrs)
        self._rd_copy = entry_point(K.rd_copy, hdr, ring.slots, rst, self._copy_buf)
        self._closed = False
        if self._wait is not None:
            self._wait.watch(self)

    # --- attach ---------------------------------------------------------------------------------

    def _claim_slot(self):
        """Take a reader slot: ours by name if a dead reader left it, else a free or dead one."""
        hdr, ring = self.hdr, self.ring
        me = procinfo.me()[0]
        candidates = []
        for slot in range(H.READER_SLOTS):
            word = int(A.load_acquire(hdr, RT.word(slot, RT.STATE)))
            state = word & RT.STATE_MASK
            if state == RT.FREE:
                candidates.append((1, slot, word))
                continue
            if state == RT.CLAIMING:  # mid-attach: only its claimer's death frees it
                if not procinfo.alive(word >> RT.STATE_PID_SHIFT, 0):
                    candidates.append((2, slot, word))
                continue
            pid = int(hdr[RT.word(slot, RT.PID)])
            live = procinfo.alive(pid, int(hdr[RT.word(slot, RT.PID_TICKS)]))
            same = ring.reader_name(slot) == self.name
            if same and live and state == RT.ACTIVE:
                raise HftshmError(f"ring {ring.name!r}: reader {self.name!r} is already attached by live pid {pid}")
            if same:
                candidates.append((0, slot, word))  # resume where the dead one stopped
            elif state == RT.ORPHANED or not live:
                candidates.append((2, slot, word))
        mine = RT.state_word(RT.CLAIMING, me)
        for rank, slot, word in sorted(candidates):
            if A.compare_and_swap(hdr, RT.word(slot, RT.STATE), word, mine) != word:
                continue
            self._fill_slot(slot, resumed=rank == 0)
            return slot, rank == 0, int(hdr[RT.word(slot, RT.CURSOR)])
        if self.gating:
            raise ReaderTableFull(f"ring {ring.name!r}: all {H.READER_SLOTS} reader slots are held by live readers")
        log.warning("ring %s: reader table full; %s reads anonymously (not listed in status)", ring.name, self.name)
        return -1, False, 0

    def _fill_slot(self, slot: int, resumed: bool) -> None:
        hdr = self.hdr
        pid, ticks = procinfo.me()
        now = time.time_ns()
        hdr[RT.word(slot, RT.PID)] = pid
        hdr[RT.word(slot, RT.PID_TICKS)] = ticks
        hdr[RT.word(slot, RT.FLAGS)] = 0
        hdr[RT.word(slot, RT.HEARTBEAT_NS)] = now
        hdr[RT.word(slot, RT.ATTACHED_NS)] = now
        # no strategy yet: the default one it would build (a runner that watches it says its own)
        hdr[RT.word(slot, RT.WAIT_CODE)] = RT.WAIT_CODES.get(getattr(self._wait, "name", WAIT_DEFAULT), -1)
        A.fetch_add(hdr, RT.word(slot, RT.GENERATION), 1)
        if resumed:
            A.fetch_add(hdr, RT.word(slot, RT.RESUMES), 1)
        else:
            for field in (RT.LOST, RT.LAPPED, RT.RESUMES, RT.EVICTED):
                hdr[RT.word(slot, field)] = 0
        self.ring.set_reader_name(slot, self.name)
        self.ring.put_name_bytes(RT.slot_offset(slot) + RT.WAKE, "", RT.WAKE_LENGTH)
        self.resumed = resumed

    def _start_position(self, start, resumed: bool, cursor: int) -> int:
        hdr, cap = self.hdr, self.capacity
        newest = int(A.load_acquire(hdr, self._head_word))
        oldest = max(0, int(A.load_acquire(hdr, H.W_CLAIM)) - cap)
        if resumed and start in ("newest", "resume"):
            return cursor  # a restarted reader goes on where its predecessor stopped
        if start in ("newest", "resume"):
            return newest
        if start == "oldest":
            return oldest
        if isinstance(start, (int, np.integer)) and not isinstance(start, bool):
            if start < oldest or start > newest:
                raise RingConfigError(
                    f"ring {self.ring.name!r}: sequence {start} is not in the ring (it holds {oldest}..{newest - 1})"
                )
            return int(start)
        raise RingConfigError(f"start must be 'newest', 'oldest', 'resume' or a sequence number, got {start!r}")

    def _join(self) -> None:
        """Become gating. The producer rescans gating readers at least every capacity/4 records,
        and its seq_cst fence after each publish orders our flag before its next rescan once we
        have seen its cursor (kernels.bc_room); records below ``unsafe`` may still be rewritten
        before it notices us, so we validate those like an ad-hoc reader would."""
        hdr, cap = self.hdr, self.capacity
        A.store_seq_cst(hdr, RT.word(self.slot, RT.FLAGS), RT.FLAG_GATING)
        seen = int(A.load_seq_cst(hdr, self._head_word))
        self.rst[K.R_UNSAFE_BELOW] = seen - cap + cap // 4 + 2
        self.rst[K.R_GATING] = 1

    # --- reading --------------------------------------------------------------------------------

    def read_batch(self, max_n: int = 1 << 30, copy: bool = False) -> np.ndarray:
        """Every readable record up to ``max_n``, as one contiguous array (empty if none).

        Zero-copy unless ``copy``; a batch stops at the end of the ring, so call again for the
        records after the wrap. Also releases the previous batch (gating readers).
        """
        if self._closed:
            raise HftshmError("reader is closed")
        if max_n < 1:
            raise RingConfigError(f"max_n must be >= 1, got {max_n}")
        self._i = self._n = 0  # a batch read ends any per-record iteration
        if copy:
            # Copied through the reader's copy buffer (read()'s; a batch read ends that iteration)
            # and returned at its own size: a fresh max_n-sized array per call, returned as a
            # view, kept its whole allocation alive for each few records a caller held on to
            # (tens of GB of address space in a test that kept every batch; forks then failed).
            want = min(max_n, self.capacity)
            if self._copy_buf.shape[0] < want:
                self._copy_buf = np.zeros(want, self.ring.layout.dtype)
            n = K.rd_copy(self.hdr, self.slots, self.rst, self._copy_buf[:want])
            return self._copy_buf[:n].copy()
        n = self._rd_next(*self._addrs, max_n)
        if n <= 0:
            if n == K.STUCK:
                self._resolve_stuck()
            return self.slots[:0]
        base = int(self.rst[K.R_START]) & self._mask
        return self.slots[base : base + n]

    def read(self):
        """The next record (a numpy record view), or None if none is ready.

        A gating reader's view points into the ring and stays valid until the batch it came
        from is used up (at least until the next call); an ad-hoc reader's is a validated copy.
        """
        i = self._i
        if i < self._n:
            self._i = i + 1
            return self._view[i]
        return self._read_refill()

    def _read_refill(self):
        if self._closed:
            raise HftshmError("reader is closed")
        if self.gating:
            n = self._rd_next(*self._addrs, self._window)
            if n <= 0:
                if n == K.STUCK:
                    self._resolve_stuck()
                return None
            base = self.rst.item(K.R_START) & self._mask
            if n == 1:  # the common case of a reader that keeps up: no view to build
                self._i = self._n = 0
                return self.slots[base]
            view = self._view = self.slots[base : base + n]
        else:
            n = self._rd_copy(self.hdr, self.slots, self.rst, self._copy_buf)
            if n <= 0:
                if self.rst[K.R_STUCK_SEQ] >= 0:
                    self._resolve_stuck()
                return None
            view = self._view = self._copy_buf[:n]
        self._n = n
        self._i = 1
        return view[0]

    def intact(self) -> bool:
        """Whether the last zero-copy batch is still intact (always, for a gating reader)."""
        if self.gating and self.rst[K.R_START] >= self.rst[K.R_UNSAFE_BELOW]:
            return True
        return K.rd_intact(self.hdr, int(self.rst[K.R_START])) == 0

    def wait(self, timeout: float | None = None) -> bool:
        """Idle with this reader's wait strategy until a record is readable; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        strategy = self.wait_strategy
        while True:
            if self.pending():
                strategy.reset()
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            strategy.idle(0)

    def pending(self) -> int:
        """Whether records are readable now, without consuming any: how many on a broadcast ring;
        on a many-to-one ring 0 or 1 (counting would read a commit word per record; ``lag``
        says how far behind the reader is)."""
        if self._i < self._n:
            return self._n - self._i
        seq = int(self.rst[K.R_NEXT])
        if self.ring.KIND == H.KIND_BROADCAST:
            return max(0, int(A.load_acquire(self.hdr, H.W_CURSOR)) - seq)
        commits = self.ring.commits
        return int(commits[seq & self._mask] == seq or commits[seq & self._mask] == ~seq)

    def __iter__(self):
        """Records forever, waiting with the wait strategy in between."""
        while True:
            rec = self.read()
            if rec is None:
                self.wait()
                continue
            yield rec

    # --- blocking wait support ------------------------------------------------------------------

    def park(self) -> bool:
        """Arm this reader's wake-up bit; True if nothing is readable and it is safe to sleep."""
        if self.slot < 0 or self._i < self._n:
            return False
        return self._park(*self._addrs)

    def unpark(self) -> None:
        if self.slot >= 0:
            self._unpark(*self._addrs)

    @property
    def wait_strategy(self):
        """This reader's own wait strategy, built (the default one) on first use if none was
        given; a worker's readers never use it (the runner idles for them)."""
        if self._wait is None:
            self._wait = make_wait(None)
            self._wait.watch(self)
        return self._wait

    @property
    def owns_wait(self) -> bool:
        """Whether this reader has a wait strategy of its own (given, or built by ``wait()``)."""
        return self._wait is not None

    def set_wait_code(self, name: str) -> None:
        """Show ``name`` as this reader's wait in the reader table (``hftshm status``): the
        strategy that watches it says so, whoever built it."""
        if self.slot >= 0:
            self.hdr[RT.word(self.slot, RT.WAIT_CODE)] = RT.WAIT_CODES.get(name, -1)

    def set_wake(self, wake: str) -> None:
        if self.slot < 0:
            raise HftshmError("an anonymous reader cannot block: the reader table is full")
        self.ring.put_name_bytes(RT.slot_offset(self.slot) + RT.WAKE, wake, RT.WAKE_LENGTH)

    # --- many-to-one liveness -------------------------------------------------------------------

    def _resolve_stuck(self) -> None:
        """The next record was claimed and not committed. Skip it if no live producer owns it."""
        seq = int(self.rst[K.R_STUCK_SEQ])
        if seq < 0 or time.time_ns() - int(self.rst[K.R_STUCK_SINCE]) < STUCK_CHECK_NS:
            return
        hdr = self.hdr
        for p in range(H.PRODUCER_SLOTS):
            if A.load_acquire(hdr, PT.word(p, PT.STATE)) == PT.FREE:
                continue
            if not A.load_seq_cst(hdr, PT.word(p, PT.CLAIMING)):
                continue
            lo = int(A.load_relaxed(hdr, PT.word(p, PT.CLAIM_LO)))
            hi = int(A.load_relaxed(hdr, PT.word(p, PT.CLAIM_HI)))
            if lo != -1 and not lo <= seq < hi:
                continue
            if procinfo.alive(int(hdr[PT.word(p, PT.PID)]), int(hdr[PT.word(p, PT.PID_TICKS)])):
                return  # a live producer may own it: it will commit
        if K.m2o_skip(hdr, seq):
            log.warning("ring %s: skipped sequence %d: its producer died between claim and commit",
                        self.ring.name, seq)
        self.rst[K.R_STUCK_SEQ] = -1

    # --- state ----------------------------------------------------------------------------------

    @property
    def next_seq(self) -> int:
        """Sequence of the next record ``read``/``read_batch`` would return."""
        return int(self.rst[K.R_NEXT]) - (self._n - self._i)

    @property
    def lost(self) -> int:
        return int(self.rst[K.R_LOST])

    @property
    def lapped(self) -> int:
        return int(self.rst[K.R_LAPPED])

    @property
    def lag(self) -> int:
        return max(0, int(A.load_acquire(self.hdr, self._head_word)) - self.next_seq)

    @property
    def symbols(self) -> list[str]:
        return self.ring.symbols

    def handle(self):
        """``(hdr, slots, rst)`` for numba code: pass to ``kernels.rd_next`` and friends."""
        return self.hdr, self.slots, self.rst

    def close(self) -> None:
        """Detach: free the slot (a gating reader stops gating). The ring is untouched."""
        if self._closed:
            return
        self._closed = True
        if self._wait is not None:
            self._wait.close()
        if self.slot >= 0:
            hdr = self.hdr
            A.store_release(hdr, RT.word(self.slot, RT.FLAGS), 0)
            A.store_release(hdr, RT.word(self.slot, RT.CURSOR), int(self.rst[K.R_NEXT]))
            A.store_release(hdr, RT.word(self.slot, RT.STATE), RT.FREE)  # pid 0: nobody's
        self._view = self._copy_buf = None
        self.hdr = self.slots = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def check_records(records, dtype, what: str = "record") -> None:
    """Misuse check shared by producers: the right dtype, one-dimensional."""
    if not isinstance(records, np.ndarray) or records.dtype != dtype:
        got = getattr(records, "dtype", type(records).__name__)
        raise RecordTypeError(f"{what} must be a numpy array of the ring's dtype {dtype}, got {got}")
    if records.ndim != 1:
        raise RecordTypeError(f"{what} must be one-dimensional, got shape {records.shape}")
