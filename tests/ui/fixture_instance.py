"""A small live instance for ui tests, built without the supervisor.

``python fixture_instance.py INSTANCE N RATE [CAPACITY]`` (run by the tests as a subprocess)
builds the instance with ``hftshm.launch.instance`` (control block, latency book and an ``md``
ring: overwrite, with symbols), claims an ``ingest`` worker slot for itself and prints ``ready``. After a line on stdin ("go") it publishes
``md_record(i)`` for i in 0..N-1 at RATE/s, then idles; it counts in the worker's counters,
records latency and ticks the book until SIGTERM, then unlinks everything.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import time

import numpy as np

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
STAGES = ("exch_to_recv", "recv_to_publish")
COUNTERS = ("msgs", "reconnects", "depth_gaps", "malformed_json", "connected")
T0 = 1_723_111_200_000_000_000


def md_record(i: int) -> np.ndarray:
    """Record i of the fixture stream: kinds and symbols cycle, prices are exact e8 ints."""
    from hftshm.layouts import md

    rec = md.records(1)
    r = rec[0]
    kind = (md.TRADE, md.QUOTE, md.LEVEL, md.AGG_TRADE)[i % 4]
    r["kind"] = kind
    r["symbol_id"] = i % len(SYMBOLS)
    r["side"] = md.BUY if i % 2 else md.SELL
    r["price_e8"] = 6_183_763_000_000 + i * 1_000_000  # 61837.63 + i * 0.01
    r["qty_e8"] = 123_456 + i  # 0.00123456 + ...
    r["price"] = r["price_e8"] / md.E8
    r["qty"] = r["qty_e8"] / md.E8
    if kind == md.QUOTE:
        r["price2_e8"] = r["price_e8"] + 1_000_000
        r["qty2_e8"] = 5 * md.E8
        r["price2"] = r["price2_e8"] / md.E8
        r["qty2"] = r["qty2_e8"] / md.E8
    r["venue_id"] = 1000 + i
    r["exch_ns"] = T0 + i * 1000
    r["recv_ns"] = T0 + i * 1000 + 500
    return rec


def main(instance: str, n: int, rate: float, capacity: int = 1 << 12) -> None:
    from hftshm import procinfo
    from hftshm.launch.instance import Instance
    from hftshm.runtime import config as config_mod
    from hftshm.runtime import control_layout as C
    from hftshm.runtime import rings
    from hftshm.risk import killswitch

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    run_dir = tempfile.mkdtemp(prefix="hftshm-ui-")
    cfg = config_mod.from_dict({"instance": instance, "data_dir": run_dir, "strategies": [],
                                "venue": {"kind": "sim", "symbols": [s.lower() for s in SYMBOLS]},
                                "rings": {"md": {"capacity": capacity, "policy": "overwrite"}}})
    cfg.rings = {"md": cfg.rings["md"]}
    built = Instance.create(cfg, run_dir, stages=STAGES, latency_period_s=0.25)
    control, book = built.control, built.latency
    killswitch.arm(control)  # as trading.setup does: a fresh block's trading word is unset (halted)
    ring = rings.attach(instance, "md")
    slot = control.claim_worker("ingest", "ingest")
    control.set_worker_field(slot, C.W_PID, os.getpid())
    control.set_worker_field(slot, C.W_TICKS, procinfo.me()[1])
    control.set_counter_names(slot, COUNTERS)
    control.set_worker_field(slot, C.W_STATE, C.W_RUNNING)
    control.set_state(C.RUNNING)
    counters = control.counters(slot)
    counters[COUNTERS.index("connected")] = 1
    pub = ring.publisher()
    rec_a, rec_b = book.recorder(STAGES[0]), book.recorder(STAGES[1])
    print("ready", flush=True)
    sys.stdin.readline()  # "go": the test has attached its gating reader from the oldest record
    period = 1.0 / rate
    next_t = time.monotonic()
    i = 0
    while not stop:
        now = time.monotonic()
        if i < n and now >= next_t:
            pub.publish(md_record(i))
            counters[0] += 1
            rec_a.record(20_000 + (i % 100) * 100)
            rec_b.record(2_000 + (i % 10) * 50)
            i += 1
            next_t += period
            if next_t < now - 0.1:
                next_t = now
            continue
        control.set_worker_field(slot, C.W_HEARTBEAT_NS, time.time_ns())
        book.tick()
        time.sleep(min(0.005, max(0.0, next_t - now)) if i < n else 0.02)
    pub.close()
    ring.close()
    control.set_worker_field(slot, C.W_STATE, C.W_STOPPED)
    control.set_state(C.STOPPED)
    built.close()
    shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), *(int(a) for a in sys.argv[4:5]))
