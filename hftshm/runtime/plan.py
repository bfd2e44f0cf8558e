"""Which workers an instance runs, in start order (dependencies first).

Start: journal (it must be a gating reader before anything is published), state (the same, for
the orders and fills rings; strategies read it when they start), risk, execution,
the strategies (those with ``host = "execution"`` run inside execution: no process of their
own, see ``hosted``), then the market-data producer (ingest, or replay), then the bridge (md's producer
for ``[venue] kind = "bridge"``). Stop runs the list backwards:
the producer first, so every reader can drain, and the journal last.

``[feed] host = "execution"`` (``feed_hosted``): execution runs the ingest's feed in its own
process, next to the strategies it hosts: no ingest process, and the md producer starts and
stops with execution, before the strategies with a process of their own start and after they stop.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class WorkerSpec:
    name: str
    role: str
    params: dict = field(default_factory=dict, hash=False, compare=False)


def workers(cfg) -> list[WorkerSpec]:
    out = []
    if cfg.journal.enabled:
        out.append(WorkerSpec("journal", "journal"))
    bridge = getattr(cfg, "bridge", None)
    # a remote strategy host ([venue] kind "bridge") has no venue: its bridge takes the orders
    # ring to the trading host, whose execution runs them; the trading host runs risk and
    # execution for remote strategies' orders (orders_in) even with none of its own
    # and a venue of several ([[venues]]) runs them for the cross-venue strategies another venue hosts
    remote = getattr(cfg, "group", None) is not None and cfg.group.remote_ids
    if (cfg.strategies or remote or (bridge is not None and bridge.orders_in)) and cfg.venue.kind != "bridge":
        out.append(WorkerSpec("state", "state"))  # orders and fills to SQLite (hftshm.state); before any order
        out.append(WorkerSpec("risk", "risk"))
        out.append(WorkerSpec("execution", "execution"))
    if cfg.strategies:
        for s in cfg.strategies:
            if s.host == "own":
                out.append(WorkerSpec(f"strategy-{s.name}", "strategy"))  # its table: cfg.strategy(name)
    if cfg.venue.kind == "replay":
        out.append(WorkerSpec("replay", "replay"))
    elif cfg.venue.kind != "bridge" and not feed_hosted(cfg):
        out.append(WorkerSpec("ingest", "ingest"))
    # the bridge (docs/bridge.md): md's producer for [venue] kind "bridge", else a reader of md and
    # fills; started last, after every reader and execution
    if cfg.venue.kind == "bridge" or (bridge is not None and (bridge.md_out or bridge.fills_out or bridge.orders_in)):
        out.append(WorkerSpec("bridge", "bridge"))
    return out


def guests(cfg) -> list[tuple[str, str]]:
    """(worker name, role) of everything execution runs in its own process: the hosted
    strategies, then the feed when it is hosted."""
    return [(name, "strategy") for name in hosted(cfg)] + ([("ingest", "ingest")] if feed_hosted(cfg) else [])


def feed_hosted(cfg) -> bool:
    """Whether execution runs the ingest's feed (``[feed] host = "execution"``): the slot
    ``ingest`` is then claimed with execution's, as a hosted strategy's is."""
    return getattr(cfg.feed, "host", "own") == "execution"


def hosted(cfg) -> list[str]:
    """The worker names of the strategies execution runs in its own process (``host =
    "execution"``): each keeps its control-block slot ``strategy-<name>`` (claimed with
    execution's, ``launch.instance``), its counters and its ring reader names."""
    return [f"strategy-{s.name}" for s in cfg.strategies or () if s.host == "execution"]
