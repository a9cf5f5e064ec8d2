"""Kubernetes permissions in member clusters, checked against the emulated cluster's own
RBAC through the real hub and agent: preset and custom permissions allow what the manual
says, a fleet's associations override a member's own, and the sync owns only what it labels."""
from sandbox.kubesim.testing import deployment_manifest, pod_manifest

from cceone.audit.models import AuditEvent
from cceone.iam import services as iam_services
from cceone.iam.models import Policy, UserGroup
from cceone.kube.gateway import identity_for
from fleets import services as fleets
from permissions import services, sync, tasks
from permissions.models import ClusterPermissionSync
from tests.conftest import client_for
from tests.permissions.conftest import allowed, rbac_objects, settled, subjects
from tests.resources.conftest import page
from tests.live import wait_until

RBAC = "rbac.authorization.k8s.io/v1"


def configmap(name):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}


def namespace(name):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def who(user) -> str:
    return identity_for(user).username


def test_a_cluster_that_comes_up_gets_the_presets_and_the_implicit_bindings(running_cluster, tenant):
    emulator = running_cluster.emulator
    roles = rbac_objects(emulator, "ClusterRole")
    assert {name for _ns, name in roles} == {"cceone:admin", "cceone:ops", "cceone:developer", "cceone:restricted"}
    bindings = rbac_objects(emulator, "ClusterRoleBinding")
    # The main account (also the creator) administers; sub-accounts that may view the cluster
    # are restricted; the sub-account without any IAM policy holds nothing.
    assert subjects(bindings[("", "cceone:admin")]) == [who(tenant.main)]
    assert subjects(bindings[("", "cceone:restricted")]) == sorted(
        who(u) for u in (tenant.admin, tenant.user, tenant.viewer))
    assert allowed(running_cluster, tenant.main, "list", "Node")
    assert not allowed(running_cluster, tenant.nopolicy, "list", "Pod", "default")


def test_developer_in_namespace_a(running_cluster, tenant):
    services.associate(tenant.main, running_cluster, user=tenant.user, all_namespaces=False, namespaces=["a"],
                       preset="developer")
    assert ClusterPermissionSync.objects.get(pk=running_cluster.pk).state == "synced"
    deployment = deployment_manifest("web", replicas=1)
    assert allowed(running_cluster, tenant.user, "create", "Deployment", "a", "apps/v1", body=deployment)
    assert not allowed(running_cluster, tenant.user, "create", "Deployment", "b", "apps/v1", body=deployment)
    assert not allowed(running_cluster, tenant.user, "list", "Node")
    # An association replaces the restricted fallback: nothing is readable outside `a`.
    assert not allowed(running_cluster, tenant.user, "list", "Pod", "b")
    assert allowed(running_cluster, tenant.user, "list", "Secret", "a")
    rolebindings = rbac_objects(running_cluster.emulator, "RoleBinding")
    assert subjects(rolebindings[("a", "cceone:developer")]) == [who(tenant.user)]


def test_restricted_lists_pods_but_cannot_delete_one(running_cluster, tenant):
    running_cluster.emulator.apply_object({**pod_manifest("victim"), "metadata": {"name": "victim",
                                                                                   "namespace": "b"}})
    viewer = tenant.viewer  # no association: the implicit restricted permission
    assert allowed(running_cluster, viewer, "list", "Pod", "b")
    assert allowed(running_cluster, viewer, "list", "Deployment", "kube-system", "apps/v1")
    assert not allowed(running_cluster, viewer, "delete", "Pod", "b", name="victim")
    assert not allowed(running_cluster, viewer, "create", "ConfigMap", "b", body=configmap("x"))
    assert not allowed(running_cluster, viewer, "list", "Node")


def test_restricted_reads_no_secret_as_kubernetes_view_does(running_cluster, tenant):
    running_cluster.emulator.apply_object({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                                           "metadata": {"name": "db", "namespace": "b"}, "data": {"pw": "aHVudGVyMg=="}})
    viewer = tenant.viewer  # no association: the implicit restricted permission
    assert allowed(running_cluster, viewer, "list", "ConfigMap", "b")
    assert not allowed(running_cluster, viewer, "list", "Secret", "b")
    assert not allowed(running_cluster, viewer, "list", "Secret")
    assert not allowed(running_cluster, viewer, "get", "Secret", "b", name="db")
    services.associate(tenant.main, running_cluster, user=tenant.user, preset="restricted")
    assert not allowed(running_cluster, tenant.user, "get", "Secret", "b", name="db")


