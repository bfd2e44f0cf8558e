"""The synthetic book stays consistent with what it publishes (no sockets, simulated time).

* bookTicker equals the book's top after the event it reports;
* every trade prints at a level that was on the book just before (and no more than it held);
* diff-depth events applied to a snapshot, as web-socket-streams.md "How to manage a local order
  book correctly" says, reproduce the book exactly, with no id gaps;
* the same seed gives the same messages; another seed does not.
"""

import numpy as np

from hftshm.exchange import ExchangeConfig
from hftshm.exchange import rows as R
from hftshm.exchange.order_book import ASK, BID, G_PX, G_QTY, G_SIDE, G_UID
from hftshm.exchange.config import symbol_spec
from hftshm.exchange.depth import DepthDiff
from hftshm.exchange.market import Market
from hftshm.exchange.venue import MarketRows, Venue
from hftshm.feed.e8 import parse_e8

SEC = 1_000_000_000


def local_book(market):
    return [dict(zip(market.px[s].tolist(), market.qty[s].tolist())) for s in (BID, ASK)]


def test_book_ticker_and_trades_match_the_change_log():
    market = Market(symbol_spec("btcusdt"), 20, 20000.0, np.random.default_rng(7))
    book = local_book(market)
    market.start(0)
    rows, chg = market.advance(2 * SEC, 1 << 20)
    assert rows.shape[0] > 20000
    applied = 0

    def apply_through(uid):
        nonlocal applied
        while applied < chg.shape[0] and chg[applied, G_UID] <= uid:
            side, px, qty = chg[applied, G_SIDE], chg[applied, G_PX], chg[applied, G_QTY]
            if qty:
                book[side][px] = qty
            else:
                del book[side][px]  # a removal names a level that exists
            applied += 1

    taken: dict[tuple[int, int], int] = {}
    for r in rows.tolist():
        if r[R.C_KIND] == R.BOOK:
            apply_through(r[R.C_ID])
            taken.clear()
            best_bid, best_ask = max(book[BID]), min(book[ASK])
            assert (r[R.C_BID_PX], r[R.C_BID_QTY]) == (best_bid, book[BID][best_bid])
            assert (r[R.C_ASK_PX], r[R.C_ASK_QTY]) == (best_ask, book[ASK][best_ask])
            assert best_bid < best_ask
            assert len(book[BID]) == len(book[ASK]) == 20
        elif r[R.C_KIND] == R.TRADE:
            maker_side = BID if r[R.C_BUYER_MAKER] else ASK
            level = (maker_side, r[R.C_PX])
            assert r[R.C_PX] in book[maker_side], "trade at a price that was not on the book"
            taken[level] = taken.get(level, 0) + r[R.C_QTY]
            assert taken[level] <= book[maker_side][r[R.C_PX]]
    apply_through(chg[-1, G_UID])
    assert book == local_book(market)


def collect(venue, seconds, step_ms=7):
    """Advance a venue in uneven steps; returns (rows by symbol, depth diffs by stream)."""
    rows, diffs = {}, {}
    t = 0
    end = int(seconds * SEC) - 1  # the last instant of a depth window: it closes there
    while t < end:
        t = min(t + step_ms * 1_000_000, end)
        venue.advance(t)
        for item in venue.drain():
            if isinstance(item, MarketRows):
                rows.setdefault(item.symbol, []).append(item.rows)
            elif isinstance(item, DepthDiff):
                diffs.setdefault(f"{item.symbol}@{item.stream}", []).append(item)
    return {s: np.concatenate(v) for s, v in rows.items()}, diffs


def test_depth_diffs_reproduce_the_book():
    venue = Venue(ExchangeConfig(rate=5000.0, seed=3))
    venue.start(0)
    collect(venue, 0.25)  # the snapshot is taken mid-stream, as a client would
    snap = {s: venue.depth(s.upper(), 1000, 250 * 1_000_000 - 1) for s in venue.markets}
    _, diffs = collect(venue, 3)
    for stream, events in diffs.items():
        symbol = stream.partition("@")[0]
        spec = venue.specs[symbol]
        book = [{p: q for p, q in snap[symbol][side]} for side in ("bids", "asks")]
        last = snap[symbol]["lastUpdateId"]
        events = [e for e in events if e.last_id > last]
        assert events[0].first_id <= last + 1 <= events[0].last_id
        prev = None
        for e in events:
            if prev is not None:
                assert e.first_id == prev + 1, f"{stream}: gap after {prev}"
            prev = e.last_id
            for side, levels in ((0, e.bids), (1, e.asks)):
                for px, qty in levels:
                    key = f"{px * spec.tick_e8 // 10**8}.{px * spec.tick_e8 % 10**8:08d}"
                    if qty:
                        book[side][key] = f"{qty * spec.step_e8 // 10**8}.{qty * spec.step_e8 % 10**8:08d}"
                    else:
                        book[side].pop(key, None)
        now = venue.depth(symbol.upper(), 1000, 3 * SEC - 1)
        assert now["lastUpdateId"] == prev
        assert sorted(book[0].items(), key=lambda kv: -parse_e8(kv[0])) == [tuple(x) for x in now["bids"]]
        assert sorted(book[1].items(), key=lambda kv: parse_e8(kv[0])) == [tuple(x) for x in now["asks"]]


def test_same_seed_same_messages():
    def run(seed):
        venue = Venue(ExchangeConfig(rate=3000.0, seed=seed))
        venue.start(0)
        rows, diffs = collect(venue, 1, step_ms=5)
        return rows, diffs

    a, b, c = run(11), run(11), run(12)
    for s in a[0]:
        assert np.array_equal(a[0][s], b[0][s])
        assert not np.array_equal(a[0][s][:100], c[0][s][:100])
    assert a[1] == b[1]
    # Stepping the clock differently does not change what is generated.
    venue = Venue(ExchangeConfig(rate=3000.0, seed=11))
    venue.start(0)
    rows, _ = collect(venue, 1, step_ms=31)
    n = min(rows["btcusdt"].shape[0], a[0]["btcusdt"].shape[0]) - 50
    assert np.array_equal(rows["btcusdt"][:n], a[0]["btcusdt"][:n])


def test_message_rate_follows_the_setting():
    for rate in (50.0, 20000.0):
        venue = Venue(ExchangeConfig(rate=rate, seed=5))
        venue.start(0)
        rows, _ = collect(venue, 60 if rate < 1000 else 10, step_ms=100)
        seconds = 60 if rate < 1000 else 10
        n = sum(r.shape[0] for r in rows.values())
        assert 0.5 * rate * seconds < n < 2.0 * rate * seconds, (rate, n)
