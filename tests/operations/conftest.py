"""A running cluster (emulator behind a real hub and agent) loaded with the operations corpus."""
from pathlib import Path

import pytest

from tests.live import grant

CORPUS = Path(__file__).parent / "corpus"


@pytest.fixture
def cluster(connected_cluster, emulator, tenant):
    """The tenant's running cluster with the diagnosis corpus; the main account is cluster-admin."""
    grant(emulator, tenant.main, "cluster-admin")
    emulator.emulator.load_seed(CORPUS / "diagnosis.yaml")
    return connected_cluster