def test_the_console_reveal_reads_as_the_user_so_only_write_presets_reveal(running_cluster, tenant):
    running_cluster.emulator.apply_object({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                                           "metadata": {"name": "db", "namespace": "b"}, "data": {"pw": "aHVudGVyMg=="}})
    url = page(running_cluster, "secrets", "b", "db", "reveal")
    refused = client_for(tenant.viewer).post(url, {"key": "pw"})
    assert refused.status_code == 403
    assert "hunter2" not in refused.content.decode()
    services.associate(tenant.main, running_cluster, user=tenant.user, all_namespaces=False, namespaces=["b"],
                       preset="developer")
    shown = client_for(tenant.user).post(url, {"key": "pw"})
    assert shown.status_code == 200
    assert "hunter2" in shown.content.decode()
    reveals = AuditEvent.objects.filter(action="k8s:reveal-secret").order_by("pk")
    assert [(e.actor, e.result) for e in reveals] == [(tenant.viewer, AuditEvent.Result.DENIED),
                                                      (tenant.user, AuditEvent.Result.SUCCESS)]


def test_ops_and_admin_as_the_manual_says(running_cluster, tenant):
    services.associate(tenant.main, running_cluster, user=tenant.user, preset="ops")
    services.associate(tenant.main, running_cluster, user=tenant.admin, preset="admin")
    ops, admin = tenant.user, tenant.admin
    # ops: read and write namespaced resources, read-only the rest
    assert allowed(running_cluster, ops, "create", "ConfigMap", "kube-system", body=configmap("ops"))
    assert allowed(running_cluster, ops, "create", "ServiceAccount", "b",
                   body={"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "bot"}})
    assert allowed(running_cluster, ops, "list", "Node")
    assert allowed(running_cluster, ops, "list", "StorageClass", api_version="storage.k8s.io/v1")
    assert not allowed(running_cluster, ops, "create", "Namespace", body=namespace("by-ops"))
    assert not allowed(running_cluster, ops, "delete", "Namespace", name="b")
    # admin: read and write everything
    assert allowed(running_cluster, admin, "create", "Namespace", body=namespace("by-admin"))
    assert allowed(running_cluster, admin, "delete", "Namespace", name="b")
    assert allowed(running_cluster, admin, "list", "ClusterRole", api_version=RBAC)


def test_a_custom_permission_with_get_and_list_on_configmaps_allows_exactly_that(running_cluster, tenant):
    running_cluster.emulator.apply_object({**configmap("settings"), "metadata": {"name": "settings",
                                                                                  "namespace": "a"}})
    reader = services.save_permission(tenant.main, None, name="cm-reader",
                                      rules=[{"verbs": ["get", "list"], "resources": ["configmaps"]}])
    services.associate(tenant.main, running_cluster, user=tenant.user, permission=reader)
    role = rbac_objects(running_cluster.emulator, "ClusterRole")[("", f"cceone:custom:{reader.pk}")]
    assert role["rules"] == [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}]
    user = tenant.user
    assert allowed(running_cluster, user, "list", "ConfigMap", "a")
    assert allowed(running_cluster, user, "get", "ConfigMap", "a", name="settings")
    assert not allowed(running_cluster, user, "create", "ConfigMap", "a", body=configmap("new"))
    assert not allowed(running_cluster, user, "delete", "ConfigMap", "a", name="settings")
    assert not allowed(running_cluster, user, "list", "Secret", "a")
    assert not allowed(running_cluster, user, "list", "Pod", "a")


def test_editing_a_custom_permission_rewrites_its_cluster_role(running_cluster, tenant):
    perm = services.save_permission(tenant.main, None, name="cm",
                                    rules=[{"verbs": ["get"], "resources": ["configmaps"]}])
    services.associate(tenant.main, running_cluster, user=tenant.user, permission=perm)
    assert not allowed(running_cluster, tenant.user, "list", "Secret", "a")
    services.save_permission(tenant.main, perm, name="cm", rules=[
        {"verbs": ["get"], "resources": ["configmaps"]}, {"verbs": ["list"], "resources": ["secrets"]}])
    assert allowed(running_cluster, tenant.user, "list", "Secret", "a")


def test_fleet_override_replaces_the_clusters_own_bindings_and_leaving_restores_them(running_cluster, tenant):
    cluster, emulator = running_cluster, running_cluster.emulator
    services.associate(tenant.main, cluster, user=tenant.user, all_namespaces=False, namespaces=["a"],
                       preset="developer")
    fleet = fleets.create_fleet(tenant.main, name="prod-fleet")
    services.associate(tenant.main, fleet, user=tenant.user, preset="ops")
    assert ("a", "cceone:developer") in rbac_objects(emulator, "RoleBinding")

    fleets.add_clusters(tenant.main, fleet, [cluster])
    assert settled(cluster).state == "synced"
    rolebindings = rbac_objects(emulator, "RoleBinding")
    bindings = rbac_objects(emulator, "ClusterRoleBinding")
    assert ("a", "cceone:developer") not in rolebindings
    assert subjects(bindings[("", "cceone:ops")]) == [who(tenant.user)]
    assert allowed(cluster, tenant.user, "list", "Node")

    fleets.remove_cluster(tenant.main, fleet, cluster)
    rolebindings = rbac_objects(emulator, "RoleBinding")
    bindings = rbac_objects(emulator, "ClusterRoleBinding")
    assert subjects(rolebindings[("a", "cceone:developer")]) == [who(tenant.user)]
    assert ("", "cceone:ops") not in bindings
    assert not allowed(cluster, tenant.user, "list", "Node")


def test_changing_a_fleets_associations_updates_every_member(tenant, more_clusters):
    first, second = more_clusters("member-1"), more_clusters("member-2")
    settled(first), settled(second)
    fleet = fleets.create_fleet(tenant.main, name="edge", clusters=[first, second])
    binding = services.associate(tenant.main, fleet, user=tenant.viewer, all_namespaces=False,
                                 namespaces=["prod"], preset="developer")
    for member in (first, second):
        settled(member)
        assert subjects(rbac_objects(member.emulator, "RoleBinding")[("prod", "cceone:developer")]) == [
            who(tenant.viewer)]
    services.dissociate(tenant.main, binding)
    for member in (first, second):
        settled(member)
        assert ("prod", "cceone:developer") not in rbac_objects(member.emulator, "RoleBinding")
        assert who(tenant.viewer) in subjects(rbac_objects(member.emulator, "ClusterRoleBinding")[
            ("", "cceone:restricted")])


def test_sync_twice_changes_nothing_and_never_touches_foreign_objects(running_cluster, tenant):
    emulator = running_cluster.emulator
    foreign = [
        {"apiVersion": RBAC, "kind": "ClusterRole", "metadata": {"name": "team:reader"},
         "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]},
        {"apiVersion": RBAC, "kind": "ClusterRoleBinding", "metadata": {"name": "team-readers"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "team:reader"},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": who(tenant.user)}]},
        {"apiVersion": RBAC, "kind": "RoleBinding", "metadata": {"name": "cceone:developer", "namespace": "b"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "someone"}]},
    ]
    for obj in foreign:
        emulator.put_object(obj)
    # A labelled object the sync no longer wants (e.g. of a deleted custom permission) is pruned.
    emulator.put_object({"apiVersion": RBAC, "kind": "ClusterRole", "metadata": {
        "name": "cceone:custom:999", "labels": {"cceone.io/managed-by": "cceone"}}, "rules": []})
    services.associate(tenant.main, running_cluster, user=tenant.user, all_namespaces=False, namespaces=["a"],
                       preset="developer")
    assert ("", "cceone:custom:999") not in rbac_objects(emulator, "ClusterRole")

    def versions():
        return {(kind, key): obj["metadata"]["resourceVersion"]
                for kind in ("ClusterRole", "ClusterRoleBinding", "RoleBinding")
                for key, obj in rbac_objects(emulator, kind, managed_only=False).items()}

    before = versions()
    assert sync.run(running_cluster.pk) == "synced"
    state = ClusterPermissionSync.objects.get(pk=running_cluster.pk)
    assert (state.summary["created"], state.summary["updated"], state.summary["deleted"]) == (0, 0, 0)
    assert versions() == before
    for obj in foreign:
        meta = obj["metadata"]
        kept = emulator.get_object(RBAC, obj["kind"], meta["name"], meta.get("namespace"))
        assert kept is not None and "labels" not in kept["metadata"]
        assert kept.get("subjects") == obj.get("subjects") and kept.get("rules") == obj.get("rules")


def test_an_unlabelled_object_in_the_way_is_reported_not_overwritten(running_cluster, tenant):
    emulator = running_cluster.emulator
    emulator.put_object({"apiVersion": RBAC, "kind": "RoleBinding",
                         "metadata": {"name": "cceone:developer", "namespace": "a"},
                         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "someone"}]})
    services.associate(tenant.main, running_cluster, user=tenant.user, all_namespaces=False, namespaces=["a"],
                       preset="developer")
    state = ClusterPermissionSync.objects.get(pk=running_cluster.pk)
    assert state.state == "failed"
    assert "RoleBinding a/cceone:developer" in state.error
    kept = emulator.get_object(RBAC, "RoleBinding", "cceone:developer", "a")
    assert [s["name"] for s in kept["subjects"]] == ["someone"]


