"""The renderer: draws a ``Snapshot`` with rich, fitted to a terminal of ``width`` x ``height``.

Pure: no shared memory, no clock. At 80x24 it shows one row per ring, worker and latency stage
(cutting the stage list, then the worker list, with a "+N more" row, when they do not fit); with
more height it adds each ring's readers and blank lines between sections; with more width
(>= ``WIDE``) it adds columns (policy, evictions, roles, counters, sample counts). With less
room than that, as a group's venue may get (``render_group``), it leaves out the feed and
trading lines, then sums up the stages, then the workers, in a line each. States are spelled
out in words as well as coloured, so the screen reads the same under ``NO_COLOR``.
"""

from __future__ import annotations

import time

from rich.console import Group
from rich.table import Table
from rich.text import Text

from . import fmt
from .alerts import CRITICAL, WARNING, alerts
from .snapshot import GroupSnapshot, RingSnap, Snapshot

WIDE = 110
BAD = "bold red"
WARN = "yellow"
GOOD = "green"
DIM = "dim"

_STATE_STYLE = {"running": GOOD, "starting": WARN, "stopping": WARN, "restarting": WARN, "stopped": DIM,
                "crashed": BAD, "dead": BAD, "missing": BAD, "orphaned": WARN, "halted": BAD,
                "reduce-only": WARN, "active": GOOD, "connected": GOOD, "disconnected": BAD}


def _style(state: str) -> str:
    if state.endswith("(halted)"):  # an unset or unknown trading word: halted, fail closed
        return BAD
    return _STATE_STYLE.get(state, "")


def _table(wide: bool) -> Table:
    return Table(box=None, padding=(0, 1), pad_edge=False, show_edge=False, header_style="bold",
                 collapse_padding=True, expand=False)


def _cols(table: Table, spec) -> None:
    for name, right in spec:
        table.add_column(name, justify="right" if right else "left", no_wrap=True, overflow="ellipsis")


def _line(*parts) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    for p in parts:
        if isinstance(p, tuple):
            t.append(*p)
        else:
            t.append(p)
    return t


# --- sections ----------------------------------------------------------------------------------


def _header(s: Snapshot, title: str | None = None) -> Text:
    parts = [(f"{title}: ", "bold magenta")] if title else []
    parts += [("hftshm ", "bold"), (s.instance, "bold cyan"), "  ", (s.state.upper() if s.state in ("dead", "missing")
                                                                  else s.state, _style(s.state))]
    if s.uptime_s is not None:
        parts.append(f"  up {fmt.seconds(s.uptime_s)}")
    if s.supervisor_pid:
        parts.append(f"  pid {s.supervisor_pid}")
    if s.venue:
        parts.append(f"  venue {s.venue}")
    ks = s.trading.get("trading_state") or s.kill_switch
    if ks:
        parts += ["  trading ", (ks.upper(), _style(ks))]
    parts.append("  " + time.strftime("%H:%M:%S", time.localtime(s.taken_ns / 1e9)))
    return _line(*parts)


def _ring_row(table: Table, r: RingSnap, wide: bool) -> None:
    if r.missing:
        cells = [Text(r.name, style="bold"), Text(f"MISSING: {r.missing}", style=BAD)]
        table.add_row(*cells, *[""] * (len(table.columns) - 2))
        return
    occ_style = "" if r.occupancy is None else BAD if r.occupancy > 0.9 else WARN if r.occupancy > 0.5 else ""
    producer = ""
    if r.producer_alive is False:
        producer = " (producer dead)"
    cells = [Text(r.name + producer, style="bold"), fmt.count(r.capacity), fmt.count(r.published), fmt.rate(r.rate),
             Text(fmt.percent(r.occupancy), style=occ_style), fmt.count(r.max_lag),
             Text(fmt.count(r.lost), style=BAD if r.lost else ""),
             Text(fmt.count(r.overruns), style=BAD if r.overruns else ""), str(len(r.readers))]
    if wide:
        cells += [r.policy if r.kind == "broadcast" else "m-to-1", fmt.count(r.waits), fmt.count(r.evictions),
                  fmt.count(r.skipped)]
    table.add_row(*cells)


