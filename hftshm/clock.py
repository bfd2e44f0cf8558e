"""Wall-clock nanoseconds, the one clock every hftshm timestamp uses.

CLOCK_REALTIME, so local stamps compare with the exchange's event times and across processes.
``now_ns`` works in numba code (a direct ``clock_gettime`` call through the vDSO, ~20 ns) and in
Python; Python code may equally call ``time.time_ns()``, which reads the same clock.
"""

from __future__ import annotations

import time

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

CLOCK_REALTIME = 0  # <time.h>, Linux


@intrinsic
def _clock_gettime_ns(typingctx):
    sig = types.int64()

    def codegen(context, builder, sig, args):
        i32, i64 = ir.IntType(32), ir.IntType(64)
        timespec = ir.LiteralStructType([i64, i64])
        fnty = ir.FunctionType(i32, [i32, timespec.as_pointer()])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "clock_gettime")
        ts = cgutils.alloca_once(builder, timespec)
        builder.call(fn, [ir.Constant(i32, CLOCK_REALTIME), ts])
        sec = builder.load(cgutils.gep_inbounds(builder, ts, 0, 0))
        nsec = builder.load(cgutils.gep_inbounds(builder, ts, 0, 1))
        return builder.add(builder.mul(sec, ir.Constant(i64, 1_000_000_000)), nsec)

    return sig, codegen


@njit(cache=True)
def now_ns():
    """Nanoseconds since the Unix epoch (CLOCK_REALTIME)."""
    return _clock_gettime_ns()


py_now_ns = time.time_ns
