"""Permission management (R2.3-R2.5): the presets nest as the manual describes them, custom
permissions are written with unioned rules, associations reach the right users, nobody can
grant more than they hold, and every change is audited."""
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from cceone.audit.models import AuditEvent
from cceone.iam.models import Policy, UserGroup
from fleets import services as fleets
from permissions import console_resources, rbac, services
from permissions.effective import grants_for
from permissions.models import CustomPermission, PermissionBinding
from resources import registry
from tests.conftest import client_for
from tests.factories import ClusterFactory, FleetFactory

P = rbac.Preset


def test_presets_nest_from_restricted_to_admin():
    order = [P.RESTRICTED, P.DEVELOPER, P.OPS, P.ADMIN]
    for lower, higher in zip(order, order[1:]):
        assert rbac.covers(rbac.preset_rules(higher), rbac.preset_rules(lower))
        assert not rbac.covers(rbac.preset_rules(lower), rbac.preset_rules(higher))


def test_developer_and_restricted_cover_exactly_the_namespaced_resources_the_console_shows():
    namespaced, cluster_scoped = console_resources.namespaced(), console_resources.cluster_scoped()
    assert {("", "pods"), ("", "pods/log"), ("apps", "deployments/scale"), ("", "endpoints"),
            ("apps", "replicasets")} <= set(namespaced)
    assert {("", "nodes"), ("", "namespaces")} <= set(cluster_scoped)
    for group, resource in namespaced:
        # Secrets excepted for restricted, as Kubernetes' own `view` role.
        assert rbac.covers(rbac.preset_rules(P.RESTRICTED), [{"apiGroups": [group], "resources": [resource],
                                                              "verbs": ["get", "list", "watch"]}]) is (
            (group, resource) not in console_resources.secrets())
        if (group, resource) not in console_resources.read_only():
            assert rbac.covers(rbac.preset_rules(P.DEVELOPER), [{"apiGroups": [group], "resources": [resource],
                                                                 "verbs": rbac.STANDARD_VERBS}])
    for group, resource in cluster_scoped:  # nodes, namespaces …: ops and admin only
        rule = [{"apiGroups": [group], "resources": [resource], "verbs": ["list"]}]
        assert not rbac.covers(rbac.preset_rules(P.DEVELOPER), rule)
        assert rbac.covers(rbac.preset_rules(P.OPS), rule)
    write_nodes = [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["delete"]}]
    assert not rbac.covers(rbac.preset_rules(P.OPS), write_nodes)
    assert rbac.covers(rbac.preset_rules(P.ADMIN), write_nodes)


def test_the_presets_cover_every_kind_the_console_shows():
    """The presets grant "the resources the console shows": every kind of the resource
    registry, read from it (a kind the console gains is granted without a second list)."""
    from resources.targets import get_type

    for kind in filter(get_type("cluster").serves, registry.all_kinds()):
        read = [{"apiGroups": [kind.group], "resources": [kind.plural], "verbs": ["get", "list"]}]
        if kind.namespaced:
            assert rbac.covers(rbac.preset_rules(P.DEVELOPER), read), kind.plural
            assert rbac.covers(rbac.preset_rules(P.RESTRICTED), read) is not kind.sensitive, kind.plural
        else:
            assert not rbac.covers(rbac.preset_rules(P.DEVELOPER), read), kind.plural
            assert rbac.covers(rbac.preset_rules(P.OPS), read), kind.plural


