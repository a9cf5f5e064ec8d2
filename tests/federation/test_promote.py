"""Promote (issue #15 item 4, R5.7): a member's existing application taken over by the sandbox
Karmada (with its controllers) without restarting its pods, from the federation console's
Promote page and its API twin. The members are kubesim emulators joined as karmadactl join
leaves them; the objects are read through Karmada's cluster proxy as the user."""
import re

import pytest
from django.urls import reverse
from kubernetes import client

from cceone.audit.models import AuditEvent
from federation import promote
from tests.conftest import client_for

from .karmada_world import eventually

pytestmark = pytest.mark.django_db
POLICY = ("policy.karmada.io", "v1alpha1")


_count = iter(range(1000))


def deployment(name, app, replicas=2):
    labels = {"app": app, "part": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": app}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}}


@pytest.fixture
def application(sandbox_karmada, members):
    """In member1: the shop (a ConfigMap, a Service and two Deployments labelled app=shop) and
    another application's Deployment; the namespace exists in Karmada too, nothing else."""
    ns = f"promote{next(_count)}"
    member = members["member1"].api_client()
    core, apps = client.CoreV1Api(member), client.AppsV1Api(member)
    core.create_namespace({"metadata": {"name": ns}})
    core.create_namespaced_config_map(ns, {"metadata": {"name": "shop-settings", "labels": {"app": "shop"}},
                                           "data": {"a": "1"}})
    core.create_namespaced_service(ns, {"metadata": {"name": "shop", "labels": {"app": "shop"}}, "spec": {
        "selector": {"app": "shop"}, "ports": [{"port": 80}]}})
    for body in (deployment("shop-front", "shop"), deployment("shop-cart", "shop"), deployment("blog", "blog", 1)):
        apps.create_namespaced_deployment(ns, body)
    with sandbox_karmada.api_client() as api:
        client.CoreV1Api(api).create_namespace({"metadata": {"name": ns}})
    eventually(lambda: len(pods(members, ns)) == 5 or None)
    return ns


def pods(members, ns) -> dict[str, str]:
    return {p.metadata.name: p.metadata.uid
            for p in client.CoreV1Api(members["member1"].api_client()).list_namespaced_pod(ns).items}


def custom(sandbox_karmada):
    return client.CustomObjectsApi(sandbox_karmada.api_client())


def test_a_whole_application_is_promoted_by_label_and_no_pod_restarts(federation, tenant, sandbox_karmada, members,
                                                                      application):
    ns = application
    before = pods(members, ns)
    browser = client_for(tenant.main)
    url = reverse("federation:promote", args=[federation.pk])
    overview = browser.get(reverse("federation:detail", args=[federation.pk])).content.decode()
    assert f'id="promote-tab" href="{url}"' in overview
    form = browser.get(url).content.decode()
    assert 'id="promote-form"' in form and '<option value="member1">member1</option>' in form
    # What the workloads use comes along unless the user unticks it.
    assert re.search(r'<input type="checkbox" name="dependencies"[^>]* checked', form)
    page = browser.post(url, {"member": "member1", "namespace": ns, "label_selector": "app=shop"})
    assert page.status_code == 200, page.content.decode()[:3000]
    body = page.content.decode()
    # Every matching object has its line, and nothing else was taken.
    for kind, name in (("ConfigMap", "shop-settings"), ("Service", "shop"), ("Deployment", "shop-cart"),
                       ("Deployment", "shop-front")):
        assert f'data-kind="{kind}" data-name="{name}" data-outcome="promoted"' in body
    assert 'data-name="blog"' not in body
    # The shop's pods, before and after: every UID the same; the blog's are not the shop's.
    assert 'id="pods-unchanged"' in body and 'data-state="restarted"' not in body
    shop = {name: uid for name, uid in before.items() if name.startswith("shop-")}
    assert len(shop) == 4 and set(re.findall(r'data-pod="([^"]+)"', body)) == set(shop)
    for name, uid in shop.items():
        assert f'data-pod="{name}" data-state="unchanged"' in body and uid in body
    # In Karmada: the template as karmadactl prunes it, and a policy adopting it in member1 only.
    with sandbox_karmada.api_client() as api:
        template = client.AppsV1Api(api).read_namespaced_deployment("shop-front", ns).to_dict()
        service = client.CoreV1Api(api).read_namespaced_service("shop", ns)
    assert template["metadata"]["annotations"]["work.karmada.io/conflict-resolution"] == "overwrite"
    assert "deployment.kubernetes.io/revision" not in template["metadata"]["annotations"]
    assert template["spec"]["replicas"] == 2 and template["metadata"]["labels"]["app"] == "shop"
    member_front = client.AppsV1Api(members["member1"].api_client()).read_namespaced_deployment("shop-front", ns)
    assert template["metadata"]["uid"] != member_front.metadata.uid  # a new object, not the member's copy
    policies = custom(sandbox_karmada).list_namespaced_custom_object(*POLICY, ns, "propagationpolicies")["items"]
    assert len(policies) == 4
    for policy in policies:
        assert policy["spec"]["conflictResolution"] == "Overwrite"
        assert policy["spec"]["placement"] == {"clusterAffinity": {"clusterNames": ["member1"]}}
    assert service.spec.ports[0].port == 80
    # Karmada manages the member's objects now; the pods are still the same ones afterwards.
    member_apps = client.AppsV1Api(members["member1"].api_client())
    eventually(lambda: "work.karmada.io/name" in (
        member_apps.read_namespaced_deployment("shop-front", ns).metadata.annotations or {}) or None)
    assert "work.karmada.io/name" not in (member_apps.read_namespaced_deployment("blog", ns).metadata.annotations
                                          or {})
    assert pods(members, ns) == before
    for other in ("member2", "member3"):  # placed on member1 only
        assert client.AppsV1Api(members[other].api_client()).list_namespaced_deployment(ns).items == []
    events = AuditEvent.objects.filter(action="federations:deploy", target_id=str(federation.pk),
                                       details__operation="promote")
    assert sorted(events.values_list("details__name", flat=True)) == ["shop", "shop-cart", "shop-front",
                                                                      "shop-settings"]


def test_the_api_promotes_a_namespace_and_says_what_was_already_federated(federation, tenant, sandbox_karmada, members,
                                                                          application):
    ns = application
    before = pods(members, ns)
    api = client_for(tenant.main)
    url = f"/api/v1/federations/{federation.pk}/promote/"
    first = api.post(url, {"member": "member1", "namespace": ns, "kinds": ["deployments"], "name": "blog"},
                     content_type="application/json")
    assert first.status_code == 200, first.content
    assert first.json()["results"][0]["outcome"] == "promoted"
    bulk = api.post(url, {"member": "member1", "namespace": ns}, content_type="application/json")
    assert bulk.status_code == 200, bulk.content
    data = bulk.json()
    outcomes = {(r["kind"], r["name"]): r["outcome"] for r in data["results"]}
    assert outcomes == {("ConfigMap", "shop-settings"): "promoted", ("Service", "shop"): "promoted",
                        ("Deployment", "blog"): "already-federated", ("Deployment", "shop-cart"): "promoted",
                        ("Deployment", "shop-front"): "promoted"}
    blog = next(r for r in data["results"] if r["name"] == "blog")
    assert "already exists in the federation" in blog["reason"]
    assert data["counts"] == {"promoted": 4, "already-federated": 1, "failed": 0}
    assert data["applied"] is True
    assert {p["name"]: p["uid_after"] for p in data["pods"]} == before
    assert {p["state"] for p in data["pods"]} == {"unchanged"}
    assert pods(members, ns) == before


def test_failures_are_listed_with_their_reason(federation, tenant, sandbox_karmada, members, application):
    ns = application
    api = client_for(tenant.main)
    url = f"/api/v1/federations/{federation.pk}/promote/"
    refused = api.post(url, {"member": "member9", "namespace": ns}, content_type="application/json")
    assert refused.status_code == 400
    assert refused.json()["member"] == ["member9 is not a member cluster of this federation."]
    # A namespace only the member has (a member's own application, the usual case) is created in
    # Karmada from the member's first, with its labels; then its objects are promoted into it.
    member_core = client.CoreV1Api(members["member1"].api_client())
    member_core.create_namespace({"metadata": {"name": f"{ns}-only", "labels": {"team": "shop"}}})
    # Nothing matched: the namespace is not created (Karmada would give it to every member).
    empty = api.post(url, {"member": "member1", "namespace": f"{ns}-only", "kinds": ["configmaps"],
                           "label_selector": "app=nothing"}, content_type="application/json").json()
    assert empty["namespace_created"] is False and empty["results"] == []
    with sandbox_karmada.api_client() as karmada_api:
        with pytest.raises(client.ApiException) as missing:
            client.CoreV1Api(karmada_api).read_namespace(f"{ns}-only")
        assert missing.value.status == 404
    assert not AuditEvent.objects.filter(details__kind="Namespace").exists()
    member_core.create_namespaced_config_map(f"{ns}-only", {"metadata": {"name": "lonely"}})
    created = api.post(url, {"member": "member1", "namespace": f"{ns}-only", "kinds": ["configmaps"]},
                       content_type="application/json").json()
    assert created["namespace_created"] is True
    assert [(r["name"], r["outcome"]) for r in created["results"]] == [("lonely", "promoted")]
    with sandbox_karmada.api_client() as karmada_api:
        assert client.CoreV1Api(karmada_api).read_namespace(f"{ns}-only").metadata.labels["team"] == "shop"
    # The page says the namespace was created, and that every member gets it.
    member_core.create_namespace({"metadata": {"name": f"{ns}-page"}})
    member_core.create_namespaced_config_map(f"{ns}-page", {"metadata": {"name": "paged"}})
    page = api.post(reverse("federation:promote", args=[federation.pk]),
                    {"member": "member1", "namespace": f"{ns}-page", "kinds": ["configmaps"]}).content.decode()
    assert 'data-kind="ConfigMap" data-name="paged" data-outcome="promoted"' in page
    assert 'id="promote-namespace-created"' in page and "Karmada gives it to every member" in page
    # A PropagationPolicy already holding the name promote gives: that object fails with Karmada's
    # reason (its template is left, as karmadactl leaves it), none is skipped.
    member_core.create_namespaced_config_map(f"{ns}-only", {"metadata": {"name": "crowded"}})
    taken = promote.policy_name({"apiVersion": "v1", "kind": "ConfigMap",
                                 "metadata": {"name": "crowded", "namespace": f"{ns}-only"}})
    custom(sandbox_karmada).create_namespaced_custom_object(*POLICY, f"{ns}-only", "propagationpolicies", {
        "apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy", "metadata": {"name": taken},
        "spec": {"resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "other"}],
                 "placement": {"clusterAffinity": {"clusterNames": ["member2"]}}}})
    failed = api.post(url, {"member": "member1", "namespace": f"{ns}-only", "kinds": ["configmaps"],
                            "name": "crowded"}, content_type="application/json").json()
    assert failed["namespace_created"] is False
    assert [(r["name"], r["outcome"]) for r in failed["results"]] == [("crowded", "failed")]
    assert "was refused" in failed["results"][0]["reason"]
    assert AuditEvent.objects.filter(action="federations:deploy", result="failed",
                                     details__name="crowded").exists()


def test_a_viewer_may_not_promote_and_the_page_renders_in_chinese(federation, tenant):
    url = reverse("federation:promote", args=[federation.pk])
    assert client_for(tenant.viewer).get(url).status_code == 403
    assert client_for(tenant.viewer).post(f"/api/v1/federations/{federation.pk}/promote/", {},
                                          content_type="application/json").status_code == 403
    page = client_for(tenant.main, "zh-hans").get(url)
    assert page.status_code == 200 and 'lang="zh-hans"' in page.content.decode().lower()


def test_templates_are_pruned_as_karmadactl_prunes_them(federation, tenant, sandbox_karmada, members, application):
    """A Job's generated selector labels and a Service's allocated clusterIP (kept when headless)
    are not part of the template: Karmada's API server accepts it and generates its own."""
    ns = application
    member = members["member1"].api_client()
    client.BatchV1Api(member).create_namespaced_job(ns, {"metadata": {"name": "migrate"}, "spec": {
        "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "m", "image": "busybox"}]}}}})
    client.CoreV1Api(member).create_namespaced_service(ns, {"metadata": {"name": "peers"}, "spec": {
        "clusterIP": "None", "selector": {"app": "shop"}, "ports": [{"port": 80}]}})
    job = client.BatchV1Api(member).read_namespaced_job("migrate", ns)
    assert "batch.kubernetes.io/controller-uid" in job.spec.selector.match_labels  # what the member generated
    answer = client_for(tenant.main).post(f"/api/v1/federations/{federation.pk}/promote/", {
        "member": "member1", "namespace": ns, "kinds": ["services", "jobs"]}, content_type="application/json")
    assert answer.status_code == 200, answer.content
    assert {(r["name"], r["outcome"]) for r in answer.json()["results"]} == {
        ("migrate", "promoted"), ("peers", "promoted"), ("shop", "promoted")}
    with sandbox_karmada.api_client() as api:
        template = client.BatchV1Api(api).read_namespaced_job("migrate", ns)
        headless = client.CoreV1Api(api).read_namespaced_service("peers", ns)
        shop = client.CoreV1Api(api).read_namespaced_service("shop", ns)
    assert template.metadata.uid != job.metadata.uid
    # The member's generated labels were dropped: Karmada's API server generated its own.
    assert template.spec.selector.match_labels["batch.kubernetes.io/controller-uid"] == template.metadata.uid
    assert template.spec.template.metadata.labels["controller-uid"] == template.metadata.uid
    assert headless.spec.cluster_ip == "None"
    assert shop.spec.cluster_ip and shop.spec.cluster_ip != "None"  # Karmada allocated its own


def test_a_workload_is_promoted_with_what_it_uses(federation, tenant, sandbox_karmada, members, application):
    """As karmadactl promote --dependencies: the ConfigMaps and Secrets the pods use come along,
    whatever their labels; one the member lacks is said, not skipped."""
    ns = application
    core = client.CoreV1Api(members["member1"].api_client())
    core.create_namespaced_config_map(ns, {"metadata": {"name": "api-config"}, "data": {"MODE": "live"}})
    core.create_namespaced_secret(ns, {"metadata": {"name": "api-tls"}, "stringData": {"tls.key": "k"}})
    body = deployment("api", "api", 1)
    pod = body["spec"]["template"]["spec"]
    pod["containers"][0]["envFrom"] = [{"configMapRef": {"name": "api-config"}}]
    pod["containers"][0]["env"] = [
        {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "x", "optional": True}}},
        {"name": "Y", "valueFrom": {"secretKeyRef": {"name": "lost", "key": "y"}}}]
    pod["volumes"] = [{"name": "tls", "secret": {"secretName": "api-tls"}},
                      # Every namespace's own (made by the member): used, never promoted.
                      {"name": "ca", "projected": {"sources": [{"configMap": {"name": "kube-root-ca.crt"}}]}}]
    client.AppsV1Api(members["member1"].api_client()).create_namespaced_deployment(ns, body)
    api = client_for(tenant.main)
    answer = api.post(f"/api/v1/federations/{federation.pk}/promote/", {
        "member": "member1", "namespace": ns, "kinds": ["deployments"], "name": "api", "dependencies": True},
        content_type="application/json")
    assert answer.status_code == 200, answer.content
    results = [(r["kind"], r["name"], r["outcome"]) for r in answer.json()["results"]]
    # Configuration first, then the workload that uses it; an optional reference the member lacks
    # (the pods run without it) is no failure, a required one is.
    assert results == [("ConfigMap", "api-config", "promoted"), ("Secret", "api-tls", "promoted"),
                       ("Secret", "lost", "failed"), ("Deployment", "api", "promoted")]
    assert "A workload uses Secret lost, which member1 does not have." in answer.json()["results"][2]["reason"]
    with sandbox_karmada.api_client() as karmada:
        assert client.CoreV1Api(karmada).read_namespaced_config_map("api-config", ns).data == {"MODE": "live"}
    # Without it (the API's default, as karmadactl's), only the object named.
    core.create_namespaced_config_map(ns, {"metadata": {"name": "other-config"}})
    body = deployment("other", "other", 1)
    body["spec"]["template"]["spec"]["containers"][0]["envFrom"] = [{"configMapRef": {"name": "other-config"}}]
    client.AppsV1Api(members["member1"].api_client()).create_namespaced_deployment(ns, body)
    alone = api.post(f"/api/v1/federations/{federation.pk}/promote/", {
        "member": "member1", "namespace": ns, "kinds": ["deployments"], "name": "other"},
        content_type="application/json")
    assert [(r["kind"], r["name"]) for r in alone.json()["results"]] == [("Deployment", "other")]


def test_a_workloads_dependencies_are_what_its_pods_use():
    cronjob = {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
        "imagePullSecrets": [{"name": "registry"}],
        "initContainers": [{"name": "init", "envFrom": [{"secretRef": {"name": "init-env"}}]}],
        "containers": [{"name": "main", "env": [{"name": "A", "value": "1"},
                                                 {"name": "B", "valueFrom": {"secretKeyRef": {"name": "b", "key": "k"}}}]}],
        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
                    {"name": "all", "projected": {"sources": [{"configMap": {"name": "one"}},
                                                              {"secret": {"name": "two"}},
                                                              {"serviceAccountToken": {"path": "t"}}]}},
                    {"name": "scratch", "emptyDir": {}}]}}}}}}
    assert promote.dependencies(cronjob) == {
        ("secrets", "registry"): False, ("secrets", "init-env"): False, ("secrets", "b"): False,
        ("persistentvolumeclaims", "data"): False, ("configmaps", "one"): False, ("secrets", "two"): False}
    # Optional only when every use of it is.
    deployment_ = {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{"name": "main", "envFrom": [
        {"configMapRef": {"name": "flags", "optional": True}}, {"secretRef": {"name": "extra", "optional": True}}]}],
        "volumes": [{"name": "extra", "secret": {"secretName": "extra"}}]}}}}
    assert promote.dependencies(deployment_) == {("configmaps", "flags"): True, ("secrets", "extra"): False}
    statefulset = {"kind": "StatefulSet", "spec": {"volumeClaimTemplates": [{"metadata": {"name": "www"}}],
                                                   "template": {"spec": {"containers": [{"name": "web"}]}}}}
    assert promote.dependencies(statefulset) == {}


def test_a_selector_selects_as_kubernetes_does():
    selector = {"matchLabels": {"app": "shop"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "api"]},
                                     {"key": "canary", "operator": "DoesNotExist"}]}
    assert promote.selects(selector, {"app": "shop", "tier": "web"})
    assert not promote.selects(selector, {"app": "shop", "tier": "db"})
    assert not promote.selects(selector, {"app": "shop", "tier": "web", "canary": "yes"})
    assert not promote.selects(selector, {"app": "blog", "tier": "web"})
    assert promote.selects({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]},
                                                 {"key": "app", "operator": "Exists"}]}, {"app": "x"})
    assert not promote.selects({}, {"app": "x"})

