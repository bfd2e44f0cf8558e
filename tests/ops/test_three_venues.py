"""Three venues ingesting at once in one instance (``[[venues]]``), each on its own simulator:
Binance USD-M, Bybit linear and OKX. The target: no venue's md is lost or reordered.

Forbidden outcomes, checked on every record of every venue's md journal after a clean stop:
- lost: a sequence missing from a venue's journal (its ring's records are journaled 0, 1, 2, ...
  with none skipped), a record the ring published that the journal does not hold, a ring reader
  that lost records, or a gap the venue's ingest counted (trade ids, book sequences);
- reordered: within a venue, a symbol's records from one source (a kind; quotes the venue sent
  apart from those ingest derived from its book) going back in exchange time, or its book updates
  going back in update id between two resets of the book.
The venues run side by side in separate ingest processes, so each venue is checked alone."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from hftshm.journal import files
from hftshm.layouts import md as M
from tests.runtime.helpers import leftovers, stop, supervisor, wait_running

START_S = 600
RUN_S = 15.0
VENUES = {
    "usdm": ('["bookTicker", "trade", "depth@100ms"]', "binance_usdm"),
    "bybit": ('["orderbook.50", "publicTrade", "tickers"]', "bybit_linear"),
    "okx": ('["books", "trades", "bbo-tbt"]', "okx"),
}
GAP_COUNTERS = ("trade_gaps", "agg_gaps", "depth_gaps", "straddle_miss", "buf_overflows", "malformed",
                "bad_fields", "unknown", "venue_errors", "unknown_syms", "bad_values")


def _config(tmp_path: Path, name: str) -> Path:
    text = f'instance = "{name}"\ndata_dir = "{tmp_path / "runs"}"\nstrategies = []\n[sim]\nrate = 1000.0\n'
    for venue, (streams, sim) in VENUES.items():
        text += (f'[[venues]]\nname = "{venue}"\nkind = "sim"\nsymbols = ["btcusdt", "ethusdt"]\n'
                 f'streams = {streams}\nsim = {{ venue = "{sim}" }}\n')
    path = tmp_path / "three.toml"
    path.write_text(text)
    return path


def test_three_venues_ingest_side_by_side_without_loss_or_reordering(tmp_path, instance):
    names = {v: f"{instance}-{v}" for v in VENUES}
    with supervisor("start", "--headless", "--summary", tmp_path / "s.json", "--config", _config(tmp_path, instance)) as sup:
        deadline = time.monotonic() + START_S
        while True:
            try:
                for n in names.values():
                    wait_running(n, timeout=5)
                break
            except AssertionError:
                assert sup.poll() is None, f"hftshm start exited with {sup.returncode}: {sup.communicate()[0]}"
                assert time.monotonic() < deadline, "the workers did not start"
        time.sleep(RUN_S)  # the run's length, not a wait for a condition: every check is on what it produced
        output = stop(sup)
    assert sup.returncode == 0, output
    summary = json.loads((tmp_path / "s.json").read_text())
    for venue, n in names.items():
        assert leftovers(n) == []
        s = summary["venues"][venue]
        journal = s["journal"]
        assert journal["complete"] and journal["lost"] == 0, (venue, journal)
        published = s["rings"]["md"]["published"]
        assert published > 1000, (venue, published)  # every venue delivered
        assert journal["rings"]["md"] == {"published": published, "journaled": published, "not_journaled": 0}
        assert all(r["lost"] == 0 for r in s["rings"]["md"]["readers"]), (venue, s["rings"]["md"]["readers"])
        ingest = s["workers"]["ingest"]["counters"]
        assert {k: ingest.get(k, 0) for k in GAP_COUNTERS} == dict.fromkeys(GAP_COUNTERS, 0), (venue, ingest)

        _, recs = files.load_ring(tmp_path / "runs" / n / "journal" / "md")
        assert recs["seq"].tolist() == list(range(published)), venue  # nothing lost, nothing twice
        assert set(recs["venue"].tolist()) == {M.VENUE_CODES[VENUES[venue][1]]}, venue  # each names its venue
        for sym in np.unique(recs["symbol_id"]):
            mine = recs[recs["symbol_id"] == sym]
            # one source at a time: a kind, and for quotes whether the venue sent it (bookTicker,
            # bbo-tbt, orderbook.1) or ingest derived it from its book (F_FROM_BOOK)
            source = mine["kind"].astype(np.int64) * 2 + ((mine["flags"] & M.F_FROM_BOOK) != 0)
            for src in np.unique(source):
                k = mine[source == src]
                kind = int(src) // 2
                if kind in (M.BOOK_RESET, M.GAP):
                    continue
                assert (np.diff(k["exch_ns"]) >= 0).all(), (venue, sym, M.KIND_NAMES[kind], int(src) % 2,
                                                             "exchange time went back")
            # book updates: between two resets of the book, update ids never go back, except where
            # the venue restarts its sequence and says so by chaining the update to the last one
            # (OKX after maintenance: seqId below prevSeqId, prevSeqId = the last seqId)
            book = mine[(mine["kind"] == M.BOOK_RESET) | ((mine["kind"] == M.LEVEL) & ((mine["flags"] & M.F_SNAPSHOT) == 0))]
            segment = np.cumsum(book["kind"] == M.BOOK_RESET)
            for part in np.unique(segment):
                lv = book[(segment == part) & (book["kind"] == M.LEVEL)]
                back = np.flatnonzero(np.diff(lv["venue_id"]) < 0)
                chained = lv["venue_id2"][back + 1] == lv["venue_id"][back]
                assert chained.all(), (venue, sym, "book update id went back", lv[back[~chained][:3]])
