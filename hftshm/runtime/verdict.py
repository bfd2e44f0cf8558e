"""How a run ended, as an exit code and the reasons for it (``hftshm start``, ``hftshm replay``).

=====  ===============================================================================
code   meaning
=====  ===============================================================================
0      a clean run: every worker ran to the stop, and trading ended in the state it
       started in (or another one it was not halted into)
1      the instance could not start (the message names the part and its log)
3      it ran, but a worker was given up (not restarted), or trading ended HALTED when
       it had not started HALTED; the summary's ``exit.why`` says which
=====  ===============================================================================

The trading state is taken when the stop begins, before any worker is stopped, so the orderly
stop itself never counts as a halt. A halt by hand (``hftshm halt``, reason MANUAL) counts too:
the run did end halted. Pure: the supervisor passes in what it saw.
"""

from __future__ import annotations

from ..risk import reasons as R

OK = 0
START_FAILED = 1
DEGRADED = 3


def verdict(gave_up: list[str], start_state: int, end_state: int, end_reason: int) -> tuple[int, list[str]]:
    """``(code, why)``: ``gave_up`` names the workers the supervisor stopped restarting;
    ``start_state`` is the trading word once the instance was armed, ``end_state`` and
    ``end_reason`` the word and its reason when the stop began (``reasons.TS_*`` and codes)."""
    why = [f"worker {name} was given up (not restarted); see its log" for name in gave_up]
    halted = end_state not in (R.TS_ACTIVE, R.TS_REDUCE_ONLY)  # unset or unknown reads halted
    was_halted = start_state not in (R.TS_ACTIVE, R.TS_REDUCE_ONLY)
    if halted and not was_halted:
        why.append(f"trading ended {R.state_name(end_state)} ({R.name(end_reason)}: {R.message(end_reason)})")
    return (DEGRADED if why else OK), why
