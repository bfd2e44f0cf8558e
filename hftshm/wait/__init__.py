"""Wait strategies: what a reader or agent does when a poll found nothing (``idle(0)``).

=============  ============================================  ======================================
strategy       latency to notice a record                    CPU while idle
=============  ============================================  ======================================
busy-spin      lowest: one poll (~0.2 us from Python)        100% of a core, always
yielding       low; ``sched_yield`` gives the core away      100% of a core when the core is free,
               only if another process wants it             shares it fairly when it is not
backoff        spins, then yields, then sleeps with          little on a quiet stream; but a nap
               growing naps (1 us -> 50 us by default)       is a syscall (~20 us of kernel CPU on
                                                             the dev VM), so at 10k msgs/s it can
                                                             use most of a core
blocking       a futex wake-up (semaphore) per publish       ~0 while idle (8% of a core at 10k
               into a parked reader                          msgs/s on the dev VM); the producer
                                                             pays a ``sem_post`` per wake-up
periodic       up to one period (a batch per tick)           one wake-up per period at any rate;
                                                             the producer pays nothing
=============  ============================================  ======================================

On a 2-core machine running ~6 hftshm processes, busy-spin and yielding starve everyone else.
Which strategy a worker gets when its config says ``auto`` (the default) is the role's choice,
``hftshm.runtime.roles.DEFAULT_WAIT``. Use busy-spin only for a process pinned to a core of its own.
"""

from __future__ import annotations

from .backoff import Backoff
from .base import WaitStrategy
from .blocking import Blocking
from .busy_spin import BusySpin
from .periodic import Periodic
from .yielding import Yielding

STRATEGIES = {"busy-spin": BusySpin, "yielding": Yielding, "backoff": Backoff, "blocking": Blocking,
              "periodic": Periodic}
DEFAULT = "backoff"


def make(name: str | WaitStrategy | None = None, **options) -> WaitStrategy:
    """A fresh strategy by name ('busy-spin', 'yielding', 'backoff', 'blocking', 'periodic')."""
    if isinstance(name, WaitStrategy):
        return name
    name = name or DEFAULT
    try:
        cls = STRATEGIES[name]
    except KeyError:
        raise ValueError(f"unknown wait strategy {name!r}; choose one of {', '.join(STRATEGIES)}") from None
    return cls(**options)


__all__ = ["WaitStrategy", "BusySpin", "Yielding", "Backoff", "Blocking", "Periodic", "make", "STRATEGIES", "DEFAULT"]