def test_the_preset_cluster_roles_are_the_ones_clusters_already_hold():
    """What the sync writes as `cceone:developer` and `cceone:restricted` into every member
    cluster: a change here rewrites every cluster's RBAC, so it is spelled out."""
    console = {"": ["configmaps", "endpoints", "events", "persistentvolumeclaims", "pods", "secrets", "services"],
               "apps": ["daemonsets", "deployments", "deployments/scale", "replicasets", "statefulsets",
                        "statefulsets/scale"],
               "batch": ["cronjobs", "jobs"], "networking.k8s.io": ["ingresses"]}
    write = rbac.STANDARD_VERBS
    assert rbac.preset_rules(P.DEVELOPER) == [
        *({"apiGroups": [g], "resources": r, "verbs": write} for g, r in console.items()),
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get", "list", "watch"]}]
    readable = {**console, "": ["configmaps", "endpoints", "events", "persistentvolumeclaims", "pods", "pods/log",
                                "services"]}
    assert rbac.preset_rules(P.RESTRICTED) == [
        {"apiGroups": [g], "resources": r, "verbs": ["get", "list", "watch"]} for g, r in readable.items()]


def test_custom_rules_resolve_api_groups_and_union():
    rules = rbac.custom_rules([
        {"verbs": ["get", "list"], "resources": ["configmaps", "deployments", "pods/log"]},
        {"verbs": ["escalate"], "resources": ["widgets.example.com"]},
        {"verbs": ["get"], "resources": "*"},
    ])
    assert rules == [
        {"apiGroups": [""], "resources": ["configmaps", "pods/log"], "verbs": ["get", "list"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]},
        {"apiGroups": ["example.com"], "resources": ["widgets"], "verbs": ["escalate"]},
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["get"]},
    ]


def test_create_a_custom_permission_with_two_rules_on_the_page(tenant):
    client = client_for(tenant.user)
    page = client.get(reverse("permissions:create")).content.decode()
    assert "For read-only access use get + list + watch" in page and 'data-formset-add="rules"' in page
    response = client.post(reverse("permissions:create"), {
        "name": "cm-and-crd", "description": "config readers",
        "rules-TOTAL_FORMS": "2", "rules-INITIAL_FORMS": "0",
        "rules-0-verbs": ["get", "list"], "rules-0-resource_scope": "listed", "rules-0-resources": ["configmaps"],
        "rules-0-extra_resources": "horizontalpodautoscalers",
        "rules-1-verbs": ["watch"], "rules-1-extra_verbs": "deletecollection", "rules-1-resource_scope": "all",
    })
    assert response.status_code == 302
    permission = CustomPermission.objects.get(name="cm-and-crd")
    assert permission.rules == [
        {"verbs": ["get", "list"], "resources": ["configmaps", "horizontalpodautoscalers"]},
        {"verbs": ["deletecollection", "watch"], "resources": "*"}]
    assert permission.policy_rules()[1] == {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"],
                                            "verbs": ["get", "list"]}
    assert AuditEvent.objects.filter(action="permissions:create", target_name="cm-and-crd").exists()
    listing = client.get(reverse("permissions:list")).content.decode()
    assert "cm-and-crd" in listing and "deletecollection, watch" in listing
    assert "Administrator" in listing and "cceone:restricted" in listing  # the presets are listed too
    edit = client.get(reverse("permissions:edit", args=[permission.pk])).content.decode()
    assert 'value="horizontalpodautoscalers"' in edit and 'value="deletecollection"' in edit


@pytest.mark.parametrize("rule, message", [
    ({"rules-0-resource_scope": "listed", "rules-0-resources": ["pods"]}, "choose at least one operation"),
    ({"rules-0-verbs": ["get"], "rules-0-resource_scope": "listed"}, "choose all resources or list some"),
    ({"rules-0-verbs": ["get"], "rules-0-extra_verbs": "Bad!", "rules-0-resource_scope": "all"}, "invalid: bad!"),
    ({"rules-0-verbs": ["get"], "rules-0-resource_scope": "listed", "rules-0-extra_resources": "Pods/"},
     "invalid: Pods/"),
])
def test_bad_rules_are_explained_and_save_nothing(tenant, rule, message):
    response = client_for(tenant.main).post(reverse("permissions:create"), {
        "name": "broken", "rules-TOTAL_FORMS": "1", "rules-INITIAL_FORMS": "0", **rule})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not CustomPermission.objects.exists()


