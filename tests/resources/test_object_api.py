"""Every single-cluster console action is an API endpoint too: the same services as the
pages, so the same change in the cluster, the same audit, the same refusals (IAM: 403 for a
user without the right to open the console, 404 for another tenant's cluster; RBAC inside
the cluster: 403 with what is missing), bad input refused with a clear message and nothing
changed, and a disconnected cluster explained."""
import pytest

from cceone.audit.models import AuditEvent
from cceone.iam import services as iam
from cceone.iam.models import Policy
from clusters.models import RegisteredCluster
from tests.conftest import client_for
from tests.factories import ClusterFactory
from tests.live import grant

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: planted}\ndata: {colour: blue}\n"


def url(cluster, path: str) -> str:
    return f"/api/v1/kubernetes/clusters/{cluster.pk}/{path}"


def web(cluster, suffix="") -> str:
    return url(cluster, f"namespaces/prod/deployments/web/{suffix}")


def node(cluster, name="worker-1", suffix="") -> str:
    return url(cluster, f"nodes/{name}/{suffix}")


def get(emulator, api_version, kind, name, namespace=None):
    return emulator.emulator.get_object(api_version, kind, name, namespace)


def post(client, address, data=None):
    return client.post(address, data or {}, content_type="application/json")


def put(client, address, data):
    return client.put(address, data, content_type="application/json")


def audited(action, **details) -> bool:
    return any(all(event.details.get(k) == v for k, v in details.items())
               for event in AuditEvent.objects.filter(action=action, result="success"))


def test_the_workload_actions_do_what_their_pages_do(cluster, emulator, tenant):
    client = client_for(tenant.main)
    created = post(client, url(cluster, "namespaces/prod/deployments/"),
                   {"name": "shop", "image": "nginx:1.27", "replicas": 2, "env": {"MODE": "fast"}})
    assert created.status_code == 201, created.content
    assert created.json() == {"kind": "Deployment", "namespace": "prod", "name": "shop"}
    shop = get(emulator, "apps/v1", "Deployment", "shop", "prod")
    assert shop["spec"]["replicas"] == 2 and shop["spec"]["selector"] == {"matchLabels": {"app": "shop"}}
    assert shop["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "MODE", "value": "fast"}]

    scaled = post(client, web(cluster, "scale/"), {"replicas": 1})
    assert scaled.status_code == 200 and scaled.json()["replicas"] == 1
    assert get(emulator, "apps/v1", "Deployment", "web", "prod")["spec"]["replicas"] == 1

    assert post(client, web(cluster, "restart/")).status_code == 202
    template = get(emulator, "apps/v1", "Deployment", "web", "prod")["spec"]["template"]
    assert "kubectl.kubernetes.io/restartedAt" in template["metadata"]["annotations"]

    current = client.get(web(cluster)).json()
    labelled = put(client, web(cluster, "labels/"), {"labels": {"tier": "front"},
                                                      "resource_version": current["metadata"]["resourceVersion"]})
    assert labelled.status_code == 200 and labelled.json()["metadata"]["labels"] == {"tier": "front"}

    current = client.get(web(cluster)).json()
    current["spec"]["replicas"] = 4
    assert put(client, web(cluster), current).status_code == 200
    assert get(emulator, "apps/v1", "Deployment", "web", "prod")["spec"]["replicas"] == 4

    listed = client.get(url(cluster, "namespaces/prod/deployments/"))
    assert {d["metadata"]["name"] for d in listed.json()["items"]} >= {"web", "shop"}

    assert client.delete(url(cluster, "namespaces/prod/deployments/shop/")).status_code == 204
    assert get(emulator, "apps/v1", "Deployment", "shop", "prod") is None
    for action in ("k8s:create", "k8s:scale", "k8s:restart", "k8s:labels", "k8s:update", "k8s:delete"):
        assert AuditEvent.objects.filter(actor=tenant.main, action=action, result="success",
                                         target_id=str(cluster.pk)).exists(), action


def test_yaml_secrets_and_namespaces_as_on_their_pages(cluster, emulator, tenant):
    client = client_for(tenant.main)
    created = post(client, url(cluster, "manifests/"), {"yaml": CONFIGMAP + "---\n" + CONFIGMAP.replace(
        "planted", "second"), "default_namespace": "staging"})
    assert created.status_code == 201, created.content
    assert created.json() == [{"kind": "ConfigMap", "namespace": "staging", "name": "planted"},
                              {"kind": "ConfigMap", "namespace": "staging", "name": "second"}]
    assert get(emulator, "v1", "ConfigMap", "planted", "staging")["data"] == {"colour": "blue"}
    as_json = post(client, url(cluster, "manifests/"), {"objects": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "inside", "namespace": "shop"}}]})
    assert as_json.status_code == 201, as_json.content
    assert get(emulator, "v1", "ConfigMap", "inside", "shop") is not None

    secret = url(cluster, "namespaces/prod/secrets/api-credentials/")
    shown = client.get(secret).json()
    assert set(shown["data"].values()) == {"<hidden>"}
    revealed = post(client, secret + "reveal/", {"key": "API_KEY"})
    assert revealed.status_code == 200 and list(revealed.json()["data"]) == ["API_KEY"]
    assert audited("k8s:reveal-secret", name="api-credentials", key="API_KEY")

    namespace = url(cluster, "namespaces/shop/")
    refused = client.delete(namespace)
    assert refused.status_code == 400 and refused.json() == {"detail": ["Type the namespace's name, shop, to confirm."]}
    assert get(emulator, "v1", "Namespace", "shop") is not None
    assert client.delete(namespace + "?confirm=shop").status_code == 204
    assert get(emulator, "v1", "Namespace", "shop") is None


