"""The collector against segments built in this process: what it reads, that it writes nothing,
and how it reports dead workers, dead readers and missing segments."""

from __future__ import annotations

import os
import time

import pytest

from hftshm import naming, procinfo, shm
from hftshm.errors import InstanceError
from hftshm.layouts import md
from hftshm.launch.instance import Instance
from hftshm.runtime import config as config_mod
from hftshm.runtime import control_layout as C
from hftshm.runtime import rings
from hftshm.risk import killswitch
from hftshm.runtime.control import HALTED
from hftshm.ui.collector import Collector
from hftshm.ui.live import LiveDashboard
from hftshm.ui.pick import pick_instance

from .support_procs import dead_pid


@pytest.fixture
def built(instance, tmp_path):
    """Control block with two workers (one dead), latency book, md and orders rings, readers."""
    cfg = config_mod.from_dict({"instance": instance, "data_dir": str(tmp_path), "strategies": [],
                                "venue": {"symbols": ["btcusdt"]},
                                "rings": {"md": {"capacity": 1024, "policy": "overwrite"}, "orders": {"capacity": 256}}})
    cfg.rings = {n: cfg.rings[n] for n in ("md", "orders")}
    inst = Instance.create(cfg, tmp_path, stages=["exch_to_recv", "recv_to_publish"])
    control, book = inst.control, inst.latency
    killswitch.arm(control)  # as trading.setup does: a fresh block's trading word is unset (halted)
    md_ring, orders = rings.attach(instance, "md"), rings.attach(instance, "orders")
    control.set_state(C.RUNNING)
    me, ticks = procinfo.me()
    live = control.claim_worker("ingest", "ingest")
    control.set_worker_field(live, C.W_PID, me)
    control.set_worker_field(live, C.W_TICKS, ticks)
    control.set_worker_field(live, C.W_STATE, C.W_RUNNING)
    control.set_worker_field(live, C.W_HEARTBEAT_NS, time.time_ns())
    control.set_counter_names(live, ["msgs", "reconnects", "trade_gaps", "depth_gaps", "malformed", "bad_fields"])
    dead = control.claim_worker("risk", "risk")
    control.set_worker_field(dead, C.W_PID, dead_pid())
    control.set_worker_field(dead, C.W_STATE, C.W_RUNNING)
    control.add_restart(dead)
    gating = md_ring.reader("journal", gating=True, start="oldest")
    adhoc = md_ring.reader(None, gating=False)
    consumer = orders.reader("execution", gating=True)
    pub = md_ring.publisher()
    objs = dict(control=control, book=book, md=md_ring, orders=orders, gating=gating, adhoc=adhoc,
                consumer=consumer, pub=pub, live=live)
    yield objs
    for r in (gating, adhoc, consumer, pub):
        r.close()
    for ring in (md_ring, orders):
        ring.close()
    inst.close()


def _segments(instance):
    names = sorted(f for f in os.listdir(shm.SHM_DIR) if naming.parse(f) and naming.parse(f)[0] == instance)
    return {f: open(os.path.join(shm.SHM_DIR, f), "rb").read() for f in names}


def test_collects_rings_readers_workers_latency_feed(built, instance):
    b = built
    recs = md.records(300)
    b["pub"].publish_batch(recs)
    assert len(b["gating"].read_batch(100)) == 100
    b["gating"].read_batch(1)  # releases the first 100
    counters = b["control"].counters(b["live"])
    counters[:6] = [300, 2, 1, 3, 4, 5]
    b["book"].recorder("exch_to_recv").record(25_000)
    with Collector(instance, latency_window_s=5.0) as col:
        first = col.collect()
        b["pub"].publish_batch(recs[:50])
        counters[0] += 50
        time.sleep(0.05)
        s = col.collect()
    assert first.rings[0].rate is None and s.rings[0].rate > 0  # rates need two collections
    assert s.state == "running" and s.venue == "sim" and s.kill_switch == "active" and not s.problems
    mdr, orders = s.rings
    assert (mdr.name, mdr.kind, mdr.policy, mdr.capacity, mdr.published, mdr.symbols) == \
        ("md", "broadcast", "overwrite", 1024, 350, 1)
    journal = next(r for r in mdr.readers if r.name == "journal")
    assert journal.gating and journal.state == "active" and journal.lag == 250 and journal.wait == "backoff"
    assert mdr.occupancy == pytest.approx(250 / 1024)
    adhoc = next(r for r in mdr.readers if not r.gating)
    assert adhoc.name.startswith("adhoc-") and adhoc.lag == 350
    assert (orders.kind, orders.published, [r.name for r in orders.readers]) == ("many-to-one", 0, ["execution"])
    ingest, risk = s.workers
    assert ingest.state == "running" and ingest.alive and ingest.heartbeat_age_s < 60
    assert ingest.counters["msgs"] == 350
    assert risk.state == "dead" and not risk.alive and risk.restarts == 1 and risk.cpu_pct is None
    f = s.feed
    assert (f.worker, f.messages, f.reconnects, f.gaps, f.malformed) == ("ingest", 350, 2, 4, 9)
    assert f.msgs_per_s > 0 and f.connection == "receiving"
    e2r = s.stages[0]
    assert e2r.name == "exch_to_recv" and e2r.total.count == 1 and 24 < e2r.total.p50_us < 26
    assert e2r.window.count == 1 and s.stages[1].total.p50_us is None


