"""Calling a numba kernel from Python without the dispatcher's per-call type resolution.

A numba dispatcher call spends ~150 ns working out the argument types before it reaches the
compiled code; the compiled overload's own entry point takes ~90 ns. The per-record hot paths use
the entry point, compiled for the exact array types they will pass. The entry point does not check
types, so callers pass only arrays whose type they control (or have checked).
"""

from __future__ import annotations

from numba import typeof


def entry_point(dispatcher, *example_args):
    """The compiled entry point of ``dispatcher`` for the types of ``example_args``."""
    sig = tuple(typeof(a) for a in example_args)
    dispatcher.compile(sig)
    return dispatcher.overloads[sig].entry_point