def test_the_node_actions_do_what_their_pages_do(cluster, emulator, tenant, settings):
    client = client_for(tenant.main)
    assert post(client, node(cluster, suffix="cordon/")).json()["spec"]["unschedulable"] is True
    assert get(emulator, "v1", "Node", "worker-1")["spec"]["unschedulable"] is True
    assert post(client, node(cluster, suffix="uncordon/")).status_code == 200
    assert not get(emulator, "v1", "Node", "worker-1")["spec"].get("unschedulable")

    tainted = post(client, node(cluster, suffix="taints/"), {"key": "gpu", "value": "yes", "effect": "NoSchedule"})
    assert tainted.status_code == 200
    assert {"key": "gpu", "value": "yes", "effect": "NoSchedule"} in get(emulator, "v1", "Node", "worker-1")[
        "spec"]["taints"]
    assert client.delete(node(cluster, suffix="taints/?key=gpu&effect=NoSchedule")).status_code == 200
    assert not [t for t in get(emulator, "v1", "Node", "worker-1")["spec"].get("taints") or [] if t["key"] == "gpu"]

    drain = post(client, node(cluster, "worker-2", "drain/"))
    assert drain.status_code == 202 and drain.json()["node"] == "worker-2"
    status = client.get(node(cluster, "worker-2", f"drains/{drain.json()['id']}/"))
    assert status.status_code == 200 and status.json()["status"] in ("pending", "running", "succeeded")
    assert get(emulator, "v1", "Node", "worker-2")["spec"]["unschedulable"] is True
    assert client.get(node(cluster, "worker-1", f"drains/{drain.json()['id']}/")).status_code == 404

    logs = client.get(url(cluster, "namespaces/prod/pods/web-9dc7954c7-fffd7/logs/?tail=100"))
    assert logs.status_code == 200 and logs.json()["container"]


def _writes(cluster):
    """Every write endpoint, as (method, URL, body)."""
    return [
        ("post", url(cluster, "manifests/"), {"yaml": CONFIGMAP.replace("{name: planted}",
                                                                       "{name: planted, namespace: prod}")}),
        ("post", url(cluster, "namespaces/prod/deployments/"), {"name": "sneaky", "image": "nginx", "replicas": 1}),
        ("post", web(cluster, "scale/"), {"replicas": 0}),
        ("post", web(cluster, "restart/"), {}),
        ("put", web(cluster, "labels/"), {"labels": {"a": "b"}, "resource_version": "1"}),
        ("put", web(cluster), {"apiVersion": "apps/v1", "kind": "Deployment",
                               "metadata": {"name": "web", "namespace": "prod", "resourceVersion": "1"}}),
        ("delete", web(cluster), None),
        ("post", url(cluster, "namespaces/prod/secrets/api-credentials/reveal/"), {}),
        ("post", node(cluster, suffix="cordon/"), {}),
        ("post", node(cluster, suffix="taints/"), {"key": "a", "effect": "NoSchedule"}),
        ("post", node(cluster, suffix="drain/"), {}),
    ]


