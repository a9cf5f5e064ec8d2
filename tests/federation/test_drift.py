"""Drift (issue #15 item 6) end to end: a federated Deployment in the sandbox Karmada (with its
controllers) on two kubesim members, one with an image override. A change in a member shows
as drift with the template's, the rendered and the live values; re-sync (page and API) puts
the rendered object back, audited; a viewer sees the drift but not the button.

The sandbox's execution controller, like Karmada's work-status controller, re-applies a
member's object as soon as it changes in a field Karmada manages, so the drift the tests make
is of the kinds Karmada leaves alone: a member whose dispatching is suspended, and a label
added in the member (Karmada keeps labels it did not set)."""
import re
import time

import pytest
from django.urls import reverse
from kubernetes import client

from cceone.audit.models import AuditEvent
from tests.conftest import client_for
from tests.live import grant

from .karmada_world import eventually, federation_on, member_workload, namespace

pytestmark = pytest.mark.django_db
POLICY = ("policy.karmada.io", "v1alpha1")
IMAGE = "spec.template.spec.containers[web].image"
HOTFIX = 'metadata.labels["hotfix"]'
HOTFIX_HTML = "metadata.labels[&quot;hotfix&quot;]"


@pytest.fixture
def federation(sandbox_karmada, tenant):
    grant(sandbox_karmada, tenant.main, "cluster-admin")
    # A reader of everything (as the ops preset): Works in karmada-es-*, clusters/proxy.
    sandbox_karmada.server.emulator.put_object({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "read-all"},
        "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list", "watch"]}]})
    grant(sandbox_karmada, tenant.viewer, "read-all")
    return federation_on(sandbox_karmada, tenant.account, name="fed-drift")


def member_deployment(members, member, ns):
    return member_workload(members, member, "deployment", ns, "web")


@pytest.fixture
def web(sandbox_karmada, members):
    """Deployment web (nginx:1.27) duplicated on member1 and member2; member1's image tag
    overridden to 1.28."""
    ns = namespace(sandbox_karmada)
    with sandbox_karmada.api_client() as api:
        client.AppsV1Api(api).create_namespaced_deployment(ns, {
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}})
        custom = client.CustomObjectsApi(api)
        selector = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}]
        custom.create_namespaced_custom_object(*POLICY, ns, "propagationpolicies", {
            "apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy", "metadata": {"name": "web"},
            "spec": {"resourceSelectors": selector,
                     "placement": {"clusterAffinity": {"clusterNames": ["member1", "member2"]}}}})
        custom.create_namespaced_custom_object(*POLICY, ns, "overridepolicies", {
            "apiVersion": "policy.karmada.io/v1alpha1", "kind": "OverridePolicy", "metadata": {"name": "web"},
            "spec": {"resourceSelectors": selector, "overrideRules": [{
                "targetCluster": {"clusterNames": ["member1"]},
                "overriders": {"imageOverrider": [{"component": "Tag", "operator": "replace", "value": "1.28"}]}}]}})

    def placed():
        first, second = member_deployment(members, "member1", ns), member_deployment(members, "member2", ns)
        return first and second and first.spec.template.spec.containers[0].image == "nginx:1.28" or None

    eventually(placed, timeout=40)
    return ns


def suspend(sandbox_karmada, ns, member):
    """Karmada stops dispatching to `member` (its Work is suspended): nothing corrects it."""
    with sandbox_karmada.api_client() as api:
        client.CustomObjectsApi(api).patch_namespaced_custom_object(*POLICY, ns, "propagationpolicies", "web", {
            "spec": {"suspension": {"dispatchingOnClusters": {"clusterNames": [member]}}}})

        def suspended():
            works = client.CustomObjectsApi(api).list_namespaced_custom_object(
                "work.karmada.io", "v1alpha1", f"karmada-es-{member}", "works")["items"]
            return any(w["spec"].get("suspendDispatching") for w in works) or None

        eventually(suspended, timeout=30)


def change(members, member, ns, image=None, label=None):
    """Change the member's Deployment as a user's read-modify-write would, again when the member's
    controllers (its status) or Karmada wrote it in between (409)."""
    apps = client.AppsV1Api(members[member].api_client())
    for _attempt in range(10):
        body = apps.read_namespaced_deployment("web", ns)
        if image:
            body.spec.template.spec.containers[0].image = image
        if label:
            body.metadata.labels = {**(body.metadata.labels or {}), **label}
        try:
            apps.replace_namespaced_deployment("web", ns, body)
            return
        except client.ApiException as error:
            if error.status != 409:
                raise
    raise AssertionError("the member's Deployment kept changing under the test")


