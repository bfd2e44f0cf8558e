"""Atomic operations on int64 words of shared memory, callable from Python and numba code.

Every ordering-sensitive load or store in hftshm goes through one of these functions. Each is an
LLVM atomic instruction emitted by a numba intrinsic (``load atomic ... acquire``, ``store
atomic ... release``, ``atomicrmw``, ``cmpxchg``, ``fence``), so the ordering is guaranteed by the
compiler and the CPU, not by the accident of x86 keeping plain stores in order.

The public functions are ``@njit`` wrappers: numba code calls them directly and numba inlines them
(``inline="always"``: a real call would also cost two atomic reference-count updates per array
argument); Python code calls them through numba's dispatcher (~150 ns). Hot paths do not call them one at a time from
Python; they run inside numba kernels (see ``hftshm.ring.kernels``).

Words are addressed as ``(array, index)`` where ``array`` is a C-contiguous int64 view of a
segment, so that numba knows the base pointer and the word is naturally aligned (8 bytes).
The Python wrappers check the index; the intrinsics do not.
"""

from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

_I64 = ir.IntType(64)


def _word_array(arr) -> bool:
    return isinstance(arr, types.Array) and arr.dtype == types.int64 and arr.ndim == 1


def _word_pointer(context, builder, arr_ty, arr_val, idx_val):
    arr = context.make_array(arr_ty)(context, builder, arr_val)
    return cgutils.get_item_pointer(context, builder, arr_ty, arr, [idx_val], wraparound=False)


@intrinsic
def _load(typingctx, arr, idx, ordering):
    if not _word_array(arr) or not isinstance(ordering, types.StringLiteral):
        return None
    order = ordering.literal_value
    sig = types.int64(arr, types.intp, ordering)

    def codegen(context, builder, sig, args):
        idx = context.cast(builder, args[1], sig.args[1], types.intp)
        ptr = _word_pointer(context, builder, sig.args[0], args[0], idx)
        return builder.load_atomic(ptr, order, 8)

    return sig, codegen


@intrinsic
def _store(typingctx, arr, idx, value, ordering):
    if not _word_array(arr) or not isinstance(ordering, types.StringLiteral):
        return None
    order = ordering.literal_value
    sig = types.void(arr, types.intp, types.int64, ordering)

    def codegen(context, builder, sig, args):
        ptr = _word_pointer(context, builder, sig.args[0], args[0], args[1])
        val = context.cast(builder, args[2], sig.args[2], types.int64)
        builder.store_atomic(val, ptr, order, 8)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _rmw(typingctx, arr, idx, value, op):
    if not _word_array(arr) or not isinstance(op, types.StringLiteral):
        return None
    opname = op.literal_value
    sig = types.int64(arr, types.intp, types.int64, op)

    def codegen(context, builder, sig, args):
        ptr = _word_pointer(context, builder, sig.args[0], args[0], args[1])
        val = context.cast(builder, args[2], sig.args[2], types.int64)
        return builder.atomic_rmw(opname, ptr, val, "seq_cst")

    return sig, codegen


@intrinsic
def _cas(typingctx, arr, idx, expected, desired):
    if not _word_array(arr):
        return None
    sig = types.int64(arr, types.intp, types.int64, types.int64)

    def codegen(context, builder, sig, args):
        ptr = _word_pointer(context, builder, sig.args[0], args[0], args[1])
        exp = context.cast(builder, args[2], sig.args[2], types.int64)
        new = context.cast(builder, args[3], sig.args[3], types.int64)
        pair = builder.cmpxchg(ptr, exp, new, "seq_cst", "seq_cst")
        return builder.extract_value(pair, 0)

    return sig, codegen


@intrinsic
def _fence(typingctx, ordering):
    if not isinstance(ordering, types.StringLiteral):
        return None
    order = ordering.literal_value
    sig = types.void(ordering)

    def codegen(context, builder, sig, args):
        builder.fence(order)
        return context.get_dummy_value()

    return sig, codegen


@njit(inline="always", cache=True)
def _check(arr, idx):
    if idx < 0 or idx >= arr.shape[0]:
        raise IndexError("atomic word index out of range")


@njit(cache=True, inline="always")
def load_acquire(arr, idx):
    """Read a word; later loads and stores cannot move before it (pairs with store_release)."""
    _check(arr, idx)
    return _load(arr, idx, "acquire")


@njit(cache=True, inline="always")
def load_relaxed(arr, idx):
    """Read a word atomically (no tearing) with no ordering: for counters shown to humans."""
    _check(arr, idx)
    return _load(arr, idx, "monotonic")


@njit(cache=True, inline="always")
def load_seq_cst(arr, idx):
    """Read a word in the single total order of seq_cst operations (Dekker-style handshakes)."""
    _check(arr, idx)
    return _load(arr, idx, "seq_cst")


@njit(cache=True, inline="always")
def store_release(arr, idx, value):
    """Write a word; earlier loads and stores cannot move after it (publishes what came before)."""
    _check(arr, idx)
    _store(arr, idx, value, "release")


@njit(cache=True, inline="always")
def store_relaxed(arr, idx, value):
    """Write a word atomically with no ordering."""
    _check(arr, idx)
    _store(arr, idx, value, "monotonic")


@njit(cache=True, inline="always")
def store_seq_cst(arr, idx, value):
    """Write a word in the single total order of seq_cst operations."""
    _check(arr, idx)
    _store(arr, idx, value, "seq_cst")


@njit(cache=True, inline="always")
def fetch_add(arr, idx, delta):
    """Atomically add ``delta`` and return the previous value (seq_cst)."""
    _check(arr, idx)
    return _rmw(arr, idx, delta, "add")


@njit(cache=True, inline="always")
def fetch_or(arr, idx, bits):
    """Atomically OR ``bits`` in and return the previous value (seq_cst)."""
    _check(arr, idx)
    return _rmw(arr, idx, bits, "or")


@njit(cache=True, inline="always")
def fetch_and(arr, idx, bits):
    """Atomically AND with ``bits`` and return the previous value (seq_cst)."""
    _check(arr, idx)
    return _rmw(arr, idx, bits, "and")


@njit(cache=True, inline="always")
def exchange(arr, idx, value):
    """Atomically replace the word and return the previous value (seq_cst)."""
    _check(arr, idx)
    return _rmw(arr, idx, value, "xchg")


@njit(cache=True, inline="always")
def compare_and_swap(arr, idx, expected, desired):
    """Store ``desired`` if the word equals ``expected``; return the value found (seq_cst).

    The swap happened exactly when the returned value equals ``expected``.
    """
    _check(arr, idx)
    return _cas(arr, idx, expected, desired)


@njit(cache=True, inline="always")
def fence_acquire():
    """Loads before the fence are ordered before loads and stores after it."""
    _fence("acquire")


@njit(cache=True, inline="always")
def fence_release():
    """Loads and stores before the fence are ordered before stores after it."""
    _fence("release")


@njit(cache=True, inline="always")
def fence_seq_cst():
    """Full fence (x86 ``mfence``): orders an earlier store before a later load (StoreLoad)."""
    _fence("seq_cst")
