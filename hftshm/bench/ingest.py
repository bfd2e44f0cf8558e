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

``venue``: ``binance_spot`` (the Spot capture) or ``binance_usdm`` (the USD-M capture, its
frames on the routed ``/public`` path, the USD-M normalizer). USD-M adds the kind ``capture``:
the whole real recording once, as recorded (trade, bookTicker and ``depth@0ms`` diffs, the
recorded snapshot handed in when the book first asks), with ``lost`` = the records the
normalizer makes of the file directly minus those published; its latency is one pass over the
file in order (a book cannot take the same diffs twice).

``bybit_spot``, ``bybit_linear``, ``okx``: no recording exists; the simulator's synthetic Bybit v5
/ OKX v5 streams (hftshm/exchange/inband.py) at ``rate=0`` (as fast as the client reads, one
topic per connection: its snapshot, then updates with the venue's restarts and re-sends); for
latency, frames made by the same generator. The simulator makes each frame in Python (orjson),
so it may bound the throughput figure: compare ``frames-only``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
import websockets

from .. import venues
from ..exchange.loaded_capture import Capture, Frame
from ..feed.capture import UNREADABLE
from ..feed.pipeline import FeedPipeline
from ..feed.wsconn import factory
from ..layouts import md
from ..ring import BroadcastRing
from .ingest_capture import CAPTURE, KINDS, USDM_CAPTURE, templates, write_capture
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
    venue: str = "binance_spot"  # or "binance_usdm"
    capture: str | None = None  # a capture of the Binance venue's frames (None: the vendored one)


VENUE_KINDS = {"binance_spot": ("bookTicker", "trade"), "binance_usdm": ("bookTicker", "trade", "capture"),
               # synthetic (hftshm/exchange/inband.py): kinds are the venues' topics
               "bybit_spot": ("publicTrade", "orderbook.1", "orderbook.50"),
               "bybit_linear": ("publicTrade", "orderbook.50", "tickers"),
               "okx": ("trades", "bbo-tbt", "books")}
INBAND = {"bybit_spot": "/v5/public/spot", "bybit_linear": "/v5/public/linear", "okx": "/ws/v5/public"}
_CAPTURES = {"binance_spot": CAPTURE, "binance_usdm": USDM_CAPTURE}


def source(opts: Options) -> tuple[Path | None, Capture | None, str]:
    """The capture the Binance venues' paths replay (its path, and as the simulator loads it), and
    the symbol measured (upper case): the first one it streams. ValueError for a USD-M capture
    under --venue binance_spot, or one that cannot be read."""
    if opts.venue not in _CAPTURES:
        if opts.capture:
            raise ValueError(f"--capture: {opts.venue} has no recording format here; its streams are the "
                             "simulator's synthetic ones")
        return None, None, "BTCUSDT"
    path = Path(opts.capture) if opts.capture else _CAPTURES[opts.venue]
    if not path.is_file():
        raise ValueError(f"capture {path} does not exist")
    try:
        cap = Capture.load(path)
    except (OSError, *UNREADABLE) as exc:
        raise ValueError(f"capture {path}: cannot read it: {exc}") from None
    if opts.venue == "binance_spot" and cap.venue == "binance_usdm":  # (a Spot capture may look like either)
        raise ValueError(f"capture {path} holds Binance USD-M frames: give --venue binance_usdm")
    return path, cap, cap.symbols[0].upper()


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
    from ..launch.simulator import SimProcess
    from ..runtime.config import SimConfig

    sim = SimProcess.start(None, SimConfig(replay=str(capture), speed="max"), tmp)
    return sim.proc, sim.port


def _inband_sim(tmp: Path) -> tuple[subprocess.Popen, int]:
    from ..launch.simulator import SimProcess
    from ..runtime.config import SimConfig

    sim = SimProcess.start(["btcusdt"], SimConfig(), tmp)  # its Bybit/OKX paths serve synthetic streams
    return sim.proc, sim.port


def _inband_subscribe(venue: str, kind: str) -> bytes:
    (conn,) = venues.get(venue).connections("ws://x", ["btcusdt"], [kind])
    (msg,) = conn.subscribe_messages(conn.subscribe)
    return msg


def _inband_frames(venue: str, kind: str, n: int = 20000) -> list[bytes]:
    """``n`` frames of one topic from the simulator's generator (its snapshot first)."""
    from ..exchange.inband import InbandOptions, InbandSession

    session = InbandSession(venue, InbandOptions(), {"BTCUSDT"})
    session.handle(_inband_subscribe(venue, kind))
    return session.next_messages(n)


async def _receive(url: str, mode: str, sink_obj, expected: int, send: bytes = b"") -> None:
    if mode == "websockets-recv":
        async with websockets.connect(url, compression=None, max_size=1 << 20, ping_interval=None) as ws:
            if send:
                await ws.send(send.decode())
            while sink_obj.messages < expected:
                await ws.recv(decode=False)
                sink_obj.sink((None,), 0)
        return
    make = factory(sink_obj.sink, fast=mode != "pipeline-ws")
    async with websockets.connect(url, create_connection=make, compression=None, max_size=1 << 20,
                                  ping_interval=None) as ws:
        if send:
            await ws.send(send.decode())
        while sink_obj.messages < expected:
            await asyncio.wait([asyncio.ensure_future(ws.wait_closed())], timeout=0.05)
            if ws.state.name == "CLOSED":
                break


def symbol_frames(cap: Capture, symbol: str) -> list[Frame]:
    """The capture's frames of ``symbol``, in file order."""
    prefix = symbol.lower() + "@"
    return [f for f in cap.frames if f.stream.startswith(prefix)]


def _recorded_snapshot(cap: Capture, symbol: str) -> dict:
    """The symbol's depth snapshot, as the simulator's replay answers with it (loaded_capture.py:
    a snapshot line belongs to the symbol of the next depth update in the file)."""
    snap = cap.snapshots.get(symbol.lower())
    if snap is None:
        raise ValueError(f"the capture has no depth snapshot of {symbol.lower()}")
    return snap


def _direct_records(venue: str, cap: Capture, symbol: str) -> int:
    """What the normalizer makes of the symbol's frames itself, the snapshot handed in when its
    book asks (as the pipeline measured hands it in): the records a lossless run publishes."""
    norm = venues.get(venue).normalizer({symbol: 0})
    n = 0
    for f in symbol_frames(cap, symbol):
        n += len(norm.normalize(f.combined, f.recv_ns))
        if norm.wants_snapshot():
            n += len(norm.apply_snapshot(symbol, _recorded_snapshot(cap, symbol), f.recv_ns))
    return n


def throughput(port: int, kind: str, mode: str, expected: int, ring, venue: str = "binance_spot",
               cap: Capture | None = None, symbol: str = "BTCUSDT") -> dict:
    usdm = venue == "binance_usdm"
    root = "/public" if usdm else ""
    if kind == "capture":  # every stream of the symbol the recording has
        streams = "/".join(dict.fromkeys(f.stream for f in symbol_frames(cap, symbol)))
    else:
        streams = f"{symbol.lower()}@{kind}"
    url = f"ws://127.0.0.1:{port}{root}/stream?streams={streams}"
    send = b""
    if venue in INBAND:  # the synthetic stream: one topic, ``expected`` messages, unpaced
        url = f"ws://127.0.0.1:{port}{INBAND[venue]}?rate=0&count={expected}"
        send = _inband_subscribe(venue, kind)
    if mode.startswith("pipeline"):
        pub = ring.publisher(stamp=_stamp(venue))
        pipeline = FeedPipeline(venues.get(venue).normalizer({symbol: 0}), pub)
        if kind == "capture":  # the recorded snapshot, handed in when the book asks (no API here)
            snap = _recorded_snapshot(cap, symbol)

            def hand_in():
                pipeline.apply_snapshot(symbol, snap, time.time_ns())

            pipeline.on_wants_snapshot = hand_in
        sink_obj = _TimedPipeline(pipeline)
    else:
        pub = None
        sink_obj = _Counter()
    gc_was = gc.isenabled()
    gc.disable()  # as the worker could: the pipeline allocates no cycles
    try:
        asyncio.run(_receive(url, mode, sink_obj, expected, send))
    finally:
        if gc_was:
            gc.enable()
        if pub is not None:
            pub.close()
    wall = sink_obj.last - sink_obj.first
    cpu = sink_obj.cpu_last - sink_obj.cpu_first
    row = {"venue": venue, "kind": kind, "mode": mode, "messages": sink_obj.messages,
           "msgs_per_s": round(sink_obj.messages / wall) if wall > 0 else None,
           "cpu_pct": round(100 * cpu / wall, 1) if wall > 0 else None}
    if mode.startswith("pipeline"):
        p = sink_obj.pipeline
        c = p.normalizer.counters
        row["records"] = p.records
        row["skipped"] = c.malformed_json + c.bad_fields + c.unknown_events + c.unknown_symbols
        row["gaps"] = c.trade_id_gaps + c.depth_gaps
    return row


def _stamp(venue: str) -> dict:
    """The publisher's stamp that live ingest uses (workers/ingest.py): the venue of every record."""
    return {"venue": md.VENUE_CODES[venues.get(venue).kind]}


def decode_latency(kind: str, ring, passes: int, venue: str = "binance_spot", capture: Path | None = None,
                   symbol: str = "BTCUSDT", cap: Capture | None = None) -> dict:
    norm = venues.get(venue).normalizer({symbol: 0})
    if venue in INBAND:
        frames = _inband_frames(venue, kind)
    elif kind == "capture":
        frames = [f.combined for f in symbol_frames(cap, symbol)]
        passes = 1
    else:
        frames = [orjson.dumps(env) for env in templates(kind, capture, symbol)]
    pub = ring.publisher(stamp=_stamp(venue))
    normalize, publish, publish_batch, now = norm.normalize, pub.publish, pub.publish_batch, time.perf_counter_ns
    samples = []
    append = samples.append
    gc.disable()
    try:
        for _ in range(passes):
            for f in frames:
                t0 = now()
                recs = normalize(f, 1)
                if len(recs) == 1:
                    publish(recs)
                elif len(recs):
                    publish_batch(recs)
                append(now() - t0)
                if kind == "capture" and norm.wants_snapshot():  # handed in untimed: not a stream message
                    publish_batch(norm.apply_snapshot(symbol, _recorded_snapshot(cap, symbol), 1))
        timer = []
        for _ in range(20000):
            t0 = now()
            timer.append(now() - t0)
    finally:
        gc.enable()
        pub.close()
    row = {"venue": venue, "kind": kind, "mode": "decode+normalize+publish", "messages": len(samples)}
    row.update(latency_summary(samples))
    row["timer_ns"] = int(sorted(timer)[len(timer) // 2])
    return row


def run(opts: Options, report=None) -> dict:
    rows = []
    venue = opts.venue
    venues.get(venue)  # KeyError naming the known ones
    bad = [k for k in opts.kinds if k not in VENUE_KINDS[venue]]
    if bad:
        raise ValueError(f"kind {bad[0]!r} is not measured for {venue}: {', '.join(VENUE_KINDS[venue])}")
    capture_src, cap, symbol = source(opts)
    instance = f"benchingest{int(time.time() * 1000) % 10**9}"
    ring = BroadcastRing.create(instance, "md", md.LAYOUT, 1 << 16, policy="overwrite", symbols=[symbol])

    def measured(row):
        rows.append(row)
        if report:
            report(row)

    try:
        with tempfile.TemporaryDirectory(prefix="hftshm-bench-ingest-") as tmp:
            tmp = Path(tmp)
            synthetic = [k for k in opts.kinds if k != "capture"]
            if venue in INBAND:
                proc, port = _inband_sim(tmp)
                try:
                    for kind in synthetic:
                        for mode in opts.modes:
                            measured(throughput(port, kind, mode, opts.messages, ring, venue))
                finally:
                    proc.terminate()
                    proc.wait(30)
                synthetic = []
            if synthetic:
                capture = write_capture(tmp / "long.capture", synthetic, opts.messages, capture_src, symbol)
                proc, port = _start_simulator(capture, tmp)
                try:
                    for kind in synthetic:
                        for mode in opts.modes:
                            measured(throughput(port, kind, mode, opts.messages, ring, venue, cap, symbol))
                finally:
                    proc.terminate()
                    proc.wait(30)
            if "capture" in opts.kinds:
                lines = len(symbol_frames(cap, symbol))
                direct = _direct_records(venue, cap, symbol)
                (tmp / "port").unlink(missing_ok=True)
                proc, port = _start_simulator(capture_src, tmp)
                try:
                    for mode in opts.modes:
                        row = throughput(port, "capture", mode, lines, ring, venue, cap, symbol)
                        if "records" in row:
                            row["lost"] = direct - row["records"]
                        measured(row)
                finally:
                    proc.terminate()
                    proc.wait(30)
        for kind in opts.kinds:
            measured(decode_latency(kind, ring, opts.latency_passes, venue, capture_src, symbol, cap))
    finally:
        ring.close()
        ring.unlink()
    return {"machine": machine(), "options": {**vars(opts), "kinds": list(opts.kinds), "modes": list(opts.modes)},
            "capture": None if capture_src is None else str(capture_src), "symbol": symbol, "results": rows}


def write_json(result: dict, path) -> None:
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")


__all__ = ["FIELDS", "KINDS", "MODES", "VENUE_KINDS", "Options", "run", "write_json"]
