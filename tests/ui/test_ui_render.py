"""The renderer on constructed and recorded snapshots, through rich's recording console: no
shared memory, no clock."""

from __future__ import annotations

import io
import json
import re

import pytest
from rich.console import Console

from hftshm.ui import fmt
from hftshm.ui.render import render
from hftshm.ui.snapshot import Snapshot

from . import samples

ANSI_COLOR = re.compile(r"\x1b\[[0-9;]*(3[0-9]|4[0-9]|9[0-7]|10[0-7])[0-9;]*m")


def draw(snap, width=80, height=24) -> tuple[str, str]:
    """(plain text, what a terminal gets: ANSI styles) of the dashboard at ``width`` x ``height``."""
    out = io.StringIO()
    console = Console(width=width, height=height, record=True, force_terminal=True, color_system="truecolor",
                      file=out)
    console.print(render(snap, width, height))
    return console.export_text(), out.getvalue()


def lines_of(text: str) -> list[str]:
    return text.rstrip("\n").split("\n")


def row(text: str, first: str) -> list[str]:
    """The cells of the line whose first cell is ``first``."""
    for line in lines_of(text):
        cells = line.split()
        if cells and cells[0] == first:
            return cells
    raise AssertionError(f"no row {first!r} in:\n{text}")


@pytest.mark.parametrize("make", [samples.full, samples.with_dead_worker, samples.with_missing_ring,
                                  samples.missing_instance])
def test_fits_80x24(make):
    text, _ = draw(make())
    lines = lines_of(text)
    assert len(lines) <= 24
    assert max(len(line.rstrip()) for line in lines) <= 80


def test_ring_rows_and_latency_figures_at_80x24():
    text, _ = draw(samples.full())
    md = row(text, "md")
    assert md[1:6] == ["1.05M", "1.23M", "2.0k/s", "0.0%", "3"]  # capacity, published, rate, occupancy, lag
    assert row(text, "orders")[1:3] == ["16,384", "4,321"]
    assert row(text, "fills")[2] == "2,222"
    e2r = row(text, "exch_to_recv")  # last 5 s: p50 p99 p99.9 max | since start: p50 p99 p99.9 max
    assert e2r[1:5] == ["3.0us", "12.0us", "27.0us", "90.0us"]
    assert e2r[5:] == ["|", "3.0us", "15.0us", "36.0us", "1.20ms"]
    assert "latency 5s | all" in text
    assert row(text, "journal")[1:4] == ["3000", "running", "0.01s"]
    assert "+2 more stages" in text  # 10 stages do not all fit in 24 lines
    feed = row(text, "feed")
    assert feed[1:4] == ["ingest:", "connected", "2.0k/s"] and "reconnects 1" in text and "gaps 2" in text
    assert "kill switch ACTIVE" in text and "MAX_POSITION 1" in text and "fills 5" in text
    assert "pnl +0.75 (r +1.25 u -0.50)" in text
    assert "BTCUSDT 0.002" in draw(samples.full(), 120, 24)[0]


def test_more_room_shows_readers_and_every_stage():
    text, _ = draw(samples.full(), 80, 45)
    assert len(lines_of(text)) <= 45
    assert "more stages" not in text
    assert row(text, "risk_check")[1] == "70.5us"
    assert row(text, "strategy-mm")[1:4] == ["123.5k", "2.0k/s", "1"]  # md's reader: cursor, rate, lag
    adhoc = row(text, "adhoc-999.0")
    assert "77" in adhoc and "ad-hoc" in adhoc  # its lost count
    assert "gating backoff" in text


def test_wide_screen_adds_columns():
    text, _ = draw(samples.full(), 150, 45)
    assert "publish_to_read.strategy-mm" in text  # full stage names
    assert "overwrite" in row(text, "md") and "m-to-1" in row(text, "orders")
    assert "msgs=123.5k" in row(text, "ingest")  # counters
    assert max(len(line.rstrip()) for line in lines_of(text)) <= 150


