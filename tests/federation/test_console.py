"""The federation as a console target (issue #15 items 1-3, 8), against a sandbox Karmada over
HTTPS with three kubesim members: the generic resource pages and API on Karmada's API server,
the policy kinds with their guided forms, strict server-side validation and patches that keep
Karmada's permanent ids, read-only bindings and members, the overview's members, the guided
federated workload with its live division preview, and its placement next to the preview."""
import html
import re

import pytest
import yaml
from django.urls import reverse
from kubernetes import client

from cceone.audit.models import AuditEvent
from tests.conftest import client_for

from .karmada_world import binding, eventually, member_deployment, namespace

pytestmark = pytest.mark.django_db
POLICY = ("policy.karmada.io", "v1alpha1")


@pytest.fixture
def ns(sandbox_karmada):
    return namespace(sandbox_karmada)


def k8s(federation, kind, namespace=None, name=None, action=""):
    kwargs = {"target_type": "federation", "target_id": str(federation.pk), "kind": kind}
    if name:
        kwargs["name"] = name
        if namespace:
            kwargs["namespace"] = namespace
        url = reverse(f"resources:{action or 'detail'}", kwargs=kwargs)
        return url
    return reverse(f"resources:{action or 'list'}", kwargs=kwargs)


def custom(sandbox_karmada):
    return client.CustomObjectsApi(sandbox_karmada.api_client())


# --- the generic pages on Karmada -----------------------------------------------------------

def test_the_overview_shows_the_members_ready_with_nodes_vcpu_and_allocation(federation, tenant):
    page = client_for(tenant.main).get(reverse("federation:detail", args=[federation.pk])).content.decode()
    table = page[page.index('id="members-table"'):]
    for member in ("member1", "member2", "member3"):
        row = table[table.index(f'data-member="{member}"'):]
        row = row[:row.index("</tr>")]
        assert "Ready" in row and "v1.31.4" in row and "3 / 3" in row
    totals = page[page.index('id="federation-totals"'):page.index('id="members-table"')]
    assert "3 / 3" in totals and "9 / 9" in totals  # members ready, nodes ready
    vcpu = re.search(r'id="federation-vcpu">([\d.]+)<', page).group(1)
    assert float(vcpu) > 0
    assert re.search(r'id="federation-cpu-rate">\d+%<', page)
    # The console's sections of the federation: the core's and Karmada's.
    for section in ("Namespaces", "Workloads", "Network", "Configuration", "Storage", "Policies", "Bindings",
                    "Member clusters"):
        assert f'">{section}</a>' in page
    assert "Nodes</a>" not in page.split('id="federation-tabs"')[1].split("</ul>")[0]


def test_the_generic_pages_serve_karmadas_resource_templates_and_members(federation, tenant, sandbox_karmada, ns):
    with sandbox_karmada.api_client() as api:
        client.CoreV1Api(api).create_namespaced_config_map(ns, {"metadata": {"name": "settings"}, "data": {"a": "1"}})
    browser = client_for(tenant.main)
    listing = browser.get(k8s(federation, "configmaps") + f"?namespace={ns}")
    assert listing.status_code == 200 and ">settings</a>" in listing.content.decode()
    members = browser.get(k8s(federation, "clusters")).content.decode()
    for member in ("member1", "member2", "member3"):
        assert f">{member}</a>" in members
    detail = browser.get(k8s(federation, "clusters", name="member2")).content.decode()
    assert "v1.31.4" in detail and 'id="edit-button"' not in detail and 'id="delete-button"' not in detail
    # Kinds a Karmada API server does not hold as templates are not pages of a federation.
    assert browser.get(k8s(federation, "pods")).status_code == 404
    assert browser.get(k8s(federation, "nodes")).status_code == 404
    assert browser.get(reverse("resources:summary", kwargs={"target_type": "federation",
                                                             "target_id": str(federation.pk)})).status_code == 404


