"""Which agent class runs each worker role (imported only in that worker's process)."""

from __future__ import annotations

import importlib

ROLES = {
    "journal": "hftshm.workers.journal:JournalAgent",
    "ingest": "hftshm.workers.ingest:IngestAgent",
    "replay": "hftshm.workers.replay:ReplayAgent",
    "strategy": "hftshm.workers.strategy:StrategyAgent",
    "risk": "hftshm.workers.risk:RiskAgent",
    "execution": "hftshm.workers.execution:ExecutionAgent",
}

# backoff's longest nap per role (us), where latency matters less than the CPU of waking up
MAX_NAP_US = {"journal": 1000.0, "risk": 2000.0, "replay": 100.0}
DEFAULT_MAX_NAP_US = 50.0


def wait_options(role: str, wait: str, max_nap_us: float) -> dict:
    if wait != "backoff":
        return {}
    return {"max_sleep_us": max_nap_us or MAX_NAP_US.get(role, DEFAULT_MAX_NAP_US)}


def agent_class(role: str):
    try:
        target = ROLES[role]
    except KeyError:
        raise ValueError(f"unknown worker role {role!r}; known: {', '.join(ROLES)}") from None
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)