def _reader_rows(table: Table, r: RingSnap, wide: bool) -> None:
    for x in r.readers:
        state = "" if x.state == "active" else f" {x.state.upper()}"
        name = Text("  " + x.name, style=DIM if x.state == "active" else _style(x.state))
        name.append(state)
        mode = ("gating " if x.gating else "ad-hoc ") + x.wait
        cells = [name, "", fmt.count(x.cursor), fmt.rate(x.rate), "", fmt.count(x.lag),
                 Text(fmt.count(x.lost), style=BAD if x.lost else ""), fmt.count(x.lapped) if x.lapped else "", mode]
        if wide:
            cells += [f"pid {x.pid}", "", fmt.count(x.evicted) if x.evicted else "", ""]
        table.add_row(*cells)


def _rings(s: Snapshot, wide: bool, readers: int):
    if not s.rings:
        return _line(("rings: none found", WARN)), 1
    t = _table(wide)
    spec = [("ring", False), ("cap", True), ("published", True), ("rate", True), ("occ", True), ("lag", True),
            ("lost", True), ("ovr", True), ("readers", False)]
    if wide:
        spec += [("policy", False), ("waits", True), ("evict", True), ("skip", True)]
    _cols(t, spec)
    shown = 0
    for r in s.rings:
        _ring_row(t, r, wide)
        if shown + len(r.readers) <= readers and not r.missing:
            _reader_rows(t, r, wide)
            shown += len(r.readers)
    return t, 1 + len(s.rings) + shown


def _reader_count(s: Snapshot) -> int:
    return sum(len(r.readers) for r in s.rings if not r.missing)


def _workers(s: Snapshot, wide: bool, limit: int, width: int = 80):
    if not s.workers:
        return _line(("workers: none" + (" (no control block)" if s.state == "missing" else ""), WARN)), 1
    t = _table(wide)
    spec = [("worker", False), ("pid", True), ("state", False), ("beat", True), ("restarts", True), ("cpu", True)]
    if wide:
        spec += [("role", False), ("counters", False)]
    _cols(t, spec)
    rows = list(s.workers)
    cut = len(rows) > limit
    if cut:
        rows = rows[: max(1, limit - 1)]
    for w in rows:
        state = w.state.upper() if w.state in ("dead", "crashed") else w.state
        beat_style = WARN if (w.heartbeat_age_s or 0) > 2 and w.state == "running" else ""
        cells = [Text(w.name, style="bold"), str(w.pid or "-"), Text(state, style=_style(w.state)),
                 Text(fmt.seconds(w.heartbeat_age_s), style=beat_style),
                 Text(str(w.restarts), style=WARN if w.restarts else ""), fmt.cpu(w.cpu_pct)]
        if wide:
            shown = " ".join(f"{k}={fmt.count(v)}" for k, v in w.counters.items() if v)
            room = max(10, width - 62)  # what the other columns leave
            cells += [w.role, shown if len(shown) <= room else shown[: room - 3] + "..."]
        t.add_row(*cells)
    if cut:
        t.add_row(Text(f"+{len(s.workers) - len(rows)} more", style=DIM))
    if wide:  # let only the counters column give way
        for col in t.columns[:-1]:
            col.min_width = max([len(str(col.header))] + [Text(str(c)).cell_len for c in col._cells])
    return t, 1 + len(rows) + cut


def _worker_summary(s: Snapshot) -> Text:
    """The workers in one line: how many are in each state, the bad ones first."""
    states: dict[str, int] = {}
    for w in s.workers:
        states[w.state] = states.get(w.state, 0) + 1
    line = _line(("workers ", "bold"))
    for i, (state, n) in enumerate(sorted(states.items(), key=lambda kv: (_style(kv[0]) != BAD, kv[0]))):
        line.append(", " if i else "")
        line.append(f"{n} {state.upper() if _style(state) == BAD else state}", _style(state))
    return line