def test_a_policy_from_the_guided_form_is_checked_by_the_server_then_created_and_audited(federation, tenant,
                                                                                           sandbox_karmada, ns):
    browser = client_for(tenant.main)
    form = browser.get(k8s(federation, "propagationpolicies", action="create")).content.decode()
    assert 'id="create-form"' in form and 'name="replica_scheduling"' in form
    created = browser.post(k8s(federation, "propagationpolicies", action="create"), {
        "mode": "form", "name": "web", "namespace": ns, "selectors": "apps/v1 Deployment web",
        "replica_scheduling": "divided", "cluster_names": "member1 member2", "weights": "member1=1\nmember2=2",
        "tolerations": "maintenance:NoSchedule", "conflict_resolution": "Overwrite"})
    assert created.status_code == 302, created.content.decode()[:2000]
    stored = custom(sandbox_karmada).get_namespaced_custom_object(*POLICY, ns, "propagationpolicies", "web")
    assert stored["spec"]["placement"]["replicaScheduling"]["weightPreference"]["staticWeightList"] == [
        {"targetCluster": {"clusterNames": ["member1"]}, "weight": 1},
        {"targetCluster": {"clusterNames": ["member2"]}, "weight": 2}]
    assert stored["spec"]["conflictResolution"] == "Overwrite"
    assert "propagationpolicy.karmada.io/permanent-id" in stored["metadata"]["labels"]
    detail = browser.get(created.url).content.decode()
    assert "Divided by weight 1:2" in detail and "maintenance:NoSchedule" in detail
    events = AuditEvent.objects.filter(target_type="federation", target_id=str(federation.pk),
                                       details__kind="PropagationPolicy", details__name="web")
    assert set(events.values_list("action", "result")) == {("k8s:create", "success")}


def test_the_api_servers_own_messages_are_shown_and_nothing_is_created(federation, tenant, sandbox_karmada, ns):
    browser = client_for(tenant.main)
    unknown = f"""apiVersion: policy.karmada.io/v1alpha1
kind: PropagationPolicy
metadata: {{name: strict, namespace: {ns}}}
spec:
  resourceSelectors: [{{apiVersion: apps/v1, kind: Deployment, name: web}}]
  placement: {{clusterAffinty: {{clusterNames: [member1]}}}}
"""
    refused = browser.post(k8s(federation, "propagationpolicies", action="create"),
                           {"mode": "yaml", "yaml": unknown, "default_namespace": ns})
    assert refused.status_code in (400, 422)
    assert ('strict decoding error: unknown field "spec.placement.clusterAffinty"'
            in html.unescape(refused.content.decode()))
    zero = unknown.replace("clusterAffinty: {clusterNames: [member1]}", "replicaScheduling: {weightPreference: "
                           "{staticWeightList: [{targetCluster: {clusterNames: [member1]}, weight: 0}]}}")
    refused = browser.post(k8s(federation, "propagationpolicies", action="create"),
                           {"mode": "yaml", "yaml": zero, "default_namespace": ns})
    assert refused.status_code == 422
    assert "should be greater than or equal to 1" in html.unescape(refused.content.decode())
    assert custom(sandbox_karmada).list_namespaced_custom_object(*POLICY, ns, "propagationpolicies")["items"] == []
    failed = AuditEvent.objects.filter(target_type="federation", action="k8s:create", result="failed",
                                       details__dry_run=True)
    assert failed.count() == 2


