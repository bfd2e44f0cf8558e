"""Binance USD-M futures market data: routed stream URLs (``urls``), the sans-I/O normalizer
(``normalize``: trade, aggTrade, bookTicker, diff depth, markPrice, forceOrder) and the futures
book-sync rules (``book``: ``pu`` continuity), and order entry (``protocol``: the futures WebSocket
API and listenKey user-data stream; ``venue_codes``: its error codes). ``VENUE`` and ``ORDERS``
describe it for ``hftshm.venues``."""

from .book import FuturesBook
from .normalize import BinanceUsdmNormalizer

__all__ = ["BinanceUsdmNormalizer", "FuturesBook"]
