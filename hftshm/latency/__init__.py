"""Per-stage latency histograms in shared memory: lock-free recording from any process, whole-run
and sliding-window percentiles for any reader. ``LatencyBook`` is the API; numba code records with
``kernels.record(book.words, stage, ns)``; the layout is in ``layout``, the buckets in ``buckets``."""

from .histograms import LatencyBook, unlink_book
from .errors import StageTableFull, UnknownStage
from .recorder import Recorder

__all__ = ["LatencyBook", "Recorder", "StageTableFull", "UnknownStage", "unlink_book"]
