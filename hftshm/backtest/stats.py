"""Summary statistics of a backtest from its equity curve, orders and fills.

* PnL in quote units: net = cash + position x mid at the end (fees paid); gross = net + fees.
* Sharpe and Sortino of the equity curve's changes over 1 s and 1 min (resampled from the
  curve, last value per bucket), annualized with a 365-day year of 24 h (crypto trades always):
  ``mean / std x sqrt(periods per year)``; Sortino uses the root mean square of the negative
  changes. None when there are fewer than two changes or no variation.
* Max drawdown: the largest fall of equity from a running peak, quote units.
* Turnover: the sum of |price x qty| over fills, quote units.
* Fill ratio: orders with at least one fill / orders the venue accepted.
* Maker share: maker notional / traded notional.
* Tick-to-trade (modelled): venue arrival time minus the trigger record's receive time.
"""

from __future__ import annotations

import math

import numpy as np

from ..layouts import exec_report as F

YEAR_S = 365 * 86_400
EQUITY_DTYPE = np.dtype([("time_ns", "<i8"), ("symbol_id", "<i8"), ("mid_e8", "<i8"), ("position_e8", "<i8"),
                         ("cash", "<f8"), ("fees", "<f8"), ("trades", "<i8")])


def equity_total(curve: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(times, equity summed over symbols) of an equity curve (rows without a mid count their cash)."""
    if not len(curve):
        return np.zeros(0, np.int64), np.zeros(0)
    value = curve["cash"] + curve["position_e8"] / 1e8 * curve["mid_e8"] / 1e8
    times, inv = np.unique(curve["time_ns"], return_inverse=True)
    total = np.zeros(len(times))
    np.add.at(total, inv, value)
    return times, total


def ratios(times: np.ndarray, equity: np.ndarray, period_s: float) -> tuple[float | None, float | None]:
    if len(times) < 2:
        return None, None
    bucket = (times // int(period_s * 1e9)).astype(np.int64)
    last = np.r_[bucket[1:] != bucket[:-1], True]
    series = equity[last]
    d = np.diff(series)
    if len(d) < 2:
        return None, None
    scale = math.sqrt(YEAR_S / period_s)
    sd = float(d.std(ddof=1))
    sharpe = float(d.mean()) / sd * scale if sd > 0 else None
    down = d[d < 0]
    dd = math.sqrt(float((down ** 2).mean())) if len(down) else 0.0
    sortino = float(d.mean()) / dd * scale if dd > 0 else None
    return sharpe, sortino


def summary(curve: np.ndarray, orders: np.ndarray, fills: np.ndarray, tick_to_venue: list[int], maker_ids: set) -> dict:
    times, equity = equity_total(curve)
    out: dict = {}
    net = float(equity[-1]) if len(equity) else 0.0
    fees = 0.0
    if len(curve):
        last_t = curve["time_ns"].max()
        fees = float(curve["fees"][curve["time_ns"] == last_t].sum())
    out["net_pnl"] = net
    out["fees"] = fees
    out["gross_pnl"] = net + fees
    for label, period in (("1s", 1.0), ("1min", 60.0)):
        sharpe, sortino = ratios(times, equity, period)
        out[f"sharpe_{label}"] = sharpe
        out[f"sortino_{label}"] = sortino
    peak = np.maximum.accumulate(equity) if len(equity) else equity
    out["max_drawdown"] = float((peak - equity).max()) if len(equity) else 0.0
    trades = fills[fills["exec_type"] == F.EX_TRADE]
    notional = trades["last_px_e8"] / 1e8 * (trades["last_qty_e8"] / 1e8)
    out["turnover"] = float(notional.sum())
    out["trades"] = int(len(trades))
    new_orders = orders[orders["action"] == 1]
    accepted = new_orders[new_orders["verdict"] == 1]
    out["orders"] = int(len(new_orders))
    out["risk_rejects"] = int(len(new_orders) - len(accepted))
    venue_rejects = fills[(fills["exec_type"] == F.EX_REJECTED) & (fills["reason"] >= 32)]
    out["venue_rejects"] = int(len(venue_rejects))
    filled = np.unique(trades["order_id"])
    out["fill_ratio"] = float(len(filled) / len(accepted)) if len(accepted) else None
    is_maker = np.array([int(t) in maker_ids for t in trades["trade_id"]], bool) if len(trades) else np.zeros(0, bool)
    out["maker_share"] = float(notional[is_maker].sum() / notional.sum()) if notional.sum() > 0 else None
    out["taker_share"] = None if out["maker_share"] is None else 1.0 - out["maker_share"]
    t2t = np.array(tick_to_venue, np.int64)
    for p in (50, 90, 99):
        out[f"tick_to_trade_p{p}_us"] = float(np.percentile(t2t, p) / 1e3) if len(t2t) else None
    out["span_s"] = float((times[-1] - times[0]) / 1e9) if len(times) > 1 else 0.0
    return out
