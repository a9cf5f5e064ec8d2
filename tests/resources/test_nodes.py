"""Nodes: the list's columns, the detail page's management (labels, taints, cordon) and
drains — a Celery task evicting pods as the user, honouring PodDisruptionBudgets, with
its progress on the page."""
import re
import threading

import pytest
from django.db import connection

from cceone.audit.models import AuditEvent
from resources import tasks
from resources.models import NodeDrain
from tests.conftest import client_for
from tests.live import wait_until
from tests.resources.conftest import page


def _node(emulator, name):
    return emulator.emulator.get_object("v1", "Node", name)


def _pods_on(emulator, node):
    return sorted(p["metadata"]["name"] for p in emulator.emulator.list_objects("v1", "Pod", None,
                                                                               field_selector=f"spec.nodeName={node}"))


def test_the_node_list_shows_status_roles_version_capacity_and_pods(cluster, tenant, emulator):
    text = client_for(tenant.main).get(page(cluster, "nodes")).content.decode()
    row = text.split(">worker-1</a>", 1)[1].split("</tr>", 1)[0]
    active = [p for p in emulator.emulator.list_objects("v1", "Pod", None, field_selector="spec.nodeName=worker-1")
              if p["status"].get("phase") not in ("Succeeded", "Failed")]
    for cell in ("Ready", "worker", "v1.31.4", "8 CPU · 32 GiB", "7.8 CPU · 31 GiB", f"{len(active)}/110"):
        assert cell in row, cell
    assert "control-plane" in text.split(">cp-1</a>", 1)[1].split("</tr>", 1)[0]


def test_the_node_page_shows_conditions_labels_taints_and_its_pods(cluster, tenant, emulator):
    text = client_for(tenant.main).get(page(cluster, "nodes", None, "cp-1")).content.decode()
    assert 'id="conditions"' in text and "KubeletReady" in text
    assert "node-role.kubernetes.io/control-plane:NoSchedule" in text
    assert "kubernetes.io/hostname=cp-1" in text
    assert ">kube-proxy-58cb4</a>" in text  # a pod on this node
    events = client_for(tenant.main).get(page(cluster, "nodes", None, "worker-2")).content.decode()
    assert "NodeReady" in events.split(">Events</h3>", 1)[1]  # the node's events


def test_cordon_and_uncordon(cluster, tenant, emulator):
    client = client_for(tenant.main)
    client.post(page(cluster, "nodes", None, "worker-1", "cordon"), {"unschedulable": "true"})
    assert _node(emulator, "worker-1")["spec"]["unschedulable"] is True
    text = client.get(page(cluster, "nodes", None, "worker-1")).content.decode()
    assert "Ready,SchedulingDisabled" in text and ">Uncordon<" in text
    client.post(page(cluster, "nodes", None, "worker-1", "cordon"), {"unschedulable": "false"})
    assert not _node(emulator, "worker-1")["spec"].get("unschedulable")
    assert list(AuditEvent.objects.filter(details__name="worker-1").values_list("action", flat=True)) == [
        "k8s:uncordon", "k8s:cordon"]


def test_edit_labels(cluster, tenant, emulator):
    client = client_for(tenant.main)
    node = _node(emulator, "worker-1")
    labels = {k: v for k, v in node["metadata"]["labels"].items() if k != "topology.kubernetes.io/zone"}
    labels["disk"] = "ssd"
    response = client.post(page(cluster, "nodes", None, "worker-1", "labels"), {
        "labels": "\n".join(f"{k}={v}" for k, v in labels.items()),
        "resource_version": node["metadata"]["resourceVersion"]})
    assert response.status_code == 302
    assert _node(emulator, "worker-1")["metadata"]["labels"] == labels
    assert "Labels of worker-1 saved." in client.get(response.url).content.decode()


def test_labels_changed_meanwhile_are_not_overwritten(cluster, tenant, emulator):
    client = client_for(tenant.main)
    stale = _node(emulator, "worker-1")["metadata"]["resourceVersion"]
    client.post(page(cluster, "nodes", None, "worker-1", "cordon"), {"unschedulable": "true"})
    response = client.post(page(cluster, "nodes", None, "worker-1", "labels"),
                           {"labels": "only=this", "resource_version": stale})
    assert "Someone else changed this Node meanwhile" in client.get(response.url).content.decode()
    assert "only" not in _node(emulator, "worker-1")["metadata"]["labels"]


