"""One audit timeline (issue 19 item 5): every request through the hub's kubeconfig proxy joins
the console's audit events — user, cluster, verb, resource, namespace, name, status, latency,
never a body — filterable like them, recorded off the proxy's path through a bounded buffer
that counts what it drops, and kept only for the retention set."""
import json
import subprocess
import threading
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cceone.audit.models import AuditEvent
from cceone.hub.audit import request_info
from clusters import kubeconfigs
from tests.clusters.test_cloud_clusters import cloud_cluster  # noqa: F401  (the fixture)
from tests.clusters.test_connectivity import kubectl as kubectl_run
from tests.conftest import client_for
from tests.federation.conftest import federation_setup, hub_karmada, member_servers  # noqa: F401  (fixtures)
from tests.live import grant, wait_until

API = "/api/v1/audit/events/"


@pytest.fixture
def kubectl(connected_cluster, emulator, tenant, tmp_path):
    """kubectl with the sub-account's own kubeconfig; its RBAC: `edit` in default only."""
    grant(emulator, tenant.user, "edit", namespace="default")
    _issued, config = kubeconfigs.issue(tenant.user, connected_cluster)
    path = tmp_path / "kubeconfig.yaml"
    path.write_text(config)

    def run(*args, timeout=60):
        return subprocess.run(["kubectl", "--kubeconfig", str(path), "--request-timeout", "20s", *args],
                              capture_output=True, text=True, timeout=timeout)

    run.path = path
    return run


def _requests(cluster, **details):
    events = AuditEvent.objects.filter(action__startswith="kubernetes:", target_id=str(cluster.pk)).order_by("time")
    return [e for e in events if all(e.details.get(k) == v for k, v in details.items())]


def _one(cluster, what, **details):
    return wait_until(lambda: _requests(cluster, **details), what=what)[0]


def test_kubectl_calls_appear_in_the_timeline_with_verb_resource_and_status(connected_cluster, kubectl, tenant):
    assert kubectl("create", "configmap", "notes", "--from-literal=secret-word=swordfish").returncode == 0
    assert kubectl("get", "configmaps").returncode == 0
    assert kubectl("get", "configmap", "notes", "-o", "name").stdout.strip() == "configmap/notes"
    assert kubectl("label", "configmap", "notes", "tier=demo").returncode == 0
    refused = kubectl("create", "configmap", "elsewhere", "-n", "kube-system")
    assert refused.returncode != 0 and "forbidden" in refused.stderr.lower()
    assert kubectl("delete", "configmap", "notes").returncode == 0

    created = _one(connected_cluster, "the create", verb="create", resource="configmaps", namespace="default")
    assert created.action == "kubernetes:create" and created.details["status"] == 201
    assert created.actor == tenant.user and created.actor_name == "acme-user"
    assert created.account == tenant.account and created.target_name == connected_cluster.name
    assert created.result == AuditEvent.Result.SUCCESS and created.source_ip == "127.0.0.1"
    assert created.user_agent.startswith("kubectl")
    assert created.details["kubernetes_user"] == "cceone:acme-user"
    assert created.details["latency_ms"] > 0
    assert "swordfish" not in json.dumps(created.details)  # no bodies
    listed = _one(connected_cluster, "the list", verb="list", resource="configmaps", status=200)
    assert listed.details["namespace"] == "default" and listed.details["name"] == ""
    got = _one(connected_cluster, "the get", verb="get", resource="configmaps", name="notes")
    assert got.details["status"] == 200
    patched = _one(connected_cluster, "the label", verb="patch", name="notes")
    assert patched.details["status"] == 200
    denied = _one(connected_cluster, "the refusal", verb="create", namespace="kube-system")
    assert denied.details["status"] == 403 and denied.result == AuditEvent.Result.DENIED
    deleted = _one(connected_cluster, "the delete", verb="delete", name="notes")
    assert deleted.details["status"] == 200
    # Discovery is recorded too, as the API server names non-resource requests.
    assert any(e.details["path"] in ("/api", "/apis") for e in _requests(connected_cluster, verb="get"))

    # One timeline with the console's own events, filtered alike on page and API.
    client = client_for(tenant.main)
    page = client.get(reverse("audit:list"), {"source": "kubernetes", "action": "kubernetes:delete"})
    html = page.content.decode()
    assert page.status_code == 200 and "kubernetes:delete" in html and "configmaps default/notes" in html
    assert "kubernetes:create" not in html
    api = client.get(API, {"source": "kubernetes", "user": "acme-user", "result": "denied",
                           "target": connected_cluster.name}).json()["results"]
    assert [(e["action"], e["details"]["namespace"], e["details"]["status"]) for e in api] == [
        ("kubernetes:create", "kube-system", 403)]
    console = client.get(API, {"source": "console"}).json()["results"]
    assert console and not any(e["action"].startswith("kubernetes:") for e in console)
    assert any(e["action"] == "kubernetes:list" for e in client.get(API).json()["results"])
    # The cluster's own tenant only.
    assert client.get(API, {"source": "kubernetes"}).json()["count"] >= 6


