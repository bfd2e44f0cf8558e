"""Groups (several venues in one instance): which instances make one, and how ``ls``, ``status``,
``tail``, ``top``'s dashboard and ``hftshm.attach`` read them.

A group here is two instances, ``<G>-a`` and ``<G>-b``, created by this test process (one owner
pid in every segment, as the group launcher's one supervisor gives them), each with its own md
ring and its own, unqualified, symbol table.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import threading
import time

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

import hftshm
from hftshm import instances, naming, procinfo
from hftshm.cli import app
from hftshm.errors import InstanceError
from hftshm.launch.instance import Instance
from hftshm.layouts import md
from hftshm.ring import header as H
from hftshm.ring import reader_table as RT
from hftshm.risk import killswitch
from hftshm.runtime import config as config_mod
from hftshm.runtime import control_layout as C
from hftshm.runtime import rings
from hftshm.ui import pick, tail
from hftshm.ui.live import LiveDashboard
from hftshm.ui.render import render_group
from hftshm.ui.snapshot import GroupSnapshot

from .support_procs import dead_pid

_ids = itertools.count()
SYMBOLS = {"a": ("BTCUSDT", "ETHUSDT"), "b": ("BTCUSDT", "SOLUSDT")}


# --- which instances make a group: literal scans ------------------------------------------------


def _inst(name, owner, control=True, **kw):
    segs = [naming.control_segment(name)] if control else [naming.ring_segment(name, "md")]
    return instances.Instance(name, segments=segs, owners={owner} if owner else set(), uids={os.geteuid()}, **kw)


def _found(*insts):
    return {i.name: i for i in insts}


ME = procinfo.me()
PARENT = (os.getppid(), procinfo.start_ticks(os.getppid()))  # another live process


def test_instances_of_one_process_named_g_venue_make_a_group():
    found = _found(_inst("arb-usdm", ME), _inst("arb-bybit", ME), _inst("solo", ME))
    (g,) = instances.groups(found).values()
    assert g.name == "arb" and g.venues == ("bybit", "usdm") and g.instances == ("arb-bybit", "arb-usdm")
    assert g.owner == ME and instances.group("arb", found) == g
    assert g.split("bybit:md") == ("bybit", "md") and g.split("md") == (None, "md")
    with pytest.raises(InstanceError, match="group 'arb' has no venue 'okx' \\(its venues: bybit, usdm\\)"):
        g.split("okx:md")
    # the group's dashes: the venue is what follows the last one
    found = _found(_inst("my-arb-a", ME), _inst("my-arb-b1", ME))
    assert instances.groups(found)["my-arb"].members == {"a": "my-arb-a", "b1": "my-arb-b1"}


@pytest.mark.parametrize("found", [
    # x-y alone: an ordinary instance
    _found(_inst("x-y", ME)),
    # x-y and x-z of two processes (two supervisors)
    _found(_inst("x-y", ME), _inst("x-z", PARENT)),
    # the same pid but not the same process (pid reused: other start ticks)
    _found(_inst("x-y", ME), _inst("x-z", (ME[0], ME[1] + 1))),
    # not venue names: upper case, 9 characters, a digit first
    _found(_inst("x-Y", ME), _inst("x-Z", ME)),
    _found(_inst("x-venuename", ME), _inst("x-venuenam2", ME)),
    _found(_inst("x-1a", ME), _inst("x-2b", ME)),
])
def test_what_is_not_a_group(found):
    assert instances.groups(found) == {}
    assert instances.group("x", found) is None


def test_members_must_be_live_readable_and_of_one_owner():
    dead = (dead_pid(), 0)
    assert instances.groups(_found(_inst("x-y", dead), _inst("x-z", dead))) == {}
    leftover = _inst("x-z", ME)
    leftover.owners.add(PARENT)  # a segment another process made
    assert instances.groups(_found(_inst("x-y", ME), leftover)) == {}
    assert instances.groups(_found(_inst("x-y", ME), _inst("x-z", ME, unreadable=["seg"]))) == {}
    # a third x-* of another process is not a member; the two of one process still are
    (g,) = instances.groups(_found(_inst("x-y", ME), _inst("x-z", ME), _inst("x-w", PARENT))).values()
    assert g.venues == ("y", "z")


def test_a_group_name_two_processes_use_is_an_error():
    found = _found(_inst("x-a", ME), _inst("x-b", ME), _inst("x-c", PARENT), _inst("x-d", PARENT))
    assert instances.groups(found) == {}
    with pytest.raises(InstanceError, match="2 processes each run a group named 'x'"):
        instances.group("x", found)


def test_by_group_lists_members_under_their_group():
    found = _found(_inst("arb-usdm", ME), _inst("arb-bybit", ME), _inst("zed", ME), _inst("b-x", PARENT),
                   _inst("arc", ME))
    rows = [(g.name if g else None, names) for g, names in instances.by_group(found)]
    assert rows == [("arb", ["arb-bybit", "arb-usdm"]), (None, ["arc"]), (None, ["b-x"]), (None, ["zed"])]


def test_pick_takes_a_group_by_name_or_as_the_only_live_one(monkeypatch):
    found = _found(_inst("arb-usdm", ME), _inst("arb-bybit", ME), _inst("arb-old", (dead_pid(), 0)))
    monkeypatch.setattr(instances, "scan", lambda: dict(found))
    assert pick.pick("arb").name == "arb" and pick.pick(None).venues == ("bybit", "usdm")
    assert pick.pick("arb-usdm") == "arb-usdm"  # each instance by its own name, as before
    with pytest.raises(InstanceError, match="'arb' is a group of 2 instances \\(arb-bybit, arb-usdm\\)"):
        pick.pick_instance("arb")
    with pytest.raises(InstanceError, match="is a group"):
        pick.pick_instance(None)
    found["solo"] = _inst("solo", ME)  # another live instance: no longer the only live ones
    with pytest.raises(InstanceError, match="3 live instances: arb-bybit, arb-usdm, solo; groups: arb "
                                            "\\(arb-bybit, arb-usdm\\); choose one"):
        pick.pick(None)
    found["arb"] = _inst("arb", PARENT)  # an instance of the group's name comes first
    assert pick.pick("arb") == "arb"


# --- drawing a group's snapshots: constructed, no shared memory -----------------------------------


def _drawn(renderable, width, height) -> list[str]:
    console = Console(width=width, height=height, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text().rstrip("\n").split("\n")


def _sample_group() -> GroupSnapshot:
    from . import samples

    import dataclasses

    return GroupSnapshot("arb", {"bybit": dataclasses.replace(samples.with_dead_worker(), instance="arb-bybit"),
                                 "usdm": samples.full(instance="arb-usdm")})


@pytest.mark.parametrize("width, height, bybit_shows", [
    (120, 60, ["risk 3001 DEAD"]),  # every row
    (80, 24, ["alerts WorkerDown: worker risk dead", "latency 10 stages: no room"]),  # bybit's alert took a line
    (80, 18, ["workers 1 DEAD, 4 running", "latency 10 stages: no room"]),  # a line each
])
def test_a_group_s_dashboard_stacks_its_venues_in_their_share(width, height, bybit_shows):
    lines = _drawn(render_group(_sample_group(), width, height), width, height)
    assert len(lines) <= height and max(len(line.rstrip()) for line in lines) <= width
    tops = [i for i, line in enumerate(lines) if line.startswith(("bybit: hftshm", "usdm: hftshm"))]
    assert [lines[i].split()[:3] for i in tops] == [["bybit:", "hftshm", "arb-bybit"], ["usdm:", "hftshm", "arb-usdm"]]
    bybit, usdm = lines[tops[0]:tops[1]], lines[tops[1]:]
    assert len(bybit) <= height // 2 and len(usdm) <= height // 2
    for text in bybit_shows:
        assert any(" ".join(line.split()).startswith(text) for line in bybit), (text, bybit)
    assert not any("DEAD" in line or "dead" in line for line in usdm)
    for part in (bybit, usdm):  # the rings and the kill switch always show
        assert [line.split()[0] for line in part if line.split()[:1] in (["md"], ["orders"], ["fills"])] == [
            "md", "orders", "fills"]
        assert any(line.startswith("risk kill switch ACTIVE") for line in part)


def test_a_group_snapshot_round_trips_through_json():
    g = _sample_group()
    d = json.loads(json.dumps(g.as_dict()))
    assert d["group"] == "arb" and list(d["venues"]) == ["bybit", "usdm"]
    assert d["venues"]["usdm"] == g.venues["usdm"].as_dict()
    assert GroupSnapshot.from_dict(d) == g and not g.missing


# --- a group of two instances built in this process ---------------------------------------------


def _build(name, symbols, tmp_path):
    cfg = config_mod.from_dict({"instance": name, "data_dir": str(tmp_path / name), "strategies": [],
                                "venue": {"symbols": [s.lower() for s in symbols]},
                                "rings": {"md": {"capacity": 1024, "policy": "overwrite"}}})
    cfg.rings = {"md": cfg.rings["md"]}
    inst = Instance.create(cfg, tmp_path / name, stages=["exch_to_recv"])
    killswitch.arm(inst.control)
    inst.control.set_state(C.RUNNING)
    ring = rings.attach(name, "md")
    return inst, ring, ring.publisher()


def _records(venue_id0: int, symbol_ids) -> np.ndarray:
    recs = md.records(len(symbol_ids))
    recs["kind"] = md.TRADE
    recs["symbol_id"] = symbol_ids
    recs["price_e8"] = 100 * md.E8 + np.arange(len(symbol_ids))
    recs["qty_e8"] = md.E8
    recs["venue_id"] = venue_id0 + np.arange(len(symbol_ids))
    return recs


@pytest.fixture
def group(tmp_path):
    """Group ``g<pid>y<n>`` of venues a and b (md: 3 records each, published), and the name of an
    ``x-y`` instance alone beside it."""
    name = f"g{os.getpid()}y{next(_ids)}"
    built = {v: _build(f"{name}-{v}", SYMBOLS[v], tmp_path) for v in ("a", "b")}
    for v, (_, _, pub) in built.items():
        pub.publish_batch(_records(1000 if v == "a" else 2000, [0, 1, 0]))
    lone = f"{name}x-a"
    lone_built = _build(lone, ("BTCUSDT",), tmp_path)
    yield {"name": name, "built": built, "lone": lone}
    for inst, ring, pub in [*built.values(), lone_built]:
        pub.close()
        ring.close()
        inst.close()
    for n in (*(f"{name}-{v}" for v in built), lone):
        left = instances.scan().get(n)
        if left is not None:
            instances.remove(left)


def cli(*args):
    res = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    return res.exit_code, res.stdout, res.stderr


def test_the_group_is_found_and_the_lone_x_y_is_not(group):
    g = instances.group(group["name"])
    assert g.members == {"a": f"{group['name']}-a", "b": f"{group['name']}-b"}
    assert instances.group(group["lone"][:-2]) is None  # "<name>x-a" alone
    code, out, err = cli("status", "-i", group["lone"][:-2])
    assert code == 2 and f"no instance {group['lone'][:-2]!r}" in err


def test_status_json_and_text_of_a_group(group):
    name = group["name"]
    code, out, err = cli("status", "--json", "-i", name)
    assert code == 0, err
    s = json.loads(out)
    assert s["group"] == name and list(s["venues"]) == ["a", "b"]
    for v in ("a", "b"):
        snap = s["venues"][v]
        assert snap["instance"] == f"{name}-{v}" and snap["state"] == "running"
        (ring,) = snap["rings"]
        assert ring["name"] == "md" and ring["published"] == 3 and ring["symbols"] == 2
    code, out, err = cli("status", "-i", name)
    assert code == 0, err
    a, b = out.index(f"a: {name}-a"), out.index(f"b: {name}-b")  # a section per venue
    assert a < out.index(f"hftshm {name}-a") < b < out.index(f"hftshm {name}-b")
    # the group loses a control block: exit 1, as for a missing instance
    group["built"]["b"][0].control.unlink()
    code, out, err = cli("status", "--json", "-i", name)
    assert code == 1 and json.loads(out)["venues"]["b"]["state"] == "missing"


def test_tail_a_venue_ring_or_a_venue_symbol(group):
    name = group["name"]
    code, out, err = cli("tail", "b:md", "-i", name, "--from-seq", "0", "--count", "3", "--json")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["symbol"], r["venue_id"]) for r in rows] == [("b:BTCUSDT", 2000), ("b:SOLUSDT", 2001),
                                                              ("b:BTCUSDT", 2002)]
    # --symbol venue:SYMBOL alone picks that venue's md
    code, out, err = cli("tail", "md", "-i", name, "--symbol", "a:ethusdt", "--from-seq", "0", "--count", "1")
    assert code == 0, err
    header, line = out.splitlines()
    assert header.split()[:4] == ["seq", "time", "symbol", "kind"] and line.split()[2:4] == ["a:ETHUSDT", "trade"]
    assert line.split()[-1] == "1001"


@pytest.mark.parametrize("args, message", [
    (("zz:md",), "group '{g}' has no venue 'zz' (its venues: a, b)"),
    (("md", "--symbol", "zz:BTCUSDT"), "group '{g}' has no venue 'zz' (its venues: a, b)"),
    (("a:md", "--symbol", "b:BTCUSDT"), "--symbol b:BTCUSDT is on venue b, ring a:md on venue a"),
    (("fills",), "group '{g}' has a 'fills' ring per venue: name one as venue:fills (its venues: a, b)"),
    (("md", "--from-seq", "0"), "--from-seq is a sequence of one ring"),
    (("md", "--symbol", "DOGEUSDT"), "symbol 'DOGEUSDT' is in no venue's md symbol table (a: BTCUSDT, ETHUSDT; "
                                     "b: BTCUSDT, SOLUSDT)"),
    (("b:md", "--symbol", "ETHUSDT"), "symbol 'ETHUSDT' is not in the ring's symbol table (BTCUSDT, SOLUSDT)"),
])
def test_tail_errors_on_a_group(group, args, message):
    code, out, err = cli("tail", *args, "-i", group["name"], "--count", "1")
    assert code == 2 and message.format(g=group["name"]) in err, err


def test_a_venue_ring_of_a_plain_instance_is_an_error(group):
    code, out, err = cli("tail", "a:md", "-i", group["lone"], "--count", "1")
    assert code == 2 and "is an instance, not a group" in err
    with pytest.raises(InstanceError, match="is an instance, not a group"):
        hftshm.attach("a:md", group["lone"])


def _adhoc_readers(ring) -> int:
    hdr = ring.hdr
    return sum(1 for slot in range(H.READER_SLOTS)
               if int(hdr[RT.word(slot, RT.STATE)]) & RT.STATE_MASK == RT.ACTIVE
               and not int(hdr[RT.word(slot, RT.FLAGS)]) & RT.FLAG_GATING)


def test_tail_md_merges_every_venue_in_publish_order(group):
    """Once the tail reads both rings, b's records then a's are published: the merged lines are
    in that order (whatever the polls see together is sorted by publish time), each venue:SYMBOL."""
    built = group["built"]
    failed = []

    def publish():
        try:
            deadline = time.monotonic() + 60
            while not all(_adhoc_readers(built[v][1]) for v in "ab"):
                if time.monotonic() > deadline:
                    raise TimeoutError("the tail never attached")
                time.sleep(0.005)
            built["b"][2].publish_batch(_records(2100, [1, 0]))
            built["a"][2].publish_batch(_records(1100, [1, 0]))
            built["b"][2].publish_batch(_records(2200, [0]))
        except BaseException as exc:
            failed.append(exc)

    publisher = threading.Thread(target=publish, daemon=True)
    publisher.start()
    out, err = io.StringIO(), io.StringIO()
    g = instances.group(group["name"])
    code = tail.run(tail.TailOptions(ring="md", instance=g.name, group=g, count=5, json=True, poll_s=0.2), out, err)
    publisher.join(10)
    assert not failed and code == 0, (failed, err.getvalue())
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["symbol"], r["venue_id"]) for r in rows] == [
        ("b:SOLUSDT", 2100), ("b:BTCUSDT", 2101), ("a:ETHUSDT", 1100), ("a:BTCUSDT", 1101), ("b:BTCUSDT", 2200)]
    assert [r["publish_ns"] for r in rows] == sorted(r["publish_ns"] for r in rows)
    # an unqualified symbol: that symbol on every venue that lists it
    out = io.StringIO()
    opts = tail.TailOptions(ring="md", instance=g.name, group=g, symbol="BTCUSDT", count=3, poll_s=0.2)
    failed.clear()
    publisher = threading.Thread(target=publish, daemon=True)
    publisher.start()
    assert tail.run(opts, out, io.StringIO()) == 0
    publisher.join(10)
    lines = out.getvalue().splitlines()
    assert lines[0].split()[2] == "symbol" and [ln.split()[2] for ln in lines[1:]] == ["b:BTCUSDT", "a:BTCUSDT",
                                                                                      "b:BTCUSDT"]
    assert [ln.split()[-1] for ln in lines[1:]] == ["2101", "1101", "2200"]


def test_attach_a_venue_ring_with_qualified_symbols(group):
    name = group["name"]
    reader = hftshm.attach("b:md", name, start="oldest")
    try:
        batch = reader.read(10)
        assert list(batch["venue_id"]) == [2000, 2001, 2002]
        assert reader.symbol(batch["symbol_id"][1]) == "b:SOLUSDT" and reader.symbols == ["b:BTCUSDT", "b:SOLUSDT"]
        assert reader.symbol_id("b:SOLUSDT") == 1 and reader.symbol_id("solusdt") == 1
        assert [d["symbol"] for d in reader.to_dicts(batch)] == ["b:BTCUSDT", "b:SOLUSDT", "b:BTCUSDT"]
        with pytest.raises(KeyError, match="a:ETHUSDT"):
            reader.symbol_id("a:ETHUSDT")
        assert reader.ring.instance == f"{name}-b"
    finally:
        reader.close()
    with pytest.raises(InstanceError, match="has no venue 'zz' \\(its venues: a, b\\)"):
        hftshm.attach("zz:md", name)
    with pytest.raises(InstanceError, match="has a 'md' ring per venue"):
        hftshm.attach("md", name)
    plain = hftshm.attach("md", group["lone"], start="oldest")  # a plain instance: as before
    try:
        assert plain.symbols == ["BTCUSDT"] and plain.symbol_id("btcusdt") == 0 and plain.symbol(0) == "BTCUSDT"
    finally:
        plain.close()


def test_the_dashboard_stacks_each_venue(group):
    name = group["name"]
    out = io.StringIO()
    console = Console(file=out, width=100, height=40, force_terminal=True, record=True)
    dash = LiveDashboard(name, hz=2, console=console)  # what hftshm start's factory makes
    dash.note = "starting: 2 venues"
    dash.start()
    try:
        assert isinstance(dash.snapshot, GroupSnapshot) and list(dash.snapshot.venues) == ["a", "b"]
        assert dash.errors == 0
    finally:
        dash.stop()
    text = console.export_text()
    a, b = text.index(f"a: hftshm {name}-a"), text.index(f"b: hftshm {name}-b")
    assert text.index("starting: 2 venues") < a < b
    for section in (text[a:b], text[b:]):
        assert "md" in section and "exch_to_recv" in section
    # each venue's panels fit their share of the screen
    snap = dash.snapshot
    drawn = Console(width=80, height=24, record=True, file=io.StringIO())
    drawn.print(render_group(snap, 80, 24))
    lines = drawn.export_text().rstrip("\n").split("\n")
    assert len(lines) <= 24 and sum(line.startswith(("a: hftshm", "b: hftshm")) for line in lines) == 2


def test_the_dashboard_finds_a_group_created_after_it_started(tmp_path):
    name = f"g{os.getpid()}y{next(_ids)}"
    out = io.StringIO()
    dash = LiveDashboard(name, hz=50, console=Console(file=out, width=100, height=40, force_terminal=True))
    dash.start()
    built = []
    try:
        assert dash.snapshot.state == "missing"
        built = [_build(f"{name}-{v}", SYMBOLS[v], tmp_path) for v in ("a", "b")]
        deadline = time.monotonic() + 30
        while not isinstance(dash.snapshot, GroupSnapshot):
            assert time.monotonic() < deadline, "the dashboard never found the group"
            dash.update()
            time.sleep(0.05)
        assert [s.state for s in dash.snapshot.venues.values()] == ["running", "running"]
    finally:
        dash.stop()
        for inst, ring, pub in built:
            pub.close()
            ring.close()
            inst.close()


def test_ls_lists_a_group_s_instances_under_it(group):
    code, out, err = cli("ls")
    assert code == 0, err
    lines = out.splitlines()
    name = group["name"]
    at = next(i for i, line in enumerate(lines) if f"{name} (group)" in line)
    assert "venues a, b" in lines[at] and str(os.getpid()) in lines[at]
    assert f"  {name}-a " in lines[at + 1] and f"  {name}-b " in lines[at + 2], out
    lone = next(line for line in lines if group["lone"] in line)
    assert lone.startswith(f"│ {group['lone']}")  # not indented: no group
