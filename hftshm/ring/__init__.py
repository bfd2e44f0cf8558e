"""Shared-memory rings: ``BroadcastRing`` (one producer, many readers) and ``ManyToOneRing``
(many producers, one consumer), both read through ``Reader``. The numba API is ``kernels``."""

from .broadcast import BroadcastRing, Publisher
from .many_to_one import AbandonedError, ManyToOneRing, Producer
from .reader import Reader
from .segment import unlink_ring

__all__ = ["BroadcastRing", "Publisher", "ManyToOneRing", "Producer", "AbandonedError", "Reader", "unlink_ring"]
