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
    "bridge": "hftshm.workers.bridge:BridgeAgent",  # docs/bridge.md
    "state": "hftshm.workers.state:StateAgent",  # orders and fills to SQLite (hftshm.state)
}

# The wait a role gets when its [workers.NAME] wait is "auto" (the default). The journal and
# risk need no record at once: they batch on a timer (wait/periodic.py) and cost one wake-up per
# period at any rate, none to the producers. The rest back off.
DEFAULT_WAIT = {"journal": "periodic", "risk": "periodic", "state": "periodic", "strategy": "blocking"}
# periodic's period per role (us); [workers.NAME] max_nap_us overrides it. Risk: 2 ms, the
# longest nap its backoff had (a mid for the pre-trade check is at most that old); the journal and
# the state writer: 5 ms.
PERIOD_US = {"journal": 5000.0, "risk": 2000.0, "state": 5000.0}
DEFAULT_PERIOD_US = 1000.0

# backoff's longest nap per role (us), where latency matters less than the CPU of waking up
MAX_NAP_US = {"journal": 1000.0, "risk": 2000.0, "replay": 100.0, "state": 5000.0}
DEFAULT_MAX_NAP_US = 50.0
# Roles off the latency path skip the spins and the shortest naps: on a VM every nap costs
# ~20 us of kernel CPU however short (hftshm bench wake), and a ladder of 1, 2, 4 ... us naps
# between records spent a quarter of a core on the journal.
RELAXED = {"journal": {"spins": 0, "yields": 0, "min_sleep_us": 100.0},
           "risk": {"spins": 0, "yields": 0, "min_sleep_us": 200.0},
           "state": {"spins": 0, "yields": 0, "min_sleep_us": 1000.0}}


def resolve_wait(role: str, wait: str) -> str:
    """The wait strategy a worker of ``role`` runs: its configured one, or the role's default."""
    if wait in ("auto", "", None):
        return DEFAULT_WAIT.get(role, "backoff")
    return wait


def wait_options(role: str, wait: str, max_nap_us: float) -> dict:
    wait = resolve_wait(role, wait)
    if wait == "periodic":
        return {"period_us": max_nap_us or PERIOD_US.get(role, DEFAULT_PERIOD_US)}
    if wait != "backoff":
        return {}
    out = dict(RELAXED.get(role, {}))
    out["max_sleep_us"] = max_nap_us or MAX_NAP_US.get(role, DEFAULT_MAX_NAP_US)
    out["min_sleep_us"] = min(out.get("min_sleep_us", 1.0), out["max_sleep_us"])
    return out


def agent_class(role: str):
    try:
        target = ROLES[role]
    except KeyError:
        raise ValueError(f"unknown worker role {role!r}; known: {', '.join(ROLES)}") from None
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)