def test_bad_label_lines_are_explained(cluster, tenant, emulator):
    client = client_for(tenant.main)
    response = client.post(page(cluster, "nodes", None, "worker-1", "labels"),
                           {"labels": "no-equals-sign", "resource_version": "1"})
    assert "“no-equals-sign” is not key=value." in client.get(response.url).content.decode()


def test_add_and_remove_taints(cluster, tenant, emulator):
    client = client_for(tenant.main)
    client.post(page(cluster, "nodes", None, "worker-2", "taints"),
                {"key": "dedicated", "value": "infra", "effect": "NoSchedule"})
    assert _node(emulator, "worker-2")["spec"]["taints"] == [
        {"key": "dedicated", "value": "infra", "effect": "NoSchedule"}]
    client.post(page(cluster, "nodes", None, "cp-1", "taints"),
                {"remove": "node-role.kubernetes.io/control-plane:NoSchedule"})
    assert not _node(emulator, "cp-1")["spec"].get("taints")
    assert set(AuditEvent.objects.values_list("action", flat=True)) >= {"k8s:taint", "k8s:untaint"}


def test_a_taint_needs_a_key_and_an_effect(cluster, tenant, emulator):
    client = client_for(tenant.main)
    response = client.post(page(cluster, "nodes", None, "worker-2", "taints"), {"key": "", "effect": "Sometimes"})
    text = client.get(response.url).content.decode()
    assert "Key: This field is required." in text and "Effect: Select a valid choice." in text
    assert not _node(emulator, "worker-2")["spec"].get("taints")


def test_drain_evicts_the_pods_and_reports_progress(cluster, tenant, emulator):
    client = client_for(tenant.main)
    assert "Pods no controller manages are deleted" in client.get(
        page(cluster, "nodes", None, "worker-2", "drain")).content.decode()
    response = client.post(page(cluster, "nodes", None, "worker-2", "drain"))
    drain = NodeDrain.objects.get()
    assert response.status_code == 302 and response.url.endswith(f"/_drain/{drain.pk}/")
    assert drain.status == "succeeded" and drain.requested_by == tenant.main
    assert _node(emulator, "worker-2")["spec"]["unschedulable"] is True
    assert _pods_on(emulator, "worker-2") == ["kube-proxy-6986d"]  # the DaemonSet pod stays
    states = {p["name"]: p["state"] for p in drain.pods}
    assert states["kube-proxy-6986d"] == "skipped" and states["postgres-1"] == "evicted"
    assert states["web-9dc7954c7-545bb"] == "evicted"
    # Their controllers started replacements elsewhere.
    assert len(emulator.emulator.list_objects("v1", "Pod", "prod", label_selector="app=web")) == 3
    progress = client.get(response.url).content.decode()
    assert "Drained" in progress and "6 evicted, 0 blocked, 1 skipped, 0 failed of 7 pods" in progress
    assert 'hx-trigger="every 2s"' not in progress  # finished: no more polling
    assert AuditEvent.objects.filter(action="k8s:drain", actor=tenant.main, details__name="worker-2").exists()
    node_page = client.get(page(cluster, "nodes", None, "worker-2")).content.decode()
    assert 'id="last-drain"' in node_page and "Drained" in node_page


def _block_web(emulator, min_available):
    pdb = emulator.emulator.get_object("policy/v1", "PodDisruptionBudget", "web", "prod")
    emulator.emulator.apply_object({**pdb, "spec": {**pdb["spec"], "minAvailable": min_available}})


def test_a_drain_blocked_by_a_budget_times_out_and_says_so(cluster, tenant, emulator, settings):
    settings.CCEONE_DRAIN_TIMEOUT, settings.CCEONE_DRAIN_RETRY_SECONDS = 1, 0.2
    _block_web(emulator, 3)
    response = client_for(tenant.main).post(page(cluster, "nodes", None, "worker-1", "drain"))
    drain = NodeDrain.objects.get()
    assert drain.status == "failed"
    assert "still blocked by a PodDisruptionBudget" in drain.message
    blocked = [p for p in drain.pods if p["state"] == "blocked"]
    assert {p["name"] for p in blocked} == {"web-9dc7954c7-fffd7", "web-9dc7954c7-fbb6c"}
    assert "The disruption budget web needs 3 healthy pods" in blocked[0]["message"]
    assert set(_pods_on(emulator, "worker-1")) >= {"web-9dc7954c7-fffd7", "web-9dc7954c7-fbb6c"}
    progress = client_for(tenant.main).get(response.url).content.decode()
    assert "Failed" in progress and "drain-blocked" in progress
    assert AuditEvent.objects.filter(action="k8s:drain", result="failed").exists()


