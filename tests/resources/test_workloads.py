"""Object pages beyond plain CRUD: the create forms, scaling and rollout restarts,
related objects, secrets whose values stay hidden until revealed, namespace deletion."""
import base64

import pytest

from cceone.audit.models import AuditEvent
from resources import registry
from tests.conftest import client_for
from tests.resources.conftest import page


@pytest.mark.parametrize("plural, data, check", [
    ("namespaces", {"name": "team-a", "labels": "team=a\nowner=ops"},
     lambda e: e.get_object("v1", "Namespace", "team-a")["metadata"]["labels"].items() >= {
         "team": "a", "owner": "ops"}.items()),
    ("deployments", {"name": "shop", "namespace": "prod", "image": "nginx:1.27", "replicas": "2", "port": "8080",
                     "cpu_request": "250m", "memory_request": "128Mi", "env": "MODE=fast\nLEVEL=3"},
     lambda e: (lambda d: d["spec"]["replicas"] == 2
                and d["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] == 8080
                and d["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"] == {
                    "cpu": "250m", "memory": "128Mi"}
                and d["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "MODE", "value": "fast"},
                                                                              {"name": "LEVEL", "value": "3"}]
                and len(e.list_objects("v1", "Pod", "prod", label_selector="app=shop")) == 2)(
         e.get_object("apps/v1", "Deployment", "shop", "prod"))),
    ("services", {"name": "shop", "namespace": "prod", "service_type": "NodePort", "selector": "app=shop",
                  "port": "80", "target_port": "8080", "protocol": "TCP"},
     lambda e: (lambda s: s["spec"]["type"] == "NodePort" and s["spec"]["ports"][0]["targetPort"] == 8080)(
         e.get_object("v1", "Service", "shop", "prod"))),
    ("configmaps", {"name": "shop", "namespace": "prod", "data": "url=https://a.example/?x=1,2\nmode=fast"},
     lambda e: e.get_object("v1", "ConfigMap", "shop", "prod")["data"] == {"url": "https://a.example/?x=1,2",
                                                                           "mode": "fast"}),
    ("secrets", {"name": "shop", "namespace": "prod", "data": "password=s3cret"},
     lambda e: base64.b64decode(e.get_object("v1", "Secret", "shop", "prod")["data"]["password"]) == b"s3cret"),
])
def test_create_forms(cluster, tenant, emulator, plural, data, check):
    response = client_for(tenant.main).post(page(cluster, plural, action="create"), {"mode": "form", **data})
    assert response.status_code == 302
    assert check(emulator.emulator)


def test_a_form_with_bad_input_explains_each_field(cluster, tenant, emulator):
    response = client_for(tenant.main).post(page(cluster, "deployments", action="create"), {
        "mode": "form", "name": "Bad_Name", "namespace": "prod", "image": "", "replicas": "-1"})
    assert response.status_code == 422
    text = response.content.decode()
    assert "Use lower-case letters" in text and "This field is required." in text
    assert "Ensure this value is greater than or equal to 0." in text


def test_scale_a_deployment(cluster, tenant, emulator):
    client = client_for(tenant.main)
    response = client.post(page(cluster, "deployments", "prod", "web", "scale"), {"replicas": "5"})
    assert response.status_code == 302
    assert emulator.emulator.get_object("apps/v1", "Deployment", "web", "prod")["spec"]["replicas"] == 5
    assert len(emulator.emulator.list_objects("v1", "Pod", "prod", label_selector="app=web")) == 5
    assert "Scaled Deployment web to 5 replicas." in client.get(response.url).content.decode()
    assert AuditEvent.objects.filter(action="k8s:scale", details__name="web", details__replicas=5).exists()


@pytest.mark.parametrize("replicas", ["-1", "abc", "100000"])
def test_scale_refuses_nonsense(cluster, tenant, emulator, replicas):
    client = client_for(tenant.main)
    response = client.post(page(cluster, "deployments", "prod", "web", "scale"), {"replicas": replicas})
    assert "Replicas must be a whole number from 0 to 1000." in client.get(response.url).content.decode()
    assert emulator.emulator.get_object("apps/v1", "Deployment", "web", "prod")["spec"]["replicas"] == 3


def test_only_scalable_kinds_offer_scaling(cluster, tenant):
    client = client_for(tenant.main)
    assert 'id="scale-form"' in client.get(page(cluster, "statefulsets", "prod", "postgres")).content.decode()
    assert 'id="scale-form"' not in client.get(page(cluster, "daemonsets", "kube-system", "kube-proxy")).content.decode()
    response = client.post(page(cluster, "daemonsets", "kube-system", "kube-proxy", "scale"), {"replicas": "2"})
    assert "A DaemonSet cannot be scaled." in client.get(response.url).content.decode()


def test_rollout_restart_replaces_the_pods(cluster, tenant, emulator):
    before = {p["metadata"]["name"] for p in emulator.emulator.list_objects("v1", "Pod", "prod", label_selector="app=web")}
    response = client_for(tenant.main).post(page(cluster, "deployments", "prod", "web", "restart"))
    assert response.status_code == 302
    deployment = emulator.emulator.get_object("apps/v1", "Deployment", "web", "prod")
    assert "kubectl.kubernetes.io/restartedAt" in deployment["spec"]["template"]["metadata"]["annotations"]
    after = {p["metadata"]["name"] for p in emulator.emulator.list_objects("v1", "Pod", "prod", label_selector="app=web")}
    assert len(after) == 3 and not before & after


def test_a_deployment_shows_its_pods_and_events(cluster, tenant):
    text = client_for(tenant.main).get(page(cluster, "deployments", "prod", "web")).content.decode()
    for pod in ("web-9dc7954c7-fffd7", "web-9dc7954c7-545bb", "web-9dc7954c7-fbb6c"):
        assert f">{pod}</a>" in text
    assert "ScalingReplicaSet" in text  # its event
    assert "labelSelector=app%3Dweb" in text  # "open in the list" with the workload's selector


@pytest.mark.parametrize("language, heading", [("en", "Container specs"), ("zh-hans", "容器规格")])
def test_a_workload_shows_its_containers_ports_environment_and_resources(cluster, tenant, emulator, language,
                                                                         heading):
    emulator.emulator.put_object({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "shop", "namespace": "prod"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "shop"}}, "template": {
            "metadata": {"labels": {"app": "shop"}},
            "spec": {"containers": [{
                "name": "main", "image": "shop:2.1", "ports": [{"containerPort": 8080, "name": "http"}],
                "env": [{"name": "MODE", "value": "production"},
                        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
                "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}}]}}}})
    text = client_for(tenant.main, language).get(page(cluster, "deployments", "prod", "shop")).content.decode()
    specs = text[text.index('id="container-specs"'):]
    assert heading in specs
    assert "shop:2.1" in specs and "8080/TCP (http)" in specs
    assert "cpu 250m, memory 256Mi" in specs and "memory 512Mi" in specs
    assert "MODE=production" in specs and "DB_PASSWORD ← Secret db/password" in specs


def test_a_service_shows_its_endpoints(cluster, tenant):
    text = client_for(tenant.main).get(page(cluster, "services", "prod", "web")).content.decode()
    assert "Endpoints" in text and "10.244." in text and "web-9dc7954c7" in text


def test_a_pod_shows_its_containers_owner_and_warnings_first(cluster, tenant):
    text = client_for(tenant.main).get(page(cluster, "pods", "prod", "api-64c44f89b-5cfc6")).content.decode()
    assert 'id="containers"' in text and "CrashLoopBackOff" in text
    assert "ReplicaSet/api-64c44f89b" in text
    events = text.split(">Events</h3>", 1)[1]
    assert events.index("Warning") < events.index("Normal")


def test_secret_values_stay_hidden_until_revealed(cluster, tenant, emulator):
    secret = emulator.emulator.get_object("v1", "Secret", "api-credentials", "prod")
    key = sorted(secret["data"])[0]
    value = base64.b64decode(secret["data"][key]).decode()
    client = client_for(tenant.main)
    detail = client.get(page(cluster, "secrets", "prod", "api-credentials")).content.decode()
    assert key in detail and value not in detail and secret["data"][key] not in detail
    as_yaml = client.get(page(cluster, "secrets", "prod", "api-credentials") + "?tab=yaml").content.decode()
    assert "&lt;hidden&gt;" in as_yaml and secret["data"][key] not in as_yaml
    assert not AuditEvent.objects.filter(action="k8s:reveal-secret").exists()

    revealed = client.post(page(cluster, "secrets", "prod", "api-credentials", "reveal"), {"key": key},
                           HTTP_HX_REQUEST="true")
    assert revealed.status_code == 200 and value in revealed.content.decode()
    assert "<html" not in revealed.content.decode()
    event = AuditEvent.objects.get(action="k8s:reveal-secret")
    assert event.actor == tenant.main and event.details["key"] == key and event.details["name"] == "api-credentials"
    full = client.post(page(cluster, "secrets", "prod", "api-credentials", "reveal"), {"key": key})
    assert value in full.content.decode() and 'id="secret-data"' in full.content.decode()


def test_revealing_a_key_that_does_not_exist_is_not_found(cluster, tenant):
    response = client_for(tenant.main).post(page(cluster, "secrets", "prod", "api-credentials", "reveal"),
                                            {"key": "nope"})
    assert response.status_code == 404


def test_a_configmap_shows_its_data(cluster, tenant, emulator):
    cm = emulator.emulator.get_object("v1", "ConfigMap", "web-config", "prod")
    text = client_for(tenant.main).get(page(cluster, "configmaps", "prod", "web-config")).content.decode()
    for key in cm["data"]:
        assert key in text


def test_deleting_a_namespace_needs_its_name_typed(cluster, tenant, emulator):
    client = client_for(tenant.main)
    confirm = client.get(page(cluster, "namespaces", None, "staging", "delete"))
    assert 'name="confirmation"' in confirm.content.decode()
    refused = client.post(page(cluster, "namespaces", None, "staging", "delete"), {"confirmation": "stagin"})
    assert refused.status_code == 422
    assert "Type the namespace&#x27;s name, staging, to confirm." in refused.content.decode()
    assert emulator.emulator.get_object("v1", "Namespace", "staging") is not None
    done = client.post(page(cluster, "namespaces", None, "staging", "delete"), {"confirmation": "staging"})
    assert done.status_code == 302
    assert emulator.emulator.get_object("v1", "Namespace", "staging") is None
    assert emulator.emulator.list_objects("apps/v1", "Deployment", "staging") == []


def test_other_kinds_are_deleted_after_a_plain_confirmation(cluster, tenant, emulator):
    client = client_for(tenant.main)
    confirm = client.get(page(cluster, "deployments", "prod", "api", "delete"))
    assert 'name="confirmation"' not in confirm.content.decode()
    assert client.post(page(cluster, "deployments", "prod", "api", "delete")).status_code == 302
    assert emulator.emulator.get_object("apps/v1", "Deployment", "api", "prod") is None
    assert emulator.emulator.list_objects("v1", "Pod", "prod", label_selector="app=api") == []


@pytest.mark.parametrize("plural, replicas, service_name", [
    ("deployments", True, False), ("statefulsets", True, True), ("daemonsets", False, False)])
def test_each_workloads_summary_says_what_it_has(cluster, tenant, emulator, plural, replicas, service_name):
    kind = registry.get(plural)
    obj = emulator.emulator.list_objects(kind.api_version, kind.kind)[0]["metadata"]
    summary = client_for(tenant.main).get(page(cluster, plural, obj["namespace"], obj["name"])).content.decode()
    summary = summary[summary.index('id="summary"'):]
    assert ("desired" in summary) is replicas
    assert ("Service name" in summary) is service_name
