"""Arrays over raw addresses, for the per-record entry points called from Python.

Each numpy array passed from Python into numba costs a meminfo allocation and two atomic reference
count updates (~40 ns); an int costs ~5 ns. The per-record hot paths therefore take the addresses
of the header and state arrays, which their Python owners keep alive, and rebuild the arrays here
(``numba.carray``: no meminfo, no reference counting).
"""

from __future__ import annotations

import numpy as np
from numba import carray, njit, types
from numba.extending import intrinsic

from . import header as H

HEADER_WORDS = H.HEADER_LENGTH // H.WORD


@intrinsic
def _pointer_to(typingctx, addr, like):
    """``addr`` as a pointer to the element type of the array ``like``."""
    if not isinstance(like, types.Array) or not isinstance(addr, types.Integer):
        return None
    ptr = types.CPointer(like.dtype)
    sig = ptr(addr, like)

    def codegen(context, builder, sig, args):
        return builder.inttoptr(args[0], context.get_value_type(ptr))

    return sig, codegen


_I64 = np.zeros(1, np.int64)
_U8 = np.zeros(1, np.uint8)


@njit(cache=True, inline="always")
def words_at(addr, n):
    """``n`` int64 words at ``addr`` (``n`` a shape tuple: a C-ordered array of that shape)."""
    return carray(_pointer_to(addr, _I64), n)


@njit(cache=True, inline="always")
def bytes_at(addr, shape):
    """A C-ordered uint8 array of ``shape`` at ``addr``."""
    return carray(_pointer_to(addr, _U8), shape)


@njit(cache=True, inline="always")
def header_at(addr):
    """The words before the records (header, and a many-to-one ring's commit words)."""
    words = carray(_pointer_to(addr, _I64), HEADER_WORDS)
    return carray(_pointer_to(addr, _I64), words[H.W_DATA_OFFSET] // H.WORD)


@njit(cache=True, inline="always")
def slots_at(addr, hdr, like):
    """The ring's records at ``addr``, typed like the record array ``like``."""
    return carray(_pointer_to(addr, like), hdr[H.W_CAPACITY])


def address(arr: np.ndarray) -> int:
    return arr.__array_interface__["data"][0]