def test_a_running_drain_is_polled_until_the_budget_lets_it_finish(cluster, tenant, emulator, settings):
    settings.CCEONE_DRAIN_TIMEOUT, settings.CCEONE_DRAIN_RETRY_SECONDS = 30, 0.2
    _block_web(emulator, 3)
    client = client_for(tenant.main)
    url = page(cluster, "nodes", None, "worker-1", "drain")

    def start():  # the task runs eagerly inside this request, like a worker would
        client_for(tenant.main).post(url)
        connection.close()

    worker = threading.Thread(target=start)
    worker.start()
    try:
        drain = wait_until(lambda: NodeDrain.objects.filter(status="running").first(), what="the drain to run")
        status_url = f"{url}{drain.pk}/"
        blocked = wait_until(lambda: (lambda t: "drain-blocked" in t and t)(
            client.get(status_url, HTTP_HX_REQUEST="true").content.decode()), what="a blocked pod")
        assert blocked.startswith('<div id="drain-progress"') and 'hx-trigger="every 2s"' in blocked
        assert "Blocked by a PodDisruptionBudget, retrying" in blocked
        again = client.post(url)  # asking again while it runs shows the same drain
        assert again.url.endswith(f"/_drain/{drain.pk}/")
        _block_web(emulator, 2)
        worker.join(20)
    finally:
        _block_web(emulator, 0)
        worker.join(20)
    drain.refresh_from_db()
    assert drain.status == "succeeded"
    assert 'hx-trigger' not in client.get(f"{url}{drain.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert NodeDrain.objects.count() == 1


def test_the_drain_task_is_idempotent(cluster, tenant, emulator):
    drain = NodeDrain.objects.create(account=tenant.account, target_type="cluster", target_id=str(cluster.pk),
                                     target_name=cluster.name, node="worker-2", requested_by=tenant.main,
                                     status="running", pods=[{"namespace": "prod", "name": "gone-pod",
                                                              "state": "evicted", "message": ""}])
    from django.utils import timezone

    NodeDrain.objects.filter(pk=drain.pk).update(started_at=timezone.now())
    tasks.drain_node(drain.pk, tenant.main.pk)  # e.g. redelivered after a worker crash: continues
    drain.refresh_from_db()
    assert drain.status == "succeeded" and {"gone-pod", "postgres-1"} <= {p["name"] for p in drain.pods}
    finished = drain.finished_at
    tasks.drain_node(drain.pk, tenant.main.pk)  # and a finished drain is left alone
    drain.refresh_from_db()
    assert drain.finished_at == finished


def test_a_drain_runs_as_the_user_who_asked(cluster, tenant, emulator):
    """The task impersonates the requester: without RBAC on nodes it fails, explained."""
    drain = NodeDrain.objects.create(account=tenant.account, target_type="cluster",
                                     target_id=str(cluster.pk), target_name=cluster.name, node="worker-2",
                                     requested_by=tenant.admin)
    tasks.drain_node(drain.pk, tenant.admin.pk)
    drain.refresh_from_db()
    assert drain.status == "failed" and re.search(r"You lack permission to \w+ nodes", drain.message)
    assert not _node(emulator, "worker-2")["spec"].get("unschedulable")


def test_another_tenant_cannot_see_a_drain(cluster, tenant, other_tenant):
    client_for(tenant.main).post(page(cluster, "nodes", None, "worker-2", "drain"))
    drain = NodeDrain.objects.get()
    url = f"{page(cluster, 'nodes', None, 'worker-2', 'drain')}{drain.pk}/"
    assert client_for(other_tenant.main).get(url).status_code == 404
    assert client_for(tenant.main).get(url.replace("worker-2", "worker-1")).status_code == 404


@pytest.mark.parametrize("persona", ["viewer", "nopolicy"])
def test_drain_status_pages_follow_iam(cluster, tenant, persona):
    client_for(tenant.main).post(page(cluster, "nodes", None, "worker-2", "drain"))
    drain = NodeDrain.objects.get()
    url = f"{page(cluster, 'nodes', None, 'worker-2', 'drain')}{drain.pk}/"
    assert client_for(tenant.persona(persona)).get(url).status_code == (200 if persona == "viewer" else 403)
