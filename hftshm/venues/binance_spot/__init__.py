"""Binance Spot market data: URLs and stream names (``urls``), the sans-I/O normalizer (frames ->
``layouts.md`` records, ``normalize``) and the local order books (``book``: snapshot + diff sync); order entry over the WebSocket API
(``protocol``, ``signing``, ``venue_codes``). ``VENUE`` and ``ORDERS`` describe it for the
registry in ``hftshm.venues``."""

from .book import LocalBook
from .counters import COUNTER_NAMES, FeedCounters
from .normalize import BinanceSpotNormalizer

__all__ = ["BinanceSpotNormalizer", "LocalBook", "FeedCounters", "COUNTER_NAMES"]