def test_a_watch_is_recorded_when_the_client_ends_it(connected_cluster, kubectl):
    watcher = subprocess.Popen(["kubectl", "--kubeconfig", str(kubectl.path), "get", "pods", "--watch",
                                "--request-timeout", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: AuditEvent.objects.filter(action="kubernetes:list", details__resource="pods").exists(),
                   what="the watch's initial list")
        time.sleep(0.5)
    finally:
        watcher.terminate()
        watcher.wait(10)
    watch = _one(connected_cluster, "the watch", verb="watch", resource="pods")
    assert watch.details["status"] == 200 and watch.result == AuditEvent.Result.SUCCESS
    assert watch.details["latency_ms"] >= 400  # how long it was open


def test_a_cloud_clusters_requests_join_the_timeline_too(cloud_cluster, tenant, tmp_path):
    """A cloud cluster's requests go to its API server from the hub itself, after the same checks."""
    _issued, config = kubeconfigs.issue(tenant.user, cloud_cluster)
    assert kubectl_run(config, tmp_path, "get", "pods", "-n", "prod", "-o", "name").returncode == 0
    assert kubectl_run(config, tmp_path, "get", "nodes").returncode != 0
    pods = _one(cloud_cluster, "the pod list", verb="list", resource="pods", namespace="prod")
    assert pods.details["status"] == 200 and pods.actor == tenant.user
    nodes = _one(cloud_cluster, "the refused node list", verb="list", resource="nodes")
    assert nodes.details["status"] == 403 and nodes.result == AuditEvent.Result.DENIED


def test_a_federations_requests_join_the_timeline_on_the_federation(federation_setup, tenant, tmp_path):
    """Through the federation's kubeconfig (Karmada's API server behind the hub): filed under the
    federation; Karmada's own requests into the members are on the members' timelines."""
    from federation import kubeconfigs, members, rbac

    federation, clusters, _agents = federation_setup
    members.sync(federation.pk)  # Karmada joins the members through the hub
    rbac.apply(federation.pk)  # the main account administers the federation
    _issued, config = kubeconfigs.issue(tenant.main, federation)
    assert kubectl_run(config, tmp_path, "get", "propagationpolicies", "-n", "default").returncode == 0
    listed = wait_until(lambda: AuditEvent.objects.filter(
        action="kubernetes:list", target_type="federation", details__resource="propagationpolicies").first(),
        what="the federation's list")
    assert listed.target_id == str(federation.pk) and listed.target_name == "fed-shop"
    assert listed.actor == tenant.main and listed.details["api_group"] == "policy.karmada.io"
    assert listed.details["status"] == 200 and listed.account == tenant.account
    wait_until(lambda: AuditEvent.objects.filter(action__startswith="kubernetes:", target_type="cluster",
                                                 target_id=str(clusters[0].pk)).exists(),
               what="Karmada's requests to a member")


def test_another_tenant_sees_none_of_it(connected_cluster, kubectl, other_tenant):
    assert kubectl("get", "configmaps").returncode == 0
    _one(connected_cluster, "the list", verb="list", resource="configmaps")
    other = client_for(other_tenant.main)
    assert other.get(API, {"source": "kubernetes"}).json()["count"] == 0
    event = AuditEvent.objects.filter(action="kubernetes:list").first()
    assert other.get(f"{API}{event.pk}/").status_code == 404
    assert connected_cluster.name not in other.get(reverse("audit:list")).content.decode()


def test_retention_deletes_only_old_kubernetes_requests(tenant):
    from cceone.audit.tasks import expire_kubernetes_requests
    from django.conf import settings

    now = timezone.now()
    keep = settings.CCEONE_AUDIT_KUBE_REQUEST_RETENTION_DAYS
    AuditEvent.objects.bulk_create([
        AuditEvent(account=tenant.account, action="kubernetes:list", target_name="old", time=now - timedelta(days=keep + 1)),
        AuditEvent(account=tenant.account, action="kubernetes:get", target_name="recent", time=now - timedelta(days=keep - 1)),
        AuditEvent(account=tenant.account, action="clusters:create", target_name="ordered", time=now - timedelta(days=keep + 400)),
    ])
    assert expire_kubernetes_requests() == 1
    left = client_for(tenant.main).get(API).json()["results"]
    assert {e["target_name"] for e in left} >= {"recent", "ordered"} and "old" not in {e["target_name"] for e in left}
    assert "audit-expire-kubernetes-requests" in settings.CELERY_BEAT_SCHEDULE


# Kubernetes' own cases (k8s.io/apiserver/pkg/endpoints/request/requestinfo_test.go), as
# (method, path) -> (verb, group, version, namespace, resource, subresource, name).
REQUEST_INFO_CASES = [
    ("GET", "/api/v1/namespaces", ("list", "", "v1", "", "namespaces", "", "")),
    ("GET", "/api/v1/namespaces/other", ("get", "", "v1", "other", "namespaces", "", "other")),
    ("GET", "/api/v1/namespaces/other/pods", ("list", "", "v1", "other", "pods", "", "")),
    ("GET", "/api/v1/namespaces/other/pods/foo", ("get", "", "v1", "other", "pods", "", "foo")),
    ("HEAD", "/api/v1/namespaces/other/pods/foo", ("get", "", "v1", "other", "pods", "", "foo")),
    ("GET", "/api/v1/pods", ("list", "", "v1", "", "pods", "", "")),
    ("GET", "/api/v1/namespaces/other/pods?watch=true", ("watch", "", "v1", "other", "pods", "", "")),
    ("GET", "/api/v1/watch/pods", ("watch", "", "v1", "", "pods", "", "")),
    ("GET", "/api/v1/watch/namespaces/other/pods", ("watch", "", "v1", "other", "pods", "", "")),
    ("GET", "/api/v1/namespaces/other/pods?fieldSelector=metadata.name%3Dfoo", ("list", "", "v1", "other", "pods", "", "foo")),
    ("POST", "/api/v1/namespaces/other/pods", ("create", "", "v1", "other", "pods", "", "")),
    ("PUT", "/api/v1/namespaces/other/pods/foo", ("update", "", "v1", "other", "pods", "", "foo")),
    ("PATCH", "/api/v1/namespaces/other/pods/foo", ("patch", "", "v1", "other", "pods", "", "foo")),
    ("DELETE", "/api/v1/namespaces/other/pods/foo", ("delete", "", "v1", "other", "pods", "", "foo")),
    ("DELETE", "/api/v1/namespaces/other/pods", ("deletecollection", "", "v1", "other", "pods", "", "")),
    ("GET", "/api/v1/namespaces/other/pods/foo/log", ("get", "", "v1", "other", "pods", "log", "foo")),
    ("PUT", "/api/v1/namespaces/other/finalize", ("update", "", "v1", "other", "namespaces", "finalize", "other")),
    ("PUT", "/api/v1/namespaces/other/status", ("update", "", "v1", "other", "namespaces", "status", "other")),
    ("GET", "/apis/extensions/v1beta1/namespaces/other/pods", ("list", "extensions", "v1beta1", "other", "pods", "", "")),
    ("PATCH", "/apis/apps/v1/namespaces/other/deployments/web/scale", ("patch", "apps", "v1", "other", "deployments", "scale", "web")),
    ("GET", "/api/v1/proxy/namespaces/other/pods/foo/a/b", ("proxy", "", "v1", "other", "pods", "", "foo")),
]


@pytest.mark.parametrize("method,path,expected", REQUEST_INFO_CASES)
def test_verbs_and_resources_are_derived_as_kubernetes_does(method, path, expected):
    info = request_info(method, path)
    assert info.resource_request
    assert (info.verb, info.api_group, info.api_version, info.namespace, info.resource, info.subresource,
            info.name) == expected


@pytest.mark.parametrize("path", ["/", "/api", "/apis", "/apis/apps", "/apis/apps/v1", "/api/v1", "/version",
                                  "/healthz", "/openapi/v2"])
def test_non_resource_requests_keep_their_path(path):
    info = request_info("GET", path + "?timeout=32s")
    assert not info.resource_request and info.verb == "get" and info.path == path


def test_the_timeline_reads_in_chinese(tenant):
    AuditEvent.objects.create(
        account=tenant.account, actor_name="acme-user", action="kubernetes:delete", target_type="cluster",
        target_id="1", target_name="edge-01", details={"verb": "delete", "resource": "configmaps", "namespace": "default",
                                                       "name": "notes", "status": 200, "latency_ms": 3.25})
    page = client_for(tenant.main, "zh-hans").get(reverse("audit:list"), {"source": "kubernetes"})
    html = page.content.decode()
    assert page.status_code == 200 and "来源" in html and "控制台" in html  # the Source filter and its choices
    assert "configmaps default/notes" in html and "kubernetes:delete" in html
