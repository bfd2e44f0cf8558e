"""Local order book for one Binance USD-M symbol: the Spot state machine (``binance_spot.book``)
with the futures sync rules.

Binance derivatives docs, USDⓈ-M Futures, "How to manage a local order book correctly":

3. drop any buffered event with ``u < lastUpdateId`` (Spot: ``<=``);
4. the first processed event must have ``U <= lastUpdateId <= u`` (Spot: ``lastUpdateId + 1``);
5. afterwards each event's ``pu`` must equal the previous event's ``u``, else the book is
   reinitialized from a new snapshot (Spot: ``U == previous u + 1``).

The snapshot is the futures depth endpoint's (``GET /fapi/v1/depth``, or the WebSocket API
``depth`` method at ``/ws-fapi/v1``: ``{"lastUpdateId","E","T","bids","asks"}``). Everything else,
and every record written, is the Spot book's: gaps (``depth_gaps``) and crossed books
(``crossed_books``) are counted, published as BOOK_RESET and resynced; a crossed book is never
published.
"""

from __future__ import annotations

from ..binance_spot.book import DepthEvent, LocalBook


class FuturesBook(LocalBook):
    def _follows(self, ev: DepthEvent) -> bool:
        return ev.prev_id == self.last_update_id

    @staticmethod
    def _stale(ev: DepthEvent, last_id: int) -> bool:
        return ev.final_id < last_id

    @staticmethod
    def _misses(ev: DepthEvent, last_id: int) -> bool:
        return ev.first_id > last_id