def _stage_name(name: str, wide: bool) -> str:
    return name if wide else name.replace("publish_to_read.", "read:")


def _latency(s: Snapshot, wide: bool, limit: int):
    if s.latency_missing and not s.stages:
        return _line(("latency: " + s.latency_missing, WARN)), 1
    if not s.stages:
        return _line(("latency: no stages yet", DIM)), 1
    t = _table(wide)
    win = f"{s.latency_window_s:g}s"
    spec = [(f"latency {win} | all", False)]
    spec += [(h, True) for h in ("p50", "p99", "p99.9", "max")]
    if wide:
        spec += [(f"n {win}", True)]
    spec += [("| p50", True), ("p99", True), ("p99.9", True), ("max", True)]
    if wide:
        spec += [("n all", True)]
    _cols(t, spec)
    rows = list(s.stages)
    cut = len(rows) > limit
    if cut:
        rows = rows[: max(1, limit - 1)]
    for st in rows:
        w, a = st.window, st.total
        cells = [Text(_stage_name(st.name, wide), style="bold"), *map(fmt.micros, (w.p50_us, w.p99_us, w.p999_us,
                                                                                    w.max_us))]
        if wide:
            cells.append(fmt.count(w.count))
        cells += ["| " + fmt.micros(a.p50_us), *map(fmt.micros, (a.p99_us, a.p999_us, a.max_us))]
        if wide:
            cells.append(fmt.count(a.count))
        t.add_row(*cells)
    if cut:
        t.add_row(Text(f"+{len(s.stages) - len(rows)} more stages", style=DIM))
    return t, 1 + len(rows) + cut


def _feed(s: Snapshot) -> Text:
    f = s.feed
    if f is None:
        return _line(("feed: ", "bold"), ("no ingest worker", DIM))
    return _line(("feed ", "bold"), f"{f.worker}: ", (f.connection.upper() if f.connection == "dead" else f.connection,
                                                      _style(f.connection)),
                 f"  {fmt.rate(f.msgs_per_s)}  msgs {fmt.count(f.messages)}  reconnects {fmt.count(f.reconnects)}",
                 ("  gaps ", ""), (fmt.count(f.gaps), WARN if f.gaps else ""),
                 "  malformed ", (fmt.count(f.malformed), WARN if f.malformed else ""))


def _pairs(d, value=fmt.count, limit=6) -> str:
    if not d:
        return fmt.DASH
    items = [f"{k} {value(v)}" for k, v in list(d.items())[:limit]]
    return ", ".join(items) + (" ..." if len(d) > limit else "")


def _risk(s: Snapshot) -> Text:
    t = s.trading
    state = t.get("trading_state") or s.kill_switch or fmt.DASH
    reason = t.get("trading_reason")
    return _line(("risk ", "bold"), "kill switch ", (state.upper(), _style(state)),
                 f" ({reason})" if reason else "", "  rejects: ", _pairs(t.get("rejects_by_reason")),
                 *(("  venue rate limit: ", (_pairs(t["venue_pushback"]), WARN)) if t.get("venue_pushback") else ()))


def _trading(s: Snapshot) -> Text:
    t = s.trading
    if not t:
        return _line(("trading ", "bold"), ("-", DIM))
    pnl = t.get("pnl") or {}
    return _line(("trading ", "bold"), f"pnl {fmt.money(pnl.get('total'))} (r {fmt.money(pnl.get('realized'))} "
                 f"u {fmt.money(pnl.get('unrealized'))})", f"  fills {fmt.count(t.get('fills'))}",
                 "  orders: ", _pairs(t.get("orders_by_state")), "  pos: ", _pairs(t.get("positions"), fmt.qty, 4),
                 *(("  futures: ", _futures(t["futures"])) if t.get("futures") else ()))


def _futures(f: dict) -> str:
    """USD-M: position @ entry, mark, funding per symbol."""
    return ", ".join(f"{s} {fmt.qty(v['position'])} @ {v['entry']:.2f} mark {v['mark']:.2f} "
                     f"fund {fmt.money(v['funding'])}" for s, v in f.items())


