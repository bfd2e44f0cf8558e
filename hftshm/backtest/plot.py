"""The picture of a run: one PNG, three panels sharing the time axis: the mid with the fills
(buys ^, sells v), the position, and the equity (net PnL). matplotlib is an optional extra
(``pip install 'hftshm[plot]'``); without it ``draw`` says how to get it and draws nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..layouts import exec_report as F
from ..layouts import order as O
from .stats import equity_total

HOW = "no picture: matplotlib is not installed (pip install 'hftshm[plot]')"


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def draw(path: Path, curve: np.ndarray, fills: np.ndarray, symbols: list[str], symbol_id: int = 0) -> str | None:
    """Write the PNG; returns None, or why there is no picture."""
    if not available():
        return HOW
    import matplotlib

    matplotlib.use("Agg")  # files only: never a window
    import matplotlib.pyplot as plt

    rows = curve[curve["symbol_id"] == symbol_id]
    t0 = int(rows["time_ns"][0]) if len(rows) else 0
    sec = lambda ns: (np.asarray(ns, np.int64) - t0) / 1e9  # noqa: E731
    fig, (ax_px, ax_pos, ax_eq) = plt.subplots(3, 1, sharex=True, figsize=(11, 8))
    has_mid = rows["mid_e8"] > 0
    ax_px.plot(sec(rows["time_ns"][has_mid]), rows["mid_e8"][has_mid] / 1e8, lw=0.8, color="0.3", label="mid")
    trades = fills[(fills["exec_type"] == F.EX_TRADE) & (fills["symbol_id"] == symbol_id)]
    for side, marker, color in ((O.BUY, "^", "tab:green"), (O.SELL, "v", "tab:red")):
        f = trades[trades["side"] == side]
        ax_px.scatter(sec(f["venue_ns"]), f["last_px_e8"] / 1e8, marker=marker, s=14, color=color,
                      label=f"{O.SIDE_NAMES[side].lower()} fills ({len(f)})")
    name = symbols[symbol_id] if symbol_id < len(symbols) else f"#{symbol_id}"
    ax_px.set_ylabel(f"{name} price")
    ax_px.legend(loc="upper left", fontsize=8)
    ax_pos.step(sec(rows["time_ns"]), rows["position_e8"] / 1e8, where="post", lw=0.8)
    ax_pos.set_ylabel("position")
    times, equity = equity_total(curve)
    ax_eq.plot(sec(times), equity, lw=0.8, color="tab:blue")
    ax_eq.set_ylabel("equity (net PnL)")
    ax_eq.set_xlabel("seconds from the start")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
