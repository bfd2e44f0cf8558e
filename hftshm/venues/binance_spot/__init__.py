"""Binance Spot market data: URLs and stream names (``urls``), the sans-I/O normalizer (frames ->
``layouts.md`` records, ``normalize``) and the local order books (``book``: snapshot + diff sync).
``VENUE`` describes it for the registry in ``hftshm.venues``."""

from .book import LocalBook
from .counters import COUNTER_NAMES, FeedCounters
from .normalize import BinanceSpotNormalizer

__all__ = ["BinanceSpotNormalizer", "LocalBook", "FeedCounters", "COUNTER_NAMES"]
