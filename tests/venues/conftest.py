import pytest
from ingest.harness import Instance


@pytest.fixture
def ingest_instance(instance):
    """The ingest worker's instance (tests/ingest/harness.py); all removed after."""
    inst = Instance(instance)
    yield inst
    inst.close()
