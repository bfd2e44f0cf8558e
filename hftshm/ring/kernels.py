"""The ring algorithms, as numba kernels over ``(hdr, slots, state)`` arrays.

``hdr`` is the int64 view of a ring's header (``header.W_*`` index it), ``slots`` the structured
view of its records, and ``pst``/``rst`` small int64 arrays private to one many-to-one producer
or one reader (``P_*``/``R_*`` below). Python classes in ``broadcast.py``, ``many_to_one.py`` and ``reader.py``
call these kernels; numba code calls them directly - the numba API of a ring is this module.

Sequences are int64 and never wrap: record ``s`` lives in slot ``s & (capacity - 1)``.

Broadcast publish protocol (single producer)::

    claim   := s + n        relaxed store: "records below claim may be being written"
    fence(release)          the claim store is ordered before the record stores (smp_wmb)
    write records, stamp seq and publish_ns (and the producer's stamp byte, if it has one)
    cursor  := s + n        release store: the records are complete and visible
    fence(seq_cst); if parked: wake       StoreLoad against a reader arming its wake-up

A non-gating reader copies record ``s``, fences (acquire), and reloads ``claim``: the copy is
intact iff ``claim <= s + capacity`` (the producer had not begun rewriting that slot).

Many-to-one (``m2o_*``): producers claim ranges by compare-and-swap on ``claim``, write, then
commit each record by compare-and-swap of its commit word from the previous round's value to
``s``. A reader treats ``s`` as available when its commit word equals ``s``; a slot whose producer
died between claim and commit is marked ``~s`` ("skipped") by ``m2o_skip``, and a late commit into
a skipped slot fails and is reported to its producer, never silently lost.
"""

from __future__ import annotations

from numba import njit

from .. import atomics as A
from ..clock import now_ns
from . import header as H
from .pointers import bytes_at, header_at, slots_at, words_at
from . import producer_table as PT
from . import reader_table as RT

# --- many-to-one producer-private state (int64[8]) ---------------------------------------------
P_LIMIT = 1  # may claim below this without rescanning the gating readers
P_SLOT = 2  # this producer's slot in the producer table
P_LAST = 3  # many-to-one: first sequence of the last successful claim
P_COUNT = 4  # many-to-one: length of the last successful claim
P_WORDS = 8

# --- reader-private state (int64[16]) ----------------------------------------------------------
R_NEXT = 0  # next sequence to read
R_AVAIL = 1  # records below this are known complete (a cache of the producer cursor)
R_START = 2  # first sequence of the batch last returned
R_SLOT = 3  # reader slot, -1 for an anonymous reader
R_GATING = 4  # 1 while this reader holds the producer back
R_UNSAFE_BELOW = 5  # a reader that (re)joined gating validates sequences below this
R_LOST = 6  # records lost to lapping, in total
R_LAPPED = 7  # times lapped
R_STUCK_SEQ = 8  # many-to-one: sequence claimed but not committed (-1 when not stuck)
R_STUCK_SINCE = 9  # ns when we first saw it stuck
R_READ = 10  # records returned, in total
R_HEARTBEAT = 12  # ns of the last heartbeat written to the reader slot
R_WORDS = 16

# Result codes (the hot path returns codes; it does not raise).
FULL = -1
STUCK = -2
BAD_SHAPE = -3
HEARTBEAT_EVERY_NS = 10_000_000


@njit(cache=True, inline="always")
def _reader_word(slot, field):
    return (H.READER_TABLE_OFFSET + slot * H.READER_SLOT_LENGTH + field) // H.WORD


@njit(cache=True, inline="always")
def _producer_word(slot, field):
    return (H.PRODUCER_TABLE_OFFSET + slot * H.PRODUCER_SLOT_LENGTH + field) // H.WORD


@njit(cache=True, inline="always")
def _commit_word(seq, mask):
    return H.W_COMMITS + (seq & mask)


