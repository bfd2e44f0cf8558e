"""Errors of the latency book (misuse and bad input; ``record`` itself never raises).

Bad names and creation parameters raise ``hftshm.errors.RingConfigError`` (a ValueError), a
missing or foreign segment ``RingNotFound``/``SegmentCorrupt``, as for rings.
"""

from __future__ import annotations

from ..errors import HftshmError


class UnknownStage(HftshmError, LookupError):
    """No stage of that name (or index) in the latency book."""


class StageTableFull(HftshmError):
    """Every stage slot is taken; the book was created with too small a ``max_stages``."""