def test_preset_names_are_reserved(tenant):
    with pytest.raises(ValidationError, match="reserved for a preset"):
        services.save_permission(tenant.main, None, name="admin", rules=[{"verbs": ["get"], "resources": "*"}])


def test_an_associated_permission_cannot_be_deleted_until_dissociated(tenant):
    permission = services.save_permission(tenant.main, None, name="cm", rules=[
        {"verbs": ["get"], "resources": ["configmaps"]}])
    cluster = ClusterFactory(account=tenant.account)
    binding = services.associate(tenant.main, cluster, user=tenant.viewer, permission=permission)
    client = client_for(tenant.main)
    response = client.post(reverse("permissions:delete", args=[permission.pk]), follow=True)
    assert "is associated 1 time(s); remove those associations first." in response.content.decode()
    assert CustomPermission.objects.filter(pk=permission.pk).exists()
    client.post(reverse("permissions:association-delete", args=[binding.pk]))
    client.post(reverse("permissions:delete", args=[permission.pk]))
    assert not CustomPermission.objects.exists()
    assert AuditEvent.objects.filter(action="permissions:dissociate", target_id=str(cluster.pk)).exists()
    assert AuditEvent.objects.filter(action="permissions:delete", target_name="cm").exists()


def test_associate_on_a_cluster_page_with_namespaces_that_may_not_exist(tenant):
    cluster = ClusterFactory(account=tenant.account, name="c-1")
    client = client_for(tenant.main)
    page = client.get(reverse("permissions:cluster", args=[cluster.pk])).content.decode()
    assert "the main account and the cluster's creator hold the administrator permission" in page
    response = client.post(reverse("permissions:cluster", args=[cluster.pk]), {
        "user": tenant.user.pk, "scope": "listed", "namespaces": "default, future-ns",
        "permission": "preset:developer"})
    assert response.status_code == 302
    binding = PermissionBinding.objects.get(cluster=cluster)
    assert (binding.user, binding.all_namespaces, binding.namespaces, binding.preset) == (
        tenant.user, False, ["default", "future-ns"], "developer")
    event = AuditEvent.objects.get(action="permissions:associate", target_id=str(cluster.pk))
    assert event.details["namespaces"] == ["default", "future-ns"] and event.details["user"] == "acme-user"
    page = client.get(reverse("permissions:cluster", args=[cluster.pk])).content.decode()
    assert "default, future-ns" in page and "Developer" in page
    bad = client.post(reverse("permissions:cluster", args=[cluster.pk]), {
        "user": tenant.user.pk, "scope": "listed", "namespaces": "Not_Valid", "permission": "preset:developer"})
    assert "Not a valid namespace name: Not_Valid" in bad.content.decode()
    empty = client.post(reverse("permissions:cluster", args=[cluster.pk]), {
        "user": tenant.user.pk, "scope": "listed", "namespaces": "", "permission": "preset:developer"})
    assert "Name at least one namespace" in empty.content.decode()
    assert PermissionBinding.objects.count() == 1


def test_the_main_account_cannot_be_associated(tenant):
    with pytest.raises(ValidationError, match="always holds the administrator permission"):
        services.associate(tenant.main, ClusterFactory(account=tenant.account), user=tenant.main, preset="admin")


def test_edit_an_association(tenant):
    fleet = FleetFactory(account=tenant.account, name="f")
    binding = services.associate(tenant.main, fleet, user=tenant.user, preset="restricted")
    response = client_for(tenant.admin).post(reverse("permissions:association-edit", args=[binding.pk]), {
        "scope": "listed", "namespaces": "team-a", "permission": "preset:restricted"})
    assert response.status_code == 302 and response.url == reverse("fleets:permissions", args=[fleet.pk])
    binding.refresh_from_db()
    assert binding.namespaces == ["team-a"] and not binding.all_namespaces
    event = AuditEvent.objects.get(action="permissions:association-update")
    assert event.details["before"]["namespaces"] is None and event.details["after"]["namespaces"] == ["team-a"]