def test_the_collector_writes_nothing(built, instance):
    built["pub"].publish_batch(md.records(10))
    before = _segments(instance)
    with Collector(instance) as col:
        for _ in range(3):
            col.collect()
    assert _segments(instance) == before


def test_kill_switch_and_dead_supervisor(built, instance):
    built["control"].set_trading(HALTED, 51)
    with Collector(instance) as col:
        assert col.collect().kill_switch == "halted"
        built["control"].words[built["control"].trading_word_index()] = 0  # a zeroed word: halted
        assert col.collect().kill_switch == "unset (halted)"
        supervisor = C.word(C.SUPERVISOR_PID)
        built["control"].words[supervisor] = dead_pid()
        assert col.collect().state == "dead"


def test_dead_gating_reader_shown_dead_adhoc_hidden(built, instance):
    from hftshm.ring import reader_table as RT

    ring = built["md"]
    for r in (built["gating"], built["adhoc"]):  # pretend their process died (kill -9)
        ring.hdr[RT.word(r.slot, RT.PID)] = dead_pid()
    with Collector(instance) as col:
        readers = col.collect().rings[0].readers
    assert [(r.name, r.state) for r in readers] == [("journal", "dead")]


def test_missing_and_vanishing_segments(built, instance):
    with Collector(instance) as col:
        assert [r.name for r in col.collect().rings] == ["md", "orders"]
        built["orders"].unlink()
        built["book"].unlink()
        s = col.collect()
        assert [r.name for r in s.rings] == ["md"]
        assert s.stages == () and s.latency_missing == "no latency book"
        assert any(p.startswith("latency book:") for p in s.problems)
        # a segment that is not a ring under a ring's name: said, not raised
        with open(os.path.join(shm.SHM_DIR, naming.ring_segment(instance, "junk")), "wb") as f:
            f.write(b"\0" * 64)
        s = col.collect()
        junk = s.ring("junk")
        assert junk.missing and any("ring junk" in p for p in s.problems)
        built["control"].unlink()
        built["md"].unlink()
        s = col.collect()
        assert s.state == "missing" and [r.name for r in s.rings] == ["junk"] and s.workers == ()


def test_live_dashboard_draws_and_survives_errors(built, instance):
    import io

    from rich.console import Console

    out = io.StringIO()
    console = Console(file=out, width=80, height=24, force_terminal=True)
    # a period long enough that drawing the first frame cannot use it up on a slow machine
    dash = LiveDashboard(instance, hz=2, console=console)
    dash.start()
    try:
        assert dash.frames == 1 and not dash.update()  # not due yet
        time.sleep(0.55)
        assert dash.update()
        dash.collector.collect = lambda: 1 / 0  # a bug while collecting does not escape update()
        assert dash.update(force=True) and dash.errors == 1
    finally:
        dash.stop()
    text = out.getvalue()
    assert "md" in text and "exch_to_recv" in text and "dashboard error: ZeroDivisionError" in text


def test_pick_instance(built, instance):
    assert pick_instance(instance) == instance
    with pytest.raises(InstanceError, match="no instance 'nosuch'"):
        pick_instance("nosuch")
    try:
        assert pick_instance(None) == instance
    except InstanceError as exc:  # other live instances on this machine (tests running beside us)
        assert instance in str(exc) and "--instance" in str(exc)
