"""The request audit never holds the kubeconfig proxy up: while the database does not take
the hub's batches, kubectl goes on working, the hub keeps at most its buffer's worth and
counts the rest, and the timeline then says how many requests of the cluster went unrecorded."""
import asyncio
import threading

import pytest
import requests
from django.urls import reverse

from cceone.audit.models import AuditEvent
from clusters.hub_directory import DatabaseDirectory
from tests.audit.test_kube_timeline import kubectl  # noqa: F401  (the fixture)
from tests.conftest import client_for
from tests.live import wait_until

CAPACITY = 5


class StuckDatabase(DatabaseDirectory):
    """The database directory, with its request batches held until `gate` opens."""

    def __init__(self):
        super().__init__()
        self.gate = threading.Event()

    async def kube_requests(self, records, dropped):
        await asyncio.to_thread(self.gate.wait, 60)
        await super().kube_requests(records, dropped)


@pytest.fixture
def hub_directory():
    directory = StuckDatabase()
    yield directory
    directory.gate.set()


@pytest.fixture
def hub_options():
    return {"audit_capacity": CAPACITY, "audit_batch": 2, "audit_interval": 0.1}


def _audit_stats(hub):
    return requests.get(hub.internal_url + "/healthz", timeout=5).json()["request_audit"]


def test_a_stuck_database_drops_and_counts_requests_without_slowing_kubectl(connected_cluster, kubectl, tenant,
                                                                            live_hub, hub_directory):
    for _ in range(20):  # kubectl keeps working while nothing is recorded
        ran = kubectl("get", "configmaps")
        assert ran.returncode == 0, ran.stderr
        if _audit_stats(live_hub)["dropped"] >= 2:
            break
    stats = _audit_stats(live_hub)
    assert stats["buffered"] == CAPACITY and stats["dropped"] > 0 and stats["recorded"] == 0
    assert not AuditEvent.objects.filter(action__startswith="kubernetes:").exists()

    hub_directory.gate.set()
    unrecorded = wait_until(lambda: AuditEvent.objects.filter(action="kubernetes:unrecorded").first(),
                            what="the drop count recorded")
    assert unrecorded.details["count"] == stats["dropped"]
    assert unrecorded.target_id == str(connected_cluster.pk) and unrecorded.result == AuditEvent.Result.FAILED
    wait_until(lambda: AuditEvent.objects.filter(action__startswith="kubernetes:").exclude(
        action="kubernetes:unrecorded").count() >= CAPACITY, what="the buffered requests recorded")
    page = client_for(tenant.main).get(reverse("audit:list"), {"source": "kubernetes", "result": "failed"})
    assert f"{stats['dropped']} requests not recorded" in page.content.decode()