def test_a_namespace_created_later_is_bound_at_the_next_sync(running_cluster, tenant):
    emulator = running_cluster.emulator
    services.associate(tenant.main, running_cluster, user=tenant.user, all_namespaces=False,
                       namespaces=["a", "later"], preset="developer")
    state = ClusterPermissionSync.objects.get(pk=running_cluster.pk)
    assert state.state == "synced" and state.summary["waiting_for_namespaces"] == ["later"]
    assert ("later", "cceone:developer") not in rbac_objects(emulator, "RoleBinding")
    emulator.put_object(namespace("later"))
    # The periodic re-sync (Celery beat) is what picks it up; it is due once its interval passed.
    ClusterPermissionSync.objects.filter(pk=running_cluster.pk).update(last_attempt_at=None)
    assert tasks.resync_permissions()["enqueued"] == 1
    assert subjects(rbac_objects(emulator, "RoleBinding")[("later", "cceone:developer")]) == [who(tenant.user)]
    assert allowed(running_cluster, tenant.user, "create", "ConfigMap", "later", body=configmap("x"))


def test_a_removed_user_loses_their_bindings(running_cluster, tenant):
    services.associate(tenant.main, running_cluster, user=tenant.user, preset="ops")
    assert who(tenant.user) in subjects(rbac_objects(running_cluster.emulator, "ClusterRoleBinding")[
        ("", "cceone:ops")])
    iam_services.update_sub_account(tenant.main, tenant.viewer, email="", phone="", is_active=False, groups=[])
    iam_services.delete_sub_account(tenant.main, tenant.user)
    bindings = rbac_objects(running_cluster.emulator, "ClusterRoleBinding")
    assert ("", "cceone:ops") not in bindings  # its only subject is gone
    assert who(tenant.viewer) not in subjects(bindings[("", "cceone:restricted")])
    assert not allowed(running_cluster, tenant.viewer, "list", "Pod", "a")


