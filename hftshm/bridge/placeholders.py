"""Stand-ins for source sequences a receiver could not get (see ``inbound``), per layout."""

from __future__ import annotations

import numpy as np

from ..layouts import exec_report, md


def md_gap(first_src: int, n: int) -> np.ndarray:
    """``n`` md GAP records: ``venue_id`` the first lost source sequence of the run, ``venue_id2`` n."""
    recs = np.zeros(n, md.DTYPE)
    recs["kind"] = md.GAP
    recs["venue_id"] = first_src
    recs["venue_id2"] = n
    return recs


NO_STRATEGY = 0xFFFF  # no strategy has this id (0..63): every strategy ignores the stand-in


def fill_gap(first_src: int, n: int) -> np.ndarray:
    """``n`` fill stand-ins: zero records of no strategy (``exec_type`` 0 is no report). A lost
    fill leaves a remote strategy's position unknown: it is counted (``fills_gaps_lost``)."""
    recs = np.zeros(n, exec_report.DTYPE)
    recs["strategy_id"] = NO_STRATEGY
    return recs
