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


def agent_class(role: str):
    try:
        target = ROLES[role]
    except KeyError:
        raise ValueError(f"unknown worker role {role!r}; known: {', '.join(ROLES)}") from None
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)
