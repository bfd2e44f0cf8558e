"""What a user strategy is: a class with hooks, and the engine that feeds it and turns its
intents into order records. No rings here: the strategy worker passes records in and gives the
engine a ``sink`` (the orders ring); a test passes a record array and a list.

Hooks (each optional), called with numpy records of ``layouts.md`` / ``layouts.exec_report``:

=================  ==================================================================
``on_trade(r)``    TRADE / AGG_TRADE of one of the strategy's symbols
``on_quote(r)``    QUOTE (best bid ``price_e8``/``qty_e8``, ask ``price2_e8``/``qty2_e8``)
``on_book(r)``     LEVEL / BOOK_RESET
``on_fill(r)``     an execution report of one of this strategy's orders (after the
                   engine has applied it to ``position``)
``on_timer(ns)``   every ``timer_s`` seconds (0: never), with the wall clock
=================  ==================================================================

A strategy may instead (or as well) set ``kernel``: a numba function
``kernel(records, state, out) -> n`` that reads a batch of md records, keeps what it needs in
``state`` (an array the strategy makes in ``make_state``) and writes up to ``out.shape[0]``
intents into ``out`` (``layouts.order`` records: symbol_id, side, type, tif, price_e8, qty_e8,
trigger_seq, trigger_recv_ns), returning how many. The engine fills in ids and times. With a
kernel the per-record md hooks are not called: a batch never returns to Python per record.

Positions come from fills only (the ``fills`` ring), never from intents: ``position[s]`` is the
signed quantity (e8) this strategy's fills add up to; ``open_e8[s]`` what its live orders could
still add (signed), so ``position + open_e8`` is the worst case after they fill.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np

from ..layouts import exec_report as F
from ..layouts import md as M
from ..layouts import order as O

KERNEL_CHUNK = 256  # records per kernel call: ``out`` can never overflow
SEEN_MAX = 1 << 16  # trade keys remembered for deduplication (far more than one fills ring holds)


class Strategy:
    """Base class of user strategies; see the module doc for the hooks."""

    timer_s = 0.0
    kernel = None

    def __init__(self, params: dict, symbols: list[str], instruments: dict | None = None):
        """``params``: the strategy's config table; ``symbols``: the venue's symbol table (upper
        case, index = symbol id; a multi-venue strategy's: its qualified ``venue:symbol`` names).
        ``self.trading`` is the ids of the symbols it trades (names compared in any case).
        ``instruments``: the venue's rules by symbol (``hftshm.venues.instruments.InstrumentRules``:
        tick, step, min notional...), as the venue's exchangeInfo gave them at start."""
        self.params = params
        self.symbols = symbols
        self.instruments = instruments
        wanted = {s.upper() for s in params.get("symbols") or symbols}
        self.trading = [i for i, s in enumerate(symbols) if s.upper() in wanted]
        self.position = np.zeros(len(symbols), np.int64)
        self.open_e8 = np.zeros(len(symbols), np.int64)
        self._engine = None

    # --- hooks -----------------------------------------------------------------------------
    def on_start(self) -> None: ...
    def on_trade(self, r) -> None: ...
    def on_quote(self, r) -> None: ...
    def on_book(self, r) -> None: ...
    def on_fill(self, r) -> None: ...
    def on_timer(self, now_ns: int) -> None: ...

    def make_state(self) -> np.ndarray | None:
        """The ``state`` array handed to ``kernel`` (None without a kernel)."""
        return None

    # --- actions ---------------------------------------------------------------------------
    def buy(self, symbol_id: int, qty_e8: int, price_e8: int = 0, type: int = O.LIMIT, tif: int = O.IOC,
            reduce_only: bool = False) -> int:
        """Send a buy intent; returns its order id (0 if the orders ring was full)."""
        return self._engine.new(symbol_id, O.BUY, qty_e8, price_e8, type, tif, O.F_REDUCE_ONLY if reduce_only else 0)

    def sell(self, symbol_id: int, qty_e8: int, price_e8: int = 0, type: int = O.LIMIT, tif: int = O.IOC,
             reduce_only: bool = False) -> int:
        """``reduce_only``: futures venues refuse it unless it reduces the position (Spot ignores it)."""
        return self._engine.new(symbol_id, O.SELL, qty_e8, price_e8, type, tif, O.F_REDUCE_ONLY if reduce_only else 0)

    def cancel(self, order_id: int) -> int:
        """Ask to cancel one of this strategy's live orders."""
        return self._engine.cancel(order_id)


def compile_kernel(kernel, md_dtype, state, out) -> bool:
    """Compile (or load from numba's cache) a numba ``kernel`` for the exact argument types
    ``on_md_batch`` passes (a contiguous batch of ``md_dtype`` records, ``state``, ``out``), without
    calling it: done in the worker's start, before it reports RUNNING, a first run's compile never
    stalls the first tick. A kernel that is not a numba dispatcher has nothing to compile (False)."""
    if kernel is None or not hasattr(kernel, "compile"):
        return False
    from numba import typeof

    kernel.compile(tuple(typeof(a) for a in (np.zeros(1, md_dtype), state, out)))
    return True


