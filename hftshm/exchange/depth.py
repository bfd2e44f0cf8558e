"""Diff-depth windows: the book's change log folded into ``depthUpdate`` events.

web-socket-streams.md "Diff. Depth Stream": each event carries the absolute quantity of every
level that changed in the window (0 removes it), ``U`` the first and ``u`` the last update id in
it. One window object per stream speed (100 ms for ``@depth@100ms``, 1000 ms for ``@depth``;
USD-M's ``@depth@0ms`` has length 0: it closes at every step the market is advanced); windows
close on multiples of their length in event time, and a window with no change sends nothing.
Each event also knows the ``u`` of the window's previous event (USD-M's ``pu``), whether or not
that one was delivered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .order_book import ASK, BID, G_PX, G_QTY, G_SIDE, G_UID


@dataclass(frozen=True)
class DepthDiff:
    symbol: str  # stream symbol, "btcusdt"
    stream: str  # "depth" or "depth@100ms"
    event_ms: int
    first_id: int  # U
    last_id: int  # u
    bids: list  # [(px ticks, qty lots)], best first
    asks: list
    prev_id: int = 0  # pu: the previous event's u on this stream (USD-M; Spot sends none)


class DepthWindow:
    def __init__(self, symbol: str, stream: str, period_ms: int):
        self.symbol = symbol
        self.stream = stream
        self.period_ns = period_ms * 1_000_000
        self._parts: list[np.ndarray] = []
        self._prev_id = -1  # u of the last event closed (-1: none yet)

    @property
    def empty(self) -> bool:
        return not self._parts

    def next_close(self, t_ns: int) -> int:
        """The first window end strictly after ``t_ns``."""
        return (t_ns // self.period_ns + 1) * self.period_ns

    def add(self, chg: np.ndarray) -> None:
        if chg.shape[0]:
            self._parts.append(chg)

    def skip(self) -> None:
        """Drop what was added since the last close, as if its event was closed and not sent."""
        if self._parts:
            self._prev_id = int(self._parts[-1][-1, G_UID])
            self._parts = []

    def close(self, end_ns: int) -> DepthDiff | None:
        """Fold everything added since the last close into one event stamped ``end_ns``."""
        if not self._parts:
            return None
        chg = np.concatenate(self._parts) if len(self._parts) > 1 else self._parts[0]
        self._parts = []
        # The last change of each (side, price) wins: find it by de-duplicating the reversed log.
        key = chg[:, G_SIDE] * (1 << 48) + chg[:, G_PX]
        _, first_in_reversed = np.unique(key[::-1], return_index=True)
        last = chg[::-1][first_in_reversed]
        side, px, qty = last[:, G_SIDE], last[:, G_PX], last[:, G_QTY]
        bid, ask = side == BID, side == ASK
        bid_order = np.argsort(-px[bid], kind="stable")
        ask_order = np.argsort(px[ask], kind="stable")
        first_id, last_id = int(chg[0, G_UID]), int(chg[-1, G_UID])
        prev_id = first_id - 1 if self._prev_id < 0 else self._prev_id
        self._prev_id = last_id
        return DepthDiff(
            symbol=self.symbol,
            stream=self.stream,
            event_ms=end_ns // 1_000_000,
            first_id=first_id,
            last_id=last_id,
            bids=list(zip(px[bid][bid_order].tolist(), qty[bid][bid_order].tolist())),
            asks=list(zip(px[ask][ask_order].tolist(), qty[ask][ask_order].tolist())),
            prev_id=prev_id,
        )