def test_dead_worker_shown_as_dead():
    text, styled = draw(samples.with_dead_worker())
    risk = row(text, "risk")
    assert risk[2] == "DEAD" and risk[3] == "7.5s" and risk[5] == "-"  # state, heartbeat age, no cpu
    assert row(text, "journal")[2] == "running"
    assert "\x1b[1;31mDEAD" in styled  # bold red, when colour is allowed


def test_missing_ring_and_instance_are_said_not_crashed():
    text, _ = draw(samples.with_missing_ring())
    assert "MISSING: segment removed" in " ".join(row(text, "fills"))
    assert "ring fills:" in text
    assert row(text, "md")[2] == "1.23M"  # the others still show
    text, _ = draw(samples.missing_instance())
    assert "MISSING" in text and "instance not found" in text and "no control block for 'gone'" in text
    assert "rings: none found" in text and "workers: none" in text and "no latency book" in text


def test_no_color(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    text, styled = draw(samples.with_dead_worker())
    assert not ANSI_COLOR.search(styled)
    assert row(text, "risk")[2] == "DEAD"  # the words carry the meaning
    monkeypatch.delenv("NO_COLOR")
    _, styled = draw(samples.with_dead_worker())
    assert ANSI_COLOR.search(styled)


def test_absent_figures_show_a_dash():
    s = samples.full(trading={}, feed=None)
    s = Snapshot.from_dict({**s.as_dict(), "rings": [{**r, "rate": None, "occupancy": None}
                                                      for r in s.as_dict()["rings"]]})
    text, _ = draw(s)
    assert row(text, "md")[3:5] == ["-", "-"]
    assert "trading -" in text and "no ingest worker" in text and "rejects: -" in text


def test_recorded_snapshot_round_trips_through_json():
    s = samples.with_dead_worker()
    back = Snapshot.from_dict(json.loads(json.dumps(s.as_dict())))
    assert back == s
    assert draw(back)[0] == draw(s)[0]


def test_snapshots_are_immutable():
    s = samples.full()
    with pytest.raises(AttributeError):
        s.state = "dead"
    with pytest.raises(TypeError):
        s.trading["fills"] = 1
    with pytest.raises(TypeError):
        s.workers[0].counters["x"] = 1


def test_formats():
    assert [fmt.count(n) for n in (None, 0, 99_999, 123_456, 1_048_576, 2_500_000_000)] == \
        ["-", "0", "99,999", "123.5k", "1.05M", "2.50G"]
    assert [fmt.micros(u) for u in (None, 0.85, 12.34, 456.0, 1234.0, 45_678.0, 2_500_000.0)] == \
        ["-", "850ns", "12.3us", "456us", "1.23ms", "45.7ms", "2.5s"]
    assert [fmt.rate(r) for r in (None, 0.0, 8.0, 12.0, 2013.0, 150_000.0)] == \
        ["-", "0/s", "8.0/s", "12/s", "2.0k/s", "150.0k/s"]
    assert [fmt.seconds(s) for s in (None, 0.012, 7.5, 42, 312.4, 7322)] == ["-", "0.01s", "7.5s", "42s", "5m12s",
                                                                              "2h02m"]
    assert fmt.percent(0.5) == "50.0%" and fmt.percent(1.0) == "100%"


def test_venue_pushback_is_on_the_risk_line():
    """Execution's rate-limit counters (trading.snapshot venue_pushback) show next to the rejects."""
    base = samples.full()
    trading = dict(base.trading, venue_pushback={"rate_limited": 4, "backoffs": 1, "backoff_rejects": 12})
    text, _ = draw(samples.full(trading=trading), width=160)
    line = next(ln for ln in lines_of(text) if ln.startswith("risk ") and "kill switch" in ln)
    assert "venue rate limit: rate_limited 4, backoffs 1, backoff_rejects 12" in line
    assert "venue rate limit" not in draw(base, width=160)[0]