# --- escalation -----------------------------------------------------------------------------------

def test_a_sub_account_cannot_grant_more_than_it_holds(tenant):
    cluster = ClusterFactory(account=tenant.account, name="prod-1")
    # An IAM admin without any association holds only `restricted` in the cluster.
    with pytest.raises(ValidationError) as raised:
        services.associate(tenant.admin, cluster, user=tenant.user, preset="developer")
    assert raised.value.messages == ["You cannot grant “Developer” in all namespaces of prod-1: it exceeds the "
                                     "permissions you hold there yourself."]
    services.associate(tenant.admin, cluster, user=tenant.user, preset="restricted")  # what it holds: fine

    services.associate(tenant.main, cluster, user=tenant.admin, all_namespaces=False, namespaces=["a"],
                       preset="ops")
    services.associate(tenant.admin, cluster, user=tenant.viewer, all_namespaces=False, namespaces=["a"],
                       preset="developer")  # within its own namespace
    with pytest.raises(ValidationError, match="in namespace b of prod-1"):
        services.associate(tenant.admin, cluster, user=tenant.viewer, all_namespaces=False, namespaces=["a", "b"],
                           preset="developer")
    with pytest.raises(ValidationError, match="in all namespaces of prod-1"):
        services.associate(tenant.admin, cluster, user=tenant.viewer, preset="developer")
    wide = services.save_permission(tenant.admin, None, name="everything", rules=[{"verbs": ["*"], "resources": "*"}])
    with pytest.raises(ValidationError, match="You cannot grant “everything” in namespace a"):
        services.associate(tenant.admin, cluster, user=tenant.viewer, all_namespaces=False, namespaces=["a"],
                           permission=wide)
    assert PermissionBinding.objects.filter(permission=wide).count() == 0


def test_the_creator_of_a_cluster_may_grant_anything_on_it(tenant):
    cluster = ClusterFactory(account=tenant.account, creator=tenant.admin)
    services.associate(tenant.admin, cluster, user=tenant.user, preset="admin")
    other = ClusterFactory(account=tenant.account)
    with pytest.raises(ValidationError):
        services.associate(tenant.admin, other, user=tenant.user, preset="admin")


def test_widening_an_associated_permission_needs_the_new_rules_everywhere_it_is_used(tenant):
    cluster = ClusterFactory(account=tenant.account, name="c-2")
    services.associate(tenant.main, cluster, user=tenant.admin, preset="developer")
    permission = services.save_permission(tenant.admin, None, name="cm", rules=[
        {"verbs": ["get"], "resources": ["configmaps"]}])
    services.associate(tenant.admin, cluster, user=tenant.admin, permission=permission)
    with pytest.raises(ValidationError, match="You cannot grant “cm” in all namespaces of c-2"):
        services.save_permission(tenant.admin, permission, name="cm", rules=[{"verbs": ["*"], "resources": "*"}])
    permission.refresh_from_db()
    assert permission.rules == [{"verbs": ["get"], "resources": ["configmaps"]}]
    services.save_permission(tenant.admin, permission, name="cm", rules=[
        {"verbs": ["get", "list"], "resources": ["configmaps", "secrets"]}])  # within developer: fine


def test_escalation_is_refused_on_the_page_and_in_the_api_too(tenant):
    cluster = ClusterFactory(account=tenant.account, name="c-3")
    page = client_for(tenant.admin).post(reverse("permissions:cluster", args=[cluster.pk]), {
        "user": tenant.user.pk, "scope": "all", "permission": "preset:admin"})
    assert "it exceeds the permissions you hold there yourself" in page.content.decode()
    api = client_for(tenant.admin).post("/api/v1/permission-associations/", {
        "cluster": cluster.pk, "user": tenant.user.pk, "preset": "ops"}, content_type="application/json")
    assert api.status_code == 400 and "exceeds the permissions you hold" in api.content.decode()
    assert not PermissionBinding.objects.exists()


