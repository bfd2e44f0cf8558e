import itertools
import os
import sys

import pytest

from hftshm import instances

_ids = itertools.count()
TESTS = os.path.dirname(__file__)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)  # tests/support.py, importable by spawned children too
ROOT = os.path.dirname(TESTS)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)  # cli.py, the typer app


@pytest.fixture
def instance():
    """A fresh instance name; everything under it is unlinked after the test."""
    name = f"t{os.getpid()}x{next(_ids)}"
    yield name
    inst = instances.scan().get(name)
    if inst is not None:
        instances.remove(inst)


@pytest.fixture(autouse=True)
def _umask_restored():
    """``hftshm`` commands set umask 077 for their process; one invoked in this process (typer's
    CliRunner) must not change what later tests create."""
    before = os.umask(0o022)
    os.umask(before)
    yield
    os.umask(before)
