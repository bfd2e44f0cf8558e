"""``hftshm bench trading``: the whole pipeline against the simulator (ingest -> strategy ->
execution -> venue) at a given market-data rate, reporting the trading latency stages.

Both built-in strategies trade btcusdt with a short cooldown, so orders are frequent enough
to measure; the simulator runs as a child process with its order-rate limit raised, and the
risk limits are raised to match. Measures and reports; asserts nothing.
"""

from __future__ import annotations

import os
import time

from .harness import Harness

STAGES = ("tick_to_intent", "intent_to_verdict", "risk_check", "verdict_to_sent", "tick_to_trade", "sent_to_ack")


def run(seconds: float = 20.0, rate: float = 10_000.0, wait: str = "backoff", cooldown_ms: int = 20,
        warmup_s: float = 5.0):
    cd = {"cooldown_ms": cooldown_ms, "symbols": ["btcusdt"]}
    strategies = [{"name": "mom", "kind": "momentum", "short": 5, "long": 20, **cd},
                  {"name": "imb", "kind": "imbalance", "threshold": 0.2, "max_spread_bps": 50,
                   "max_position": "0.05", **cd}]
    risk = {"max_orders_per_s": 64, "max_orders_per_s_total": 1000, "loss_limit": 1e6, "max_position": 10}
    h = Harness(f"bt{os.getpid()}", strategies, risk=risk, sim_rate=rate, orders_per_10s=1_000_000, wait=wait,
                sim_in_thread=False)
    try:
        h.start()
        h.wait_running(list(h.roles), timeout=180)
        end = time.monotonic() + warmup_s + seconds
        while time.monotonic() < end:
            time.sleep(0.5)
            h.latency.tick()
        window = min(seconds, h.latency.max_window_s)
        yield f"trading pipeline: md {rate:g} msgs/s (simulator), wait {wait}, {window:g} s window after {warmup_s:g} s warm-up"
        yield f"{'stage':18} {'count':>7} {'p50 us':>9} {'p90 us':>9} {'p99 us':>9} {'max us':>9}"
        for stage in STAGES:
            try:
                s = h.latency.summary(stage, window)
            except Exception:
                continue
            fmt = lambda v: "-" if v is None else f"{v:9.1f}"
            yield f"{stage:18} {s['count']:7d} {fmt(s['p50_us'])} {fmt(s['p90_us'])} {fmt(s['p99_us'])} {fmt(s['max_us'])}"
        ex = h.counters("execution")
        yield f"execution: {ex['sent']} sent, {ex['fills']} fills, {ex['risk_rejects']} risk rejects, " \
              f"{ex['venue_rejects']} venue rejects, {ex['parks']} parks"
        ing = h.counters("ingest")
        yield f"ingest: {ing['records']} md records"
    finally:
        h.stop()
