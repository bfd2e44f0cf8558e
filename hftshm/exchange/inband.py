"""Bybit v5 and OKX v5 public streams, synthetic: the simulator's own book and trades, rendered
the way each venue sends them (hftshm/venues/bybit/normalize.py, okx/normalize.py quote the
shapes from the venues' docs).

Paths: ``/v5/public/spot`` and ``/v5/public/linear`` (Bybit), ``/ws/v5/public`` (OKX). A market
per symbol is a random walk of a book of ``levels`` levels a side, and trades against it. On
Bybit spot and OKX each connection gets its own, started when a topic of the symbol is first
subscribed, so a test can reason about one connection alone. Bybit linear's connections all show
the book the simulator's order matching uses (``bybit_trade.py``): what orders take from it, and
its own moves between messages, reach every connection in its next delta, so a strategy trades
against the book it sees. What is served, and the venue behaviours it includes:

* Bybit ``orderbook.50.<S>``: a snapshot, then deltas, ``u`` + 1 per message; every
  ``reset_every`` book messages a snapshot with ``u`` = 1 (a book-service restart).
  ``orderbook.1.<S>``: snapshots only; every ``resend_every``-th one is the previous one re-sent
  (same ``u``, same levels). ``publicTrade.<S>`` (spot ids numeric, linear ids UUID strings, both
  with ``seq``), ``tickers.<S>`` on linear (a snapshot, then deltas of the changed fields: a
  seeded mix of best bid/ask, trade, mark/index, open interest and funding changes, ``_ticker``).
* OKX ``books``: a snapshot (``prevSeqId`` -1, with ``checksum``), then updates chained by
  ``prevSeqId``; every ``idle_every``-th update is an idle-book heartbeat (no levels,
  ``seqId`` == ``prevSeqId``); every ``reset_every`` updates the sequence restarts (``seqId``
  smaller than ``prevSeqId``). ``bbo-tbt`` and ``trades``.
* ``faults.gap_every`` = N: every Nth book delta/update (or depth-1 snapshot) is not sent (its
  id is spent): the client sees a gap and resyncs by subscribing again, which this server
  answers with a snapshot (depth 1: the next snapshot repairs the book).
* replies: Bybit ``{"success":..,"op":"subscribe"}`` (an unknown topic is refused with
  ``"success":false``), pong for ``{"op":"ping"}``; OKX ``{"event":"subscribe"}``,
  ``{"event":"error","code":"60018"}`` for an unknown channel or instrument, ``pong`` for ``ping``.

The URL query may set ``rate``, ``count``, ``reset_every``, ``resend_every``, ``idle_every`` and
``gap_every`` for that connection (``/v5/public/linear?reset_every=200``).

``rate`` messages a second per connection in all (split over its topics); ``count`` > 0 stops
after that many market messages (for benchmarks; with ``rate`` 0 they go as fast as the client
reads; with a ``count``, all of its frames are made before the first is written, so a benchmark
measures the client, not this generator).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass

import orjson
from websockets.exceptions import ConnectionClosed

from hftshm.layouts.md import E8

from .config import symbol_spec
from .wsframe import text_frame

BYBIT_PATHS = {"/v5/public/spot": "bybit_spot", "/v5/public/linear": "bybit_linear"}
OKX_PATH = "/ws/v5/public"
TICK_S = 0.01
WRITE_HIGH = 1 << 18  # unsent bytes past which an unpaced (rate 0) connection waits for its reader
_FUNDING_MS = 28_800_000  # Bybit linear's funding period (8 h): nextFundingTime steps by it


@dataclass
class InbandOptions:
    rate: float = 200.0  # market messages a second per connection; 0: as fast as the client reads
    count: int = 0  # stop after this many market messages (0: never)
    levels: int = 20
    seed: int = 1
    reset_every: int = 3000  # book messages between venue restarts (Bybit u=1, OKX seqId reset); 0: never
    resend_every: int = 25  # Bybit depth 1: every Nth snapshot re-sent unchanged; 0: never
    idle_every: int = 40  # OKX books: every Nth update an idle-book heartbeat; 0: never
    gap_every: int = 0  # every Nth book delta/update not sent; 0: never


QUERY_KEYS = ("rate", "count", "reset_every", "resend_every", "idle_every", "gap_every")


def options_from_query(query: dict) -> dict:
    """Per-connection overrides from the URL query (``?reset_every=200&gap_every=50``), for tests
    that want a venue behaviour often; ValueError naming the key and what is allowed."""
    out = {}
    for key, values in query.items():
        if key not in QUERY_KEYS:
            raise ValueError(f"unknown query key {key!r}; allowed: {', '.join(QUERY_KEYS)}")
        text = values[-1]
        try:
            value = float(text) if key == "rate" else int(text)
        except ValueError:
            raise ValueError(f"{key}={text!r}: expected a number >= 0") from None
        if value < 0:
            raise ValueError(f"{key}={text!r}: expected a number >= 0")
        out[key] = value
    return out


def _decimals(step_e8: int) -> int:
    d = 8
    while d and step_e8 % 10 == 0:
        step_e8 //= 10
        d -= 1
    return d


class Market:
    """One symbol's synthetic book (price in ticks -> qty in lots) and trades."""

    def __init__(self, symbol: str, levels: int, rng: random.Random):
        self.spec = spec = symbol_spec(symbol)
        self.symbol = spec.symbol
        self.rng = rng
        self.levels = levels
        self.mid = spec.price_e8 // spec.tick_e8
        self.lot = max(spec.level_qty_e8 // spec.step_e8, 1)
        self.bids = {self.mid - i: rng.randint(1, 2 * self.lot) for i in range(1, levels + 1)}
        self.asks = {self.mid + i: rng.randint(1, 2 * self.lot) for i in range(1, levels + 1)}
        self._pd, self._qd = _decimals(spec.tick_e8), _decimals(spec.step_e8)
        self.trade_id = 1_000_000
        self.mark_e8 = spec.price_e8

    def px(self, ticks: int) -> str:
        v = ticks * self.spec.tick_e8
        return f"{v // E8}.{v % E8:08d}"[: len(str(v // E8)) + 1 + self._pd].rstrip(".")

    def qty(self, lots: int) -> str:
        v = lots * self.spec.step_e8
        return f"{v // E8}.{v % E8:08d}"[: len(str(v // E8)) + 1 + self._qd].rstrip(".")

    def quote(self) -> None:
        """Quote an empty side again (orders took it, bybit_trade.py) before anything reads the
        touch; what it adds reaches a shared book's connections in their next delta."""
        while not self.bids or not self.asks:
            self.change()

    def change(self) -> tuple[list, list]:
        """One book change: (bid changes, ask changes) as [(ticks, lots)], 0 lots deletes."""
        rng = self.rng
        if len(self.bids) < self.levels or len(self.asks) < self.levels:
            return self._deepen()
        bid_side = rng.random() < 0.5
        side = self.bids if bid_side else self.asks
        best_bid, best_ask = max(self.bids), min(self.asks)
        r = rng.random()
        changes = []
        if r < 0.6 or len(side) < 3:  # change a level's quantity (or add one inside the range)
            if bid_side:
                p = best_bid - rng.randint(0, self.levels - 1)
                if p >= best_ask:
                    p = best_ask - 1
            else:
                p = best_ask + rng.randint(0, self.levels - 1)
                if p <= best_bid:
                    p = best_bid + 1
            q = rng.randint(1, 2 * self.lot)
            if p not in side:  # a new level: the farthest one leaves, so the depth stays
                far = min(side) if bid_side else max(side)
                del side[far]
                changes.append((far, 0))
            side[p] = q
            changes.append((p, q))
        else:  # remove a level, and add one further out to keep the depth
            p = rng.choice(list(side))
            del side[p]
            changes.append((p, 0))
            far = (min(side) - 1) if bid_side else (max(side) + 1)
            q = rng.randint(1, 2 * self.lot)
            side[far] = q
            changes.append((far, q))
        return (changes, []) if bid_side else ([], changes)

    def _deepen(self) -> tuple[list, list]:
        """A side orders took levels from (bybit_trade.py) gets them back: a whole side from the
        other side's touch when it is empty, else one level beyond its far end."""
        bid_side = len(self.bids) < self.levels
        side, other = (self.bids, self.asks) if bid_side else (self.asks, self.bids)
        step = -1 if bid_side else 1
        if side:
            prices = [(min(side) if bid_side else max(side)) + step]
        else:
            touch = (min(other) if bid_side else max(other)) if other else self.mid
            prices = [touch + step * i for i in range(1, self.levels + 1)]
        changes = [(p, self.rng.randint(1, 2 * self.lot)) for p in prices]
        side.update(changes)
        return (changes, []) if bid_side else ([], changes)

    def trade(self) -> tuple[bool, int, int]:
        """(buyer took, price ticks, lots) at the touch; the touch is not consumed."""
        buy = self.rng.random() < 0.5
        price = min(self.asks) if buy else max(self.bids)
        self.trade_id += 1
        return buy, price, self.rng.randint(1, self.lot)

    def top(self, n: int):
        bids = sorted(self.bids.items(), reverse=True)[:n]
        asks = sorted(self.asks.items())[:n]
        return bids, asks


class _Stream:
    """One subscribed topic on one connection: renders its next message (or None)."""

    def __init__(self, venue: str, kind: str, market: Market, opts: InbandOptions, state: dict):
        self.venue, self.kind, self.m, self.opts, self.state = venue, kind, market, opts, state
        self.started = False


class InbandSession:
    """One connection: topics, markets and the id state of each book."""

    def __init__(self, venue: str, opts: InbandOptions, symbols: dict, markets: dict | None = None):
        self.venue = venue
        self.opts = opts
        self.symbols = symbols  # upper-case symbol -> allowed
        self.rng = random.Random(opts.seed)
        # ``markets`` given (Bybit linear: the matching's, shared with every connection): a book
        # delta says every level that differs from what this topic last sent, whoever changed it
        self.shared = markets is not None
        self.markets: dict[str, Market] = markets if markets is not None else {}
        self.topics: dict[str, tuple[str, str]] = {}  # name -> (kind, SYMBOL)
        self.pending_snapshots: list[str] = []
        self.ids: dict[str, dict] = {}  # per book topic: u / seq state
        self.sent = 0
        self.book_msgs = 0
        self.seq = 10_000_000  # Bybit's cross sequence

    # -- requests ------------------------------------------------------------------------------

    def handle(self, text) -> list[bytes]:
        if self.venue == "okx":
            return self._okx_request(text)
        return self._bybit_request(text)

    def _bybit_request(self, text) -> list[bytes]:
        try:
            req = orjson.loads(text)
            op, req_id = req["op"], req.get("req_id", "")
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            return [orjson.dumps({"success": False, "ret_msg": f"error:invalid request {str(text)[:60]}",
                                  "conn_id": "sim", "op": ""})]
        if op == "ping":
            if self.venue == "bybit_linear":
                return [orjson.dumps({"req_id": req_id, "op": "pong", "args": [str(time.time_ns() // 1_000_000)],
                                      "conn_id": "sim"})]
            return [orjson.dumps({"success": True, "ret_msg": "pong", "conn_id": "sim", "req_id": req_id,
                                  "op": "ping"})]
        if op not in ("subscribe", "unsubscribe") or not isinstance(req.get("args"), list):
            return [orjson.dumps({"success": False, "ret_msg": f"error:unknown op {op!r}", "conn_id": "sim",
                                  "req_id": req_id, "op": op})]
        bad = [a for a in req["args"] if self._bybit_topic(a) is None]
        if bad or len(req["args"]) > 10:
            why = f"handler not found,topic:{bad[0]}" if bad else "args size >10"
            return [orjson.dumps({"success": False, "ret_msg": f"error:{why}", "conn_id": "sim",
                                  "req_id": req_id, "op": op})]
        for a in req["args"]:
            self._toggle(a, self._bybit_topic(a), op == "subscribe")
        return [orjson.dumps({"success": True, "ret_msg": "", "conn_id": "sim", "req_id": req_id, "op": op})]

    def _bybit_topic(self, name):
        if not isinstance(name, str):
            return None
        parts = name.split(".")
        kinds = ["publicTrade"] + (["tickers"] if self.venue == "bybit_linear" else [])
        if len(parts) == 3 and parts[0] == "orderbook" and parts[1] in ("1", "50"):
            kind, sym = f"orderbook.{parts[1]}", parts[2]
        elif len(parts) == 2 and parts[0] in kinds:
            kind, sym = parts
        else:
            return None
        return (kind, sym) if sym in self.symbols else None

    def _okx_request(self, text) -> list[bytes]:
        if text == "ping":
            return [b"pong"]
        try:
            req = orjson.loads(text)
            op, args = req["op"], req["args"]
            names = [f"{a['channel']}:{a['instId']}" for a in args]
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            return [orjson.dumps({"event": "error", "code": "60012", "msg": f"Invalid request: {str(text)[:60]}",
                                  "connId": "sim"})]
        out = []
        for a, name in zip(args, names):
            topic = self._okx_topic(name)
            if op not in ("subscribe", "unsubscribe") or topic is None:
                out.append(orjson.dumps({"event": "error", "code": "60018",
                                         "msg": f"Wrong URL or channel:{a['channel']},instId:{a['instId']} doesn't "
                                                "exist.", "connId": "sim"}))
                continue
            self._toggle(name, topic, op == "subscribe")
            out.append(orjson.dumps({"event": op, "arg": a, "connId": "sim"}))
        return out

    def _okx_topic(self, name: str):
        channel, _, inst = name.partition(":")
        sym = inst.replace("-", "")
        if channel in ("bbo-tbt", "books", "trades") and sym in self.symbols and inst.count("-") >= 1:
            return channel, sym
        return None

    def _toggle(self, name: str, topic, on: bool) -> None:
        kind, sym = topic
        if on:
            if sym not in self.markets:
                self.markets[sym] = Market(sym.lower(), self.opts.levels, self.rng)
            self.topics[name] = topic
            if kind.startswith(("orderbook", "books", "tickers")):
                self.pending_snapshots.append(name)
        else:
            self.topics.pop(name, None)

    # -- market messages -----------------------------------------------------------------------

    def next_messages(self, n: int) -> list[bytes]:
        """Up to ``n`` market messages: pending snapshots first, then a round over the topics."""
        out: list[bytes] = []
        while self.pending_snapshots and len(out) < n:
            name = self.pending_snapshots.pop(0)
            if name in self.topics:
                out.append(self._snapshot(name))
        names = list(self.topics)
        if not names:
            return out
        while len(out) < n:
            name = names[self.rng.randrange(len(names))]
            msg = self._update(name)
            if msg is not None:
                out.append(msg)
        return out

    def _ms(self) -> int:
        return time.time_ns() // 1_000_000

    def _book_state(self, name: str) -> dict:
        st = self.ids.get(name)
        if st is None:
            st = self.ids[name] = {"id": self.rng.randint(1000, 100000), "n": 0, "last": None}
        return st

    def _snapshot(self, name: str) -> bytes:
        kind, sym = self.topics[name]
        m = self.markets[sym]
        m.quote()
        if kind == "tickers":
            return self._ticker(name, m, snapshot=True)
        st = self._book_state(name)
        if self.venue == "okx":
            return self._okx_book(name, m, st, snapshot=True)
        return self._bybit_book(name, kind, m, st, snapshot=True)

    def _update(self, name: str):
        kind, sym = self.topics[name]
        m = self.markets[sym]
        m.quote()
        if kind in ("publicTrade", "trades"):
            return self._trade(name, m)
        if kind == "tickers":
            return self._ticker(name, m, snapshot=False)
        st = self._book_state(name)
        if kind == "bbo-tbt":
            if "books:" + name.partition(":")[2] not in self.topics:  # else books changes it (and says so)
                m.change()
            st["id"] += 1
            (bp, bq), (ap, aq) = max(m.bids.items()), min(m.asks.items())
            return orjson.dumps({"arg": {"channel": "bbo-tbt", "instId": name.partition(":")[2]},
                                 "data": [{"asks": [[m.px(ap), m.qty(aq), "0", "1"]],
                                           "bids": [[m.px(bp), m.qty(bq), "0", "1"]],
                                           "ts": str(self._ms()), "seqId": st["id"]}]})
        if self.venue == "okx":
            return self._okx_book(name, m, st, snapshot=False)
        return self._bybit_book(name, kind, m, st, snapshot=False)

    def _gap(self) -> bool:
        every = self.opts.gap_every
        self.book_msgs += 1
        return bool(every) and self.book_msgs % every == 0

    def _bybit_book(self, name, kind, m: Market, st: dict, snapshot: bool):
        self.seq += 1
        opts = self.opts
        depth = 1 if kind == "orderbook.1" else 50
        if kind == "orderbook.1":
            st["n"] += 1
            if not snapshot and opts.resend_every and st["n"] % opts.resend_every == 0 and st["last"]:
                return st["last"]  # unchanged, re-sent (same u)
            if not snapshot:
                m.change()
            st["id"] += 1
            if not snapshot and self._gap():
                return None  # this u is never sent: the next snapshot shows the gap
        elif not snapshot:
            st["n"] += 1
            if opts.reset_every and st["n"] % opts.reset_every == 0:
                st["id"] = 1  # the book service restarted: a snapshot with u = 1
                snapshot = True
            else:
                bids, asks = m.change()
                if self.shared:
                    bids, asks = _changed(st, m, depth)
                st["id"] += 1
                if self._gap():
                    return None
                return orjson.dumps({"topic": name, "type": "delta", "ts": self._ms(),
                                     "data": {"s": m.symbol, "b": [[m.px(p), m.qty(q)] for p, q in bids],
                                              "a": [[m.px(p), m.qty(q)] for p, q in asks],
                                              "u": st["id"], "seq": self.seq}, "cts": self._ms()})
        bids, asks = m.top(depth)
        st["sent"] = (dict(bids), dict(asks))
        msg = orjson.dumps({"topic": name, "type": "snapshot", "ts": self._ms(),
                            "data": {"s": m.symbol, "b": [[m.px(p), m.qty(q)] for p, q in bids],
                                     "a": [[m.px(p), m.qty(q)] for p, q in asks], "u": st["id"],
                                     "seq": self.seq}, "cts": self._ms()})
        st["last"] = msg
        return msg

    def _okx_book(self, name, m: Market, st: dict, snapshot: bool):
        from hftshm.venues.okx.normalize import CHECKSUM_LEVELS, checksum

        inst = name.partition(":")[2]
        opts = self.opts
        if snapshot:
            bids, asks = m.top(400)
            prev, seq = -1, st["id"]
        else:
            st["n"] += 1
            prev = st["id"]
            # (the reset first: with the defaults every reset_every-th update is an idle_every-th too)
            if opts.reset_every and st["n"] % opts.reset_every == 0:
                bids, asks = m.change()
                seq = self.rng.randint(1, 10)  # the sequence restarts after maintenance
            elif opts.idle_every and st["n"] % opts.idle_every == 0:
                bids, asks, seq = [], [], prev  # an idle book's heartbeat
            else:
                bids, asks = m.change()
                seq = prev + self.rng.randint(1, 20)
            st["id"] = seq
            if (bids or asks) and self._gap():
                return None
        tb, ta = m.top(CHECKSUM_LEVELS)
        cs = checksum([(m.px(p), m.qty(q)) for p, q in tb], [(m.px(p), m.qty(q)) for p, q in ta])
        return orjson.dumps({"arg": {"channel": "books", "instId": inst},
                             "action": "snapshot" if snapshot else "update",
                             "data": [{"asks": [[m.px(p), m.qty(q), "0", "1"] for p, q in asks],
                                       "bids": [[m.px(p), m.qty(q), "0", "1"] for p, q in bids],
                                       "ts": str(self._ms()), "checksum": cs, "prevSeqId": prev, "seqId": seq}]})

    def _trade(self, name, m: Market) -> bytes:
        buy, price, lots = m.trade()
        ms = self._ms()
        if self.venue == "okx":
            return orjson.dumps({"arg": {"channel": "trades", "instId": name.partition(":")[2]},
                                 "data": [{"instId": name.partition(":")[2], "tradeId": str(m.trade_id),
                                           "px": m.px(price), "sz": m.qty(lots), "side": "buy" if buy else "sell",
                                           "ts": str(ms), "count": "1", "seqId": m.trade_id}]})
        self.seq += 1
        tid = str(m.trade_id) if self.venue == "bybit_spot" else str(uuid.UUID(int=self.rng.getrandbits(128)))
        return orjson.dumps({"topic": name, "type": "snapshot", "ts": ms,
                             "data": [{"T": ms, "s": m.symbol, "S": "Buy" if buy else "Sell", "v": m.qty(lots),
                                       "p": m.px(price), "L": "PlusTick", "i": tid, "BT": False, "seq": self.seq}]})

    def _ticker(self, name, m: Market, snapshot: bool) -> bytes:
        """Bybit v5 docs, WebSocket Stream > Public > Ticker: linear pushes a snapshot, then
        (every 100 ms) a "delta" holding only the fields that changed, every value a string, in
        the snapshot's key order (the docs' example). Each delta here is a seeded mix of what
        moves a real one: the best bid/ask (most), a trade (last price, tick direction, 24 h
        volume and turnover), the mark and index prices, open interest now and then, the
        funding rate rarely, the next funding time at a funding period's roll; the values come
        from this market (its book, its trades), so they stay consistent with each other."""
        ms = self._ms()
        st = self.ids.get(name)
        if st is None:
            st = self.ids[name] = self._ticker_state(m, ms)
        old = st["text"]
        if snapshot:
            self._ticker_move(m, st, mark=True)
        else:
            rng = self.rng
            while True:
                self._ticker_move(m, st, book=rng.random() < 0.85, trade=rng.random() < 0.3,
                                  mark=rng.random() < 0.3, oi=rng.random() < 0.05, funding=rng.random() < 0.02,
                                  roll=rng.random() < 0.002)
                if st["text"] != old:
                    break
        new = st["text"]
        self.seq += 1
        data = {"symbol": m.symbol}
        data.update(new if snapshot else {k: v for k, v in new.items() if v != old.get(k)})
        return orjson.dumps({"topic": name, "type": "snapshot" if snapshot else "delta", "data": data,
                             "cs": self.seq, "ts": ms})

    def _ticker_state(self, m: Market, ms: int) -> dict:
        spec = m.spec
        mid = (max(m.bids) + min(m.asks)) // 2
        oi = 68_744_761 * 10**5 // spec.step_e8 * spec.step_e8
        vol = 91_705_276 * 10**5 // spec.step_e8 * spec.step_e8
        return {"last": mid, "dir": "PlusTick", "prev24h": mid * 983 // 1000, "high": mid * 1004 // 1000,
                "low": mid * 981 // 1000, "prev1h": mid * 1001 // 1000, "mark": mid, "index": mid,
                "oi": oi, "volume": vol, "turnover": vol * (mid * spec.tick_e8) // E8,
                "funding_e8": -21_200, "next_ms": (ms // _FUNDING_MS + 1) * _FUNDING_MS, "text": {}}

    def _ticker_move(self, m: Market, st: dict, book=False, trade=False, mark=False, oi=False,
                     funding=False, roll=False) -> None:
        """Move the drawn parts of the ticker, then render every field (``st["text"]``)."""
        rng, spec = self.rng, m.spec
        if book and not any(t[1] == m.symbol and t[0].startswith("orderbook") for t in self.topics.values()):
            top = max(m.bids.items()), min(m.asks.items())  # no book topic moves this market: the ticker does
            for _ in range(100):  # until the best bid or ask moves (most changes are deeper)
                m.change()
                if (max(m.bids.items()), min(m.asks.items())) != top:
                    break
        if trade:
            _, price, lots = m.trade()
            if price != st["last"]:
                st["dir"] = "PlusTick" if price > st["last"] else "MinusTick"
            elif not st["dir"].startswith("Zero"):
                st["dir"] = "ZeroPlusTick" if st["dir"] == "PlusTick" else "ZeroMinusTick"
            st["last"] = price
            st["high"], st["low"] = max(st["high"], price), min(st["low"], price)
            qty = lots * spec.step_e8
            st["volume"] += qty
            st["turnover"] += qty * price * spec.tick_e8 // E8
        if mark:
            st["mark"] = (max(m.bids) + min(m.asks)) // 2 + rng.randint(-2, 2)
            st["index"] = st["mark"] + rng.randint(-3, 3)
        if oi:
            st["oi"] = max(spec.step_e8, st["oi"] + rng.randint(-5, 5) * m.lot * spec.step_e8)
        if funding:
            st["funding_e8"] = min(375_000, max(-375_000, st["funding_e8"] + rng.randint(-20, 20) * 100))
        if roll:
            st["next_ms"] += _FUNDING_MS
        (bp, bq), (ap, aq) = max(m.bids.items()), min(m.asks.items())
        pct = (st["last"] - st["prev24h"]) * E8 // st["prev24h"]  # a fraction (0.017103: +1.7%), in e8
        fr = st["funding_e8"]
        st["text"] = {
            "tickDirection": st["dir"], "price24hPcnt": f"{'-' if pct < 0 else ''}{_e8_text(abs(pct), 6)}",
            "lastPrice": m.px(st["last"]), "prevPrice24h": m.px(st["prev24h"]), "highPrice24h": m.px(st["high"]),
            "lowPrice24h": m.px(st["low"]), "prevPrice1h": m.px(st["prev1h"]), "markPrice": m.px(st["mark"]),
            "indexPrice": m.px(st["index"]), "openInterest": m.qty(st["oi"] // spec.step_e8),
            "openInterestValue": _e8_text(st["oi"] * st["mark"] * spec.tick_e8 // E8, 2),
            "turnover24h": _e8_text(st["turnover"], 6), "volume24h": m.qty(st["volume"] // spec.step_e8),
            "nextFundingTime": str(st["next_ms"]), "fundingRate": f"{'-' if fr < 0 else ''}{_e8_text(abs(fr), 6)}",
            "bid1Price": m.px(bp), "bid1Size": m.qty(bq), "ask1Price": m.px(ap), "ask1Size": m.qty(aq)}


def _changed(st: dict, m: Market, depth: int) -> tuple[list, list]:
    """The top ``depth`` levels a side that differ from what this topic last sent (``st["sent"]``,
    updated), and 0 for those that left it: the market's moves and the orders' takes alike."""
    bids, asks = m.top(depth)
    out = []
    for now, before in zip((dict(bids), dict(asks)), st.get("sent", ({}, {}))):
        out.append([(p, q) for p, q in now.items() if before.get(p) != q] + [(p, 0) for p in before if p not in now])
    st["sent"] = (dict(bids), dict(asks))
    return out[0], out[1]


def _e8_text(v: int, decimals: int) -> str:
    """A non-negative e8 amount as text with ``decimals`` decimals (truncated)."""
    return f"{v // E8}.{v % E8:08d}"[: len(str(v // E8)) + 1 + decimals]


async def _flood(conn, reader, frames: list[bytes], chunk: int = 512) -> None:
    for i in range(0, len(frames), chunk):
        conn.transport.write(b"".join(frames[i:i + chunk]))
        while conn.transport.get_write_buffer_size() > WRITE_HIGH and not reader.done():
            await asyncio.wait([reader], timeout=0.001)
        if reader.done():
            return


async def serve(conn, venue: str, opts: InbandOptions, symbols, stats=None, markets=None) -> None:
    """Serve one Bybit or OKX public connection until it closes (or ``opts.count`` is sent);
    ``markets``: the symbols' markets to show, shared (else the connection's own)."""
    session = InbandSession(venue, opts, {s.upper() for s in symbols}, markets)

    prepared: list[bytes] = []

    async def reader():
        async for message in conn:
            replies = session.handle(message)
            if opts.rate == 0 and opts.count and session.topics and not session.sent and not prepared:
                # unpaced with a count (benchmarks): every frame made before the reply, then
                # written as fast as the client reads: the figure is the client's, not ours
                prepared.extend(text_frame(m) for m in session.next_messages(opts.count))
            for reply in replies:
                await conn.send(reply.decode())

    task = asyncio.create_task(reader())
    try:
        loop = asyncio.get_running_loop()
        start = loop.time()
        while not task.done():
            if opts.count and session.sent >= opts.count:
                await asyncio.wait([task], timeout=1.0)
                continue
            if prepared:
                await _flood(conn, task, prepared)
                prepared.clear()
                session.sent = opts.count
                if stats is not None:
                    stats.messages += opts.count
                continue
            if opts.rate > 0:
                due = int((loop.time() - start) * opts.rate) - session.sent
                if session.pending_snapshots:
                    due = max(due, len(session.pending_snapshots))
            else:
                due = 256
            if opts.count:
                due = min(due, opts.count - session.sent)
            msgs = session.next_messages(due) if due > 0 and (session.topics or session.pending_snapshots) else []
            if msgs:  # ready frames, one write (wsframe.py); replies go through websockets, between them
                conn.transport.write(b"".join([text_frame(m) for m in msgs]))
                while conn.transport.get_write_buffer_size() > WRITE_HIGH and not task.done():
                    await asyncio.wait([task], timeout=0.001)  # the client reads slower: wait for it
            session.sent += len(msgs)
            if stats is not None:
                stats.messages += len(msgs)
            if opts.rate > 0 or not msgs:
                await asyncio.wait([task], timeout=TICK_S)
            else:
                await asyncio.sleep(0)
    except ConnectionClosed:
        pass
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
