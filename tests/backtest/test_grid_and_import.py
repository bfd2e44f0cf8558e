"""The grid market maker through the live StrategyEngine; the capture import of USD-M frames."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from hftshm.journal import files
from hftshm.journal.capture_import import import_capture
from hftshm.layouts import exec_report as F
from hftshm.layouts import md as M
from hftshm.layouts import order as O
from hftshm.trading.loader import load
from hftshm.trading.strategy import StrategyEngine
from hftshm.venues.instruments import InstrumentRules

from ._md import quote

E8 = M.E8
TICK = 1_000_000
# the venue's rules the grid rounds with (Binance Spot BTCUSDT: tick 0.01, step 0.00001)
RULES = {"BTCUSDT": InstrumentRules(symbol="BTCUSDT", base="BTC", quote="USDT", tick_e8=TICK, step_e8=1_000)}


def grid(**params):
    table = {"name": "g", "kind": "grid", "levels": 3, "spacing_ticks": 5, "step_ticks": 10, "qty": "0.001",
             "max_position": "0.002", **params}
    from hftshm.trading.builtins import check_params

    check_params("grid", table)
    sent = []
    strat = load(table, ["BTCUSDT"], RULES)
    eng = StrategyEngine(strat, 1, lambda rec: sent.append(rec.copy()) or True, clock=lambda: 0)
    return strat, eng, sent


def news(sent):
    return sorted((int(r[0]["side"]), int(r[0]["price_e8"])) for r in sent if r[0]["action"] == O.NEW)


def test_grid_places_post_only_levels_on_the_step_grid():
    strat, eng, sent = grid()
    eng.on_md(quote(1, 60_000 * E8, E8, 60_000 * E8 + TICK, E8)[0])  # mid 60000.005
    unit = 10 * TICK
    # first bid: floor((mid - 5 ticks) / step) * step = 59999.90; first ask: ceil(...) = 60000.10
    bids = sorted(p for s, p in news(sent) if s == O.BUY)
    asks = sorted(p for s, p in news(sent) if s == O.SELL)
    # max_position 0.002 with qty 0.001: two levels a side fit
    assert bids == [60_000 * E8 - 2 * unit, 60_000 * E8 - unit]
    assert asks == [60_000 * E8 + unit, 60_000 * E8 + 2 * unit]
    assert all(r[0]["type"] == O.LIMIT_MAKER and r[0]["tif"] == O.GTC for r in sent)
    n = len(sent)
    eng.on_md(quote(2, 60_000 * E8, 2 * E8, 60_000 * E8 + TICK, 3 * E8)[0])  # same grid: nothing
    assert len(sent) == n


def test_grid_moves_with_the_mid_cancelling_levels_that_fall_off():
    strat, eng, sent = grid(max_position="1")
    eng.on_md(quote(1, 60_000 * E8, E8, 60_000 * E8 + TICK, E8)[0])
    first = {int(r[0]["order_id"]): int(r[0]["price_e8"]) for r in sent}
    sent.clear()
    eng.on_md(quote(2, 60_000 * E8 + 10 * TICK, E8, 60_000 * E8 + 11 * TICK, E8)[0])  # up one step
    cancels = [int(r[0]["cancel_id"]) for r in sent if r[0]["action"] == O.CANCEL]
    assert [first[c] for c in cancels] == [60_000 * E8 - 30 * TICK, 60_000 * E8 + 10 * TICK]  # lowest bid, first ask
    assert news(sent) == [(O.BUY, 60_000 * E8), (O.SELL, 60_000 * E8 + 40 * TICK)]


def test_grid_side_stops_at_max_position_from_fills():
    strat, eng, sent = grid()
    eng.on_md(quote(1, 60_000 * E8, E8, 60_000 * E8 + TICK, E8)[0])
    bids = [r[0] for r in sent if r[0]["side"] == O.BUY]
    for o in bids:  # both bids fill: long 0.002 = max_position
        f = np.zeros(1, F.DTYPE)[0]
        f["order_id"], f["strategy_id"], f["symbol_id"], f["side"] = o["order_id"], 1, 0, O.BUY
        f["exec_type"], f["state"], f["last_qty_e8"], f["last_px_e8"] = F.EX_TRADE, F.ST_FILLED, 100_000, o["price_e8"]
        eng.on_fill(f)
    assert strat.position[0] == 200_000
    sent.clear()
    eng.on_md(quote(2, 60_000 * E8, E8, 60_000 * E8 + TICK, 2 * E8)[0])
    assert all(r[0]["side"] == O.SELL for r in sent if r[0]["action"] == O.NEW)


@pytest.mark.parametrize("key,value", [("levels", 0), ("step_ticks", 1.5), ("tick", "abc")])
def test_grid_params_are_checked(key, value):
    from hftshm.trading.builtins import check_params

    with pytest.raises(ValueError, match=key):
        check_params("grid", {"name": "g", "kind": "grid", key: value})


# --- import --------------------------------------------------------------------------------------

def test_usdm_frames_go_through_the_live_usdm_normalizer(tmp_path):
    """Futures bookTicker (with e/E/T) and depthUpdate chained by pu, plus a REST snapshot: the
    records the live USD-M ingest publishes (a quote carries E and T)."""
    lines = [
        b'100 {"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1000,"T":999,"s":"BTCUSDT",'
        b'"U":50,"u":60,"pu":45,"b":[["100.0","1.000"]],"a":[["100.5","2.000"]]}}',
        b'110 {"lastUpdateId":55,"E":1001,"T":1000,"bids":[["100.0","3.000"]],"asks":[["100.5","4.000"]]}',
        b'120 {"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1002,"T":1001,"s":"BTCUSDT",'
        b'"U":63,"u":70,"pu":60,"b":[["100.0","1.500"]],"a":[]}}',
        b'130 {"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":71,"s":"BTCUSDT","b":"100.0",'
        b'"B":"1.500","a":"100.5","A":"2.000","T":1002,"E":1003}}',
        b'140 {"stream":"btcusdt@trade","data":{"e":"trade","E":1004,"T":1003,"s":"BTCUSDT","t":9,'
        b'"p":"100.5","q":"0.010","X":"MARKET","m":false}}',
    ]
    cap = tmp_path / "f.capture.gz"
    with gzip.open(cap, "wb") as f:
        f.write(b"\n".join(lines) + b"\n")
    info = import_capture(cap, tmp_path / "md", ["btcusdt"])
    assert info["venue"] == "usdm" and info["snapshots"] == 1
    assert info["counters"].get("book_resets", 0) == 1 and "stale_depth_events" not in info["counters"]
    _, recs = files.load_ring(tmp_path / "md")
    assert (recs["seq"] == np.arange(1, len(recs) + 1)).all()
    assert (recs["venue"] == M.VENUE_CODES["binance_usdm"]).all()  # as live ingest's records
    quotes = recs[(recs["kind"] == M.QUOTE) & ((recs["flags"] & M.F_FROM_BOOK) == 0)]
    assert len(quotes) == 1 and quotes[0]["exch_ns"] == 1003 * 1_000_000 and quotes[0]["qty_e8"] == 150_000_000
    assert quotes[0]["txn_ns"] == 1002 * 1_000_000
    # the second diff (pu == previous u) applied: its bid level is in the journal, not a gap
    levels = recs[(recs["kind"] == M.LEVEL) & ((recs["flags"] & M.F_SNAPSHOT) == 0)]
    assert [(int(r["price_e8"]), int(r["qty_e8"])) for r in levels][-1] == (100 * E8, 150_000_000)
    trades = recs[recs["kind"] == M.TRADE]
    assert len(trades) == 1 and trades[0]["side"] == M.BUY


def test_usdm_import_with_the_short_decimal_path_equals_the_general_parser(tmp_path, monkeypatch):
    """The import's short path for USD-M's shorter decimals (shared with live) gives the journal
    the general parser gives, record for record."""
    from hftshm.feed import e8

    frames = [b'100 {"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1000,"T":999,"s":"BTCUSDT",'
              b'"U":50,"u":60,"pu":45,"b":[["58123.4","1.002"],["58123.3","0.5"]],"a":[["58123.5","2.1"]]}}',
              b'110 {"lastUpdateId":55,"E":1001,"T":1000,"bids":[["58123.4","3.000"],["58120.10","0.007"]],'
              b'"asks":[["58123.5","4.25"]]}']
    for i in range(40):
        frames.append(b'%d {"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":%d,"T":1,"s":"BTCUSDT",'
                      b'"U":%d,"u":%d,"pu":%d,"b":[["58123.%d","0.%03d"]],"a":[["5813%d.5","%d.1"]]}}'
                      % (120 + i, 1002 + i, 61 + i, 61 + i, 60 + i, i % 10, i, i % 10, i))
        frames.append(b'%d {"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":%d,"s":"BTCUSDT",'
                      b'"b":"58123.%d","B":"1.5","a":"58124.%d0","A":"0.00%d","T":1,"E":%d}}'
                      % (121 + i, 61 + i, i % 10, i % 10, i % 9 + 1, 1003 + i))
    cap = tmp_path / "f.capture.gz"
    with gzip.open(cap, "wb") as f:
        f.write(b"\n".join(frames) + b"\n")
    import_capture(cap, tmp_path / "short", ["btcusdt"])
    monkeypatch.setattr(e8, "_parse_short", e8._parse_general)
    import_capture(cap, tmp_path / "general", ["btcusdt"])
    _, a = files.load_ring(tmp_path / "short")
    _, b = files.load_ring(tmp_path / "general")
    assert (a["kind"] == M.LEVEL).sum() > 10 and (a["kind"] == M.QUOTE).sum() > 10
    assert a.tobytes() == b.tobytes()


def test_import_of_a_bad_capture_names_the_line(tmp_path):
    cap = tmp_path / "bad.capture"
    cap.write_bytes(b"123 {}\nnot-a-line\n")
    with pytest.raises(ValueError, match=r"bad.capture:2: expected '<recv_ns> <frame>'"):
        import_capture(cap, tmp_path / "md", ["btcusdt"])


def test_import_takes_the_captures_own_symbols_and_refuses_absent_ones(tmp_path):
    """No --symbols: every symbol the capture streams, in order of first frame. A symbol asked for
    that the capture gives no record of is refused by name, and the files written are removed
    (it used to give a journal without it, empty if it was the only one, and exit 0)."""
    from typer.testing import CliRunner

    from cli import app
    from hftshm.journal.capture_import import capture_symbols

    q = ('%d {"stream":"%s@bookTicker","data":{"u":%d,"s":"%s","b":"0.52340000","B":"10.00000000",'
         '"a":"0.52350000","A":"20.00000000"}}')
    cap = tmp_path / "two.capture"
    cap.write_text("\n".join(q % (100 + i, s, i, s.upper()) for i, s in enumerate(["xrpusdt", "adausdt", "xrpusdt"]))
                   + "\n")
    assert capture_symbols(cap) == ["xrpusdt", "adausdt"]
    info = import_capture(cap, tmp_path / "all")
    _, recs = files.load_ring(tmp_path / "all")
    assert info["records"] == 3 and sorted(set(recs["symbol_id"].tolist())) == [0, 1]
    assert files.read_meta(files.ring_files(tmp_path / "all")[0])["symbols"] == ["xrpusdt", "adausdt"]
    for asked in ("btcusdt", "xrpusdt,btcusdt"):
        res = CliRunner().invoke(app, ["journal", "import", str(cap), "--out", str(tmp_path / "btc"), "--symbols", asked])
        assert res.exit_code == 2
        assert "has no records of btcusdt; its symbols: xrpusdt, adausdt" in res.output
        assert not (tmp_path / "btc").exists()
    (tmp_path / "kept").mkdir()  # a directory that was there stays, empty
    with pytest.raises(ValueError, match="no records of ethusdt"):
        import_capture(cap, tmp_path / "kept", ["ethusdt"])
    assert list((tmp_path / "kept").iterdir()) == []
    assert import_capture(cap, tmp_path / "one", ["adausdt"])["records"] == 1  # a subset, by name