def test_an_edit_is_a_patch_that_keeps_the_permanent_id(federation, tenant, sandbox_karmada, ns):
    browser = client_for(tenant.main)
    browser.post(k8s(federation, "overridepolicies", action="create"), {
        "mode": "form", "name": "mirror", "namespace": ns, "selectors": "apps/v1 Deployment web",
        "override_cluster": "member2", "image_registry": "mirror.example.com"})
    browser.post(k8s(federation, "propagationpolicies", action="create"), {
        "mode": "form", "name": "web", "namespace": ns, "selectors": "apps/v1 Deployment web",
        "replica_scheduling": "duplicated"})
    before = custom(sandbox_karmada).get_namespaced_custom_object(*POLICY, ns, "propagationpolicies", "web")
    permanent_id = before["metadata"]["labels"]["propagationpolicy.karmada.io/permanent-id"]
    editor = browser.get(k8s(federation, "propagationpolicies", ns, "web", "edit")).content.decode()
    text = re.search(r"<textarea[^>]*>(.*?)</textarea>", editor, re.S).group(1)
    edited = yaml.safe_load(html.unescape(text))
    edited["metadata"]["labels"] = {"team": "web"}  # the permanent id dropped from the YAML
    edited["spec"]["placement"] = {"clusterAffinity": {"clusterNames": ["member3"]}}
    saved = browser.post(k8s(federation, "propagationpolicies", ns, "web", "edit"), {"yaml": yaml.safe_dump(edited)})
    assert saved.status_code == 302, saved.content.decode()[:2000]
    after = custom(sandbox_karmada).get_namespaced_custom_object(*POLICY, ns, "propagationpolicies", "web")
    assert after["metadata"]["labels"] == {"propagationpolicy.karmada.io/permanent-id": permanent_id,
                                           "team": "web"}
    assert after["spec"]["placement"] == {"clusterAffinity": {"clusterNames": ["member3"]}}
    assert after["metadata"]["finalizers"] == before["metadata"]["finalizers"]
    # Saving the YAML read before that edit is refused: someone changed it meanwhile.
    stale = browser.post(k8s(federation, "propagationpolicies", ns, "web", "edit"), {"yaml": html.unescape(text)})
    assert stale.status_code == 409 and "Someone else changed this PropagationPolicy" in stale.content.decode()
    op = custom(sandbox_karmada).get_namespaced_custom_object(*POLICY, ns, "overridepolicies", "mirror")
    assert op["spec"]["overrideRules"] == [{"targetCluster": {"clusterNames": ["member2"]}, "overriders": {
        "imageOverrider": [{"component": "Registry", "operator": "replace", "value": "mirror.example.com"}]}}]


def test_bindings_and_members_are_read_only(federation, tenant, sandbox_karmada, ns):
    browser = client_for(tenant.main)
    for kind, namespace_, name in (("resourcebindings", ns, "web-deployment"), ("clusters", None, "member1")):
        for action in ("edit", "delete", "labels"):
            assert browser.get(k8s(federation, kind, namespace_, name, action)).status_code == 404
        assert browser.get(k8s(federation, kind, action="create")).status_code == 404
    api = client_for(tenant.main)
    url = f"/api/v1/kubernetes/federations/{federation.pk}/clusters/member1/"
    assert api.get(url).status_code == 200
    assert api.put(url, {}, content_type="application/json").status_code == 405
    assert api.delete(url).status_code == 405


# --- the guided federated workload and the preview ------------------------------------------

def workload_data(ns, **extra):
    data = {"workload_kind": "Deployment", "name": "shop", "namespace": ns, "image": "nginx:1.27", "replicas": "3",
            "replica_scheduling": "divided", "cluster_names": "member1 member2",
            "weights": "member1=1\nmember2=2", "override-member2-image_registry": "mirror.example.com"}
    data.update(extra)
    return data


def test_the_preview_updates_as_weights_change_and_flags_a_tie_the_uid_decides(federation, tenant, ns):
    browser = client_for(tenant.main)
    page = browser.get(reverse("federation:workload-create", args=[federation.pk])).content.decode()
    assert 'hx-post="' + reverse("federation:division-preview", args=[federation.pk]) in page
    preview = browser.post(reverse("federation:division-preview", args=[federation.pk]), workload_data(ns),
                           HTTP_HX_REQUEST="true").content.decode()
    assert re.findall(r'data-member="(\w+)" data-replicas="(\d+)"', preview) == [
        ("member1", "1"), ("member2", "2"), ("member3", "0")]
    assert "not selected by the cluster affinity" in preview and 'id="uid-tie"' not in preview
    assert "Webster" in preview and "1.19" in preview
    tie = browser.post(reverse("federation:division-preview", args=[federation.pk]),
                       workload_data(ns, weights="member1=1\nmember2=1")).content.decode()
    assert 'id="uid-tie"' in tie and re.findall(r'data-member="(\w+)" data-replicas="(\d+)"', tie)[:2] == [
        ("member1", "2"), ("member2", "1")]
    assert tie.count("uid-tie") >= 2  # both members say what else they may get
    labels = browser.post(reverse("federation:division-preview", args=[federation.pk]), workload_data(
        ns, cluster_names="", cluster_labels="env=prod", weights="", replica_scheduling="duplicated")).content.decode()
    assert re.findall(r'data-member="(\w+)" data-replicas="(\d+)"', labels) == [
        ("member1", "3"), ("member2", "3"), ("member3", "0")]