@njit(cache=True)
def gating_min(hdr, default):
    """Lowest cursor among active gating readers, or ``default`` when there is none."""
    low = default
    for slot in range(H.READER_SLOTS):
        if A.load_acquire(hdr, _reader_word(slot, RT.STATE)) & RT.STATE_MASK != RT.ACTIVE:
            continue
        if A.load_relaxed(hdr, _reader_word(slot, RT.FLAGS)) & RT.FLAG_GATING == 0:
            continue
        # acquire: the reader finished reading every record below its cursor before storing it,
        # so our rewrite of those slots cannot race its reads
        c = A.load_acquire(hdr, _reader_word(slot, RT.CURSOR))
        if c < low:
            low = c
    return low


@njit(cache=True, inline="always")
def _wake(hdr):
    """After a publish: StoreLoad fence, then take the parked bits to post (0 if none)."""
    A.fence_seq_cst()
    if A.load_relaxed(hdr, H.W_PARKED) == 0:
        return 0
    return A.exchange(hdr, H.W_PARKED, 0)


# --- broadcast producer -------------------------------------------------------------------------
# The single producer keeps its state in the header: its next sequence is the cursor it alone
# writes, and its cached limit sits on a cache line of its own (W_PRODUCER_LIMIT).


@njit(cache=True)
def bc_room(hdr, seq, want):
    """How many records from ``seq`` may be written now (0 = full), refreshing the cached limit.

    Rescans the gating readers at least every capacity/4 records, so that a reader that joins
    gating is seen before the producer can reach records it still needs (see Reader._join).
    """
    limit = hdr[H.W_PRODUCER_LIMIT]
    if seq + want <= limit:
        return want
    cap = hdr[H.W_CAPACITY]
    low = gating_min(hdr, seq)
    A.store_relaxed(hdr, H.W_GATING_MIN, low)
    if seq >= low + cap:  # the slowest gating reader still needs slot seq & mask
        if hdr[H.W_POLICY] == H.POLICY_WAIT:
            return 0
        A.fetch_add(hdr, H.W_OVERRUNS, 1)  # overwrite and count, one record at a time
        hdr[H.W_PRODUCER_LIMIT] = seq + 1
        return 1
    limit = min(low + cap, seq + cap // 4)
    hdr[H.W_PRODUCER_LIMIT] = limit
    return min(want, limit - seq)


@njit(cache=True, inline="always")
def _bc_next(hdr):
    return A.load_relaxed(hdr, H.W_CURSOR)  # we are its only writer


@njit(cache=True)
def bc_claim(hdr, n):
    """Reserve ``n`` records for zero-copy writing: returns the first sequence, or FULL.

    Write ``slots[(s + j) & mask]`` for j < n, then call ``bc_commit``.
    """
    seq = _bc_next(hdr)
    if bc_room(hdr, seq, n) < n:
        return FULL
    A.store_relaxed(hdr, H.W_CLAIM, seq + n)
    A.fence_release()  # the claim is visible before any record store below
    return seq


@njit(cache=True, inline="always")
def _stamp(stamp, slots, i):
    """Write the producer's stamp byte (``header.W_PRODUCER_STAMP``) into record ``i``."""
    off = (stamp >> 8) & 0xFFFF
    if stamp != 0 and off < slots.itemsize:  # (a damaged word never writes past the record)
        at = bytes_at(slots.ctypes.data + i * slots.itemsize + off, (1,))
        at[0] = stamp & 0xFF


@njit(cache=True)
def bc_commit(hdr, slots, seq, n):
    """Stamp and publish records [seq, seq + n) claimed by ``bc_claim``; returns bits to wake."""
    mask = hdr[H.W_CAPACITY] - 1
    t = now_ns()
    stamp = hdr[H.W_PRODUCER_STAMP]
    for j in range(n):
        i = (seq + j) & mask
        rec = slots[i]
        rec.seq = seq + j
        rec.publish_ns = t
        _stamp(stamp, slots, i)
    A.store_release(hdr, H.W_CURSOR, seq + n)
    A.store_relaxed(hdr, H.W_PRODUCER_HEARTBEAT, t)
    return _wake(hdr)


@njit(cache=True)
def bc_publish(hdr, slots, recs, first, count, out):
    """Copy ``recs[first:first+count]`` into the ring; as many as fit now.

    Returns how many were published; ``out[0]`` receives the parked bits to wake.
    """
    mask = hdr[H.W_CAPACITY] - 1
    done = 0
    out[0] = 0
    while done < count:
        seq = _bc_next(hdr)
        n = bc_room(hdr, seq, count - done)
        if n == 0:
            break
        A.store_relaxed(hdr, H.W_CLAIM, seq + n)
        A.fence_release()
        t = now_ns()
        stamp = hdr[H.W_PRODUCER_STAMP]
        for j in range(n):
            i = (seq + j) & mask
            slots[i] = recs[first + done + j]
            rec = slots[i]
            rec.seq = seq + j
            rec.publish_ns = t
            _stamp(stamp, slots, i)
        A.store_release(hdr, H.W_CURSOR, seq + n)
        A.store_relaxed(hdr, H.W_PRODUCER_HEARTBEAT, t)
        done += n
    if done:
        out[0] = _wake(hdr)
    return done


@njit(cache=True)
def bc_publish_at(hdr_addr, slots_addr, recs, first, count, out):
    """``bc_publish`` for Python callers, with the header and slots passed by address."""
    hdr = header_at(hdr_addr)
    return bc_publish(hdr, slots_at(slots_addr, hdr, recs), recs, first, count, out)


@njit(cache=True, inline="always")
def bc_publish_one(hdr, slots, rec):
    """Publish ``rec[0]``: the per-record fast path. Returns parked bits (>= 0), FULL, or
    BAD_SHAPE if ``rec`` does not hold exactly one record."""
    if rec.shape[0] != 1:
        return BAD_SHAPE
    seq = _bc_next(hdr)
    if seq >= hdr[H.W_PRODUCER_LIMIT] and bc_room(hdr, seq, 1) == 0:
        return FULL
    A.store_relaxed(hdr, H.W_CLAIM, seq + 1)
    A.fence_release()
    i = seq & (hdr[H.W_CAPACITY] - 1)
    slots[i] = rec[0]
    r = slots[i]
    r.seq = seq
    r.publish_ns = now_ns()
    _stamp(hdr[H.W_PRODUCER_STAMP], slots, i)
    A.store_release(hdr, H.W_CURSOR, seq + 1)
    return _wake(hdr)


@njit(cache=True)
def bc_publish_one_at(hdr_addr, slots_addr, rec):
    """``bc_publish_one`` for Python callers, with the header and slots passed by address."""
    hdr = header_at(hdr_addr)
    return bc_publish_one(hdr, slots_at(slots_addr, hdr, rec), rec)


# --- many-to-one producer -----------------------------------------------------------------------


@njit(cache=True)
def m2o_claim(hdr, pst, n):
    """Claim ``n`` consecutive sequences by compare-and-swap; returns the first, or FULL."""
    cap = hdr[H.W_CAPACITY]
    me = pst[P_SLOT]
    A.store_relaxed(hdr, _producer_word(me, PT.CLAIM_LO), -1)
    A.store_seq_cst(hdr, _producer_word(me, PT.CLAIMING), 1)  # announced before the claim exists
    while True:
        seq = A.load_acquire(hdr, H.W_CLAIM)
        if seq + n > pst[P_LIMIT]:
            low = gating_min(hdr, seq)
            if seq + n > low + cap:
                A.store_release(hdr, _producer_word(me, PT.CLAIMING), 0)
                return FULL
            pst[P_LIMIT] = min(low + cap, seq + cap // 4)
        if A.compare_and_swap(hdr, H.W_CLAIM, seq, seq + n) == seq:
            break
    A.store_relaxed(hdr, _producer_word(me, PT.CLAIM_LO), seq)
    A.store_relaxed(hdr, _producer_word(me, PT.CLAIM_HI), seq + n)
    pst[P_LAST] = seq
    pst[P_COUNT] = n
    return seq


@njit(cache=True)
def m2o_commit(hdr, slots, pst, seq, n):
    """Stamp and commit claimed records [seq, seq + n).

    Returns the parked bits to wake (>= 0), or ``-(k + 1)`` when ``k`` of them were found skipped
    (the producer was taken for dead); those records were not delivered and the caller says so.
    """
    cap = hdr[H.W_CAPACITY]
    mask = cap - 1
    me = pst[P_SLOT]
    t = now_ns()
    lost = 0
    for j in range(n):
        s = seq + j
        rec = slots[s & mask]
        rec.seq = s
        rec.publish_ns = t
    for j in range(n):
        s = seq + j
        w = _commit_word(s, mask)
        prev = A.load_acquire(hdr, w)
        # The previous round (s - capacity) is settled, committed or skipped, before anyone can
        # claim s. Anything else means a reader declared us dead and skipped s: the record is not
        # delivered, and the compare-and-swap makes sure of it even if the skip races us.
        if prev != s - cap and prev != ~(s - cap):
            lost += 1
        elif A.compare_and_swap(hdr, w, prev, s) != prev:
            lost += 1
    A.store_release(hdr, _producer_word(me, PT.CLAIMING), 0)
    A.store_relaxed(hdr, _producer_word(me, PT.HEARTBEAT_NS), t)
    A.fetch_add(hdr, _producer_word(me, PT.COMMITS), n - lost)
    if lost:
        A.fetch_add(hdr, H.W_ABANDONED, lost)
        A.fetch_add(hdr, _producer_word(me, PT.ABANDONED), lost)
        return -(lost + 1)
    return _wake(hdr)


@njit(cache=True)
def m2o_offer(hdr, slots, pst, recs, first, count):
    """Claim, copy and commit ``recs[first:first+count]`` in one go.

    Returns the parked bits (>= 0), FULL (nothing written), or ``-(k + 1)`` for k skipped.
    """
    seq = m2o_claim(hdr, pst, count)
    if seq < 0:
        return FULL
    mask = hdr[H.W_CAPACITY] - 1
    for j in range(count):
        slots[(seq + j) & mask] = recs[first + j]
    return m2o_commit(hdr, slots, pst, seq, count)


@njit(cache=True)
def m2o_skip(hdr, seq):
    """Mark ``seq`` skipped (its producer is dead). True if we did it, False if it got committed."""
    mask = hdr[H.W_CAPACITY] - 1
    w = _commit_word(seq, mask)
    prev = A.load_acquire(hdr, w)
    if prev == seq or prev == ~seq:
        return False
    if A.compare_and_swap(hdr, w, prev, ~seq) != prev:
        return False
    A.fetch_add(hdr, H.W_SKIPPED, 1)
    return True


@njit(cache=True)
def m2o_init_commits(hdr):
    """Round -1: every slot looks committed for the sequence one capacity before its first use."""
    cap = hdr[H.W_CAPACITY]
    for i in range(cap):
        A.store_relaxed(hdr, H.W_COMMITS + i, i - cap)


# --- readers ------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _available(hdr, rst, seq, want, kind):
    """Known-complete records from ``seq`` (at most ``want``); refreshes R_AVAIL."""
    avail = rst[R_AVAIL]
    if seq < avail:
        return min(avail - seq, want)
    if kind == H.KIND_BROADCAST:
        avail = A.load_acquire(hdr, H.W_CURSOR)
        rst[R_AVAIL] = avail
        return max(0, min(avail - seq, want))
    mask = hdr[H.W_CAPACITY] - 1
    n = 0
    while n < want and A.load_acquire(hdr, _commit_word(seq + n, mask)) == seq + n:
        n += 1
    rst[R_AVAIL] = seq + n
    return n


@njit(cache=True, inline="always")
def _heartbeat(hdr, rst, slot, t):
    if t - rst[R_HEARTBEAT] >= HEARTBEAT_EVERY_NS:
        rst[R_HEARTBEAT] = t
        A.store_relaxed(hdr, _reader_word(slot, RT.HEARTBEAT_NS), t)


@njit(cache=True)
def rd_release(hdr, rst):
    """Tell the producer we are done with everything below R_NEXT (gating readers)."""
    slot = rst[R_SLOT]
    if slot >= 0:
        A.store_release(hdr, _reader_word(slot, RT.CURSOR), rst[R_NEXT])


@njit(cache=True)
def _resync(hdr, rst, seq, cap):
    """We were lapped at ``seq``: count the loss exactly and jump to the oldest safe record."""
    claim = A.load_acquire(hdr, H.W_CLAIM)
    # leave an eighth of the ring as margin so we are not lapped again at once
    target = max(seq, claim - cap + cap // 8)
    lost = target - seq
    rst[R_LOST] += lost
    rst[R_LAPPED] += 1
    rst[R_NEXT] = target
    rst[R_AVAIL] = target
    A.fetch_add(hdr, H.W_LOST, lost)
    slot = rst[R_SLOT]
    if slot >= 0:
        A.fetch_add(hdr, _reader_word(slot, RT.LOST), lost)
        A.fetch_add(hdr, _reader_word(slot, RT.LAPPED), 1)
    return target


@njit(cache=True, inline="always")
def _skip_marked(hdr, rst, seq):
    """Many-to-one: step over a slot marked skipped; True if ``seq`` was one."""
    mask = hdr[H.W_CAPACITY] - 1
    if A.load_acquire(hdr, _commit_word(seq, mask)) == ~seq:
        rst[R_NEXT] = seq + 1
        rst[R_AVAIL] = seq + 1
        return True
    return False


@njit(cache=True, inline="always")
def _rejoin(hdr, rst, slot, cap):
    """The producer evicted us while we were silent: gate again (see Reader._join), and
    validate what it may have overwritten before it sees us."""
    A.store_seq_cst(hdr, _reader_word(slot, RT.FLAGS), RT.FLAG_GATING)
    head = H.W_CURSOR if hdr[H.W_VERSION_KIND] >> 32 == H.KIND_BROADCAST else H.W_CLAIM
    seen = A.load_seq_cst(hdr, head)
    rst[R_UNSAFE_BELOW] = max(rst[R_UNSAFE_BELOW], seen - cap + cap // 4 + 2)


@njit(cache=True, inline="always")
def rd_next(hdr, rst, max_n):
    """Advance to the next batch of complete records, as zero-copy positions.

    Releases the previous batch (a gating reader is done with it once it asks for more), then
    returns how many records from ``rst[R_START]`` are readable (0 if none; STUCK if a
    many-to-one producer claimed the next record and has not committed it). The batch stops at
    the end of the ring, so ``slots[start & mask : (start & mask) + n]`` is one contiguous view.

    A non-gating reader that was lapped counts the loss and resynchronises here. Its views are
    intact when returned; ``rd_intact`` says whether they still are after use.
    """
    cap = hdr[H.W_CAPACITY]
    mask = cap - 1
    kind = hdr[H.W_VERSION_KIND] >> 32
    slot = rst[R_SLOT]
    seq = rst[R_NEXT]
    if slot >= 0:
        if rst[R_GATING]:
            A.store_release(hdr, _reader_word(slot, RT.CURSOR), seq)
            if A.load_relaxed(hdr, _reader_word(slot, RT.FLAGS)) & RT.FLAG_EVICTED:
                _rejoin(hdr, rst, slot, cap)
        else:
            A.store_relaxed(hdr, _reader_word(slot, RT.CURSOR), seq)
        _heartbeat(hdr, rst, slot, now_ns())
    for _ in range(cap + 1):
        if not rst[R_GATING] or seq < rst[R_UNSAFE_BELOW]:
            if A.load_acquire(hdr, H.W_CLAIM) > seq + cap:  # slot of seq being rewritten: lapped
                seq = _resync(hdr, rst, seq, cap)
                continue
        want = min(max_n, cap - (seq & mask))
        n = _available(hdr, rst, seq, want, kind)
        if n == 0:
            if kind == H.KIND_MANY_TO_ONE:
                if _skip_marked(hdr, rst, seq):
                    seq += 1
                    continue
                if A.load_acquire(hdr, H.W_CLAIM) > seq:
                    if rst[R_STUCK_SEQ] != seq:
                        rst[R_STUCK_SEQ] = seq
                        rst[R_STUCK_SINCE] = now_ns()
                    return STUCK
            return 0
        rst[R_START] = seq
        rst[R_NEXT] = seq + n
        rst[R_READ] += n
        rst[R_STUCK_SEQ] = -1
        return n
    return 0


@njit(cache=True)
def rd_next_at(hdr_addr, rst_addr, max_n):
    """``rd_next`` for Python callers, with the header and reader state passed by address."""
    return rd_next(header_at(hdr_addr), words_at(rst_addr, R_WORDS), max_n)


@njit(cache=True, inline="always")
def rd_intact(hdr, first_seq):
    """After copying or using records from ``first_seq`` on: how many of them may be torn.

    Orders the caller's reads of the records before the reload of the claim word (acquire
    fence), then counts the records whose slots the producer had begun rewriting.
    """
    A.fence_acquire()
    claim = A.load_acquire(hdr, H.W_CLAIM)
    return max(0, claim - hdr[H.W_CAPACITY] - first_seq)


@njit(cache=True)
def rd_copy(hdr, slots, rst, out):
    """Copy up to ``len(out)`` records into ``out``, validated; returns how many are intact.

    For non-gating readers: records torn by a lapping producer are dropped, counted as lost, and
    the reader resynchronises. Handles the wrap (``out`` may span the end of the ring).
    """
    mask = hdr[H.W_CAPACITY] - 1
    got = 0
    while got < out.shape[0]:
        n = rd_next(hdr, rst, out.shape[0] - got)
        if n <= 0:
            break
        start = rst[R_START]
        base = start & mask
        out[got : got + n] = slots[base : base + n]
        bad = rd_intact(hdr, start)
        if bad:
            bad = min(bad, n)
            # those copies may mix two records: discard them and every copy after them
            rst[R_NEXT] = start
            rst[R_AVAIL] = start
            _resync(hdr, rst, start, mask + 1)
            continue
        got += n
    return got


@njit(cache=True, inline="always")
def rd_park(hdr, rst):
    """Arm the wake-up for a blocking wait. True: nothing to read, sleep on the semaphore.

    The seq_cst fetch-or that sets our parked bit is ordered before the availability re-check
    (it is a full barrier); the producer's seq_cst fence sits between its cursor store and its
    load of the parked bits. So either we see its records or it sees our bit: no lost wake-up.
    """
    slot = rst[R_SLOT]
    bit = 1 << slot
    A.fetch_or(hdr, H.W_PARKED, bit)
    seq = rst[R_NEXT]
    kind = hdr[H.W_VERSION_KIND] >> 32
    rst[R_AVAIL] = min(rst[R_AVAIL], seq)
    if _available(hdr, rst, seq, 1, kind) > 0:
        A.fetch_and(hdr, H.W_PARKED, ~bit)
        return False
    if kind == H.KIND_MANY_TO_ONE and A.load_acquire(hdr, H.W_CLAIM) > seq:
        A.fetch_and(hdr, H.W_PARKED, ~bit)  # claimed, not yet committed: poll instead
        return False
    return True


@njit(cache=True, inline="always")
def rd_unpark(hdr, rst):
    A.fetch_and(hdr, H.W_PARKED, ~(1 << rst[R_SLOT]))


@njit(cache=True)
def rd_park_at(hdr_addr, rst_addr):
    return rd_park(header_at(hdr_addr), words_at(rst_addr, R_WORDS))


@njit(cache=True)
def rd_unpark_at(hdr_addr, rst_addr):
    rd_unpark(header_at(hdr_addr), words_at(rst_addr, R_WORDS))


@njit(cache=True)
def rd_spin(hdr, rst, max_n, spins):
    """``rd_next``, polling up to ``spins`` times inside numba before giving up (0).

    The numba API's busy wait: no return to Python between polls, so a record is noticed a few
    nanoseconds after it is published.
    """
    for _ in range(spins + 1):
        n = rd_next(hdr, rst, max_n)
        if n != 0:
            return n
    return 0


@njit(cache=True)
def rd_lag(hdr, rst):
    """Records published (or claimed) that this reader has not read yet."""
    return A.load_acquire(hdr, H.W_CLAIM) - rst[R_NEXT]
