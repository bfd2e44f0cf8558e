import pytest
from ingest.harness import Instance


@pytest.fixture
def ingest_instance(instance):
    """Control block with the ``ingest`` slot, latency book and md ring; all removed after."""
    inst = Instance(instance)
    yield inst
    inst.close()