def test_a_federated_deployment_split_1_to_2_with_an_image_override(federation, tenant, sandbox_karmada, members, ns):
    browser = client_for(tenant.main)
    created = browser.post(reverse("federation:workload-create", args=[federation.pk]), workload_data(ns))
    assert created.status_code == 302, created.content.decode()[:3000]
    assert created.url == reverse("federation:placement", args=[federation.pk, "deployments", ns, "shop"])
    stored = custom(sandbox_karmada)
    assert stored.get_namespaced_custom_object(*POLICY, ns, "propagationpolicies", "shop")
    assert stored.get_namespaced_custom_object(*POLICY, ns, "overridepolicies", "shop")
    # What was created is said on the page the user lands on.
    landing = browser.get(created.url).content.decode()
    assert "Created Deployment shop, PropagationPolicy shop, OverridePolicy shop." in landing

    eventually(lambda: (binding(sandbox_karmada, ns, "shop-deployment") or {}).get("spec", {}).get("clusters"))
    eventually(lambda: (member_deployment(members, "member2", ns, "shop") is not None
                        and member_deployment(members, "member1", ns, "shop") is not None) or None)
    page = browser.get(created.url).content.decode()
    assert re.findall(r'data-member="(\w+)" data-preview="(\d+)" data-scheduled="(\d*)"', page) == [
        ("member1", "1", "1"), ("member2", "2", "2")]
    assert "The scheduler placed the replicas exactly as previewed." in page
    assert member_deployment(members, "member1", ns, "shop").spec.replicas == 1
    assert member_deployment(members, "member2", ns, "shop").spec.replicas == 2
    assert member_deployment(members, "member2", ns, "shop").spec.template.spec.containers[0].image == \
        "mirror.example.com/nginx:1.27"
    assert member_deployment(members, "member1", ns, "shop").spec.template.spec.containers[0].image == "nginx:1.27"
    assert member_deployment(members, "member3", ns, "shop") is None
    # The members' status comes back onto the binding and the page.
    eventually(lambda: "Healthy" in browser.get(created.url).content.decode() or None)
    audit = AuditEvent.objects.get(action="federations:deploy", target_id=str(federation.pk))
    assert audit.details["objects"] == ["Deployment/shop", "PropagationPolicy/shop", "OverridePolicy/shop"]


def test_a_refused_workload_creates_nothing(federation, tenant, sandbox_karmada, ns):
    browser = client_for(tenant.main)
    refused = browser.post(reverse("federation:workload-create", args=[federation.pk]),
                           workload_data(ns, weights="member1=1\nmember3=2"))
    assert refused.status_code == 422
    assert "Weights name members the affinity leaves out: member3." in refused.content.decode()
    missing = browser.post(reverse("federation:workload-create", args=[federation.pk]),
                           workload_data("no-such-namespace"))
    assert missing.status_code == 422 and "not found" in missing.content.decode()
    with sandbox_karmada.api_client() as api:
        assert client.AppsV1Api(api).list_namespaced_deployment(ns).items == []


# --- the API twins ---------------------------------------------------------------------------

