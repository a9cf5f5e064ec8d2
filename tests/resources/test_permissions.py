"""Who may open a cluster's console (IAM, per tenant) and what they may do inside it
(the cluster's own RBAC, through impersonation): refusals name the missing verb,
resource and namespace; a cluster that cannot serve says why."""
import pytest

from cceone.audit.models import AuditEvent
from clusters.models import RegisteredCluster
from tests.conftest import PERSONAS, client_for
from tests.factories import ClusterFactory
from tests.live import grant
from tests.resources.conftest import page

# What the permission presets of the Fleets and Kubernetes permissions issue grant,
# written here as ClusterRoles so the console's permission paths are tested on their own.
NAMESPACED = [
    ("", ["pods", "pods/log", "services", "endpoints", "configmaps", "secrets", "persistentvolumeclaims", "events"]),
    ("apps", ["deployments", "deployments/scale", "statefulsets", "statefulsets/scale", "daemonsets", "replicasets"]),
    ("batch", ["jobs", "cronjobs"]),
    ("networking.k8s.io", ["ingresses"]),
]
READ = ["get", "list", "watch"]
WRITE = READ + ["create", "update", "patch", "delete"]


def _cluster_role(emulator, name, verbs, extra=()):
    rules = [{"apiGroups": [group], "resources": resources, "verbs": verbs} for group, resources in NAMESPACED]
    emulator.emulator.put_object({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                                  "metadata": {"name": name}, "rules": rules + list(extra)})


@pytest.fixture
def restricted(cluster, emulator, tenant):
    """The viewer, read-only on the namespaced console resources of namespace prod."""
    _cluster_role(emulator, "test-restricted", READ)
    grant(emulator, tenant.viewer, "test-restricted", namespace="prod")
    return tenant.viewer


@pytest.fixture
def developer(cluster, emulator, tenant):
    """The user, read/write on the namespaced console resources everywhere; nothing on nodes."""
    _cluster_role(emulator, "test-developer", WRITE,
                  extra=[{"apiGroups": [""], "resources": ["pods/eviction"], "verbs": ["create"]},
                         {"apiGroups": [""], "resources": ["namespaces"], "verbs": READ}])
    grant(emulator, tenant.user, "test-developer")
    return tenant.user


# --- IAM: opening the console ------------------------------------------------------------

@pytest.mark.parametrize("persona", PERSONAS)
def test_iam_read_on_the_cluster_opens_its_console(cluster, emulator, tenant, persona):
    user = tenant.persona(persona)
    grant(emulator, user, "view")
    response = client_for(user).get(page(cluster, "pods") + "?namespace=prod")
    if persona == "nopolicy":
        assert response.status_code == 403
        assert "clusters:get" in response.content.decode()
        assert AuditEvent.objects.filter(actor=user, action="clusters:get", result="denied").exists()
    else:
        assert response.status_code == 200
        assert "web-9dc7954c7-fffd7" in response.content.decode()


def _pages(cluster):
    """Every page of the console, as GET URLs."""
    pod, node = ("pods", "prod", "web-9dc7954c7-fffd7"), ("nodes", None, "worker-1")
    return [page(cluster, "pods"), page(cluster, "deployments", "prod", "web"),
            page(cluster, "deployments", "prod", "web") + "?tab=yaml", page(cluster, "deployments", action="create"),
            page(cluster, "deployments", "prod", "web", "edit"), page(cluster, "deployments", "prod", "web", "delete"),
            page(cluster, *pod, "logs"), page(cluster, *pod, "logs-download"), page(cluster, *node),
            page(cluster, *node, "drain"), f"/k8s/cluster/{cluster.pk}/_summary/"]


def _actions(cluster):
    """Every write of the console, as (POST URL, data)."""
    node = ("nodes", None, "worker-1")
    return [(page(cluster, "configmaps", action="create"),
             {"mode": "yaml", "yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: planted, namespace: prod}"}),
            (page(cluster, "deployments", "prod", "web", "edit"), {"yaml": "kind: Deployment"}),
            (page(cluster, "deployments", "prod", "web", "delete"), {}),
            (page(cluster, "deployments", "prod", "web", "scale"), {"replicas": 0}),
            (page(cluster, "deployments", "prod", "web", "restart"), {}),
            (page(cluster, "secrets", "prod", "api-credentials", "reveal"), {"key": "API_KEY"}),
            (page(cluster, *node, "cordon"), {}), (page(cluster, *node, "taints"), {"key": "a", "effect": "NoSchedule"}),
            (page(cluster, *node, "labels"), {"labels": "a=b", "resource_version": "1"}),
            (page(cluster, *node, "drain"), {})]


