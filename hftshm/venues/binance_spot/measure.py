"""``python -m hftshm.venues.binance_spot.measure CAPTURE``: ``hftshm.feed.measure`` with Binance
Spot's normalizer handed in (the feed package names no venue)."""

from __future__ import annotations

from hftshm.feed.measure import main

from .normalize import BinanceSpotNormalizer

if __name__ == "__main__":
    main(BinanceSpotNormalizer)
