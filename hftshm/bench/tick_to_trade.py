"""``hftshm bench trading``: the whole pipeline against the simulator (ingest -> strategy ->
execution -> venue, with risk and the journal beside it), reporting where the time goes.

Market data is the simulator's synthetic market at ``rate`` msgs/s, or a recorded capture
(``replay``) at its recorded pace times ``speed``. Both built-in strategies trade the first
symbol with a short cooldown, so orders are frequent enough to measure; the simulator runs as a
child process with its order-rate limit raised (a replayed venue refuses orders: the books are
recorded; ``tick_to_trade`` ends at the socket write, so it is measured all the same), and the
risk limits are raised to match.

For each run it prints the latency stages (percentiles over the measured window) and, per
process, what the scheduler saw over the same window (``/proc/PID/task/*/stat``, ``status`` and
``schedstat``): CPU, voluntary and involuntary context switches, and the time spent runnable but
waiting for a core. ``variants`` runs further configurations back to back in the same command
and prints the headline figures side by side. Measures and reports; asserts nothing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import tomllib
import time
from dataclasses import dataclass
from pathlib import Path

from ..config_schema import STRATEGY
from ..errors import ConfigError
from ..feed.e8 import format_e8
from .replayed_markets import Markets, capture_markets
from ..launch.trading_instance import TradingInstance as Harness

# What each stage measures, in pipeline order (printed under the table).
STAGES = {
    "exch_to_recv": "venue event time -> ingest's socket read (the venue's clock: ms resolution)",
    "recv_to_publish": "ingest: socket read stamp -> records published in the md ring (parse, normalize, "
                       "publish, and any wait for the core in between)",
    "publish_to_read.strategy-mom": "md publish -> the momentum strategy reads it (its wake-up or nap)",
    "publish_to_read.strategy-imb": "md publish -> the imbalance strategy reads it",
    "tick_to_intent": "md socket read -> the strategy's order intent (the two rows above plus the strategy)",
    "intent_to_verdict": "intent -> execution's pre-trade check done (orders ring hop, execution's wake-up)",
    "risk_check": "execution's inline pre-trade check alone",
    "verdict_to_sent": "check -> the order frame written to the venue socket (signing, the write)",
    "tick_to_trade": "md socket read -> order on the wire: the headline figure",
    "sent_to_ack": "order sent -> the venue's answer read (simulator round trip)",
    "publish_to_read.journal": "publish -> the journal reads it (any ring; a batch counts once)",
}
HEADLINE = ("tick_to_trade", "recv_to_publish", "tick_to_intent", "intent_to_verdict")
# [workers.NAME] keys a variant may set; a strategy's [[strategies]] keys (``strategies.host=execution``)
# go to its table; any other key goes to the worker's params
WORKER_KEYS = ("wait", "max_nap_us", "cpu")
# every process off the tick-to-trade path (the state writer too): their CPU is the "background" figure
BACKGROUND = ("journal", "risk", "state")


@dataclass
class Sched:
    """Scheduler figures of one process (all its threads), cumulative since it started."""

    cpu_s: float = 0.0  # user + system
    voluntary: int = 0  # context switches by waiting (a sleep, a blocking read): wake-ups
    involuntary: int = 0  # preempted while runnable
    run_ns: int = 0  # schedstat: time on a core
    wait_ns: int = 0  # schedstat: time runnable, waiting in the run queue for a core
    slices: int = 0  # schedstat: times it was run

    def __sub__(self, o: "Sched") -> "Sched":
        return Sched(self.cpu_s - o.cpu_s, self.voluntary - o.voluntary, self.involuntary - o.involuntary,
                     self.run_ns - o.run_ns, self.wait_ns - o.wait_ns, self.slices - o.slices)


_TICK = os.sysconf("SC_CLK_TCK")


def sched(pid: int) -> Sched:
    """Sum over the threads of ``pid``; zeros once it is gone."""
    out = Sched()
    base = Path(f"/proc/{pid}/task")
    try:
        tids = os.listdir(base)
    except OSError:
        return out
    for tid in tids:
        t = base / tid
        try:
            stat = (t / "stat").read_bytes()
            status = (t / "status").read_text()
            run, wait, slices = (int(x) for x in (t / "schedstat").read_text().split()[:3])
        except (OSError, ValueError):
            continue  # the thread ended meanwhile
        fields = stat[stat.rindex(b")") + 2:].split()
        out.cpu_s += (int(fields[11]) + int(fields[12])) / _TICK
        for line in status.splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                out.voluntary += int(line.split()[1])
            elif line.startswith("nonvoluntary_ctxt_switches:"):
                out.involuntary += int(line.split()[1])
        out.run_ns += run
        out.wait_ns += wait
        out.slices += slices
    return out


def _processes(h: Harness) -> dict[str, int]:
    procs = {name: p.pid for name, p in h.procs.items()}
    if h.sim_proc is not None:
        procs["simulator"] = h.sim_proc.pid
    return procs


def _fmt(v, width=9, digits=1) -> str:
    return f"{'-':>{width}}" if v is None else f"{v:{width},.{digits}f}"


def _harness(rate: float, wait: str | None, cooldown_ms: int, replay: str | None, speed: float,
             workers: dict, journal: bool, log_dir: str | None = None, sim_cpu: int | None = None,
             markets: Markets | None = None) -> Harness:
    """The instance one run measures: two strategies on the first symbol, the variant's overrides;
    ``markets``: the replayed capture's (``capture_markets``), read once for every run."""
    cd = {"cooldown_ms": cooldown_ms}
    symbols = ("btcusdt", "ethusdt")
    streams = ("trade", "bookTicker")
    qty = 100_000  # 0.001 BTC: the strategies' own default
    if replay is not None:  # its symbols, streams, and orders sized for its price (ValueError: USD-M)
        m = markets or capture_markets(Path(replay))
        symbols, streams, qty = m.symbols, m.streams, m.qty_e8
    cd["symbols"] = [symbols[0]]
    cd["qty"] = format_e8(qty)
    strategies = [{"name": "mom", "kind": "momentum", "short": 5, "long": 20, **cd},
                  {"name": "imb", "kind": "imbalance", "threshold": 0.2, "max_spread_bps": 50,
                   "max_position": format_e8(50 * qty), **cd}]
    risk = {"max_orders_per_s": 64, "max_orders_per_s_total": 1000, "loss_limit": 1e6, "max_position": 10,
            "symbols": {symbols[0]: {"max_order_qty": format_e8(1_000 * qty), "max_position": format_e8(10_000 * qty)}}}
    feed = workers.get("feed", {})  # [feed] keys: feed.host=execution
    config, params = split_overrides(strategies, {n: o for n, o in workers.items() if n != "feed"})
    return Harness(f"bt{os.getpid()}", strategies, risk=risk, sim_rate=rate, orders_per_10s=1_000_000, wait=wait,
                   sim_in_thread=False, symbols=symbols, streams=streams, workers=config, journal=journal,
                   replay=replay, speed=speed, params=params, feed=feed, log_dir=log_dir, sim_cpu=sim_cpu)