def test_an_unreachable_cluster_shows_the_failure_and_a_retry_brings_it_in_sync(running_cluster, tenant,
                                                                                   start_agent):
    from clusters import connectivity
    from clusters.status import hub_status
    from tests.live import cluster_status

    running_cluster.agent.kill()
    services.associate(tenant.main, running_cluster, user=tenant.user, preset="developer")
    state = ClusterPermissionSync.objects.get(pk=running_cluster.pk)
    assert state.state == "failed" and "edge-01" in state.error
    assert state.next_attempt_at is not None
    assert AuditEvent.objects.filter(action="permissions:sync", result="failed",
                                     target_id=str(running_cluster.pk)).exists()
    start_agent(connectivity.issue_agent_token(running_cluster))
    wait_until(lambda: (hub_status(running_cluster) or {}).get("connected")
               and cluster_status(running_cluster) == "running", what="the agent to reconnect")
    services.retry_sync(tenant.main, running_cluster)
    wait_until(lambda: ClusterPermissionSync.objects.get(pk=running_cluster.pk).state == "synced",
               what="the retried sync")
    assert allowed(running_cluster, tenant.user, "create", "ConfigMap", "a", body=configmap("x"))


# --- IAM changes reach the member clusters at once ------------------------------------------

def _restricted(cluster) -> list[str]:
    binding = rbac_objects(cluster.emulator, "ClusterRoleBinding").get(("", "cceone:restricted"))
    return subjects(binding) if binding else []


def test_leaving_the_group_takes_kubernetes_read_away_at_once(running_cluster, tenant):
    viewer = tenant.viewer
    assert allowed(running_cluster, viewer, "list", "Pod", "b")
    group = UserGroup.objects.get(account=tenant.account, name="viewers")
    iam_services.save_group(tenant.main, group, name=group.name, description="", members=[],
                            policies=list(group.policies.all()))
    assert who(viewer) not in _restricted(running_cluster)
    assert not allowed(running_cluster, viewer, "list", "Pod", "b")


