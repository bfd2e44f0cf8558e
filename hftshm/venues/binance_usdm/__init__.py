"""Binance USD-M futures market data: routed stream URLs (``urls``), the sans-I/O normalizer
(``normalize``: trade, aggTrade, bookTicker, diff depth, markPrice, forceOrder) and the futures
book-sync rules (``book``: ``pu`` continuity). ``VENUE`` describes it for ``hftshm.venues``.
Order entry, positions and funding are not here yet."""

from .book import FuturesBook
from .normalize import BinanceUsdmNormalizer

__all__ = ["BinanceUsdmNormalizer", "FuturesBook"]