def change_for_good(members, member, ns, **changes):
    """Change the member's object until the change stays: the execution controller's cache may
    see the suspension a moment after the API server."""
    def kept():
        change(members, member, ns, **changes)
        time.sleep(1.0)
        live = member_deployment(members, member, ns)
        return (not changes.get("image") or live.spec.template.spec.containers[0].image == changes["image"]) or None

    eventually(kept, timeout=30)


def drift_url(federation, ns, suffix=""):
    return reverse(f"federation:drift{suffix}", args=[federation.pk, "deployments", ns, "web"])


def api_url(federation, ns, suffix=""):
    return f"/api/v1/federations/{federation.pk}/workloads/deployments/{ns}/web/drift/{suffix}"


def row(page: str, member: str, field: str) -> str | None:
    """The comparison row of `field` in `member`'s section, or None."""
    section = page.split(f'data-member="{member}"', 1)[1].split("</section>", 1)[0]
    start = section.find(f'data-field="{field}"')
    return section[start:section.find("</tr>", start)] if start >= 0 else None


def test_a_member_changed_behind_karmadas_back_shows_drift_and_resync_repairs_it(
        federation, tenant, sandbox_karmada, members, web):
    ns = web
    browser = client_for(tenant.main)
    placement = browser.get(reverse("federation:placement", args=[federation.pk, "deployments", ns, "web"]))
    assert f'href="{drift_url(federation, ns)}" id="placement-drift-link"' in placement.content.decode()
    calm = browser.get(drift_url(federation, ns)).content.decode()
    assert 'data-drifted="false"' in calm and 'data-member="member1" data-state="in-sync"' in calm
    # The override is shown as Karmada's doing, not as drift.
    override = row(calm, "member1", IMAGE)
    assert 'data-kind="override"' in override and 'data-template="nginx:1.27"' in override
    assert 'data-rendered="nginx:1.28" data-live="nginx:1.28"' in override
    assert row(calm, "member2", IMAGE) is None and "data-resync=" not in calm

    # member1: dispatching suspended, then its image and labels changed by hand; member2: its
    # image changed (Karmada puts it back at once) and a label added (Karmada keeps it).
    suspend(sandbox_karmada, ns, "member1")
    change_for_good(members, "member1", ns, image="nginx:1.29", label={"hotfix": "yes"})
    change(members, "member2", ns, image="nginx:1.29", label={"hotfix": "yes"})
    eventually(lambda: member_deployment(members, "member2", ns).spec.template.spec.containers[0].image
               == "nginx:1.27" or None)
    assert member_deployment(members, "member2", ns).metadata.labels["hotfix"] == "yes"

    page = browser.get(drift_url(federation, ns)).content.decode()
    assert 'data-drifted="true"' in page
    assert 'data-member="member1" data-state="drifted"' in page and 'data-suspended="true"' in page
    image = row(page, "member1", IMAGE)
    assert 'data-kind="drift"' in image
    assert 'data-template="nginx:1.27" data-rendered="nginx:1.28" data-live="nginx:1.29"' in image
    assert 'data-template="" data-rendered="" data-live="yes"' in row(page, "member1", HOTFIX_HTML)
    assert 'data-member="member2" data-state="drifted"' in page
    assert row(page, "member2", IMAGE) is None and 'data-kind="drift"' in row(page, "member2", HOTFIX_HTML)
    # Karmada's own labels and annotations, server metadata, status and defaults are never listed.
    fields = set(re.findall(r'data-field="([^"]*)"', page))
    assert fields == {IMAGE, HOTFIX_HTML}, fields
    assert 'data-resync="member1"' in page and 'data-resync="member2"' in page

    # The API twin says the same.
    found = browser.get(api_url(federation, ns)).json()
    assert found["drifted"] is True and found["binding"] == "web-deployment"
    first = {m["cluster"]: m for m in found["members"]}["member1"]
    drifted = {d["field"]: d for d in first["differences"] if d["kind"] == "drift"}
    assert set(drifted) == {IMAGE, HOTFIX} and first["suspended"] is True
    assert (drifted[IMAGE]["template"], drifted[IMAGE]["rendered"], drifted[IMAGE]["live"]) == (
        "nginx:1.27", "nginx:1.28", "nginx:1.29")
    assert drifted[HOTFIX]["present"] == {"template": False, "rendered": False, "live": True}

    # Re-sync member1 from the page: the rendered object is back although Karmada is suspended.
    answer = browser.post(drift_url(federation, ns, "-resync"), {"member": "member1"})
    assert answer.status_code == 302 and answer.url == drift_url(federation, ns)
    live = member_deployment(members, "member1", ns)
    assert live.spec.template.spec.containers[0].image == "nginx:1.28" and "hotfix" not in live.metadata.labels
    assert live.metadata.labels["karmada.io/managed"] == "true"  # still Karmada's
    assert "work.karmada.io/name" in live.metadata.annotations
    page = browser.get(drift_url(federation, ns)).content.decode()
    assert 'data-member="member1" data-state="in-sync"' in page and "holds web as Karmada rendered it" in page
    event = AuditEvent.objects.get(action="federations:deploy", details__operation="resync",
                                   details__member="member1")
    assert event.target_id == str(federation.pk) and sorted(event.details["fields"]) == sorted([IMAGE, HOTFIX])

    # member2 through the API; then nothing is left, and a second re-sync writes nothing.
    answer = browser.post(api_url(federation, ns, "resync/"), {"member": "member2"}, content_type="application/json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["state"] == "in-sync"
    assert "hotfix" not in member_deployment(members, "member2", ns).metadata.labels
    assert browser.get(api_url(federation, ns)).json()["drifted"] is False
    assert answer.json()["written"] is True
    again = browser.post(api_url(federation, ns, "resync/"), {"member": "member2"}, content_type="application/json")
    assert again.status_code == 200 and again.json()["state"] == "in-sync" and again.json()["written"] is False
    # The page says so too, rather than claiming it wrote the member again.
    answer = browser.post(drift_url(federation, ns, "-resync"), {"member": "member2"}, follow=True)
    page = answer.content.decode()
    assert "member2 already holds web as Karmada rendered it: nothing was written." in page
    assert "holds web as Karmada rendered it again" not in page
    assert AuditEvent.objects.filter(details__operation="resync").count() == 2


def test_a_deleted_member_object_is_missing_and_resync_recreates_it(federation, tenant, sandbox_karmada, members, web):
    ns = web
    suspend(sandbox_karmada, ns, "member1")

    def deleted():  # again while the execution controller has not seen the suspension yet
        if member_deployment(members, "member1", ns) is not None:
            client.AppsV1Api(members["member1"].api_client()).delete_namespaced_deployment("web", ns)
        time.sleep(1.0)
        return member_deployment(members, "member1", ns) is None or None

    eventually(deleted, timeout=30)
    browser = client_for(tenant.main)
    page = browser.get(drift_url(federation, ns)).content.decode()
    assert 'data-member="member1" data-state="missing"' in page and 'data-resync="member1"' in page
    assert browser.post(drift_url(federation, ns, "-resync"), {"member": "member1"}).status_code == 302
    created = member_deployment(members, "member1", ns)
    assert created.spec.template.spec.containers[0].image == "nginx:1.28"
    assert created.metadata.annotations["work.karmada.io/name"]
    assert AuditEvent.objects.get(details__operation="resync").details["fields"] == ["*"]


def test_bad_input_and_viewers_change_nothing(federation, tenant, sandbox_karmada, members, web):
    ns = web
    suspend(sandbox_karmada, ns, "member1")
    change_for_good(members, "member1", ns, image="nginx:1.29")
    browser = client_for(tenant.main)
    # A member the workload is not placed on, and a kind drift is not shown for.
    refused = browser.post(drift_url(federation, ns, "-resync"), {"member": "member3"})
    assert refused.status_code == 422 and "is not placed on member3" in refused.content.decode()
    refused = browser.post(api_url(federation, ns, "resync/"), {"member": "member3"},
                           content_type="application/json")
    assert refused.status_code == 400 and "member3" in str(refused.json())
    assert browser.get(f"/api/v1/federations/{federation.pk}/workloads/services/{ns}/web/drift/").status_code == 400
    gone = browser.get(reverse("federation:drift", args=[federation.pk, "deployments", ns, "nothing"]))
    assert gone.status_code == 404 and 'id="drift-error"' in gone.content.decode()
    # A viewer reads the drift, without the button, and may not re-sync.
    viewer = client_for(tenant.viewer)
    page = viewer.get(drift_url(federation, ns)).content.decode()
    assert 'data-member="member1" data-state="drifted"' in page and "data-resync=" not in page
    assert viewer.post(drift_url(federation, ns, "-resync"), {"member": "member1"}).status_code == 403
    assert viewer.post(api_url(federation, ns, "resync/"), {"member": "member1"},
                       content_type="application/json").status_code == 403
    # An IAM admin (federations:deploy) whom Karmada's RBAC lets read but not update clusters/proxy
    # (as the ops preset): the drift, without the button; the write is refused by Karmada.
    grant(sandbox_karmada, tenant.admin, "read-all")
    reader = client_for(tenant.admin)
    page = reader.get(drift_url(federation, ns)).content.decode()
    assert 'data-member="member1" data-state="drifted"' in page and "data-resync=" not in page
    assert reader.post(drift_url(federation, ns, "-resync"), {"member": "member1"}).status_code == 403
    assert member_deployment(members, "member1", ns).spec.template.spec.containers[0].image == "nginx:1.29"
    assert not AuditEvent.objects.filter(details__operation="resync", result="success").exists()


def test_the_drift_page_reads_in_chinese(federation, tenant, sandbox_karmada, members, web):
    """With this file's drift in both members (the check of tests/console/test_chinese_pages.py;
    it passes once the zh_Hans catalogue holds TRANSLATIONS_drift.py)."""
    from tests.console.test_chinese_pages import ALLOWED, english_words, kubernetes_words

    ns = web
    suspend(sandbox_karmada, ns, "member1")
    change_for_good(members, "member1", ns, image="nginx:1.29")
    change(members, "member2", ns, label={"hotfix": "yes"})
    for persona in ("main", "viewer"):
        page = client_for(tenant.persona(persona), "zh-hans").get(drift_url(federation, ns))
        assert page.status_code == 200 and 'lang="zh-hans"' in page.content.decode().lower()
        assert 'data-state="drifted"' in page.content.decode()
        # The users' and objects' names.
        names = {"acme", "Ltd", "viewer", "fed", "drift", "web", "nginx", "hotfix", "yes", "member"}
        assert english_words(page.content.decode(), ALLOWED | kubernetes_words() | names) == {}


def test_a_daemonset_drifts_and_is_reached_from_its_page(federation, tenant, sandbox_karmada, members):
    """A DaemonSet duplicated to both members: reached from its page in the federation's console
    (the Drift button; no Placement, there is no division), a label added in one member shows as
    drift and re-sync takes it away."""
    ns = namespace(sandbox_karmada)
    labels = {"app": "agent"}
    with sandbox_karmada.api_client() as api:
        client.AppsV1Api(api).create_namespaced_daemon_set(ns, {
            "metadata": {"name": "agent", "labels": labels},
            "spec": {"selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "agent", "image": "fluent-bit:3.1"}]}}}})
        client.CustomObjectsApi(api).create_namespaced_custom_object(*POLICY, ns, "propagationpolicies", {
            "apiVersion": "policy.karmada.io/v1alpha1", "kind": "PropagationPolicy", "metadata": {"name": "agent"},
            "spec": {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent"}],
                     "placement": {"clusterAffinity": {"clusterNames": ["member1", "member2"]}}}})

    def member_daemonset(member):
        return member_workload(members, member, "daemon_set", ns, "agent")

    eventually(lambda: member_daemonset("member1") and member_daemonset("member2") or None, timeout=40)
    browser = client_for(tenant.main)
    url = reverse("federation:drift", args=[federation.pk, "daemonsets", ns, "agent"])
    workload = reverse("resources:detail", kwargs={"target_type": "federation", "target_id": federation.pk,
                                                   "kind": "daemonsets", "namespace": ns, "name": "agent"})
    own = browser.get(workload).content.decode()
    assert f'id="drift-button" href="{url}"' in own and 'id="placement-button"' not in own
    calm = browser.get(url).content.decode()
    assert 'data-drifted="false"' in calm and 'data-member="member2" data-state="in-sync"' in calm
    assert f'href="{workload}" id="drift-workload-link"' in calm and 'id="drift-placement-link"' not in calm

    client.AppsV1Api(members["member2"].api_client()).patch_namespaced_daemon_set(
        "agent", ns, {"metadata": {"labels": {"hotfix": "yes"}}})
    page = browser.get(url).content.decode()
    assert 'data-member="member2" data-state="drifted"' in page and 'data-member="member1" data-state="in-sync"' in page
    assert 'data-kind="drift"' in row(page, "member2", HOTFIX_HTML)
    answer = browser.post(f"/api/v1/federations/{federation.pk}/workloads/daemonsets/{ns}/agent/drift/resync/",
                          {"member": "member2"}, content_type="application/json")
    assert answer.status_code == 200 and answer.json()["state"] == "in-sync", answer.content
    assert "hotfix" not in member_daemonset("member2").metadata.labels


def test_a_federated_deployments_page_leads_to_its_placement_and_drift(federation, tenant, web):
    ns = web
    own = client_for(tenant.viewer).get(reverse("resources:detail", kwargs={
        "target_type": "federation", "target_id": federation.pk, "kind": "deployments", "namespace": ns,
        "name": "web"})).content.decode()
    placement = reverse("federation:placement", args=[federation.pk, "deployments", ns, "web"])
    assert f'id="placement-button" href="{placement}"' in own and f'id="drift-button" href="{drift_url(federation, ns)}"' in own
    assert 'id="status-note"' in own and "summed over them" in own
    policy = client_for(tenant.viewer).get(reverse("resources:detail", kwargs={
        "target_type": "federation", "target_id": federation.pk, "kind": "propagationpolicies", "namespace": ns,
        "name": "web"})).content.decode()
    assert 'id="summary"' in policy and 'id="status-note"' not in policy  # no replicas to sum
    # The sidebar shows where the user is: in a federation, not in a registered cluster.
    assert re.findall(r'class="nav-entry active" href="([^"]+)"', own) == [reverse("federation:list")]