# --- who holds what ---------------------------------------------------------------------------------

def grants(cluster) -> dict:
    return {(g.user.username, g.role, g.namespaces) for g in grants_for(cluster)}


def test_effective_grants_of_a_cluster(tenant):
    cluster = ClusterFactory(account=tenant.account, creator=tenant.admin)
    services.associate(tenant.main, cluster, user=tenant.user, all_namespaces=False, namespaces=["a"],
                       preset="developer")
    services.associate(tenant.main, cluster, user=tenant.nopolicy, preset="ops")
    assert grants(cluster) == {
        ("acme", "cceone:admin", None),  # main account
        ("acme-admin", "cceone:admin", None),  # the cluster's creator
        ("acme-user", "cceone:developer", ("a",)),  # its association instead of restricted
        ("acme-viewer", "cceone:restricted", None),  # IAM read, no association
        # acme-nopolicy: associated, but without IAM read on the cluster it holds nothing
    }


def test_iam_read_limited_to_one_cluster_decides_the_restricted_fallback(tenant):
    seen, unseen = ClusterFactory(account=tenant.account), ClusterFactory(account=tenant.account)
    policy = Policy.objects.create(account=tenant.account, name="one-cluster", actions=["clusters:get"],
                                   scope=Policy.Scope.INSTANCES, instances=[f"cluster:{seen.pk}"])
    from cceone.iam import services as iam_services

    iam_services.save_group(tenant.main, UserGroup.objects.create(account=tenant.account, name="scoped"),
                            name="scoped", description="", members=[tenant.nopolicy], policies=[policy])
    assert ("acme-nopolicy", "cceone:restricted", None) in grants(seen)
    assert not any(user == "acme-nopolicy" for user, _r, _n in grants(unseen))


def test_a_cluster_in_a_fleet_takes_the_fleets_associations(tenant, django_capture_on_commit_callbacks):
    fleet = FleetFactory(account=tenant.account)
    cluster = ClusterFactory(account=tenant.account)
    services.associate(tenant.main, cluster, user=tenant.user, preset="developer")
    services.associate(tenant.main, fleet, user=tenant.viewer, all_namespaces=False, namespaces=["x"],
                       preset="ops")
    with django_capture_on_commit_callbacks(execute=True):  # joining runs as a change in the worker
        fleets.add_clusters(tenant.main, fleet, [cluster])
    cluster.refresh_from_db()
    assert ("acme-viewer", "cceone:ops", ("x",)) in grants(cluster)
    assert ("acme-user", "cceone:restricted", None) in grants(cluster)  # its own association is suspended
    page = client_for(tenant.main).get(reverse("permissions:cluster", args=[cluster.pk])).content.decode()
    assert 'id="suspended-note"' in page
    with django_capture_on_commit_callbacks(execute=True):
        fleets.remove_cluster(tenant.main, fleet, cluster)
    cluster.refresh_from_db()
    assert ("acme-user", "cceone:developer", None) in grants(cluster)
    assert ("acme-viewer", "cceone:restricted", None) in grants(cluster)


def test_disabled_users_hold_nothing(tenant):
    from cceone.iam import services as iam_services

    cluster = ClusterFactory(account=tenant.account)
    iam_services.update_sub_account(tenant.main, tenant.viewer, email="", phone="", is_active=False,
                                    groups=list(tenant.viewer.iam_groups.all()))
    assert not any(user == "acme-viewer" for user, _r, _n in grants(cluster))


