"""The run directory of a backtest::

    RUN_DIR/journal/orders/orders-000000000000001.hftj   order.v1 records (live layout)
    RUN_DIR/journal/fills/fills-000000000000001.hftj     exec_report.v1 records (live layout)
    RUN_DIR/equity.npy, equity.csv                       the equity curve (stats.EQUITY_DTYPE)
    RUN_DIR/summary.json                                 the result: config, counts, statistics

The journals are the live format (``hftshm.journal``): ``hftshm journal inspect`` and plain
numpy read them. ``seq`` counts from 1; ``publish_ns`` is the local time the record was made
(orders: intent time; fills: when the strategy got the report).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ..journal.writer import RingJournal
from ..layouts import exec_report as F
from ..layouts import order as O
from .stats import EQUITY_DTYPE

ROTATE_BYTES = 1 << 30


def write_journal(run_dir: Path, ring: str, layout, records: np.ndarray, symbols: list[str]) -> Path:
    directory = Path(run_dir) / "journal" / ring
    for old in directory.glob("*.hftj"):
        old.unlink()  # a rerun into the same directory replaces, never appends
    journal = RingJournal(directory, SimpleNamespace(name=ring, layout=layout, symbols=symbols), "backtest",
                          ROTATE_BYTES)
    try:
        if len(records):
            journal.write(records)
        else:
            journal._open(1)  # an empty journal still says what it is
    finally:
        journal.close()
    return directory


def stamp(records: np.ndarray, time_field: str) -> np.ndarray:
    records["seq"] = np.arange(1, len(records) + 1)
    records["publish_ns"] = records[time_field]
    return records


def write_all(run_dir: Path, orders: np.ndarray, fills: np.ndarray, curve: np.ndarray, symbols: list[str],
              summary: dict) -> None:
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_journal(run_dir, "orders", O.LAYOUT, stamp(orders, "intent_ns"), symbols)
    write_journal(run_dir, "fills", F.LAYOUT, stamp(fills, "recv_ns"), symbols)
    np.save(run_dir / "equity.npy", curve.astype(EQUITY_DTYPE))
    with open(run_dir / "equity.csv", "w") as f:
        f.write("time_ns,symbol,mid,position,cash,fees,trades\n")
        for r in curve:
            f.write(f"{r['time_ns']},{symbols[r['symbol_id']]},{r['mid_e8'] / 1e8:.8f},"
                    f"{r['position_e8'] / 1e8:.8f},{r['cash']:.8f},{r['fees']:.8f},{r['trades']}\n")
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
