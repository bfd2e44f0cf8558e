"""End to end: ``hftshm start`` with the shipped few-cores example (docs/examples/few-cores.toml):
the feed and both strategies inside execution. The supervisor starts no ingest and no strategy
process, ``hftshm status`` shows their slots running in execution's process, market data flows
and orders go out; after the stop: exit 0, nothing left in /dev/shm, and the md journal holds
every record once, in order. Every wait is for the condition checked, with a deadline."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from hftshm.journal import files
from tests.runtime.helpers import example_config, leftovers, status_json, stop, supervisor, wait_running

START_S = 600  # a first run compiles every kernel (minutes on a loaded machine)
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "few-cores.toml"


def _children(pid: int) -> list[str]:
    """The command lines of ``pid``'s child processes (/proc), arguments joined by spaces."""
    out = []
    for d in Path("/proc").iterdir():
        try:
            if d.name.isdigit() and int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(" ".join(filter(None, (d / "cmdline").read_bytes().decode().split("\0"))))
        except (OSError, IndexError, ValueError):
            pass  # gone meanwhile
    return out


def test_few_cores_example_runs_the_feed_and_strategies_inside_execution(tmp_path, instance):
    cfg = example_config(tmp_path, instance, EXAMPLE)
    with supervisor("start", "--headless", "--config", cfg) as sup:
        started = time.monotonic() + START_S
        while True:
            try:
                pids = wait_running(instance, timeout=5)
                break
            except AssertionError:
                assert sup.poll() is None, f"hftshm start exited with {sup.returncode}: {sup.communicate()[0]}"
                assert time.monotonic() < started, f"the workers did not start within {START_S} s"
        assert set(pids) == {"journal", "state", "risk", "execution", "ingest", "strategy-imb", "strategy-mom"}, pids
        hosted = {pids[n] for n in ("execution", "ingest", "strategy-imb", "strategy-mom")}
        assert len(hosted) == 1, pids  # one process
        titles = _children(sup.pid)  # a worker's process title is "hftshm: <worker>"
        assert "hftshm: execution" in titles and not [t for t in titles if t.startswith(
            ("hftshm: ingest", "hftshm: strategy"))], titles
        deadline = time.monotonic() + 180
        while True:
            ws = {w["name"]: w for w in status_json(instance)["workers"]}
            if ws["ingest"]["counters"]["records"] > 1000 and ws["execution"]["counters"]["sent"] > 0:
                break
            assert sup.poll() is None, sup.communicate()[0]
            assert time.monotonic() < deadline, f"after 180 s: ingest {ws['ingest']['counters']}, " \
                                                f"execution {ws['execution']['counters']}"
            time.sleep(0.5)
        assert ws["ingest"]["pid"] == ws["execution"]["pid"] and ws["ingest"]["alive"]
        output = stop(sup)
    assert sup.returncode == 0, output
    assert "execution runs strategy-imb, strategy-mom, ingest" in output, output
    assert leftovers(instance) == []
    _, recs = files.load_ring(files.ring_dir(tmp_path / "runs" / instance, "md"))
    assert len(recs) > 1000
    assert np.array_equal(recs["seq"], np.arange(recs["seq"][0], recs["seq"][0] + len(recs))), "md lost or reordered"