def test_association_lists_and_the_generic_associate_page(tenant):
    fleet = FleetFactory(account=tenant.account, name="fleet-x")
    cluster = ClusterFactory(account=tenant.account, name="cluster-x", fleet=fleet)
    client = client_for(tenant.main)
    response = client.post(reverse("permissions:associate"), {
        "target": f"cluster:{cluster.pk}", "user": tenant.viewer.pk, "scope": "all", "permission": "preset:ops"})
    assert response.status_code == 302 and response.url == reverse("permissions:cluster", args=[cluster.pk])
    client.post(reverse("permissions:associate"), {
        "target": f"fleet:{fleet.pk}", "user": tenant.user.pk, "scope": "all", "permission": "preset:developer"})
    listing = client.get(reverse("permissions:associations")).content.decode()
    assert "cluster-x" in listing and "fleet-x" in listing and "Suspended" in listing
    only_fleets = client.get(reverse("permissions:associations") + "?target_type=fleet").content.decode()
    assert "fleet-x" in only_fleets and "acme-viewer" not in only_fleets
    api = client.get(f"/api/v1/permission-associations/?fleet={fleet.pk}").json()
    assert [(b["username"], b["preset"], b["permission_type"]) for b in api["results"]] == [
        ("acme-user", "developer", "preset")]


# --- sync state -------------------------------------------------------------------------------------

def test_a_failed_sync_is_shown_with_its_error_and_can_be_retried(tenant, django_capture_on_commit_callbacks):
    fleet = FleetFactory(account=tenant.account, name="f-sync")
    cluster = ClusterFactory(account=tenant.account, name="c-sync", fleet=fleet)
    with django_capture_on_commit_callbacks(execute=True):
        services.retry_sync(tenant.main, cluster)
    error = "Cluster c-sync is unreachable: the access hub does not answer."
    client = client_for(tenant.user)
    for url in (reverse("fleets:detail", args=[fleet.pk]), reverse("permissions:cluster", args=[cluster.pk]),
                reverse("permissions:sync")):
        page = client.get(url).content.decode()
        assert "sync-failed" in page and error in page and ">Retry</button>" in page
    assert ">Retry</button>" not in client_for(tenant.viewer).get(reverse("permissions:sync")).content.decode()
    response = client.post(reverse("permissions:sync-retry", args=[cluster.pk]),
                           {"next": reverse("fleets:detail", args=[fleet.pk])})
    assert response.status_code == 302 and response.url == reverse("fleets:detail", args=[fleet.pk])
    assert cluster.permission_sync.__class__.objects.get(pk=cluster.pk).state == "pending"
    assert AuditEvent.objects.filter(action="permissions:sync-retry", actor=tenant.user).exists()
    assert AuditEvent.objects.filter(action="permissions:sync", result="failed", details__error=error).exists()


def test_the_periodic_resync_retries_what_is_due(tenant):
    from datetime import timedelta

    from django.utils import timezone

    from clusters.models import RegisteredCluster
    from permissions.models import ClusterPermissionSync
    from permissions.tasks import resync_permissions

    now = timezone.now()
    due = ClusterFactory(account=tenant.account, name="due")
    waiting = ClusterFactory(account=tenant.account, name="backing-off")
    fresh = ClusterFactory(account=tenant.account, name="fresh")
    new = ClusterFactory(account=tenant.account, name="never-synced")
    ClusterFactory(account=tenant.account, name="down", status=RegisteredCluster.Status.DISCONNECTED)
    ClusterPermissionSync.objects.create(cluster=due, state="failed", attempts=1, last_attempt_at=now,
                                         next_attempt_at=now - timedelta(seconds=1))
    ClusterPermissionSync.objects.create(cluster=waiting, state="failed", attempts=2, last_attempt_at=now,
                                         next_attempt_at=now + timedelta(minutes=1))
    ClusterPermissionSync.objects.create(cluster=fresh, state="synced", last_attempt_at=now, synced_at=now)
    assert resync_permissions() == {"enqueued": 1}
    assert ClusterPermissionSync.objects.get(pk=due.pk).attempts == 2  # it ran again (and failed again)
    assert ClusterPermissionSync.objects.get(pk=waiting.pk).attempts == 2
    assert ClusterPermissionSync.objects.get(pk=new.pk).state == "pending"  # requested
    assert set(ClusterPermissionSync.objects.values_list("cluster__name", flat=True)) == {
        "due", "backing-off", "fresh", "never-synced"}