class StrategyEngine:
    """Feeds one strategy and emits its intents as order records into ``sink(record) -> bool``.

    ``counter`` is a 1-element int64 array holding the last order counter used; the worker passes
    a word of its shared counters so that a restarted strategy never reuses an order id."""

    def __init__(self, strategy: Strategy, strategy_id: int, sink, counter: np.ndarray | None = None,
                 clock=time.time_ns, positions: dict | None = None, seen: set | None = None,
                 md_dtype: np.dtype = M.DTYPE):
        """``positions`` (symbol id -> e8) and ``seen`` ((symbol id, trade id, order id) of fills
        already in them): what a restart got back from the persisted state (hftshm.state)."""
        self.s = strategy
        strategy._engine = self
        self.strategy_id = strategy_id
        self.sink = sink
        self.counter = counter if counter is not None else np.zeros(1, np.int64)
        self.clock = clock
        self.rec = np.zeros(1, O.DTYPE)
        self.mine = np.zeros(len(strategy.symbols) + 1, np.bool_)
        self.mine[strategy.trading] = True
        self.live: dict[int, list] = {}  # order_id -> [symbol_id, signed qty still open]
        self.trigger = (0, 0)  # (seq, recv_ns) of the md record being handled
        self.kernel = strategy.kernel
        self.state = strategy.make_state() if self.kernel is not None else None
        self.out = np.zeros(KERNEL_CHUNK, O.DTYPE)
        compile_kernel(self.kernel, md_dtype, self.state, self.out)
        self.intents = 0
        self.dropped = 0  # intents the full orders ring refused
        for sym, qty in (positions or {}).items():
            if 0 <= sym < strategy.position.shape[0]:
                strategy.position[sym] = qty
        # fills already counted, by venue trade id: a report published twice (a restarted
        # execution resolving an order again) moves the position once
        self.seen: set = set(seen or ())
        self.seen_order: deque = deque(self.seen)
        self.duplicates = 0
        strategy.on_start()

    # --- market data -----------------------------------------------------------------------
    def on_md_batch(self, records: np.ndarray) -> int:
        """Handle a batch of md records; returns the number of intents emitted."""
        before = self.intents
        if self.kernel is not None:
            for lo in range(0, records.shape[0], KERNEL_CHUNK):
                n = self.kernel(records[lo: lo + KERNEL_CHUNK], self.state, self.out)
                for j in range(n):
                    self._emit(self.out[j: j + 1])
                self.out[:n] = 0  # the kernel writes only the fields it needs
            return self.intents - before
        for i in range(records.shape[0]):
            self.on_md(records[i])
        return self.intents - before

    def on_md(self, r) -> None:
        s = r["symbol_id"]
        if s >= self.mine.shape[0] or not self.mine[s]:
            return
        self.trigger = (int(r["seq"]), int(r["recv_ns"]))
        kind = r["kind"]
        if kind == M.QUOTE:
            self.s.on_quote(r)
        elif kind == M.TRADE or kind == M.AGG_TRADE:
            self.s.on_trade(r)
        else:
            self.s.on_book(r)

    # --- fills -------------------------------------------------------------------------------
    def on_fill(self, r) -> None:
        """An execution report from the fills ring: this strategy's only."""
        if int(r["strategy_id"]) != self.strategy_id:
            return
        oid = int(r["order_id"])
        s = int(r["symbol_id"])
        entry = self.live.get(oid)
        if r["exec_type"] == F.EX_TRADE and int(r["trade_id"]):
            key = (s, int(r["trade_id"]), oid)
            if key in self.seen:
                self.duplicates += 1
                return
            self.seen.add(key)
            self.seen_order.append(key)
            if len(self.seen_order) > SEEN_MAX:
                self.seen.discard(self.seen_order.popleft())
        if r["exec_type"] == F.EX_TRADE and s < self.s.position.shape[0]:
            signed = int(r["last_qty_e8"]) if r["side"] == O.BUY else -int(r["last_qty_e8"])
            self.s.position[s] += signed
            if entry is not None:
                entry[1] -= signed
                self.s.open_e8[s] -= signed
        if entry is not None and r["state"] in F.TERMINAL_STATES:
            self.s.open_e8[s] -= entry[1]
            del self.live[oid]
        self.s.on_fill(r)

    # --- intents -----------------------------------------------------------------------------
    def new(self, symbol_id, side, qty_e8, price_e8, type_, tif, flags=0) -> int:
        rec = self.rec
        rec[0] = 0
        o = rec[0]
        o["symbol_id"] = symbol_id
        o["side"] = side
        o["type"] = type_
        o["tif"] = tif
        o["flags"] = flags
        o["qty_e8"] = qty_e8
        o["price_e8"] = price_e8
        o["trigger_seq"], o["trigger_recv_ns"] = self.trigger
        return self._emit(rec)

    def cancel(self, order_id: int) -> int:
        rec = self.rec
        rec[0] = 0
        o = rec[0]
        entry = self.live.get(order_id)
        o["symbol_id"] = entry[0] if entry else 0
        o["cancel_id"] = order_id
        o["trigger_seq"], o["trigger_recv_ns"] = self.trigger
        o["action"] = O.CANCEL
        return self._emit(rec)

    def _emit(self, rec: np.ndarray) -> int:
        """Stamp ids and time on a 1-record array and hand it to the sink."""
        o = rec[0]
        c = int(self.counter[0]) + 1
        self.counter[0] = c  # reserved before it leaves: a restart never reuses it
        oid = O.make_order_id(self.strategy_id, c)
        o["order_id"] = oid
        o["strategy_id"] = self.strategy_id
        if o["action"] == 0:
            o["action"] = O.NEW
        o["intent_ns"] = self.clock()
        if not self.sink(rec):
            self.dropped += 1
            return 0
        self.intents += 1
        if o["action"] == O.NEW:
            s = int(o["symbol_id"])
            signed = int(o["qty_e8"]) if o["side"] == O.BUY else -int(o["qty_e8"])
            self.live[oid] = [s, signed]
            self.s.open_e8[s] += signed
        return oid

    def on_timer(self, now_ns: int) -> None:
        self.trigger = (0, 0)
        self.s.on_timer(now_ns)