def _problems(s: Snapshot, room: int) -> list[Text]:
    if s.state == "missing":
        return [_line(("instance not found: ", BAD), f"no control block for {s.instance!r}")][:room]
    lines = [_line(("! ", BAD), p) for p in s.problems if not p.startswith("control block")]
    if len(lines) > room:
        lines = lines[: max(0, room - 1)] + [_line(("! ", BAD), f"+{len(s.problems) - room + 1} more problems")]
    return lines


def _alerts(s: Snapshot, room: int) -> list[Text]:
    """One line of every alert that holds (alerts.py: the example Prometheus rules' conditions),
    most severe first; they take the room of the rows below them."""
    found = alerts(s)
    if not found:
        return []
    style = {CRITICAL: BAD, WARNING: WARN}
    shown = list(found[:room])
    line = _line(("alerts ", "bold"))
    for i, a in enumerate(shown):
        line.append("  " if i else "")
        line.append(f"{a.name}: {a.text}", style.get(a.severity, ""))
    if len(found) > len(shown):
        line.append(f"  +{len(found) - len(shown)} more", WARN)
    return [line]


# --- layout ------------------------------------------------------------------------------------


def render(s: Snapshot, width: int = 80, height: int = 24, title: str | None = None) -> Group:
    """The dashboard for ``s``, at most ``height`` lines of at most ``width`` columns; ``title``
    (a group's venue) leads the top line."""
    wide = width >= WIDE
    footer = [_feed(s), _risk(s), _trading(s)]
    problems = _problems(s, 2) + _alerts(s, 4)
    n_workers = max(1, len(s.workers)) + (1 if s.workers else 0)
    n_stages = len(s.stages) + 1 if s.stages else 1
    n_rings = len(s.rings) + 1 if s.rings else 1
    fixed = 1 + len(problems) + n_rings + len(footer)
    spare = height - fixed - n_workers - n_stages
    stage_limit, worker_limit = len(s.stages), len(s.workers)
    if spare < 0:  # cut the latency stages first (down to 2 rows), then the workers (to 2)
        stage_limit = max(min(2, stage_limit), stage_limit + spare)
        spare += len(s.stages) - stage_limit
    if spare < 0:
        worker_limit = max(min(2, worker_limit), worker_limit + spare)
        spare += len(s.workers) - worker_limit
    # still too tall (a group's venue gets a share of the screen): leave out the feed and trading
    # lines, then draw the latency stages, then the workers, as one summary line each
    if spare < 0:
        footer = [_risk(s)]
        spare += 2
    rings, _ = _rings(s, wide, 0)
    workers, _ = _workers(s, wide, worker_limit, width)
    latency, _ = _latency(s, wide, stage_limit)
    if spare < 0 and s.stages:
        latency = _line(("latency ", "bold"), (f"{len(s.stages)} stages: no room (hftshm status shows them)", DIM))
        spare += stage_limit
    if spare < 0 and s.workers:
        workers = _worker_summary(s)
        spare += worker_limit
    spare = max(0, spare)
    readers = min(spare, _reader_count(s))
    spare -= readers
    gaps = spare >= 3
    if readers:
        rings, _ = _rings(s, wide, readers)
    parts = [_header(s, title), *problems]
    for section in (rings, workers, latency):
        if gaps:
            parts.append(Text(""))
        parts.append(section)
    parts += footer
    return Group(*parts)


MIN_VENUE_HEIGHT = 8  # header, alert, rings, a line each for workers, latency and risk


def render_group(g: GroupSnapshot, width: int = 80, height: int = 24) -> Group:
    """A group's dashboard: each venue instance's, stacked and titled with its venue, in an
    equal share of ``height`` (at least ``MIN_VENUE_HEIGHT`` lines each)."""
    each = max(MIN_VENUE_HEIGHT, height // max(1, len(g.venues)))
    return Group(*(render(s, width, each, title=venue) for venue, s in g.venues.items()))
