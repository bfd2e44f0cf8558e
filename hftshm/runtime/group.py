"""Several venues in one instance: ``[[venues]]`` expands into one ordinary instance per venue.

A config with ``[[venues]]`` names each venue (``usdm``, ``bybit``); its instruments are
``venue:symbol``. Every venue becomes an ordinary ``Config`` whose instance is
``<instance>-<venue>``, with its own ``[venue]``, simulator, rings, ingest, execution, state,
journal and risk limits (``[risk]``, then the venue's own ``risk`` keys on top). Venues share no
ring and no process but the supervisor (``launch.group``), so a slow venue never delays another.

::

    instance = "arb"                      arb-usdm:  [venue] kind "sim", [sim] venue "binance_usdm"
    [[venues]] name = "usdm" ...    -->              strategy-spread (reads and trades both venues)
    [[venues]] name = "bybit" ...         arb-bybit: [venue] kind "sim", [sim] venue "bybit_linear"
    [[strategies]] symbols = ["usdm:btcusdt", "bybit:btcusdt"]   (state, risk, execution for it)

A strategy whose symbols are all on one venue runs in that venue's instance, its symbols
unqualified, exactly as in a one-venue config. A cross-venue strategy (symbols on several
venues) runs in the instance of its first symbol's venue and reads and trades every venue it
names (``trading.venue_rings``); the other venues run state, risk and execution for it
(``GroupMember.remote_ids``). Strategy names and ids are unique across the venues.
``[risk_total]`` holds the limits across venues (the group supervisor trips every venue's kill
switch when one is passed).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from .. import config_schema as S
from .. import naming
from .. import venues as venues_mod
from ..errors import ConfigError
from . import config as C


@dataclass
class GroupConfig:
    """A resolved config of several venues: the group's name, each venue's config (config order)."""

    instance: str
    venues: dict = field(default_factory=dict)  # venue name -> runtime.config.Config
    risk_total: dict = field(default_factory=dict)  # [risk_total], checked, defaults filled

    def home_first(self) -> list:
        """Venue configs, those hosting a cross-venue strategy first: stopped first, so a
        strategy never outlives a venue it trades."""
        hosts = [c for c in self.venues.values() if any(s.venues for s in c.strategies)]
        return hosts + [c for c in self.venues.values() if c not in hosts]


def is_group(data: dict) -> bool:
    return isinstance(data, dict) and "venues" in data


def load(path, overrides: dict | None = None):
    """The config in ``path``: a ``GroupConfig`` when it has ``[[venues]]``, else a ``Config``."""
    data = C.read(path, overrides)
    try:
        return expand(data) if is_group(data) else C.from_dict(data)
    except TypeError as exc:
        raise ConfigError(f"{path or 'config'}: {exc}") from None


def expand(data: dict) -> GroupConfig:
    """One venue config per ``[[venues]]`` table; ConfigError names the venue and the key."""
    data = copy.deepcopy(data)
    entries = data.pop("venues")
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"[[venues]]: expected a non-empty array of tables (name = ..., kind = ...), got {entries!r}")
    for key, why in (("venue", "a config has one [venue] or several [[venues]]"),
                     ("bridge", "the bridge carries one venue's rings; it does not run with several venues")):
        if key in data:
            raise ConfigError(f"[{key}] with [[venues]]: {why}")
    feed = data.get("feed")
    if isinstance(feed, dict) and feed.get("host", "own") != "own":
        raise ConfigError(f"[feed] host = {feed['host']!r} with [[venues]]: [feed] is every venue's, and a venue "
                          "that only serves other venues' strategies, or only market data, runs no execution to "
                          'host it; leave host = "own" (or run the venue as an instance of its own)')
    for key in ("sim", "risk", "execution", "metrics", "risk_total"):  # merged into each venue's: tables
        if key in data and not isinstance(data[key], dict):
            raise ConfigError(f"[{key}]: expected a table, got {data[key]!r}")
    total = S.RISK_TOTAL.check(data.pop("risk_total", {}))
    strategies = data.pop("strategies", [])
    if not isinstance(strategies, list):
        raise ConfigError(f"[[strategies]]: expected an array of tables, got {strategies!r}")
    workers = data.pop("workers", {})
    if not isinstance(workers, dict):
        raise ConfigError(f"[workers]: expected tables [workers.NAME], got {workers!r}")
    risk = data.get("risk", {})
    if isinstance(risk, dict) and "symbols" in risk:
        raise ConfigError("[risk.symbols] with [[venues]]: a symbol's limits go in its venue's table "
                          "([[venues]] ... risk = { symbols = { btcusdt = { ... } } })")
    group = data.get("instance") or naming.default_instance()
    S.TOP["instance"].check("", group)

    venues = _venues(entries, group)
    if len(venues) < 2:  # (readers and halt know a group by its two or more instances)
        raise ConfigError(f"[[venues]]: one venue ({next(iter(venues))!r}); write it as a [venue] table, or "
                          "add the others")
    placed, cross = _strategies(strategies, {n: v["symbols"] for n, v in venues.items()})

    out = GroupConfig(group, risk_total=total)
    for i, (name, entry) in enumerate(venues.items()):
        sub = _venue_data(data, entry, i)
        sub["instance"] = f"{group}-{name}"
        sub["strategies"] = placed[name]
        sub["workers"] = {n: w for n, w in workers.items() if not n.startswith("strategy-")}
        try:
            cfg = C.from_dict(sub)
        except ConfigError as exc:
            raise ConfigError(f"[[venues]] {name}: {exc}") from None
        cfg.group = C.GroupMember(group, name, {n: f"{group}-{n}" for n in venues})
        out.venues[name] = cfg

    # cross-venue strategies: checked with the one-venue rules on their venue:symbol names, each
    # hosted by its first symbol's venue; the others run risk and execution for it
    seen_names = {s.name for c in out.venues.values() for s in c.strategies}
    seen_ids = {s.id for c in out.venues.values() for s in c.strategies}
    for i, table in cross:
        names = [s.lower() for s in table["symbols"]]
        touched = list(dict.fromkeys(s.split(":", 1)[0] for s in names))
        for v in touched:
            if venues_mod.market_venue_of(out.venues[v]).kind in C.MARKET_DATA_ONLY:
                raise ConfigError(f"[[strategies]] #{i} symbols: venue {v!r} is market data only (no order entry)")
        home = out.venues[touched[0]]
        strategy = C.resolve_strategy(table, f"[[strategies]] #{i}", i, names, seen_names, seen_ids,
                                      {v: out.venues[v].instance for v in touched})
        home.strategies.append(strategy)
        for v in touched[1:]:
            out.venues[v].group.remote_ids.append(strategy.id)
    for wname, values in workers.items():
        if not wname.startswith("strategy-"):
            continue
        host = next((c for c in out.venues.values() if wname in (f"strategy-{s.name}" for s in c.strategies)), None)
        if host is None:
            raise ConfigError(f"[workers.{wname}]: no such strategy")
        host.workers[wname] = C._build(C.WorkerConfig, values, f"[workers.{wname}]")
        S.WORKER.check_object(host.workers[wname], f"[workers.{wname}]")
    return out


def _venues(entries: list, group: str) -> dict:
    """name -> the checked [[venues]] table (with its own sim/risk/execution tables)."""
    out = {}
    for i, entry in enumerate(entries, 1):
        where = f"[[venues]] #{i}"
        own = {k: entry[k] for k in S.VENUE_TABLES if k in entry}
        for k, v in own.items():
            if not isinstance(v, dict):
                raise ConfigError(f"{where} {k}: expected a table, got {v!r}")
        values = S.VENUES.check({k: v for k, v in entry.items() if k not in S.VENUE_TABLES}, where=where)
        name = values["name"]
        if name in out:
            raise ConfigError(f"{where}: duplicate venue name {name!r}")
        instance = f"{group}-{name}"
        if len(instance) > 24:
            raise ConfigError(f"{where} name = {name!r}: its instance {instance!r} is longer than 24 characters; "
                              "shorten instance or the venue's name")
        out[name] = {**values, **own}
    return out


def _strategies(strategies: list, symbols: dict) -> tuple[dict, list]:
    """Each venue's own strategies (symbols unqualified) and the cross-venue ones (#, table)."""
    placed = {name: [] for name in symbols}
    cross = []
    ids, names_seen = {}, {}
    for i, table in enumerate(strategies, 1):
        where = f"[[strategies]] #{i}"
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: expected a table, got {table!r}")
        names = table.get("symbols")
        first = next(iter(symbols))
        if not isinstance(names, list) or not names or not all(isinstance(s, str) for s in names):
            raise ConfigError(f"{where} symbols = {names!r}: with [[venues]], a strategy names its symbols as "
                              f"venue:symbol (symbols = [\"{first}:{symbols[first][0]}\"])")
        legs = []
        for s in names:
            venue, _, sym = s.lower().partition(":")
            if not sym:
                raise ConfigError(f"{where} symbols: {s!r} is not venue:symbol (venues: {', '.join(symbols)})")
            if venue not in symbols:
                raise ConfigError(f"{where} symbols: {s!r}: no venue {venue!r} (venues: {', '.join(symbols)})")
            if sym not in [x.lower() for x in symbols[venue]]:
                raise ConfigError(f"{where} symbols: {s!r}: not a symbol of venue {venue!r} ({', '.join(symbols[venue])})")
            legs.append((venue, sym))
        table = dict(table, id=table.get("id", i))  # ids by position across the whole list
        sid = table["id"]
        if sid in ids:
            raise ConfigError(f"{where} id = {sid!r}: expected a unique id (strategy #{ids[sid]} has it)")
        ids[sid] = i
        name = table.get("name")
        if isinstance(name, str) and name in names_seen:  # unique across venues, not only within one
            raise ConfigError(f"{where}: duplicate strategy name {name!r} (strategy #{names_seen[name]} has it)")
        names_seen[name] = i
        touched = {v for v, _ in legs}
        if len(touched) == 1:
            placed[legs[0][0]].append(dict(table, symbols=[s for _, s in legs]))
        else:
            cross.append((i, table))
    return placed, cross


def _venue_data(data: dict, entry: dict, i: int) -> dict:
    """One venue's config as a one-venue TOML table: the shared tables with its own on top."""
    sub = copy.deepcopy(data)
    sub["venue"] = {k: v for k, v in entry.items() if k not in ("name", *S.VENUE_TABLES)}
    sim = {**data.get("sim", {}), **entry.get("sim", {})}
    seed = data.get("sim", {}).get("seed", S.SIM["seed"].default)
    if "seed" not in entry.get("sim", {}) and _is_int(seed):  # each simulated venue its own market
        sim["seed"] = seed + i  # (a seed that is not a number is named by the venue's own check)
    sub["sim"] = sim
    sub["risk"] = {**data.get("risk", {}), **entry.get("risk", {})}
    sub["execution"] = {**data.get("execution", {}), **entry.get("execution", {})}
    metrics = data.get("metrics")
    if isinstance(metrics, dict) and _is_int(metrics.get("port")) and metrics["port"]:  # one exporter per
        sub["metrics"] = dict(metrics, port=metrics["port"] + i)  # venue instance, ports in venue order
    return sub


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)