def check(variants, wait: str | None = None, journal: bool = True, replay: str | None = None,
          markets: Markets | None = None) -> None:
    """Build and validate each variant's config (``""``: the base run) before any run starts:
    ConfigError names the bad key, or a worker this run does not have."""
    with tempfile.TemporaryDirectory(prefix="hftshm-bench-check-") as tmp:
        for spec in variants:
            workers = parse_overrides(spec)
            cfg = _harness(10_000.0, wait, 20, replay, 1.0, workers, journal, tmp, markets=markets).config(1)
            unknown = sorted(set(workers) - set(cfg.workers) - {"feed"})
            if unknown:
                raise ConfigError(f"{unknown[0]}: no such worker in this run; it has "
                                  f"{', '.join(sorted(cfg.workers))} (and feed)")


def measure(seconds: float, rate: float, wait: str | None, cooldown_ms: int, warmup_s: float,
            replay: str | None, speed: float, workers: dict, journal: bool, label: str,
            sim_cpu: int | None = None, markets: Markets | None = None):
    """One run: yields report lines; its last item is a dict of headline figures."""
    h = _harness(rate, wait, cooldown_ms, replay, speed, workers, journal, sim_cpu=sim_cpu, markets=markets)
    done = False
    try:
        h.start()
        h.wait_running(list(h.roles), timeout=180)
        end = time.monotonic() + warmup_s
        while time.monotonic() < end:
            time.sleep(0.5)
            h.latency.tick()
        procs = _processes(h)
        md0 = h.counters("ingest")["records"]
        before = {n: sched(pid) for n, pid in procs.items()}
        t0 = time.monotonic()
        end = t0 + seconds
        while time.monotonic() < end:
            time.sleep(min(0.5, max(0.0, end - time.monotonic())))
            h.latency.tick()
        wall = time.monotonic() - t0
        after = {n: sched(pid) for n, pid in procs.items()}
        md = h.counters("ingest")["records"] - md0
        window = min(seconds, h.latency.max_window_s)
        source = f"replay {Path(replay).name} at {speed:g}x recorded pace" if replay else \
            f"simulator at {rate:g} msgs/s"
        if sim_cpu is not None:
            source += f" (simulator on core {sim_cpu})"
        yield f"[{label}] md from {source}; waits: {wait or 'each worker default'}" + \
              (f"; overrides {workers}" if workers else "") + f"; {window:g} s window after {warmup_s:g} s warm-up"
        yield f"md records in the window: {md:,} ({md / wall:,.0f}/s)"
        yield f"{'stage':30} {'count':>7} {'p50 us':>9} {'p90 us':>9} {'p99 us':>9} {'max us':>9}"
        figures = {"label": label, "md_per_s": md / wall}
        stages = set(h.latency.stages)
        for stage in list(STAGES) + sorted(stages - set(STAGES)):
            if stage not in stages or (replay and stage == "exch_to_recv"):
                continue  # a replay's event times are the recording's: exch_to_recv means nothing
            s = h.latency.summary(stage, window)
            if not s["count"]:
                continue
            yield f"{stage:30} {s['count']:7d} {_fmt(s['p50_us'])} {_fmt(s['p90_us'])} {_fmt(s['p99_us'])} " \
                  f"{_fmt(s['max_us'])}"
            figures[stage] = (s["p50_us"], s["p99_us"])
        yield ""
        yield f"{'process':20} {'cpu %':>7} {'vol cs/s':>9} {'invol/s':>8} {'cs/md rec':>9} {'rq wait %':>9} " \
              f"{'rq wait/run us':>14}"
        background = 0.0
        for name in procs:
            d = after[name] - before[name]
            cpu = 100 * d.cpu_s / wall
            if name in BACKGROUND:
                background += cpu
            cs = d.voluntary + d.involuntary
            per_md = cs / md if md else None
            per_run = d.wait_ns / d.slices / 1e3 if d.slices else None
            yield f"{name:20} {cpu:7.1f} {d.voluntary / wall:9,.0f} {d.involuntary / wall:8,.0f} " \
                  f"{_fmt(per_md, 9, 2)} {100 * d.wait_ns / 1e9 / wall:9.1f} {_fmt(per_run, 14)}"
            figures[f"cpu.{name}"] = cpu
            figures[f"cs_per_md.{name}"] = per_md
        figures["background_cpu"] = background
        yield f"background ({' + '.join(n for n in BACKGROUND if n in procs)}): {background:.1f}% of one core"
        ex = h.counters("execution")
        yield f"execution: {ex['sent']} sent, {ex['fills']} fills, {ex['risk_rejects']} risk rejects, " \
              f"{ex['venue_rejects']} venue rejects, {ex['parks']} parks, {ex['wake_orders']} orders read in a wake-up's callback"
        yield ""
        yield figures
        done = True
    finally:
        h.stop()
        if done:  # a failed run keeps its logs, which its error names
            shutil.rmtree(h.log_dir, ignore_errors=True)


