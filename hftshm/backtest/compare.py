"""``hftshm backtest --compare-live RUN_DIR``: backtest a live run's own md journal with the latency
recorded in that run, and compare the backtest's orders and fills with the live ones.

Orders are matched per strategy by sequence: the k-th new order of a strategy live against its
k-th in the backtest (order ids differ: a live counter survives restarts). A live fill is
reproduced when the backtest has a fill of the same k-th order with the same side, quantity and
price (each backtest fill matches at most one live fill). ``fill_match_rate_within_md`` (and ``..._by_trigger_within_md``) are the two over the live fills the md journal covers (venue time
no later than its last record's: ``live_fills_after_md_end`` counts the others, matched by the
venue after the ingest stopped). A second measure, ``fill_match_rate_by_trigger``,
matches orders by identity instead (strategy, trigger record, side, price, quantity): after one
order more or less, the sequence measure compares unrelated orders; this one does not. The first divergence is the first k
where the orders differ (side, type, quantity or price) or one side has no k-th order, with the
time and what differs. PnL, for both, is cash plus position at the journal's last mid, fees paid.

The latency is the run's own (``model = "recorded"``), and so are the compute time and the
strategy's busy time unless the config sets ``compute`` or ``busy``; without a config the run's ``config.json`` gives the strategies and risk.
"""

from __future__ import annotations

import copy
import tomllib
from collections import Counter
from pathlib import Path

import numpy as np

from ..journal import files
from ..layouts import exec_report as F
from ..layouts import md as M
from ..layouts import order as O
from . import config as C
from .errors import BacktestError
from .rules import run_rules, with_run_filters
from .run import build, results


def _load(run_dir: Path, ring: str) -> np.ndarray:
    try:
        return files.load_ring(files.ring_dir(run_dir, ring))[1]
    except (FileNotFoundError, ValueError) as exc:
        raise BacktestError(f"--compare-live {run_dir}: {exc}") from None


def _last_mids(md_dir: Path, n: int) -> np.ndarray:
    mids = np.zeros(n, np.int64)
    for p in files.ring_files(md_dir):
        _, recs = files.load(p)
        q = recs[(recs["kind"] == M.QUOTE) & (recs["price_e8"] > 0) & (recs["price2_e8"] >= recs["price_e8"])]
        for s in np.unique(q["symbol_id"]):
            if s < n:
                last = q[q["symbol_id"] == s][-1]
                mids[s] = int(last["price_e8"]) + (int(last["price2_e8"]) - int(last["price_e8"])) // 2
    return mids


def _md_end(md_dir: Path) -> int:
    """The last time the md journal covers: its last record's exchange or receive time."""
    last = files.load(files.ring_files(md_dir)[-1])[1]
    if not len(last):
        return 0
    return int(max(last["exch_ns"].max(), last["recv_ns"].max()))


def pnl(fills: np.ndarray, mids: np.ndarray) -> float:
    t = fills[fills["exec_type"] == F.EX_TRADE]
    signed = np.where(t["side"] == O.BUY, 1.0, -1.0) * t["last_qty_e8"] / 1e8
    cash = -(signed * t["last_px_e8"] / 1e8).sum() - (t["fee_e8"] / 1e8).sum()
    pos = np.zeros(len(mids))
    np.add.at(pos, t["symbol_id"].astype(np.int64), signed)
    return float(cash + (pos * mids / 1e8).sum())


def _sequence(orders: np.ndarray) -> dict[int, list]:
    """strategy id -> its new orders in intent order."""
    out: dict[int, list] = {}
    new = orders[orders["action"] == O.NEW]
    new = new[np.argsort(new["intent_ns"], kind="stable")]
    for o in new:
        out.setdefault(int(o["strategy_id"]), []).append(o)
    return out


