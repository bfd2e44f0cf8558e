"""Parameter sweeps: ``--grid 'strategies.NAME.KEY=v1,v2'`` (or ``risk.KEY=..``,
``backtest.fill.KEY=..``, ``backtest.latency.KEY=..``), every combination, one process per core.

Values are TOML values (``5``, ``0.5``, ``"0.001"``, ``true``); a bare word that is not one is a
string. Each combination is validated like a config file before anything runs, so a bad value
fails at once, naming the combination. Numba kernels come from numba's on-disk cache
(``cache=True``): compiled once, not once per combination.
"""

from __future__ import annotations

import copy
import itertools
import os
import tomllib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from . import config as C
from .errors import BacktestError
from .inputs import md_journals
from .rules import with_journal_rules
from .source import MdSource


def parse_axis(spec: str) -> tuple[list[str], list]:
    """``'strategies.mom.short=5,10'`` -> (["strategies", "mom", "short"], [5, 10])."""
    path, sep, values = spec.partition("=")
    keys = [k for k in path.strip().split(".") if k]
    if not sep or len(keys) < 2 or not values.strip():
        raise BacktestError(f"--grid {spec!r}: expected SECTION.KEY=v1,v2 (e.g. strategies.mom.short=5,10)")
    out = []
    for text in values.split(","):
        text = text.strip()
        try:
            out.append(tomllib.loads(f"v = {text}")["v"])
        except tomllib.TOMLDecodeError:
            out.append(text)
    return keys, out


def _set(data: dict, keys: list[str], value, spec: str) -> None:
    if keys[0] == "strategies":
        if len(keys) != 3:
            raise BacktestError(f"--grid {spec!r}: strategies.NAME.KEY, got {'.'.join(keys)}")
        tables = [t for t in data.get("strategies") or [] if t.get("name") == keys[1]]
        if not tables:
            names = [t.get("name") for t in data.get("strategies") or []]
            raise BacktestError(f"--grid {spec!r}: no strategy named {keys[1]!r} (strategies: {names})")
        tables[0][keys[2]] = value
        return
    node = data
    for k in keys[:-1]:
        node = node.setdefault(k, {})
        if not isinstance(node, dict):
            raise BacktestError(f"--grid {spec!r}: {k!r} is not a table")
    node[keys[-1]] = value


def combinations(data: dict, specs: list[str], symbols: list[str]) -> list[tuple[dict, dict]]:
    """(parameters, config data) per combination, each validated."""
    axes = [(spec, *parse_axis(spec)) for spec in specs]
    out = []
    for values in itertools.product(*(v for _, _, v in axes)):
        d = copy.deepcopy(data)
        params = {}
        for (spec, keys, _), value in zip(axes, values):
            _set(d, keys, value, spec)
            params[".".join(keys)] = value
        try:
            C.from_dict(copy.deepcopy(d), symbols)
        except BacktestError as exc:
            raise BacktestError(f"--grid combination {params}: {exc}") from None
        out.append((params, d))
    return out


def _one(args) -> dict:
    journal, data, symbols, run_dir = args
    from .run import run

    result = run(journal, run_dir, cfg=C.from_dict(data, symbols))
    return result["summary"]


def sweep(journal, cfg_path: Path, specs: list[str], out_dir: Path | None = None, processes: int | None = None,
          progress=lambda done, total: None) -> list[dict]:
    """Every combination's summary with its parameters, in combination order. ``journal``: an md
    journal, or a capture (converted once for all the combinations)."""
    data = C.read(Path(cfg_path))  # a missing or bad file is named before a capture's conversion
    with md_journals(journal, out_dir) as (md, _):
        return _sweep(md, data, specs, out_dir, processes, progress)


def _sweep(journal, data, specs, out_dir, processes, progress) -> list[dict]:
    src = MdSource(journal)
    symbols = [s.lower() for s in src.symbols]
    combos = combinations(with_journal_rules(data, {None: src}), specs, symbols)
    jobs = [(str(journal), d, symbols, None if out_dir is None else str(Path(out_dir) / f"{i:04d}"))
            for i, (_, d) in enumerate(combos)]
    n = max(1, min(processes or os.cpu_count() or 1, len(jobs)))
    rows = []
    if n == 1:
        summaries = []
        for job in jobs:
            summaries.append(_one(job))
            progress(len(summaries), len(jobs))
    else:
        with ProcessPoolExecutor(max_workers=n) as pool:
            summaries = []
            for s in pool.map(_one, jobs):
                summaries.append(s)
                progress(len(summaries), len(jobs))
    for (params, _), summary in zip(combos, summaries):
        rows.append({"params": params, "summary": summary})
    return rows


def sort_rows(rows: list[dict], metric: str) -> list[dict]:
    """Best first (highest; for max_drawdown and fees, lowest); rows without the metric last."""
    if rows and metric not in rows[0]["summary"]:
        raise BacktestError(f"--sort {metric!r}: not a summary metric; one of {', '.join(rows[0]['summary'])}")
    low = metric in ("max_drawdown", "fees")

    def key(r):
        v = r["summary"].get(metric)
        return (v is None, (v if low else -v) if v is not None else 0)

    return sorted(rows, key=key)
