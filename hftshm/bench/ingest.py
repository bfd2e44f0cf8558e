"""``hftshm bench ingest``: simulator -> websocket -> orjson -> normalizer -> md ring, one core.

Throughput: the simulator (a child process) replays a long capture of one message kind at
``--speed max`` (flow-controlled: it sends as fast as the client reads), and this process
receives, decodes, normalizes and publishes every message into a private ``md`` ring, as the
ingest worker does. Rate = messages / time from the first to the last message; ``cpu_pct`` is
this process's CPU over that time. Modes, to show where the time goes:

* ``pipeline``: the worker's path: frames split by ``FrameSplitter``, then the pipeline;
* ``pipeline-ws``: the same, but websockets parses every frame (``frames = "websockets"``);
* ``frames-only``: ``FrameSplitter`` with a sink that only counts (the floor of our path);
* ``websockets-recv``: a plain websockets client, ``await recv()`` per message, nothing else.

Latency: decode (orjson) + normalize + publish per message, each timed alone with a
``perf_counter_ns`` pair (the pair's own cost, ``timer_ns``, is included in every sample), over
the capture's frames of the kind, in a loop of ``latency_passes`` passes (e8 memo warm after the
first, as in a long run).
"""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
import websockets

from ..venues.binance_spot import BinanceSpotNormalizer
from ..feed.pipeline import FeedPipeline
from ..feed.wsconn import factory
from ..layouts import md
from ..ring import BroadcastRing
from .ingest_capture import KINDS, templates, write_capture
from .stats import latency_summary, machine

MODES = ("pipeline", "pipeline-ws", "frames-only", "websockets-recv")
FIELDS = ("kind", "mode", "messages", "msgs_per_s", "cpu_pct", "p50_us", "p90_us", "p99_us", "p999_us",
          "max_us")


@dataclass
class Options:
    messages: int = 300_000  # per kind and mode
    kinds: tuple = ("bookTicker", "trade")
    modes: tuple = MODES
    latency_passes: int = 5


class _Counter:
    """Counts messages; wall and CPU time from the first read to the last."""

    def __init__(self):
        self.messages = 0
        self.first = self.last = 0.0
        self.cpu_first = self.cpu_last = 0.0

    def _stamp(self):
        if not self.messages:
            self.first, self.cpu_first = time.perf_counter(), time.process_time()
        self.last, self.cpu_last = time.perf_counter(), time.process_time()

    def sink(self, messages, recv_ns):
        self._stamp()
        self.messages += len(messages)


class _TimedPipeline(_Counter):
    def __init__(self, pipeline):
        super().__init__()
        self.pipeline = pipeline
        self._on = pipeline.on_messages

    def sink(self, messages, recv_ns):
        if not self.messages:
            self._stamp()
        self._on(messages, recv_ns)
        self.messages += len(messages)
        self._stamp()


def _start_simulator(capture: Path, tmp: Path) -> tuple[subprocess.Popen, int]:
    port_file = tmp / "port"
    proc = subprocess.Popen([sys.executable, "-m", "hftshm.exchange", "--port", "0", "--port-file",
                             str(port_file), "--replay", str(capture), "--speed", "max"],
                            stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not port_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("the simulator did not start")
        time.sleep(0.05)
    return proc, int(port_file.read_text())


async def _receive(url: str, mode: str, sink_obj, expected: int) -> None:
    if mode == "websockets-recv":
        async with websockets.connect(url, compression=None, max_size=1 << 20, ping_interval=None) as ws:
            while sink_obj.messages < expected:
                await ws.recv(decode=False)
                sink_obj.sink((None,), 0)
        return
    make = factory(sink_obj.sink, fast=mode != "pipeline-ws")
    async with websockets.connect(url, create_connection=make, compression=None, max_size=1 << 20,
                                  ping_interval=None) as ws:
        while sink_obj.messages < expected:
            await asyncio.wait([asyncio.ensure_future(ws.wait_closed())], timeout=0.05)
            if ws.state.name == "CLOSED":
                break


def throughput(port: int, kind: str, mode: str, expected: int, ring) -> dict:
    url = f"ws://127.0.0.1:{port}/stream?streams=btcusdt@{kind}"
    if mode.startswith("pipeline"):
        pub = ring.publisher()
        sink_obj = _TimedPipeline(FeedPipeline(BinanceSpotNormalizer({"BTCUSDT": 0}), pub))
    else:
        pub = None
        sink_obj = _Counter()
    gc_was = gc.isenabled()
    gc.disable()  # as the worker could: the pipeline allocates no cycles
    try:
        asyncio.run(_receive(url, mode, sink_obj, expected))
    finally:
        if gc_was:
            gc.enable()
        if pub is not None:
            pub.close()
    wall = sink_obj.last - sink_obj.first
    cpu = sink_obj.cpu_last - sink_obj.cpu_first
    row = {"kind": kind, "mode": mode, "messages": sink_obj.messages,
           "msgs_per_s": round(sink_obj.messages / wall) if wall > 0 else None,
           "cpu_pct": round(100 * cpu / wall, 1) if wall > 0 else None}
    if mode.startswith("pipeline"):
        p = sink_obj.pipeline
        c = p.normalizer.counters
        row["records"] = p.records
        row["skipped"] = c.malformed_json + c.bad_fields + c.unknown_events + c.unknown_symbols
        row["gaps"] = c.trade_id_gaps
    return row


def decode_latency(kind: str, ring, passes: int) -> dict:
    frames = [orjson.dumps(env) for env in templates(kind)]
    norm = BinanceSpotNormalizer({"BTCUSDT": 0})
    pub = ring.publisher()
    normalize, publish, now = norm.normalize, pub.publish, time.perf_counter_ns
    samples = []
    append = samples.append
    gc.disable()
    try:
        for _ in range(passes):
            for f in frames:
                t0 = now()
                publish(normalize(f, 1))
                append(now() - t0)
        timer = []
        for _ in range(20000):
            t0 = now()
            timer.append(now() - t0)
    finally:
        gc.enable()
        pub.close()
    row = {"kind": kind, "mode": "decode+normalize+publish", "messages": len(samples)}
    row.update(latency_summary(samples))
    row["timer_ns"] = int(sorted(timer)[len(timer) // 2])
    return row


def run(opts: Options, report=None) -> dict:
    rows = []
    instance = f"benchingest{int(time.time() * 1000) % 10**9}"
    ring = BroadcastRing.create(instance, "md", md.LAYOUT, 1 << 16, policy="overwrite", symbols=["BTCUSDT"])
    try:
        with tempfile.TemporaryDirectory(prefix="hftshm-bench-ingest-") as tmp:
            tmp = Path(tmp)
            capture = write_capture(tmp / "long.capture", opts.kinds, opts.messages)
            proc, port = _start_simulator(capture, tmp)
            try:
                for kind in opts.kinds:
                    for mode in opts.modes:
                        row = throughput(port, kind, mode, opts.messages, ring)
                        rows.append(row)
                        if report:
                            report(row)
            finally:
                proc.terminate()
                proc.wait(30)
        for kind in opts.kinds:
            row = decode_latency(kind, ring, opts.latency_passes)
            rows.append(row)
            if report:
                report(row)
    finally:
        ring.close()
        ring.unlink()
    return {"machine": machine(), "options": {**vars(opts), "kinds": list(opts.kinds), "modes": list(opts.modes)},
            "results": rows}


def write_json(result: dict, path) -> None:
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")


__all__ = ["FIELDS", "KINDS", "MODES", "Options", "run", "write_json"]