def explain():
    yield "stages:"
    for stage, what in STAGES.items():
        yield f"  {stage}: {what}"
    yield "processes: cpu % of one core; vol cs/s = voluntary context switches (each a wake-up after a sleep " \
          "or a blocking wait); invol/s = preemptions; cs/md rec = both per md record; rq wait % = share of the " \
          "window spent runnable but waiting for a core (/proc/PID/schedstat); rq wait/run = that per time it ran"


def split_overrides(strategies: list[dict], workers: dict) -> tuple[dict, dict]:
    """A variant's overrides (``parse_overrides``) applied: [[strategies]] keys into the strategy
    tables (in place); returns the [workers.NAME] keys and the worker params, by worker."""
    for s in strategies:
        s.update({k: v for k, v in workers.get(f"strategy-{s['name']}", {}).items() if k in STRATEGY.keys})
    config = {n: {k: v for k, v in o.items() if k in WORKER_KEYS} for n, o in workers.items()}
    params = {n: {k: v for k, v in o.items() if k not in WORKER_KEYS and k not in STRATEGY.keys}
              for n, o in workers.items()}
    return config, params


def _scalar(text: str):
    """A value as TOML reads it (``1`` an int, ``0.5`` a float, ``true`` a bool, ``["ethusdt"]`` a
    list); else, a date or a table among them, the text."""
    try:
        v = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    plain = (bool, int, float, str)
    return v if isinstance(v, plain) or (isinstance(v, list) and all(isinstance(x, plain) for x in v)) else text


