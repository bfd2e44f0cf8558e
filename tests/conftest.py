import itertools
import os
import tempfile

import pytest

from hftshm import instances

# Tests import the installed names (hftshm.cli, hftshm.layouts, hftshm.workers), never the
# checkout's top-level cli.py, layouts/ or workers/; tests/support.py is importable as `support`
# through pyproject.toml's `pythonpath = ["tests"]`.
_ids = itertools.count()

# The four kinds of test (docs/index.md, "For contributors"), as markers: a module's kind is
# declared here, by path under tests/, so every test carries exactly one of them; what is not
# listed is `unit` (literal-input tests; a few of those modules fork one helper process for one
# check, a dead producer say). `stress` (pyproject.toml) is separate: the long runs, excluded by
# default, of any kind.
KINDS = {
    # several processes (or threads) racing on shared memory, every record checked against
    # declared forbidden outcomes (lost, duplicated, torn)
    "multiprocess": ("ring/test_stress_broadcast.py", "ring/test_stress_many_to_one.py",
                     "latency/test_stress_concurrent.py", "bridge/test_faults.py"),
    # the whole system, or a worker process with what it talks to, run for real: supervised
    # instances (hftshm start, the trading harness), worker subprocesses, servers
    "e2e": ("runtime/test_start.py", "runtime/test_supervisor.py", "runtime/test_security.py",
            "runtime/test_journal.py", "runtime/test_journal_faults.py", "runtime/test_replay.py",
            "trading/test_end_to_end.py", "trading/test_restart.py", "trading/test_stale.py",
            "trading/test_protection.py", "ingest/test_worker.py", "ingest/test_restart.py",
            "bridge/test_supervised.py", "bridge/test_remote_strategy.py", "bridge/test_md_bridge.py",
            "bridge/test_fills_out.py", "bridge/test_orders_in.py", "bridge/test_two_hosts.py",
            "ui/test_ui_live.py", "ui/test_ui_tmux.py"),
    # `hftshm bench ...` runs: they report figures and assert the report's shape, never a time
    "bench": ("bench/", "ingest/test_bench_ingest.py"),
}
TESTS = os.path.dirname(os.path.abspath(__file__))


def pytest_configure(config):
    for kind, paths in KINDS.items():
        for path in paths:
            if not os.path.exists(os.path.join(TESTS, path)):
                raise pytest.UsageError(f"tests/conftest.py KINDS[{kind!r}] names {path}, which does not exist")


def kind_of(relpath: str) -> str:
    """The kind of the test module at ``relpath`` (relative to tests/, / separated)."""
    for kind, paths in KINDS.items():
        if any(relpath == p or (p.endswith("/") and relpath.startswith(p)) for p in paths):
            return kind
    return "unit"


def pytest_collection_modifyitems(config, items):
    for item in items:
        rel = os.path.relpath(str(item.path), TESTS).replace(os.sep, "/")
        item.add_marker(kind_of(rel))


@pytest.fixture
def instance():
    """A fresh instance name; everything under it is unlinked after the test."""
    name = f"t{os.getpid()}x{next(_ids)}"
    yield name
    inst = instances.scan().get(name)
    if inst is not None:
        instances.remove(inst)


@pytest.fixture(autouse=True, scope="session")
def _temporary_directories_under_pytests_own(tmp_path_factory):
    """Harnesses make their run directories with ``tempfile`` (the trading harness's logs and
    journals, a bench's work): under pytest's base temp, which keeps the last three sessions,
    instead of piling up in /tmp (about 1 GB a day of test runs). Wake sockets are abstract
    (no path), so the longer paths change nothing else."""
    before = tempfile.tempdir
    tempfile.tempdir = str(tmp_path_factory.mktemp("tempfile"))
    yield
    tempfile.tempdir = before


@pytest.fixture(autouse=True)
def _umask_restored():
    """``hftshm`` commands set umask 077 for their process; one invoked in this process (typer's
    CliRunner) must not change what later tests create."""
    before = os.umask(0o022)
    os.umask(before)
    yield
    os.umask(before)