def _call(client, method, address, body):
    if body is None:
        return getattr(client, method)(address)
    return getattr(client, method)(address, body, content_type="application/json")


def _nothing_changed(emulator):
    assert get(emulator, "v1", "ConfigMap", "planted", "prod") is None
    assert get(emulator, "apps/v1", "Deployment", "sneaky", "prod") is None
    deployment = get(emulator, "apps/v1", "Deployment", "web", "prod")
    assert deployment["spec"]["replicas"] == 3 and not (deployment["metadata"].get("labels") or {}).get("a")
    assert not get(emulator, "v1", "Node", "worker-1")["spec"].get("unschedulable")


def test_a_viewer_is_refused_every_write_by_the_cluster_and_nothing_changes(cluster, emulator, tenant):
    grant(emulator, tenant.viewer, "view", namespace="prod")
    client = client_for(tenant.viewer)
    assert client.get(web(cluster)).status_code == 200  # reading is theirs
    for method, address, body in _writes(cluster):
        response = _call(client, method, address, body)
        assert response.status_code == 403, (address, response.content)
        assert "You lack permission to" in response.json()["detail"], address
    _nothing_changed(emulator)
    assert AuditEvent.objects.filter(actor=tenant.viewer, action="k8s:scale", result="denied").exists()


def test_without_iam_on_the_cluster_every_endpoint_is_refused(cluster, emulator, tenant):
    grant(emulator, tenant.nopolicy, "cluster-admin")  # RBAC inside does not open the console
    client = client_for(tenant.nopolicy)
    for method, address, body in _writes(cluster) + [("get", web(cluster), None)]:
        response = _call(client, method, address, body)
        assert response.status_code == 403 and "clusters:get" in response.json()["detail"], address
    _nothing_changed(emulator)
    assert not AuditEvent.objects.filter(action__startswith="k8s:").exists()


def test_another_tenants_cluster_is_not_found(cluster, emulator, other_tenant):
    grant(emulator, other_tenant.main, "cluster-admin")
    client = client_for(other_tenant.main)
    for method, address, body in _writes(cluster) + [("get", web(cluster), None)]:
        assert _call(client, method, address, body).status_code == 404, address
    _nothing_changed(emulator)


def test_a_policy_limited_to_the_cluster_opens_its_endpoints(cluster, emulator, tenant):
    """A grant on this one cluster: the endpoints of its collections (create) are checked
    on the cluster, as its pages are, not refused for naming no instance."""
    policy = iam.save_policy(tenant.main, None, name="edge-only", description="", actions=["clusters:get"],
                             scope=Policy.Scope.INSTANCES, instances=[f"cluster:{cluster.pk}"])
    iam.save_group(tenant.main, None, name="edge", description="", members=[tenant.nopolicy], policies=[policy])
    grant(emulator, tenant.nopolicy, "cluster-admin")
    client = client_for(tenant.nopolicy)
    created = post(client, url(cluster, "manifests/"), {"yaml": CONFIGMAP, "default_namespace": "prod"})
    assert created.status_code == 201, created.content
    assert get(emulator, "v1", "ConfigMap", "planted", "prod") is not None
    other = ClusterFactory(account=tenant.account, name="elsewhere")
    assert post(client, url(other, "manifests/"), {"yaml": CONFIGMAP}).status_code == 403