def parse_overrides(spec: str) -> dict:
    """``"journal.wait=backoff,risk.max_nap_us=500"`` -> ``{"journal": {"wait": "backoff"}, ...}``;
    ``strategies.KEY`` applies to every strategy worker; a [[strategies]] key (``host``) goes to
    the strategy's table; ``feed.KEY`` is a [feed] key (``feed.host=execution``); any other key
    that is not a [workers.NAME] key (``WORKER_KEYS``) is a worker param (``ingest.hold_wakes=0``)."""
    out: dict[str, dict] = {}
    for item in filter(None, (x.strip() for x in spec.split(","))):
        key, eq, value = item.partition("=")
        worker, dot, field = key.partition(".")
        if not (eq and dot and worker and field):
            raise ValueError(f"variant item {item!r}: expected WORKER.KEY=VALUE")
        names = ["strategy-mom", "strategy-imb"] if worker == "strategies" else [worker]
        v = _scalar(value)
        for n in names:
            out.setdefault(n, {})[field] = v
    return out


def run(seconds: float = 20.0, rate: float = 10_000.0, wait: str | None = None, cooldown_ms: int = 20,
        warmup_s: float = 5.0, replay: str | None = None, speed: float = 1.0, journal: bool = True,
        variants: tuple[str, ...] = (), repeat: int = 1, sim_cpu: int | None = None,
        markets: Markets | None = None):
    """Lines of the report: the base run, then each variant (``WORKER.KEY=VALUE,...``), the whole
    sequence ``repeat`` times (interleaved, so that a change in the machine's load shows as a
    spread rather than as a difference between configurations), then a comparison."""
    if replay is not None and markets is None:
        markets = capture_markets(Path(replay))  # once, for every run
    runs = ([("base", {})] + [(v, parse_overrides(v)) for v in variants]) * max(1, repeat)
    results = []
    for label, workers in runs:
        for item in measure(seconds, rate, wait, cooldown_ms, warmup_s, replay, speed, workers, journal, label,
                            sim_cpu, markets):
            if isinstance(item, dict):
                results.append(item)
            else:
                yield item
    yield from explain()
    if len(results) > 1:
        yield ""
        yield "side by side (same command, back to back; us, and % of one core):"
        cols = ["tick_to_trade p50", "p99", "recv_to_publish p50", "p99", "tick_to_intent p50",
                "intent_to_verdict p50", "background cpu %", "md/s"]
        yield "| run | " + " | ".join(cols) + " |"
        yield "|---|" + "--:|" * len(cols)
        for r in results:
            t2t = r.get("tick_to_trade", (None, None))
            r2p = r.get("recv_to_publish", (None, None))
            vals = [t2t[0], t2t[1], r2p[0], r2p[1], r.get("tick_to_intent", (None,))[0],
                    r.get("intent_to_verdict", (None,))[0], r["background_cpu"], r["md_per_s"]]
            yield f"| {r['label']} | " + " | ".join(_fmt(v, 0) for v in vals) + " |"
