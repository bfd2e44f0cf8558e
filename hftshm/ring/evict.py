"""Ungating readers that hold a producer back and will never move: the documented stall bound.

A producer that has waited ``STALL_CHECK_NS`` on a full ring checks the gating readers it waits
for. One whose process is gone is orphaned at once (it keeps its name and cursor, so a restart
resumes); one alive but silent for longer than the ring's ``stale_after`` is evicted (it notices on
its next read and validates like an ad-hoc reader until safe). So a crashed gating reader stalls
the producer for at most STALL_CHECK_NS plus one scan, and a hung one for ``stale_after``.
"""

from __future__ import annotations

import logging
import time

from .. import atomics as A
from .. import procinfo
from . import header as H
from . import reader_table as RT

log = logging.getLogger("hftshm.ring")

STALL_CHECK_NS = 10_000_000


def ungate_blockers(ring, seq: int) -> int:
    """Ungate dead or stale gating readers whose cursor stops the write of ``seq``; how many."""
    hdr = ring.hdr
    cap = ring.capacity
    stale_ns = int(hdr[H.W_STALE_AFTER_NS])
    now = time.time_ns()
    done = 0
    for slot in range(H.READER_SLOTS):
        w_state = RT.word(slot, RT.STATE)
        word = int(A.load_acquire(hdr, w_state))
        if word & RT.STATE_MASK != RT.ACTIVE:
            continue
        if not A.load_relaxed(hdr, RT.word(slot, RT.FLAGS)) & RT.FLAG_GATING:
            continue
        if A.load_acquire(hdr, RT.word(slot, RT.CURSOR)) > seq - cap:
            continue  # not the one in the way
        name = ring.reader_name(slot)
        pid = int(hdr[RT.word(slot, RT.PID)])
        if not procinfo.alive(pid, int(hdr[RT.word(slot, RT.PID_TICKS)])):
            orphan = RT.state_word(RT.ORPHANED, pid)
            if A.compare_and_swap(hdr, w_state, word, orphan) == word:
                A.store_release(hdr, RT.word(slot, RT.FLAGS), 0)
                log.warning("ring %s: gating reader %r (pid %d) died; orphaned, it no longer gates", ring.name, name, pid)
                done += 1
        elif stale_ns > 0 and now - int(A.load_relaxed(hdr, RT.word(slot, RT.HEARTBEAT_NS))) > stale_ns:
            A.store_seq_cst(hdr, RT.word(slot, RT.FLAGS), RT.FLAG_EVICTED)
            A.fetch_add(hdr, RT.word(slot, RT.EVICTED), 1)
            log.warning("ring %s: gating reader %r (pid %d) silent for over %.1f s; evicted", ring.name, name, pid, stale_ns / 1e9)
            done += 1
    if done:
        A.fetch_add(hdr, H.W_EVICTIONS, done)
    return done