def test_bad_input_is_refused_clearly_and_changes_nothing(cluster, emulator, tenant):
    client = client_for(tenant.main)
    deployments = url(cluster, "namespaces/prod/deployments/")
    bad_name = post(client, deployments, {"name": "Bad_Name", "image": "nginx", "replicas": 1})
    assert bad_name.status_code == 400
    assert bad_name.json() == {"name": ["Use lower-case letters, digits and '-', starting and ending with a letter "
                                        "or digit."]}
    too_many = post(client, deployments, {"name": "sneaky", "image": "nginx", "replicas": 5000})
    assert too_many.status_code == 400 and "replicas" in too_many.json()
    missing = post(client, deployments, {"image": "nginx"})
    assert missing.status_code == 400 and missing.json() == {"name": ["This field is required."]}
    for replicas in (-1, 1001, "many", None):
        refused = post(client, web(cluster, "scale/"), {"replicas": replicas})
        assert refused.status_code == 400 and "replicas" in refused.json(), replicas
    assert post(client, web(cluster, "scale/"), {"replicas": 1001}).json() == {
        "replicas": ["Replicas must be a whole number from 0 to 1000."]}
    assert post(client, url(cluster, "namespaces/prod/configmaps/web-config/scale/"),
                {"replicas": 1}).status_code == 404  # a ConfigMap has no scale

    invalid_yaml = post(client, url(cluster, "manifests/"), {"yaml": "kind: [unclosed"})
    assert invalid_yaml.status_code == 400 and invalid_yaml.json()["detail"][0].startswith("Invalid YAML at line 1")
    both = post(client, url(cluster, "manifests/"), {"yaml": CONFIGMAP, "objects": [{}]})
    assert both.json() == {"detail": ["Give the objects either as yaml or as objects."]}
    bad_namespace = post(client, url(cluster, "manifests/"), {"yaml": CONFIGMAP, "default_namespace": "Prod!"})
    assert bad_namespace.status_code == 400 and "default_namespace" in bad_namespace.json()
    unknown_kind = post(client, url(cluster, "manifests/"), {"objects": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "planted", "namespace": "prod"}},
        {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}]})
    assert unknown_kind.json() == {"detail": ["Document 2: Widget (example.com/v1) is not a kind this console "
                                              "manages."]}

    current = client.get(web(cluster)).json()
    renamed = put(client, web(cluster), {**current, "metadata": {**current["metadata"], "name": "other"}})
    assert renamed.status_code == 400
    assert renamed.json() == {"detail": ["The name and namespace cannot be changed; create a new object instead."]}
    assert put(client, web(cluster), ["not", "an", "object"]).status_code == 400
    stale = put(client, web(cluster), {**current, "metadata": {**current["metadata"], "resourceVersion": "1"},
                                        "spec": {**current["spec"], "replicas": 0}})
    assert stale.status_code == 409 and stale.json()["detail"].startswith("Conflict:")
    bad_taint = post(client, node(cluster, suffix="taints/"), {"key": "a", "effect": "Sometimes"})
    assert bad_taint.status_code == 400 and "effect" in bad_taint.json()
    stale_labels = put(client, web(cluster, "labels/"), {"labels": {"a": "b"}, "resource_version": "1"})
    assert stale_labels.status_code == 409
    assert put(client, web(cluster, "labels/"), {"labels": "a=b"}).json() == {
        "labels": ['Expected a dictionary of items but got type "str".'], "resource_version": ["This field is required."]}
    _nothing_changed(emulator)
    assert get(emulator, "apps/v1", "Deployment", "other", "prod") is None


@pytest.mark.parametrize("state, code, message", [
    (RegisteredCluster.Status.DISCONNECTED, 503, "is disconnected"),
    (RegisteredCluster.Status.FROZEN, 403, "is frozen because the account is in arrears"),
    (RegisteredCluster.Status.CREATING, 409, "is not available while the cluster is"),
])
def test_a_cluster_that_cannot_serve_says_why(tenant, state, code, message):
    from django.utils import timezone

    far = ClusterFactory(account=tenant.account, name="far-away", status=state, disconnected_since=timezone.now())
    client = client_for(tenant.main)
    for method, address, body in _writes(far) + [("get", web(far), None)]:
        response = _call(client, method, address, body)
        assert response.status_code == code, (address, response.content)
        assert message in response.json()["detail"], address