def _fills_by_index(fills: np.ndarray, seqs: dict[int, list]) -> Counter:
    index = {int(o["order_id"]): (sid, k) for sid, lst in seqs.items() for k, o in enumerate(lst)}
    out: Counter = Counter()
    for r in fills[fills["exec_type"] == F.EX_TRADE]:
        key = index.get(int(r["order_id"]))
        if key is not None:
            out[(*key, int(r["side"]), int(r["last_qty_e8"]), int(r["last_px_e8"]))] += 1
    return out


def run_config(run_dir: Path) -> dict:
    """The ``[[strategies]]`` and ``[risk]`` of a run directory's own ``config.json`` (written by
    ``hftshm start``): the backtest then runs what live ran."""
    import json

    path = Path(run_dir) / "config.json"
    try:
        live = json.loads(path.read_text())
    except FileNotFoundError:
        raise BacktestError(f"--compare-live {run_dir}: no config.json there (a run directory of `hftshm start`); "
                            "give --config") from None
    except ValueError as exc:
        raise BacktestError(f"{path}: not JSON: {exc}") from None
    return {"strategies": live.get("strategies") or [], "risk": live.get("risk") or {}}


def _fills_by_trigger(fills: np.ndarray, orders: np.ndarray) -> Counter:
    """Fills keyed by their order's identity across runs (strategy, trigger record, side, price,
    quantity) and the fill's side, quantity and price: one order more or less early on does not
    shift every later order, as it does in the sequence measure."""
    new = orders[orders["action"] == O.NEW]
    ident = {int(o["order_id"]): (int(o["strategy_id"]), int(o["trigger_seq"]), int(o["trigger_recv_ns"]),
                                  int(o["side"]), int(o["price_e8"]), int(o["qty_e8"])) for o in new}
    out: Counter = Counter()
    for r in fills[fills["exec_type"] == F.EX_TRADE]:
        key = ident.get(int(r["order_id"]))
        if key is not None:
            out[(*key, int(r["side"]), int(r["last_qty_e8"]), int(r["last_px_e8"]))] += 1
    return out


