"""Stand-ins for source sequences a receiver could not get (see ``inbound``), per layout."""

from __future__ import annotations

import numpy as np

from ..layouts import md


def md_gap(first_src: int, n: int) -> np.ndarray:
    """``n`` md GAP records: ``venue_id`` the first lost source sequence of the run, ``venue_id2`` n."""
    recs = np.zeros(n, md.DTYPE)
    recs["kind"] = md.GAP
    recs["venue_id"] = first_src
    recs["venue_id2"] = n
    return recs