def test_the_api_previews_creates_and_shows_the_placement(federation, tenant, sandbox_karmada, ns):
    api = client_for(tenant.main)
    base = f"/api/v1/federations/{federation.pk}"
    preview = api.post(f"{base}/division-preview/", {
        "replicas": 14, "replica_scheduling": "divided", "weights": {"member1": 3, "member2": 2, "member3": 1}},
        content_type="application/json")
    assert preview.status_code == 200, preview.content
    assert preview.json()["placed"] == {"member1": 7, "member2": 5, "member3": 2}
    assert preview.json()["algorithm"] == "webster"
    raw = api.post(f"{base}/division-preview/", {"replicas": 4, "placement": {
        "clusterAffinity": {"labelSelector": {"matchLabels": {"env": "prod"}}},
        "replicaScheduling": {"replicaSchedulingType": "Divided"}}}, content_type="application/json").json()
    assert raw["placed"] == {"member1": 2, "member2": 2}
    assert [m["reason"] for m in raw["members"]] == ["", "", "not-selected"]

    created = api.post(f"{base}/workloads/", {
        "workload_kind": "Deployment", "name": "api-shop", "namespace": ns, "image": "nginx:1.27", "replicas": 3,
        "replica_scheduling": "divided", "cluster_names": ["member1", "member2"],
        "weights": {"member1": 1, "member2": 2},
        "overrides": [{"override_cluster": "member2", "image_tag": "1.27-alpine"}]}, content_type="application/json")
    assert created.status_code == 201, created.content
    assert [(c["kind"], c["name"]) for c in created.json()["created"]] == [
        ("Deployment", "api-shop"), ("PropagationPolicy", "api-shop"), ("OverridePolicy", "api-shop")]
    eventually(lambda: (binding(sandbox_karmada, ns, "api-shop-deployment") or {}).get("spec", {}).get("clusters"))
    placement = api.get(f"{base}/workloads/deployments/{ns}/api-shop/placement/").json()
    assert placement["binding"] == "api-shop-deployment" and placement["matches"] is True
    assert placement["preview"]["placed"] == {"member1": 1, "member2": 2}
    # The generic API on the federation: the policy kinds, their guided create, bindings read-only.
    policies = api.get(f"/api/v1/kubernetes/federations/{federation.pk}/namespaces/{ns}/propagationpolicies/").json()
    assert [p["metadata"]["name"] for p in policies["items"]] == ["api-shop"]
    made = api.post(f"/api/v1/kubernetes/federations/{federation.pk}/namespaces/{ns}/clusterpropagationpolicies/",
                    {}, content_type="application/json")
    assert made.status_code == 404  # cluster-scoped: not under a namespace
    made = api.post(f"/api/v1/kubernetes/federations/{federation.pk}/clusterpropagationpolicies/", {
        "name": f"all-{ns}", "selectors": "v1 ConfigMap", "replica_scheduling": "duplicated"},
        content_type="application/json")
    assert made.status_code == 201, made.content


def test_the_api_refuses_what_the_page_refuses(federation, tenant, ns):
    api = client_for(tenant.main)
    refused = api.post(f"/api/v1/federations/{federation.pk}/workloads/", {
        "workload_kind": "Deployment", "name": "x", "namespace": ns, "image": "nginx", "replicas": 2,
        "replica_scheduling": "duplicated", "weights": {"member1": 2}}, content_type="application/json")
    assert refused.status_code == 400
    assert refused.json()["weights"] == ["Static weights apply only when replicas are divided."]


def test_a_viewer_may_open_the_console_but_not_deploy(federation, tenant):
    viewer = client_for(tenant.viewer)
    overview = viewer.get(reverse("federation:detail", args=[federation.pk])).content.decode()
    assert 'id="federation-tabs"' in overview and 'id="federated-workload-tab"' not in overview
    assert viewer.get(reverse("federation:workload-create", args=[federation.pk])).status_code == 403
    assert viewer.post(f"/api/v1/federations/{federation.pk}/workloads/", {},
                       content_type="application/json").status_code == 403


def test_the_new_pages_render_in_chinese(federation, tenant, ns):
    browser = client_for(tenant.main, "zh-hans")
    page = browser.get(reverse("federation:workload-create", args=[federation.pk]))
    assert page.status_code == 200 and 'lang="zh-hans"' in page.content.decode().lower()
    assert browser.post(reverse("federation:division-preview", args=[federation.pk]),
                        workload_data(ns)).status_code == 200
    assert browser.get(reverse("federation:placement", args=[federation.pk, "deployments", ns, "none"])
                       ).status_code == 404
    assert browser.get(reverse("federation:detail", args=[federation.pk])).status_code == 200