def compare(run_dir, cfg_path: Path | None, out_dir: Path | None = None) -> dict:
    run_dir = Path(run_dir)
    md_dir = files.ring_dir(run_dir, "md")
    if not md_dir.exists():
        raise BacktestError(f"--compare-live {run_dir}: no md journal at {md_dir} (a run directory of `hftshm start`)")
    data: dict = {}
    if cfg_path is not None:
        try:
            data = tomllib.loads(Path(cfg_path).read_text())
        except FileNotFoundError:
            raise BacktestError(f"config file {cfg_path} does not exist") from None
    else:
        data = run_config(run_dir)
    data = copy.deepcopy(data)
    bt_table = data.setdefault("backtest", {})
    lat = dict(bt_table.get("latency") or {})
    lat.setdefault("compute", "recorded")  # the run's own tick_to_intent, unless the config says otherwise
    lat.setdefault("busy", "recorded")  # the run's own strategy busy time, unless the config says otherwise
    lat.update({"model": "recorded", "run": str(run_dir)})
    bt_table["latency"] = lat
    live_orders, live_fills = _load(run_dir, "orders"), _load(run_dir, "fills")
    meta = files.read_meta(files.ring_files(md_dir)[0])
    with_run_filters(bt_table, run_rules(run_dir), meta["symbols"])
    cfg = C.from_dict(data, [s.lower() for s in meta["symbols"]])
    bt, src, cfg = build(md_dir, cfg=cfg)
    bt.run()
    orders, fills, _ = results(bt)
    if out_dir is not None:
        from . import outputs, stats

        curve = np.array(bt.equity, stats.EQUITY_DTYPE)
        outputs.write_all(Path(out_dir), orders, fills, curve, [s.lower() for s in src.symbols], {"compare_live": True})
    live_seq, bt_seq = _sequence(live_orders), _sequence(orders)
    divergence = None
    matched_orders = 0
    for sid in sorted(set(live_seq) | set(bt_seq)):
        a, b = live_seq.get(sid, []), bt_seq.get(sid, [])
        for k in range(max(len(a), len(b))):
            if k >= len(a) or k >= len(b):
                o = b[k] if k >= len(a) else a[k]
                cause = "only the backtest sent it" if k >= len(a) else "only live sent it"
            else:
                diffs = [f"{f} live {int(a[k][f])} backtest {int(b[k][f])}" for f in ("side", "type", "qty_e8", "price_e8")
                         if int(a[k][f]) != int(b[k][f])]
                if not diffs:
                    matched_orders += 1
                    continue
                o, cause = a[k], "; ".join(diffs)
            if divergence is None or int(o["intent_ns"]) < divergence["time_ns"]:
                divergence = {"strategy_id": sid, "order_index": k, "time_ns": int(o["intent_ns"]), "cause": cause}
            break
    live_f, bt_f = _fills_by_index(live_fills, live_seq), _fills_by_index(fills, bt_seq)
    reproduced = sum(min(n, bt_f[key]) for key, n in live_f.items())
    total = sum(live_f.values())
    live_t, bt_t = _fills_by_trigger(live_fills, live_orders), _fills_by_trigger(fills, orders)
    by_trigger = sum(min(n, bt_t[key]) for key, n in live_t.items())
    # live fills the md journal cannot explain: matched by the venue after the journal's last
    # record (at stop the ingest stops first; the venue and the strategy go on a moment longer)
    md_end = _md_end(md_dir)
    late = live_fills[(live_fills["exec_type"] == F.EX_TRADE) & (live_fills["venue_ns"] > md_end)]
    late_keys = Counter()
    for key, n in _fills_by_index(late, live_seq).items():
        late_keys[key] += n
    covered = total - sum(late_keys.values())
    reproduced_covered = sum(min(n - late_keys[key], bt_f[key]) for key, n in live_f.items() if n > late_keys[key])
    late_t = _fills_by_trigger(late, live_orders)
    by_trigger_covered = sum(min(n - late_t[key], bt_t[key]) for key, n in live_t.items() if n > late_t[key])
    mids = _last_mids(md_dir, len(src.symbols))
    live_pnl, bt_pnl = pnl(live_fills, mids), pnl(fills, mids)
    # (both sides' fills up to the journal's end)
    live_pnl_md = pnl(live_fills[~((live_fills["exec_type"] == F.EX_TRADE) & (live_fills["venue_ns"] > md_end))], mids)
    bt_pnl_md = pnl(fills[~((fills["exec_type"] == F.EX_TRADE) & (fills["venue_ns"] > md_end))], mids)
    return {
        "run_dir": str(run_dir), "latency_samples": bt.lat.samples,
        "live_orders": int(sum(len(v) for v in live_seq.values())),
        "backtest_orders": int(sum(len(v) for v in bt_seq.values())), "orders_matched": matched_orders,
        "live_fills": total, "backtest_fills": int(sum(bt_f.values())), "fills_reproduced": reproduced,
        "fill_match_rate": reproduced / total if total else None,
        "fills_reproduced_by_trigger": by_trigger,
        "fill_match_rate_by_trigger": by_trigger / total if total else None,
        "live_fills_after_md_end": total - covered,
        "fill_match_rate_within_md": reproduced_covered / covered if covered else None,
        "fill_match_rate_by_trigger_within_md": by_trigger_covered / covered if covered else None,
        "first_divergence": divergence, "live_pnl": live_pnl, "backtest_pnl": bt_pnl,
        "pnl_difference": bt_pnl - live_pnl, "pnl_difference_within_md": bt_pnl_md - live_pnl_md, "replayed_rejects": int(getattr(bt.lat, "failures", 0)),
        "busy": None if bt.busy is None else {"record_us": bt.busy.record_ns / 1e3, "intent_us": bt.busy.intent_ns / 1e3,
                                              "wake_us": bt.busy.wake_ns / 1e3,
                                              **bt.busy.fit},
    }
