"""The incremental migration wizard (issue #15 item 7, R6.2) against the sandbox Karmada (its
controllers running) and three kubesim members joined as karmadactl join leaves them: an
application of member1 promoted (its pods untouched), then shifted to member2 by the steps the
user chose, each offered once member2's replicas are ready, and rolled back one step."""
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from kubernetes import client

from cceone.audit.models import AuditEvent
from federation import migration as service
from federation import tasks
from federation.models import FederationMigration
from tests.conftest import client_for
from tests.live import grant

from .karmada_world import eventually, federation_on, member_deployment

pytestmark = pytest.mark.django_db


@pytest.fixture
def federation(sandbox_karmada, tenant):
    grant(sandbox_karmada, tenant.main, "cluster-admin")
    return federation_on(sandbox_karmada, tenant.account, name="fed-migrate")


_count = iter(range(1000))


@pytest.fixture
def application(sandbox_karmada, members):
    """In member1: the shop (a ConfigMap and a Deployment of two replicas, labelled app=shop) and
    another application's Deployment; the namespace exists in Karmada and in member2."""
    ns = f"migrate{next(_count)}"
    for name in ("member1", "member2"):
        client.CoreV1Api(members[name].api_client()).create_namespace({"metadata": {"name": ns}})
    member = members["member1"].api_client()
    client.CoreV1Api(member).create_namespaced_config_map(ns, {"metadata": {"name": "shop-settings",
                                                                            "labels": {"app": "shop"}},
                                                               "data": {"a": "1"}})
    for name, app, replicas in (("shop", "shop", 2), ("blog", "blog", 1)):
        labels = {"app": app}
        client.AppsV1Api(member).create_namespaced_deployment(ns, {
            "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}})
    with sandbox_karmada.api_client() as api:
        client.CoreV1Api(api).create_namespace({"metadata": {"name": ns}})
    eventually(lambda: len(pods(members, "member1", ns)) == 3 or None)
    return ns


def pods(members, member, ns, app=None) -> dict[str, str]:
    found = client.CoreV1Api(members[member].api_client()).list_namespaced_pod(
        ns, label_selector=f"app={app}" if app else None).items
    return {p.metadata.name: p.metadata.uid for p in found}


def ready(members, member, ns, name="shop"):
    found = member_deployment(members, member, ns, name)
    return None if found is None else (found.spec.replicas, found.status.ready_replicas or 0)


def config_map(members, member, ns):
    try:
        return client.CoreV1Api(members[member].api_client()).read_namespaced_config_map("shop-settings", ns)
    except client.ApiException as error:
        if error.status == 404:
            return None
        raise


def reached(browser, url, state="ready"):
    """Poll the page as the user's browser does (htmx), until the step is reached."""
    def check():
        page = browser.get(url, HTTP_HX_REQUEST="true")
        assert page.status_code == 200, page.content.decode()[:2000]
        return page.content.decode() if f'data-state="{state}"' in page.content.decode() else None
    return eventually(check, timeout=40)


@pytest.mark.parametrize("text, message", [
    ("", "Give at least two steps"),
    ("100:0", "Give at least two steps"),
    ("100:0 50 0:100", "“50” is not a step"),
    ("100:0 -1:101 0:100", "“-1:101” is not a step"),
    ("100:0 a:b 0:100", "“a:b” is not a step"),
    ("100:0 0:0 0:100", "“0:0” gives neither member a weight"),
    ("50:50 0:100", "The first step must keep everything on the source"),
    ("100:0 50:50", "The last step must put everything on the target"),
    ("100:0 20000:1 0:100", "a weight is at most 10000"),
])
def test_steps_are_pairs_from_all_on_the_source_to_all_on_the_target(text, message):
    with pytest.raises(ValidationError) as error:
        service.parse_steps(text)
    assert message in error.value.messages[0]


def test_steps_are_read_with_spaces_commas_or_arrows():
    assert service.parse_steps("100:0 → 50:50, 0:100") == [[100, 0], [50, 50], [0, 100]]
    assert service.parse_steps("3:0->1:2->0:1") == [[3, 0], [1, 2], [0, 1]]


def test_a_step_is_reached_once_the_target_is_ready_and_no_member_runs_more_than_its_share():
    """Right after a step is applied, Karmada reports the source's status from before it scaled
    down: the step is not reached on that. A source whose own pods fail does not hold it."""
    migration = FederationMigration(source="member1", target="member2", steps=[[100, 0], [50, 50], [0, 100]],
                                    current_step=1)

    def row(ready):
        return service.ObjectRow("Deployment", "shop", binding=True, observed=True, replicated=True,
                                 scheduled={"member1": 1, "member2": 1}, ready=ready,
                                 applied={"member1": True, "member2": True})
    assert not service.step_reached(migration, [row({"member1": 2, "member2": 1})])
    assert not service.step_reached(migration, [row({"member1": 1, "member2": 0})])
    assert service.step_reached(migration, [row({"member1": 1, "member2": 1})])
    assert service.step_reached(migration, [row({"member1": 0, "member2": 1})])


def test_a_member_karmada_gave_no_whole_replica_is_named():
    """50:50 of one replica puts it on one member: the page says so rather than looking stuck."""
    migration = FederationMigration(source="member1", target="member2", steps=[[1, 0], [1, 1], [0, 1]],
                                    current_step=1)
    one = service.ObjectRow("Deployment", "blog", binding=True, observed=True, replicated=True,
                            scheduled={"member1": 1})
    assert one.without_share(migration) == ["member2"]
    two = service.ObjectRow("Deployment", "shop", binding=True, observed=True, replicated=True,
                            scheduled={"member1": 1, "member2": 1})
    assert two.without_share(migration) == []
    # A workload scaled to zero has nothing to divide.
    assert service.ObjectRow("Deployment", "idle", binding=True, observed=True, replicated=True,
                             scheduled={}).without_share(migration) == []
    # Before the scheduler has seen the step, nothing is said yet.
    assert service.ObjectRow("Deployment", "blog", binding=True, replicated=True,
                             scheduled={"member1": 1}).without_share(migration) == []


def test_bad_steps_or_members_change_nothing(federation, tenant, application, members):
    ns = application
    browser = client_for(tenant.main)
    url = reverse("federation:migrations", args=[federation.pk])
    page = browser.post(url, {"source": "member1", "target": "member2", "namespace": ns, "steps": "50:50 0:100"})
    assert page.status_code == 422
    assert "The first step must keep everything on the source" in page.content.decode()
    same = browser.post(url, {"source": "member1", "target": "member1", "namespace": ns, "steps": "100:0 0:100"})
    assert same.status_code == 422
    assert "Choose a target member other than the source." in same.content.decode()
    api = client_for(tenant.main)
    refused = api.post(f"/api/v1/federations/{federation.pk}/migrations/", {
        "source": "member1", "target": "member9", "namespace": ns, "steps": "100:0 0:100"},
        content_type="application/json")
    assert refused.status_code == 400 and refused.json()["target"] == [
        "member9 is not a member cluster of this federation."]
    steps = api.post(f"/api/v1/federations/{federation.pk}/migrations/", {
        "source": "member1", "target": "member2", "namespace": ns, "steps": "100:0 50:50"},
        content_type="application/json")
    assert steps.status_code == 400 and "The last step" in steps.json()["steps"][0]
    assert not FederationMigration.objects.exists()
    # Nothing was promoted: the member's Deployment is not Karmada's.
    assert "work.karmada.io/name" not in (member_deployment(members, "member1", ns, "shop").metadata.annotations
                                          or {})


def test_migrate_an_application_in_two_steps_and_roll_back_one(federation, tenant, sandbox_karmada, members,
                                                               application):
    ns = application
    before = pods(members, "member1", ns, app="shop")
    blog_before = pods(members, "member1", ns, app="blog")
    browser = client_for(tenant.main)
    url = reverse("federation:migrations", args=[federation.pk])
    overview = browser.get(reverse("federation:detail", args=[federation.pk])).content.decode()
    assert f'id="migrations-tab" href="{url}"' in overview
    empty = browser.get(url).content.decode()
    assert 'id="migrations-empty"' in empty and '<option value="member2" selected>member2</option>' in empty
    # Step 1: promote the shop from member1 (everything stays there).
    started = browser.post(url, {"source": "member1", "target": "member2", "namespace": ns,
                                 "label_selector": "app=shop", "steps": "100:0 50:50 0:100"})
    assert started.status_code == 302, started.content.decode()[:3000]
    migration = FederationMigration.objects.get(federation=federation)
    detail = reverse("federation:migration", args=[federation.pk, migration.pk])
    assert started["Location"] == detail
    assert {(o["kind"], o["name"]) for o in migration.promoted} == {("ConfigMap", "shop-settings"),
                                                                    ("Deployment", "shop")}
    # The source's pods kept their UIDs through the promotion, as the page shows.
    assert {p["name"]: p["uid_after"] for p in migration.promotion["pods"] if p["name"] in before} == before
    page = browser.get(detail).content.decode()
    for name, uid in before.items():
        assert f'data-pod="{name}" data-state="unchanged"' in page and uid in page
    body = reached(browser, detail)
    assert 'id="migration-next"' in body and "Next step: 50:50" in body
    assert 'id="migration-rollback"' not in body  # nothing before the first step
    # The API answers what the page offers, by the same rules, in the caller's language.
    seen = client_for(tenant.main, "zh-hans").get(
        f"/api/v1/federations/{federation.pk}/migrations/{migration.pk}/").json()
    assert (seen["steps_reached"], seen["next_step"], seen["advance_refused"]) == (1, [50, 50], "")
    assert seen["rollback_refused"] == "第一步无法回退：所有副本都在源成员。"
    assert seen["claimed"] == ["ConfigMap/shop-settings", "Deployment/shop"]
    assert pods(members, "member1", ns, app="shop") == before
    assert ready(members, "member2", ns) is None
    # A step is offered only once reached: a second "next" for the same step is refused.
    advance = f"/api/v1/federations/{federation.pk}/migrations/{migration.pk}/advance/"
    first = browser.post(reverse("federation:migration-advance", args=[federation.pk, migration.pk]), {"step": 0})
    assert first.status_code == 302
    again = client_for(tenant.main).post(advance, {"step": 0}, content_type="application/json")
    assert again.status_code == 400 and "moved since" in again.json()["detail"][0]
    # 50:50: one replica in each member, the ConfigMap in both.
    body = reached(browser, detail)
    assert 'data-step="2"' in body
    assert 'data-member="member2" data-scheduled="1" data-ready="1"' in body
    assert 'data-member="member1" data-scheduled="1" data-ready="1"' in body
    assert ready(members, "member1", ns) == (1, 1) and ready(members, "member2", ns) == (1, 1)
    assert config_map(members, "member2", ns) is not None
    # 0:100 by the API: everything in member2, nothing of the shop left in member1.
    answer = client_for(tenant.main).post(advance, {"step": 1}, content_type="application/json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["current_step"] == 2
    body = reached(browser, detail, "completed")
    assert 'id="migration-completed"' in body and 'id="migration-next"' not in body
    eventually(lambda: ready(members, "member1", ns) is None or None)
    assert ready(members, "member2", ns) == (2, 2)
    eventually(lambda: config_map(members, "member1", ns) is None or None)
    assert pods(members, "member1", ns, app="blog") == blog_before  # another application, untouched
    # Roll back one step: 50:50 again.
    back = browser.post(reverse("federation:migration-rollback", args=[federation.pk, migration.pk]), {"step": 2})
    assert back.status_code == 302
    body = reached(browser, detail)
    assert 'data-step="2"' in body
    eventually(lambda: ready(members, "member1", ns) == (1, 1) or None)
    assert ready(members, "member2", ns) == (1, 1)
    migration.refresh_from_db()
    assert [e["event"] for e in migration.history] == ["promoted", "ready", "applied", "ready", "applied", "ready",
                                                       "rolled-back", "ready"]
    assert migration.history[3]["placed"] == {"member1": 1, "member2": 1}
    assert migration.history[5]["placed"] == {"member2": 2}
    operations = list(AuditEvent.objects.filter(action="federations:deploy", target_id=str(federation.pk),
                                                details__migration=migration.pk)
                      .order_by("id").values_list("details__operation", flat=True))
    assert operations == ["migration-start", "migration-step", "migration-step", "migration-step",
                          "migration-rollback"]
    listing = client_for(tenant.main).get(f"/api/v1/federations/{federation.pk}/migrations/").json()
    assert [(m["id"], m["state"], m["current_step"]) for m in listing] == [(migration.pk, "ready", 1)]


def test_the_sweep_moves_on_unwatched_steps_and_marks_stalled_ones(federation, tenant, members, application):
    ns = application
    api = client_for(tenant.main)
    created = api.post(f"/api/v1/federations/{federation.pk}/migrations/", {
        "source": "member1", "target": "member2", "namespace": ns, "label_selector": "app=shop",
        "steps": "2:0 1:1 0:2"}, content_type="application/json")
    assert created.status_code == 201, created.content
    migration = FederationMigration.objects.get(pk=created.json()["id"])
    twice = api.post(f"/api/v1/federations/{federation.pk}/migrations/", {
        "source": "member1", "target": "member3", "namespace": ns, "label_selector": "app=shop",
        "steps": "1:0 0:1"}, content_type="application/json")
    assert twice.status_code == 400 and twice.json()["detail"] == [
        f"Migration {migration.pk} (member1 → member2, not finished) already holds ConfigMap/shop-settings, "
        "Deployment/shop: continue it on its page, or choose a selection without them."]
    assert FederationMigration.objects.count() == 1
    assert settings.CELERY_BEAT_SCHEDULE["sweep-federation-migrations"]["task"] == "federation.tasks.sweep_migrations"
    eventually(lambda: tasks.sweep_migrations() and FederationMigration.objects.get(pk=migration.pk).state == "ready"
               or None)
    moved = api.post(f"/api/v1/federations/{federation.pk}/migrations/{migration.pk}/advance/", {},
                     content_type="application/json")
    assert moved.status_code == 200
    # Nobody looks at the page: the sweep sees the step reached.
    eventually(lambda: service.sweep() and FederationMigration.objects.get(pk=migration.pk).state == "ready" or None,
               timeout=40)
    assert ready(members, "member2", ns) == (1, 1)
    # A step that cannot move on (its user was deactivated) is marked stalled with the reason.
    api.post(f"/api/v1/federations/{federation.pk}/migrations/{migration.pk}/advance/", {},
             content_type="application/json")
    FederationMigration.objects.filter(pk=migration.pk).update(state="shifting")
    tenant.main.is_active = False
    tenant.main.save()
    with override_settings(CCEONE_FEDERATION_MIGRATION_STALL_SECONDS=0):
        assert service.sweep()["stalled"] == 1
    migration.refresh_from_db()
    assert migration.state == "stalled" and "can no longer act" in migration.message
    assert migration.history[-1]["event"] == "stalled"


def test_a_viewer_sees_migrations_without_the_buttons(federation, tenant, application):
    migration = FederationMigration.objects.create(federation=federation, source="member1", target="member2",
                                                   namespace=application, steps=[[1, 0], [0, 1]], current_step=1,
                                                   state="ready")
    viewer = client_for(tenant.viewer)
    listing = viewer.get(reverse("federation:migrations", args=[federation.pk]))
    assert listing.status_code == 200
    assert 'id="migration-form"' not in listing.content.decode()
    page = viewer.get(reverse("federation:migration", args=[federation.pk, migration.pk]))
    assert page.status_code == 200
    assert 'id="migration-rollback"' not in page.content.decode()
    assert viewer.post(reverse("federation:migration-rollback", args=[federation.pk, migration.pk])
                       ).status_code == 403
    assert viewer.post(f"/api/v1/federations/{federation.pk}/migrations/{migration.pk}/rollback/", {},
                       content_type="application/json").status_code == 403
    migration.refresh_from_db()
    assert migration.current_step == 1


def test_overlapping_starts_and_a_rollback_under_a_later_migration_are_refused(federation, tenant, members,
                                                                                 application):
    ns = application
    api = client_for(tenant.main)
    whole = FederationMigration.objects.create(federation=federation, source="member1", target="member2",
                                               namespace=ns, steps=[[1, 0], [0, 1]], state="ready", promoted=[
                                                   {"kind": "Deployment", "plural": "deployments", "name": "shop",
                                                    "policy": "shop-1"}])
    # The whole namespace is being migrated: one of its applications cannot start on its own.
    refused = api.post(f"/api/v1/federations/{federation.pk}/migrations/", {
        "source": "member1", "target": "member2", "namespace": ns, "label_selector": "app=shop",
        "steps": "1:0 0:1"}, content_type="application/json")
    assert refused.status_code == 400 and refused.json()["detail"] == [
        f"Migration {whole.pk} (member1 → member2, not finished) may hold the same objects: its selection is "
        "“every object” in this namespace. Continue it on its page."]
    assert FederationMigration.objects.count() == 1
    assert "work.karmada.io/name" not in (member_deployment(members, "member1", ns, "shop").metadata.annotations
                                          or {})
    # Once complete, a later migration of the namespace exists: the first one may not roll back over it.
    FederationMigration.objects.filter(pk=whole.pk).update(state="completed", current_step=1)
    FederationMigration.objects.create(federation=federation, source="member2", target="member3", namespace=ns,
                                       steps=[[1, 0], [0, 1]], state="ready")
    back = api.post(f"/api/v1/federations/{federation.pk}/migrations/{whole.pk}/rollback/", {},
                    content_type="application/json")
    assert back.status_code == 400 and "A later migration of this namespace" in back.json()["detail"][0]
    whole.refresh_from_db()
    assert (whole.state, whole.current_step) == ("completed", 1)
    # An id that is not a number is simply not found.
    assert api.get(f"/api/v1/federations/{federation.pk}/migrations/abc/").status_code == 404


def test_a_selector_that_reaches_another_migrations_objects_is_refused_before_anything_is_promoted(
        federation, tenant, members, application):
    ns = application
    api = client_for(tenant.main)
    url = f"/api/v1/federations/{federation.pk}/migrations/"
    shop = api.post(url, {"source": "member1", "target": "member2", "namespace": ns, "label_selector": "app=shop",
                          "steps": "1:0 0:1"}, content_type="application/json")
    assert shop.status_code == 201, shop.content
    # Another selector, but it selects the shop's Deployment too (and the blog): refused, and the
    # blog is not promoted on the way.
    both = api.post(url, {"source": "member1", "target": "member3", "namespace": ns,
                          "label_selector": "app in (shop,blog)", "steps": "1:0 0:1"}, content_type="application/json")
    assert both.status_code == 400 and "already holds ConfigMap/shop-settings, Deployment/shop:" in \
        both.json()["detail"][0]
    # On the page too, above the form.
    page = client_for(tenant.main).post(reverse("federation:migrations", args=[federation.pk]), {
        "source": "member1", "target": "member3", "namespace": ns, "label_selector": "app in (shop,blog)",
        "steps": "1:0 0:1"})
    assert page.status_code == 422 and "already holds ConfigMap/shop-settings, Deployment/shop:" in \
        page.content.decode()
    assert FederationMigration.objects.count() == 1
    assert "work.karmada.io/name" not in (member_deployment(members, "member1", ns, "blog").metadata.annotations
                                          or {})
    # The blog alone shares nothing with the shop's migration: it may start beside it, and takes the
    # ConfigMap its pods use although the ConfigMap lacks its label (the target needs it too).
    member = members["member1"].api_client()
    client.CoreV1Api(member).create_namespaced_config_map(ns, {"metadata": {"name": "blog-config"}})
    client.AppsV1Api(member).patch_namespaced_deployment("blog", ns, {"spec": {"template": {"spec": {
        "containers": [{"name": "web", "envFrom": [{"configMapRef": {"name": "blog-config"}}]}]}}}})
    blog = api.post(url, {"source": "member1", "target": "member3", "namespace": ns, "label_selector": "app=blog",
                          "steps": "1:0 0:1"}, content_type="application/json")
    assert blog.status_code == 201, blog.content
    assert blog.json()["claimed"] == ["ConfigMap/blog-config", "Deployment/blog"]
    assert {o["name"] for o in blog.json()["promoted"]} == {"blog-config", "blog"}


def test_an_object_federated_before_is_not_held_by_a_migration(federation, tenant, sandbox_karmada, members,
                                                               application):
    """A ConfigMap both applications use, already in the federation by someone's own template:
    the first migration does not take it over, so it does not refuse the second over it."""
    ns = application
    member = members["member1"].api_client()
    client.CoreV1Api(member).create_namespaced_config_map(ns, {"metadata": {"name": "common"}})
    with sandbox_karmada.api_client() as karmada:
        client.CoreV1Api(karmada).create_namespaced_config_map(ns, {"metadata": {"name": "common"}})
    for name in ("shop", "blog"):
        client.AppsV1Api(member).patch_namespaced_deployment(name, ns, {"spec": {"template": {"spec": {
            "containers": [{"name": "web", "envFrom": [{"configMapRef": {"name": "common"}}]}]}}}})
    api = client_for(tenant.main)
    url = f"/api/v1/federations/{federation.pk}/migrations/"
    shop = api.post(url, {"source": "member1", "target": "member2", "namespace": ns, "label_selector": "app=shop",
                          "steps": "1:0 0:1"}, content_type="application/json")
    assert shop.status_code == 201, shop.content
    assert shop.json()["claimed"] == ["ConfigMap/shop-settings", "Deployment/shop"]
    blog = api.post(url, {"source": "member1", "target": "member3", "namespace": ns, "label_selector": "app=blog",
                          "steps": "1:0 0:1"}, content_type="application/json")
    assert blog.status_code == 201, blog.content


def test_the_sweep_stalls_a_migration_whose_user_lost_the_right_and_goes_past_a_broken_one(federation, tenant,
                                                                                            application):
    long_ago = timezone.now() - timedelta(hours=1)
    common = {"federation": federation, "source": "member1", "target": "member2", "namespace": application,
              "steps": [[1, 0], [0, 1]], "current_step": 1, "state": "shifting", "step_started_at": long_ago}
    broken = FederationMigration.objects.create(creator=tenant.main, promoted=[{"kind": "Deployment"}], **common)
    viewers = FederationMigration.objects.create(creator=tenant.viewer, promoted=[
        {"kind": "Deployment", "plural": "deployments", "name": "shop", "policy": "shop-1"}], **common)
    # A start a crash cut short before anything was recorded as promoted: dropped, so the
    # application may be migrated again.
    cut_short = FederationMigration.objects.create(creator=tenant.main, promoted=[], **common)
    with override_settings(CCEONE_FEDERATION_MIGRATION_STALL_SECONDS=0):
        assert service.sweep()["stalled"] == 2
    assert not FederationMigration.objects.filter(pk=cut_short.pk).exists()
    viewers.refresh_from_db()
    assert viewers.state == "stalled" and "can no longer act" in viewers.display_message
    broken.refresh_from_db()
    assert broken.state == "shifting"


def test_a_step_written_but_not_readable_stays_on_the_row(federation, tenant, sandbox_karmada, application):
    """The policies are rewritten, then reading the bindings is refused (this user may write
    policies but not read bindings): the step the row holds is the one Karmada has, and the
    refusal is kept on the row instead of the step being forgotten."""
    ns = application
    api = client_for(tenant.main)
    created = api.post(f"/api/v1/federations/{federation.pk}/migrations/", {
        "source": "member1", "target": "member2", "namespace": ns, "label_selector": "app=shop",
        "steps": "1:0 0:1"}, content_type="application/json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    eventually(lambda: api.get(f"/api/v1/federations/{federation.pk}/migrations/{pk}/").json()["state"] == "ready"
               or None, timeout=40)
    sandbox_karmada.emulator.put_object({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "policies-only"},
        "rules": [{"apiGroups": ["policy.karmada.io"], "resources": ["propagationpolicies"],
                   "verbs": ["get", "list", "patch", "update"]},
                  {"apiGroups": ["cluster.karmada.io"], "resources": ["clusters"], "verbs": ["get", "list"]}]})
    grant(sandbox_karmada, tenant.admin, "policies-only")
    client_for(tenant.admin).post(f"/api/v1/federations/{federation.pk}/migrations/{pk}/advance/", {"step": 0},
                                  content_type="application/json")
    migration = FederationMigration.objects.get(pk=pk)
    assert migration.current_step == 1 and migration.state == "shifting"
    assert "reading the bindings failed" in migration.message
    assert AuditEvent.objects.filter(details__migration=pk, details__operation="migration-step",
                                     details__step=1).exists()
