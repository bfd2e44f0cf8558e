"""Binance Spot: sans-I/O normalizer (frames -> ``layouts.md`` records) and local order books."""

from .book import LocalBook
from .counters import COUNTER_NAMES, FeedCounters
from .normalize import BinanceSpotNormalizer

__all__ = ["BinanceSpotNormalizer", "LocalBook", "FeedCounters", "COUNTER_NAMES"]
