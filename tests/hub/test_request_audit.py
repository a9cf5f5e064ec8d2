"""The hub's request audit (cceone/hub/audit.py) with an in-memory directory: what the
kubeconfig proxy hands over, what it does not, and a directory that fails."""
from __future__ import annotations

import pytest
from kubernetes.client.rest import ApiException

from cceone.hub import BaseDirectory, HubThread

from .conftest import USER_TOKEN, kube_api, wait_until


def test_kubeconfig_requests_reach_the_directory_in_batches(agent, hub, directory):
    core = kube_api(f"{hub.public_url}/k8s/clusters/c1", token=USER_TOKEN)
    core.list_namespaced_pod("default")
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_pod("nope", "default")
    assert missing.value.status == 404
    with pytest.raises(ApiException):
        kube_api(f"{hub.public_url}/k8s/clusters/c1", token="not-a-token").list_namespaced_pod("default")
    # The console's requests (internal listener) are audited by the console's services, not here.
    kube_api(f"{hub.internal_url}/clusters/c1", secret=hub.secret).list_namespaced_pod("kube-system")

    records = wait_until(lambda: len(directory.requests) >= 2 and list(directory.requests), what="records")
    assert [(r["verb"], r["resource"], r["namespace"], r["name"], r["status"]) for r in records] == [
        ("list", "pods", "default", "", 200), ("get", "pods", "default", "nope", 404)]
    first = records[0]
    assert first["cluster"] == "c1" and first["user"] == "alice@example.com" and first["source_ip"] == "127.0.0.1"
    assert first["latency_ms"] > 0 and first["user_agent"].startswith("OpenAPI-Generator")
    assert hub.hub.audit.stats() == {"buffered": 0, "recorded": 2, "dropped": 0}


def test_a_failed_batch_is_counted_and_reported_with_the_next(agent, hub, directory):
    calls: list[int] = []
    store = directory.kube_requests

    async def restarting_database(records, dropped):
        calls.append(len(records))
        if len(calls) == 1:
            raise RuntimeError("database unavailable")
        await store(records, dropped)

    hub.hub.audit.sink = restarting_database
    core = kube_api(f"{hub.public_url}/k8s/clusters/c1", token=USER_TOKEN)
    core.list_namespaced_pod("default")
    wait_until(lambda: calls, what="the failed batch")
    assert {p.metadata.name for p in core.list_namespaced_pod("default").items} >= {"seed-0"}  # served all the same
    wait_until(lambda: directory.requests, what="the next batch")
    assert directory.requests_dropped == {"c1": calls[0]}
    assert [r["verb"] for r in directory.requests] == ["list"]
    assert hub.hub.audit.stats() == {"buffered": 0, "recorded": 1, "dropped": calls[0]}


def test_auditing_off_or_a_directory_without_a_store_records_nothing(directory):
    with HubThread(directory, request_audit=False) as off:
        assert off.hub.audit is None
    with HubThread(BaseDirectory()) as bare:
        assert bare.hub.audit is None