@pytest.mark.parametrize("persona", PERSONAS)
def test_every_page_and_write_follows_iam(cluster, emulator, tenant, persona):
    user = tenant.persona(persona)
    grant(emulator, user, "cluster-admin")
    client = client_for(user)
    for url in _pages(cluster):
        response = client.get(url)
        assert response.status_code == (403 if persona == "nopolicy" else 200), url
    if persona != "nopolicy":
        return
    for url, data in _actions(cluster):
        response = client.post(url, data)
        assert response.status_code == 403 and "clusters:get" in response.content.decode(), url
    assert emulator.emulator.get_object("v1", "ConfigMap", "planted", "prod") is None
    assert emulator.emulator.get_object("apps/v1", "Deployment", "web", "prod")["spec"]["replicas"] == 3
    assert not emulator.emulator.get_object("v1", "Node", "worker-1")["spec"].get("unschedulable")
    assert not AuditEvent.objects.filter(action__startswith="k8s:").exists()


def test_another_tenants_cluster_does_not_exist(cluster, emulator, other_tenant):
    outsider = other_tenant.main
    grant(emulator, outsider, "cluster-admin")  # even full RBAC inside does not open it
    client = client_for(outsider)
    for url in _pages(cluster) + [page(cluster, "pods", "prod", "web-9dc7954c7-fffd7", "logs-stream")]:
        assert client.get(url).status_code == 404, url
    for url, data in _actions(cluster):
        assert client.post(url, data).status_code == 404, url
    assert emulator.emulator.get_object("v1", "ConfigMap", "planted", "prod") is None
    assert emulator.emulator.get_object("apps/v1", "Deployment", "web", "prod")["spec"]["replicas"] == 3
    assert not emulator.emulator.get_object("v1", "Node", "worker-1")["spec"].get("unschedulable")
    assert not AuditEvent.objects.filter(action__startswith="k8s:").exists()


def test_guessed_targets_are_not_found(cluster, tenant):
    client = client_for(tenant.main)
    for url in ("/k8s/cluster/999999/pods/", "/k8s/cluster/abc/pods/", f"/k8s/federationx/{cluster.pk}/pods/"):
        assert client.get(url).status_code == 404


def test_the_other_tenants_lists_never_show_this_cluster(cluster, other_tenant):
    other_cluster = ClusterFactory(account=other_tenant.account, name="globex-edge")
    response = client_for(other_tenant.main).get(f"/k8s/cluster/{other_cluster.pk}/pods/")
    assert response.status_code == 502  # their own cluster has no agent: unreachable, explained
    assert "edge-01" not in response.content.decode()


# --- RBAC inside the cluster ---------------------------------------------------------------

def test_a_restricted_user_reads_but_every_write_is_refused_and_explained(restricted, cluster, emulator):
    client = client_for(restricted)
    assert client.get(page(cluster, "deployments") + "?namespace=prod").status_code == 200
    assert client.get(page(cluster, "deployments", "prod", "web")).status_code == 200
    assert client.get(page(cluster, "pods", "prod", "web-9dc7954c7-fffd7", "logs")).status_code == 200

    refusals = {
        "create": client.post(page(cluster, "deployments", action="create"), {
            "mode": "form", "name": "sneaky", "namespace": "prod", "image": "nginx", "replicas": 1}),
        "update": client.post(page(cluster, "configmaps", "prod", "web-config", "edit"), {"yaml": _yaml_of(
            emulator, "v1", "ConfigMap", "web-config", "prod", data={"x": "1"})}),
        "delete": client.post(page(cluster, "deployments", "prod", "web", "delete")),
        "patch": client.post(page(cluster, "deployments", "prod", "web", "scale"), {"replicas": 1}),
    }
    for verb, response in refusals.items():
        assert response.status_code == 403, verb
        assert f"You lack permission to {verb} " in response.content.decode(), verb
        assert "in namespace prod on edge-01." in response.content.decode()
    assert "deployments/scale (apps)" in refusals["patch"].content.decode()
    restart = client.post(page(cluster, "deployments", "prod", "web", "restart"))
    assert restart.status_code == 403
    assert emulator.emulator.get_object("apps/v1", "Deployment", "web", "prod")["spec"]["replicas"] == 3
    assert emulator.emulator.get_object("apps/v1", "Deployment", "sneaky", "prod") is None
    denied = AuditEvent.objects.filter(actor=restricted, result="denied", target_id=str(cluster.pk))
    assert {"k8s:create", "k8s:update", "k8s:delete", "k8s:scale", "k8s:restart"} <= set(
        denied.values_list("action", flat=True))


@pytest.mark.parametrize("plural", ["nodes", "persistentvolumes", "storageclasses", "namespaces"])
def test_a_restricted_user_cannot_list_cluster_scoped_kinds(restricted, cluster, plural):
    response = client_for(restricted).get(page(cluster, plural))
    assert response.status_code == 403
    assert f"You lack permission to list {plural}" in response.content.decode()
    assert "at cluster scope on edge-01." in response.content.decode()


