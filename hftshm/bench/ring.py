"""``hftshm bench ring``: the hftshm ring against its peers, in one run on one machine.

For every hftshm API (per-record Python, batch, numba) and consumer wait strategy, and for every
peer transport that is installed: lossless throughput of 64-byte records, then one-way latency
percentiles and consumer CPU at a paced rate. Prints a table and each hftshm row's ratio to each
peer, and optionally writes JSON (``{"machine": ..., "results": [...]}``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..wait import STRATEGIES
from .transport_case import Phase, run_case
from .peer_transports import available_peers
from .ring_cases import RingCase
from .stats import machine

APIS = ("record", "batch", "numba")
FIELDS = ("transport", "api", "wait", "records_per_s", "p50_us", "p90_us", "p99_us", "p999_us", "max_us",
          "lost", "cpu_pct")


@dataclass
class Options:
    seconds: float = 1.0  # throughput run per case
    latency_seconds: float = 2.0
    rate: float = 10_000.0
    apis: tuple = APIS
    waits: tuple = tuple(STRATEGIES)
    peers: bool = True


def cases(opts: Options):
    for api in opts.apis:
        for wait in opts.waits:
            yield RingCase(api, wait)
    if opts.peers:
        yield from available_peers()


def measure(case, opts: Options, progress=None) -> dict:
    row = {"transport": case.transport, "api": case.api, "wait": case.wait}
    tp = run_case(case, Phase("throughput", opts.seconds))
    if "error" in tp:
        row["error"] = tp["error"]
        return row
    row["records_per_s"] = round(tp["received"] / tp["seconds"]) if tp["seconds"] > 0 else None
    row["lost"] = tp["lost"]
    lat = run_case(case, Phase("latency", opts.latency_seconds, opts.rate))
    if "error" in lat:
        row["error"] = lat["error"]
        return row
    for key in ("p50_us", "p90_us", "p99_us", "p999_us", "max_us", "cpu_pct"):
        row[key] = lat[key]
    row["lost"] += phase_lost(lat, opts)
    return row


def phase_lost(lat: dict, opts: Options) -> int:
    return Phase("latency", opts.latency_seconds, opts.rate).count - lat["received"]


def ratios(rows: list[dict]) -> list[dict]:
    """Each hftshm row against each peer: throughput ratio, and how many times lower its p50 is."""
    peers = [r for r in rows if r["transport"] != "hftshm" and r.get("records_per_s")]
    out = []
    for r in rows:
        if r["transport"] != "hftshm" or not r.get("records_per_s"):
            continue
        for p in peers:
            out.append({
                "hftshm": f"{r['api']}/{r['wait']}",
                "peer": p["transport"],
                "throughput_x": round(r["records_per_s"] / p["records_per_s"], 1),
                "p50_lower_x": round(p["p50_us"] / r["p50_us"], 1) if r.get("p50_us") and p.get("p50_us") else None,
            })
    return out


def run(opts: Options, report=None) -> dict:
    rows = []
    for case in cases(opts):
        row = measure(case, opts)
        rows.append(row)
        if report:
            report(row)
    return {"machine": machine(), "options": vars(opts) | {"apis": list(opts.apis), "waits": list(opts.waits)},
            "results": rows, "ratios": ratios(rows)}


def write_json(result: dict, path) -> None:
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
