"""Bybit v5 public market data (spot and linear perpetuals): topics and URLs (``urls``), the
sans-I/O normalizer (``normalize``; books come in band, ``hftshm.venues.inband``) and the two
descriptors (``venue``: ``bybit_spot``, ``bybit_linear``); linear orders: ``protocol``, ``signing``,
``retcodes``, ``exchange_info`` (instrument rules), driven by the execution worker under ``hftshm start``."""
