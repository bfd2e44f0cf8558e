"""Helpers for the backtest tests: md journals from literal records, configs, runs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np

from hftshm.backtest import config as C
from hftshm.backtest.run import run
from hftshm.journal.writer import RingJournal
from hftshm.layouts import md as M

HERE = Path(__file__).resolve().parent
CAPTURE = HERE.parent / "data" / "btcusdt_spot_20240808.capture.gz"
E8 = M.E8
T0 = 1_723_161_254_000_000_000
WIDE_RISK = {"max_order_qty": 10, "max_order_notional": 10_000_000, "max_position": 100,
             "max_gross_exposure": 100_000_000, "price_band_bps": 1000, "max_orders_per_s": 60,
             "max_orders_per_s_total": 1000}


def quote(t_ns, bid, bid_qty, ask, ask_qty, exch_ns=0, symbol=0):
    r = np.zeros(1, M.DTYPE)
    r["kind"], r["symbol_id"], r["recv_ns"], r["exch_ns"] = M.QUOTE, symbol, t_ns, exch_ns
    r["price_e8"], r["qty_e8"], r["price2_e8"], r["qty2_e8"] = bid, bid_qty, ask, ask_qty
    r["price"], r["qty"], r["price2"], r["qty2"] = bid / E8, bid_qty / E8, ask / E8, ask_qty / E8
    return r


def trade(t_ns, px, qty, aggressor, exch_ns=0, symbol=0):
    r = np.zeros(1, M.DTYPE)
    r["kind"], r["symbol_id"], r["recv_ns"], r["exch_ns"], r["side"] = M.TRADE, symbol, t_ns, exch_ns, aggressor
    r["price_e8"], r["qty_e8"], r["price"], r["qty"] = px, qty, px / E8, qty / E8
    return r


def write_md(directory: Path, records: np.ndarray, symbols=("btcusdt",), publish_ns=None) -> Path:
    """``publish_ns``: per record (default: its ``recv_ns``, as an import writes)."""
    out = np.zeros(len(records), M.DTYPE)
    out[:] = records
    out["seq"] = np.arange(1, len(out) + 1)
    out["publish_ns"] = out["recv_ns"] if publish_ns is None else publish_ns
    j = RingJournal(directory, SimpleNamespace(name="md", layout=M.LAYOUT, symbols=list(symbols)), "test", 1 << 30)
    if len(out):
        j.write(out)
    else:
        j._open(1)  # a header and no records
    j.close()
    return directory


def cfg(strategies, journal_symbols=("btcusdt",), risk=None, **backtest) -> C.BacktestConfig:
    return C.from_dict({"strategies": strategies, "risk": dict(WIDE_RISK if risk is None else risk),
                        "backtest": backtest}, list(journal_symbols))


def backtest(journal, strategies, run_dir=None, **kw):
    return run(journal, run_dir, cfg=cfg(strategies, **kw))