def test_namespaces_that_cannot_be_listed_are_typed_instead(restricted, cluster):
    response = client_for(restricted).get(page(cluster, "pods") + "?namespace=prod")
    assert response.status_code == 200
    assert '<input name="namespace" id="namespace-filter" class="form-control form-control-sm" value="prod"' in \
        response.content.decode()


def test_a_developer_works_in_namespaces_but_cannot_touch_nodes(developer, cluster, emulator):
    client = client_for(developer)
    created = client.post(page(cluster, "deployments", action="create"), {
        "mode": "form", "name": "shop", "namespace": "prod", "image": "nginx:1.27", "replicas": 2})
    assert created.status_code == 302
    assert client.post(page(cluster, "deployments", "prod", "shop", "scale"), {"replicas": 3}).status_code == 302
    assert emulator.emulator.get_object("apps/v1", "Deployment", "shop", "prod")["spec"]["replicas"] == 3

    nodes = client.get(page(cluster, "nodes"))
    assert nodes.status_code == 403
    assert "You lack permission to list nodes at cluster scope on edge-01." in nodes.content.decode()
    for action, data in (("cordon", {}), ("taints", {"key": "x", "effect": "NoSchedule"}), ("drain", {}),
                         ("labels", {"labels": "a=b", "resource_version": "1"})):
        response = client.post(page(cluster, "nodes", None, "worker-1", action), data)
        assert response.status_code == 403, action
        assert "nodes" in response.content.decode() and "at cluster scope" in response.content.decode()
    assert not emulator.emulator.get_object("v1", "Node", "worker-1").get("spec", {}).get("unschedulable")


def _yaml_of(emulator, api_version, kind, name, namespace, **changes):
    import yaml

    obj = emulator.emulator.get_object(api_version, kind, name, namespace)
    obj.update(changes)
    return yaml.safe_dump(obj)


# --- clusters that cannot serve a console --------------------------------------------------

FACTS = {"nodes": [{"name": "n1", "ready": True, "capacity": {"cpu_millicores": 10000},
                    "allocatable": {"cpu_millicores": 3800, "memory_bytes": 8 * 2**30}},
                   {"name": "n2", "ready": False, "capacity": {"cpu_millicores": 4000}}],
         "pod_requests": {"total": {"cpu_millicores": 1900, "memory_bytes": 2**30, "pods": 7}}}


def test_a_disconnected_cluster_shows_a_banner_and_its_last_facts(tenant):
    from django.utils import timezone

    cluster = ClusterFactory(account=tenant.account, name="far-away", status=RegisteredCluster.Status.DISCONNECTED,
                             facts=FACTS, disconnected_since=timezone.now(), last_heartbeat_at=timezone.now())
    for kind in ("pods", "nodes", "events"):
        response = client_for(tenant.main).get(page(cluster, kind))
        text = response.content.decode()
        assert response.status_code == 503
        assert 'id="unavailable-banner"' in text and "Cluster far-away is disconnected since" in text
        assert "Showing the last reported facts." in text
        assert "1 / 2" in text and "50%" in text  # nodes ready / total; CPU requests / allocatable
        assert "<dd class=\"col-8\">10</dd>" in text  # billable vCPU of the Ready node
        assert "Traceback" not in text


def test_a_frozen_cluster_refuses_its_console(tenant):
    cluster = ClusterFactory(account=tenant.account, name="unpaid", status=RegisteredCluster.Status.FROZEN)
    response = client_for(tenant.main).get(page(cluster, "deployments"))
    assert response.status_code == 403
    assert "Cluster unpaid is frozen because the account is in arrears." in response.content.decode()


@pytest.mark.parametrize("status", ["pending_access", "creating", "access_timeout", "unsubscribed"])
def test_other_statuses_have_no_console(tenant, status):
    cluster = ClusterFactory(account=tenant.account, name="not-yet", status=status)
    response = client_for(tenant.main).get(page(cluster, "pods"))
    assert response.status_code == 409
    assert "The console of cluster not-yet is not available while the cluster is" in response.content.decode()


def test_an_unreachable_hub_is_explained_not_a_stack_trace(tenant, settings):
    settings.CCEONE_HUB_INTERNAL_URL = "http://127.0.0.1:9"  # nothing listens there
    cluster = ClusterFactory(account=tenant.account, name="lonely")
    response = client_for(tenant.main).get(page(cluster, "pods"))
    assert response.status_code == 502
    body = response.content.decode()
    assert "Cluster lonely is unreachable: the access hub does not answer." in body
    assert "no agent is connected" not in body  # the agent is not the one to look at


def test_a_running_cluster_whose_agent_is_gone_is_explained(cluster, tenant):
    cluster.agent.kill()
    response = client_for(tenant.main).get(page(cluster, "pods", "prod", "web-9dc7954c7-fffd7"))
    assert response.status_code == 502
    assert "edge-01" in response.content.decode() and "Traceback" not in response.content.decode()