def test_joining_a_group_gives_kubernetes_read_at_once(running_cluster, tenant):
    newcomer = tenant.nopolicy
    assert not allowed(running_cluster, newcomer, "list", "Pod", "b")
    group = UserGroup.objects.get(account=tenant.account, name="viewers")
    iam_services.save_group(tenant.main, group, name=group.name, description="",
                            members=[*group.members.all(), newcomer], policies=list(group.policies.all()))
    assert who(newcomer) in _restricted(running_cluster)
    assert allowed(running_cluster, newcomer, "list", "Pod", "b")


def test_taking_a_users_groups_on_their_page_takes_kubernetes_read_away_at_once(running_cluster, tenant):
    assert allowed(running_cluster, tenant.viewer, "list", "Pod", "b")
    iam_services.update_sub_account(tenant.main, tenant.viewer, email="", phone="", is_active=True, groups=[])
    assert who(tenant.viewer) not in _restricted(running_cluster)
    assert not allowed(running_cluster, tenant.viewer, "list", "Pod", "b")


def test_narrowing_a_policy_takes_kubernetes_read_away_at_once(running_cluster, tenant):
    user = tenant.nopolicy
    policy = iam_services.save_policy(tenant.main, None, name="read-clusters", description="",
                                      actions=["clusters:list", "clusters:get"], scope=Policy.Scope.ACCOUNT)
    iam_services.save_group(tenant.main, None, name="readers", description="", members=[user], policies=[policy])
    assert allowed(running_cluster, user, "list", "Pod", "b")
    iam_services.save_policy(tenant.main, policy, name=policy.name, description="", actions=["clusters:list"],
                             scope=Policy.Scope.ACCOUNT)
    assert who(user) not in _restricted(running_cluster)
    assert not allowed(running_cluster, user, "list", "Pod", "b")


def test_deleting_the_group_or_the_policy_takes_kubernetes_read_away_at_once(running_cluster, tenant):
    policy = iam_services.save_policy(tenant.main, None, name="read-clusters", description="",
                                      actions=["clusters:get"], scope=Policy.Scope.ACCOUNT)
    group = iam_services.save_group(tenant.main, None, name="readers", description="",
                                    members=[tenant.nopolicy], policies=[policy])
    assert allowed(running_cluster, tenant.nopolicy, "list", "Pod", "b")
    iam_services.delete_policy(tenant.main, policy)
    assert not allowed(running_cluster, tenant.nopolicy, "list", "Pod", "b")

    assert allowed(running_cluster, tenant.viewer, "list", "Pod", "b")
    iam_services.delete_group(tenant.main, UserGroup.objects.get(account=tenant.account, name="viewers"))
    assert not allowed(running_cluster, tenant.viewer, "list", "Pod", "b")
    assert group.pk  # the other group stays


def _namespace_boxes(page: str) -> dict[str, bool]:
    """The form's namespace checkboxes: name → ticked."""
    import re

    boxes = re.findall(r'<input[^>]*name="existing_namespaces"[^>]*>', page, re.S)
    return {re.search(r'value="([^"]*)"', box).group(1): " checked" in box for box in boxes}


def test_associating_offers_the_clusters_namespaces_and_new_ones(running_cluster, tenant):
    """R2.4: the cluster's existing namespaces to tick, plus names to add (新增命名空间)
    that are bound once they exist; editing shows the same split."""
    from django.urls import reverse

    from permissions.models import PermissionBinding

    url = reverse("permissions:cluster", args=[running_cluster.pk])
    client = client_for(tenant.main, "zh-hans")
    form = client.get(url).content.decode()
    assert "新增命名空间" in form and "集群已有命名空间" in form
    assert {"a", "b", "default"} <= set(_namespace_boxes(form))
    response = client.post(url, {"user": tenant.user.pk, "scope": "listed", "existing_namespaces": ["a", "b"],
                                 "namespaces": "later", "permission": "preset:developer"})
    assert response.status_code == 302
    binding = PermissionBinding.objects.get(cluster=running_cluster, user=tenant.user)
    assert binding.namespaces == ["a", "b", "later"]
    edit = client.get(reverse("permissions:association-edit", args=[binding.pk])).content.decode()
    ticked = {name for name, checked in _namespace_boxes(edit).items() if checked}
    assert ticked == {"a", "b"}
    assert 'value="later"' in edit  # the not-yet-existing name stays in the text field
