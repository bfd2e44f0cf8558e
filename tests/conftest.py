import itertools
import os

import pytest

from hftshm import instances

# Tests import the installed names (hftshm.cli, hftshm.layouts, hftshm.workers), never the
# checkout's top-level cli.py, layouts/ or workers/; tests/support.py is importable as `support`
# through pyproject.toml's `pythonpath = ["tests"]`.
_ids = itertools.count()


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
