"""``hftshm bench bridge``: raw JetStream baselines and the bridge against them, in one run.

Baselines (nats-py, this machine's nats-server): publish throughput of 8 KiB messages into a
memory and a file stream; publish -> ordered push consumer latency (two processes) at a paced
rate. The bridge: ring -> JetStream -> ring records/s (a prefilled source md ring, both bridge
workers running, measured on the receiving ring's publish stamps), and the latency a bridge adds,
source ring publish -> remote ring publish, at a paced record rate (memory storage).
Measures and reports; asserts nothing.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..launch.instance import Instance
from ..layouts import md
from ..runtime import config as config_mod
from ..runtime import rings
from ..bench.stats import latency_summary as summary

MSG_BYTES = 8192
WARMUP = 1  # records sent through the bridge before its latency is measured


@dataclass
class Options:
    url: str
    raw_msgs: int = 20_000
    latency_rate: float = 150.0
    latency_seconds: float = 3.0
    records: int = 300_000
    bridge_rate: float = 10_000.0
    bridge_seconds: float = 3.0


# --- raw JetStream ---------------------------------------------------------------------------

async def _stream(js, name, subject, storage):
    from nats.js import api
    try:
        await js.delete_stream(name)
    except Exception:
        pass
    await js.add_stream(api.StreamConfig(name=name, subjects=[subject], max_msgs=1_000_000,
                                         storage=api.StorageType(storage)))


async def _raw_throughput(url, storage, n):
    import nats
    nc = await nats.connect(url)
    js = nc.jetstream(publish_async_max_pending=1024)
    name, subject = f"BENCH_raw_{storage}", f"bench.raw.{storage}"
    await _stream(js, name, subject, storage)
    payload = os.urandom(MSG_BYTES)
    t0 = time.perf_counter()
    futs = []
    for _ in range(n):
        futs.append(await js.publish_async(subject, payload))
    await asyncio.gather(*futs)
    dt = time.perf_counter() - t0
    await js.delete_stream(name)
    await nc.close()
    return {"case": f"raw publish 8 KiB, {storage}", "msgs_per_s": round(n / dt),
            "records_per_s": round(n * 64 / dt)}


def _consumer(url, subject, stream, n, conn, ready):
    import nats

    async def go():
        nc = await nats.connect(url)
        js = nc.jetstream()
        got = []
        done = asyncio.Event()

        async def cb(msg):
            got.append(time.time_ns() - int.from_bytes(msg.data[:8], "little"))
            if len(got) >= n:
                done.set()

        await js.subscribe(subject, stream=stream, ordered_consumer=True, cb=cb)
        ready.set()
        try:
            await asyncio.wait_for(done.wait(), 30 + n / 50)
        except asyncio.TimeoutError:
            pass
        await nc.close()
        conn.send(got)

    asyncio.run(go())


async def _raw_latency(url, storage, rate, seconds):
    import nats
    n = max(10, int(rate * seconds))
    nc = await nats.connect(url)
    js = nc.jetstream()
    name, subject = f"BENCH_lat_{storage}", f"bench.lat.{storage}"
    await _stream(js, name, subject, storage)
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    ready = ctx.Event()
    proc = ctx.Process(target=_consumer, args=(url, subject, name, n, child, ready))
    proc.start()
    await asyncio.get_running_loop().run_in_executor(None, ready.wait, 30)
    body = bytearray(MSG_BYTES)
    start = time.perf_counter()
    for i in range(n):
        target = start + i / rate
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        body[:8] = time.time_ns().to_bytes(8, "little")
        await js.publish_async(subject, bytes(body))
    await js.publish_async_completed()
    samples = await asyncio.get_running_loop().run_in_executor(None, parent.recv)
    proc.join(10)
    await js.delete_stream(name)
    await nc.close()
    s = summary(samples[n // 10:])
    return {"case": f"raw publish -> ordered consumer, {storage}, {rate:,.0f} msgs/s", **s,
            "received": len(samples), "sent": n}


# --- the bridge ----------------------------------------------------------------------------------

class LocalInstance:
    """An instance built by ``hftshm.launch.instance`` (control block, latency book, md ring)
    with one bridge worker."""

    def __init__(self, name: str, run_dir: Path, data: dict):
        data = {"instance": name, "data_dir": str(run_dir), "strategies": [], **data}
        self.cfg = config_mod.from_dict(data)
        self.cfg.rings = {"md": self.cfg.rings["md"]}
        self.name = name
        self.built = Instance.create(self.cfg, run_dir / name)  # its worker logs to <run_dir>/<name>/

    def spawn(self):
        proc = self.built.spawn("bridge", "bridge")
        deadline = time.monotonic() + 60
        while not self.counters().get("connected"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"bridge of {self.name} did not start: {self.built.log('bridge')[-2000:]}")
            time.sleep(0.02)

    def counters(self) -> dict:
        return self.built.counters("bridge")

    def close(self):
        self.built.close()


def _pair(url, tag, storage, tmp):
    src = LocalInstance(f"bb{os.getpid()}{tag}s", tmp, {
        "venue": {"symbols": ["btcusdt"]}, "rings": {"md": {"capacity": 1 << 20}},
        "bridge": {"url": url, "md_out": True, "storage": storage}})
    dst = LocalInstance(f"bb{os.getpid()}{tag}r", tmp, {
        "venue": {"symbols": ["btcusdt"], "kind": "bridge"}, "rings": {"md": {"capacity": 1 << 20}},
        "bridge": {"url": url, "source": src.name}})
    return src, dst


def _records(n):
    r = np.zeros(n, md.DTYPE)
    r["kind"] = md.TRADE
    r["venue_id"] = np.arange(n)
    r["price_e8"] = 6_000_000_000_000 + np.arange(n)
    return r


def _all(instance: str, n: int) -> np.ndarray:
    ring = rings.attach(instance, "md")
    rd = ring.reader(start="oldest")
    parts, have = [], 0
    while have < n:
        b = rd.read_batch(1 << 20, copy=True)
        if not len(b):
            break
        parts.append(b)
        have += len(b)
    rd.close()
    ring.close()
    return np.concatenate(parts) if parts else np.zeros(0, md.DTYPE)


def _wait_published(instance, n, timeout):
    ring = rings.attach(instance, "md")
    deadline = time.monotonic() + timeout
    try:
        while ring.published() < n and time.monotonic() < deadline:
            time.sleep(0.01)
        return ring.published()
    finally:
        ring.close()


def bridge_throughput(url, n, tmp) -> dict:
    src, dst = _pair(url, "t", "memory", tmp)
    try:
        ring = rings.attach(src.name, "md")
        pub = ring.publisher()
        recs = _records(n)
        for i in range(0, n, 65536):
            pub.publish_batch(recs[i:i + 65536])
        pub.close()
        ring.close()
        src.spawn()
        dst.spawn()
        procs = {"md_out": src.built.procs["bridge"].pid, "md_in": dst.built.procs["bridge"].pid,
                 "server": _server_pid(url)}
        before = {k: _schedstat(p) for k, p in procs.items() if p}
        got_n = _wait_published(dst.name, n, 120 + n / 20_000)
        after = {k: _schedstat(procs[k]) for k in before}
        got = _all(dst.name, n)
        ok = len(got) == n and bool((got["seq"] == np.arange(n)).all()) and bool((got["venue_id"] == recs["venue_id"]).all())
        ts = got["publish_ns"].astype(np.int64)
        dt = (ts.max() - ts.min()) / 1e9 if len(ts) > 1 else float("nan")
        return {"case": "bridge ring -> JetStream -> ring, memory", "records_per_s": round((len(got) - 1) / dt) if dt else None,
                "records": int(got_n), "exact": ok, "lost": n - len(got),
                "duplicated": int(len(got) - len(np.unique(got["seq"]))), **_cpu(before, after)}
    finally:
        src.close()
        dst.close()


def _pace(n: int, rate: float):
    """Yield 0..n-1, each at or after its due time (start + i / rate): sleeps, never spins. A
    spinning pacer takes a core's fraction from the bridge's three processes on a small machine;
    one that wakes late sends what is due at once, so the rate holds."""
    from ..wait.timerslack import set_timer_slack

    set_timer_slack(1000)
    start = time.perf_counter()
    for i in range(n):
        left = start + i / rate - time.perf_counter()
        if left > 0:
            time.sleep(left)
        yield i


def _schedstat(pid: int) -> tuple[int, int]:
    """(ns on a CPU, ns runnable and waiting for one) of every thread of ``pid`` (Linux
    /proc/<pid>/task/*/schedstat); (0, 0) where it cannot be read."""
    run = wait = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                a, b, _ = f.read().split()
            run, wait = run + int(a), wait + int(b)
    except (OSError, ValueError):
        pass
    return run, wait


def _cpu(before: dict, after: dict) -> dict:
    """Each process's CPU time and run-queue wait (ms) between two ``_schedstat`` readings."""
    return {"cpu_ms": {k: round((after[k][0] - before[k][0]) / 1e6, 1) for k in before},
            "runq_wait_ms": {k: round((after[k][1] - before[k][1]) / 1e6, 1) for k in before}}


def _server_pid(url: str) -> int | None:
    """The local nats-server serving ``url`` (its command line names the port), if any."""
    port = url.rsplit(":", 1)[-1]
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"nats-server") and port.encode() in argv:
                return int(d)
    return None


def bridge_latency(url, rate, seconds, tmp) -> dict:
    src, dst = _pair(url, "l", "memory", tmp)
    try:
        dst.spawn()
        src.spawn()
        procs = {"publisher": os.getpid(), "md_out": src.built.procs["bridge"].pid,
                 "md_in": dst.built.procs["bridge"].pid, "server": _server_pid(url)}
        n = int(rate * seconds)
        ring = rings.attach(src.name, "md")
        pub = ring.publisher()
        one = _records(1)
        # the clock starts once a first record has crossed: md in subscribes only when md out has
        # made the stream (it looks every 0.5 s), and records paced before that would measure
        # the subscription's start (a backlog of up to 0.5 s draining), not the bridge
        pub.publish(one)
        if _wait_published(dst.name, WARMUP, 60) < WARMUP:
            raise RuntimeError(f"no record crossed the bridge in 60 s: {dst.built.log('bridge')[-2000:]}")
        before = {k: _schedstat(p) for k, p in procs.items() if p}
        for i in _pace(n, rate):
            one["venue_id"] = i
            pub.publish(one)
        after = {k: _schedstat(procs[k]) for k in before}
        pub.close()
        ring.close()
        _wait_published(dst.name, WARMUP + n, 60)
        a, b = _all(src.name, WARMUP + n)[WARMUP:], _all(dst.name, WARMUP + n)[WARMUP:]
        m = min(len(a), len(b))
        lat = b["publish_ns"][:m].astype(np.int64) - a["publish_ns"][:m].astype(np.int64)
        exact = bool((a["seq"][:m] == b["seq"][:m]).all()) and m == n
        # CPU time and run-queue wait of each process while the records were paced: a tail
        # made by waiting for a core shows here (docs/bridge.md, "Latency on a small machine")
        return {"case": f"bridge added latency, ring -> ring, memory, {rate:,.0f} records/s",
                **summary(lat[m // 10:]), "records": m, "exact": exact, **_cpu(before, after)}
    finally:
        src.close()
        dst.close()


def run(opts: Options, report=None) -> dict:
    rows = []

    def add(row):
        rows.append(row)
        if report:
            report(row)

    for storage in ("memory", "file"):
        add(asyncio.run(_raw_throughput(opts.url, storage, opts.raw_msgs)))
    for storage in ("memory", "file"):
        add(asyncio.run(_raw_latency(opts.url, storage, opts.latency_rate, opts.latency_seconds)))
    with tempfile.TemporaryDirectory(prefix="hftshm-bench-bridge-") as tmp:
        add(bridge_throughput(opts.url, opts.records, Path(tmp)))
        add(bridge_latency(opts.url, opts.bridge_rate, opts.bridge_seconds, Path(tmp)))
    by = {r["case"]: r for r in rows}
    raw_mem = by["raw publish 8 KiB, memory"]["records_per_s"]
    raw_lat = next(r for r in rows if r["case"].startswith("raw publish -> ordered consumer, memory"))
    br_t = next(r for r in rows if r["case"].startswith("bridge ring"))
    br_l = next(r for r in rows if r["case"].startswith("bridge added"))
    ratios = {
        "throughput_vs_raw_memory": round(br_t["records_per_s"] / raw_mem, 2) if br_t.get("records_per_s") else None,
        "p50_vs_raw_memory": round(br_l["p50_us"] / raw_lat["p50_us"], 2) if br_l.get("p50_us") else None,
        "p99_vs_raw_memory": round(br_l["p99_us"] / raw_lat["p99_us"], 2) if br_l.get("p99_us") else None,
    }
    return {"rows": rows, "ratios": ratios}


def write_json(result: dict, path) -> None:
    from ..bench.stats import machine
    Path(path).write_text(json.dumps({"machine": machine(), **result}, indent=2) + "\n")
