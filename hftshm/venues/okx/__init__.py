"""OKX v5 public market data (``bbo-tbt``, ``books``, ``trades``): URLs and channels (``urls``),
the sans-I/O normalizer (``normalize``; books come in band, ``hftshm.venues.inband``) and the
descriptor (``venue``, kind ``okx``). Market data only: OKX order entry is not built."""
