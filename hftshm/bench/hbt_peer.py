"""The hftbacktest peer of ``hftshm bench backtest``: run by the peer's own Python (a virtualenv
with ``hftbacktest`` installed; its numpy pin differs from hftshm's), never imported by hftshm.

    PEER_PYTHON hbt_peer.py CAPTURE RUNS TICK LOT QTY MAX_POSITION  ->  one JSON object on stdout

It converts the capture with hftbacktest's own Binance futures converter (timed), then runs a
grid market maker comparable to hftshm's built-in ``grid`` (10 post-only levels a side, 10 ticks
apart, the first 10 ticks from the mid, QTY each, |position| up to MAX_POSITION, on the TICK and
LOT hftshm's grid uses: 0.1, 0.001, 0.002, 0.02 on the shared capture; reacting to every
feed event and order response) with the probabilistic power-3 queue model, a constant 500 us
entry and response latency, no partial fills, maker 2 / taker 5 bps. The first run includes
numba's compilation of the strategy; the warm runs do not.
"""

import json
import sys
import tempfile
import time

import numpy as np
from numba import njit

from hftbacktest import GTX, LIMIT, BacktestAsset, HashMapMarketDepthBacktest
from hftbacktest.data.utils import binancefutures

LEVELS, STEP, SPACING = 10, 10, 10


@njit
def grid(hbt, levels, step, spacing, qty, max_pos):
    depth = hbt.depth(0)
    tick = depth.tick_size
    events = 0
    last_bid = -1
    last_ask = -1
    while True:
        r = hbt.wait_next_feed(True, 1_000_000_000_000)
        if r == 1:
            break
        events += 1
        depth = hbt.depth(0)
        bb, ba = depth.best_bid_tick, depth.best_ask_tick
        if bb <= 0 or ba <= bb or ba > 1 << 40:
            continue
        unit = step
        mid2 = bb + ba
        first_bid = (mid2 - 2 * spacing) // (2 * unit) * unit
        first_ask = -((-(mid2 + 2 * spacing)) // (2 * unit)) * unit
        if first_bid == last_bid and first_ask == last_ask and r == 2:
            continue
        last_bid, last_ask = first_bid, first_ask
        hbt.clear_inactive_orders(0)
        pos = hbt.position(0)
        orders = hbt.orders(0)
        # cancel what is off the grid
        values = orders.values()
        while values.has_next():
            o = values.get()
            if not o.cancellable:
                continue
            pt = o.price_tick
            if o.side == 1:
                off = pt > first_bid or pt <= first_bid - levels * unit or (pt - first_bid) % unit != 0
            else:
                off = pt < first_ask or pt >= first_ask + levels * unit or (pt - first_ask) % unit != 0
            if off:
                hbt.cancel(0, o.order_id, False)
        open_buy = 0.0
        open_sell = 0.0
        for i in range(levels):
            px = first_bid - i * unit
            oid = np.uint64(px) * 2
            if oid in orders:
                open_buy += qty
                continue
            if pos + open_buy + qty > max_pos + 1e-12:
                continue
            hbt.submit_buy_order(0, oid, px * tick, qty, GTX, LIMIT, False)
            open_buy += qty
        for i in range(levels):
            px = first_ask + i * unit
            oid = np.uint64(px) * 2 + 1
            if oid in orders:
                open_sell += qty
                continue
            if -(pos - open_sell - qty) > max_pos + 1e-12:
                continue
            hbt.submit_sell_order(0, oid, px * tick, qty, GTX, LIMIT, False)
            open_sell += qty
    return events


def make(data, tick, lot):
    asset = (BacktestAsset().data([data]).linear_asset(1.0).constant_order_latency(500_000, 500_000)
             .power_prob_queue_model(3.0).no_partial_fill_exchange().trading_value_fee_model(0.0002, 0.0005)
             .tick_size(tick).lot_size(lot).last_trades_capacity(0))
    return HashMapMarketDepthBacktest([asset])


def main():
    capture, runs = sys.argv[1], int(sys.argv[2])
    tick, lot, qty, max_pos = (float(a) for a in sys.argv[3:7])
    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        data = binancefutures.convert(capture, output_filename=f"{tmp}/d.npz", combined_stream=True)
        t1, c1 = time.perf_counter(), time.process_time()
        hbt = make(data, tick, lot)
        grid(hbt, LEVELS, STEP, SPACING, qty, max_pos)
        hbt.close()
        t2, c2 = time.perf_counter(), time.process_time()
        warm = []
        for _ in range(runs):
            hbt = make(data, tick, lot)
            s, c = time.perf_counter(), time.process_time()
            events = grid(hbt, LEVELS, STEP, SPACING, qty, max_pos)
            warm.append({"s": time.perf_counter() - s, "cpu_s": time.process_time() - c, "loop_events": int(events)})
            hbt.close()
    n = len(data)
    walls = sorted(w["s"] for w in warm)
    cpus = sorted(w["cpu_s"] for w in warm)
    print(json.dumps({
        "events": n, "convert_s": t1 - t0, "convert_cpu_s": c1 - c0, "first_run_s": t2 - t1,
        "first_run_cpu_s": c2 - c1, "capture_to_result_s": t2 - t0, "capture_to_result_cpu_s": c2 - c0,
        "warm_events_per_s": n / walls[len(walls) // 2], "warm_events_per_cpu_s": n / cpus[len(cpus) // 2],
        "warm_runs": warm,
    }))


if __name__ == "__main__":
    main()
