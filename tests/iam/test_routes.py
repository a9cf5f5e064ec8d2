"""Every route is declared and proven: walk the URLconf and the API router, fail on any
route without an IAM action (or a named opt-out) or without a row in ROUTES, and run each
row against every persona.

ROUTES is written from the product's rules, not read from the code: route name → what the
route needs (IAM actions, all of them, or an opt-out), the URL's arguments and the method.
A persona is allowed when the system policy of its group grants every action (the main
account always); allowed personas must pass the IAM gate (no 403, no sign-in redirect),
the others get 403; another tenant gets 404 for this tenant's objects; anonymous callers
are sent to sign in (pages) or refused (API)."""
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from cceone.iam.api_permissions import IAMPermission
from cceone.iam.models import APIToken, Policy, UserGroup
from cceone.iam.routes import AUTHENTICATED_ONLY, EXEMPT_NAMESPACES, is_api_view, page_declaration
from tests.conftest import PERSONAS, make_tenant
from tests.factories import ClusterFactory, FederationFactory, FleetFactory

EXEMPT = "exempt"  # an opt-out route: public, or the operators'
MAIN_ONLY = "main-only"  # a page only the main account opens, whatever the policies


def no_args(world) -> dict:
    return {}


@dataclass
class Route:
    needs: tuple[str, ...]
    kwargs: object = no_args  # world -> URL kwargs
    method: str = "get"
    data: object = no_args  # world -> body
    object_route: bool = False  # names one of the tenant's objects: another tenant gets 404
    api: bool = False


def page(*needs, kwargs=no_args, method="get", data=no_args, own_object=True):
    return Route(needs, kwargs, method, data, object_route=own_object and kwargs is not no_args)


def api(*needs, kwargs=no_args, method="get", data=no_args, own_object=True):
    return Route(needs, kwargs, method, data, object_route=own_object and kwargs is not no_args, api=True)


def cluster(w):
    return {"pk": w.cluster.pk}


def federation(w):
    return {"pk": w.federation.pk}


def k8s(kind="pods", **extra):
    return lambda w: {"target_type": "cluster", "target_id": str(w.cluster.pk), "kind": kind, **extra}


def fed_k8s(kind, **extra):
    return lambda w: {"target_type": "federation", "target_id": str(w.federation.pk), "kind": kind, **extra}


OBJECT = {"namespace": "default", "name": "web"}
NODE = {"name": "node-1"}

ROUTES: dict[str, Route] = {
    # Public and operators' routes: opted out by name.
    "healthz": Route((EXEMPT,)), "metrics": Route((EXEMPT,)), "favicon": Route((EXEMPT,)), "login": Route((EXEMPT,)), "logout": Route((EXEMPT,)),
    "set_language": Route((EXEMPT,)), "api-schema": Route((EXEMPT,)), "api-docs": Route((EXEMPT,)),
    "admin:*": Route((EXEMPT,)),
    "console:agreement": Route((EXEMPT,), kwargs=lambda w: {"name": "service"}),
    "api:billing-operator-topup-list": Route((EXEMPT,), api=True),
    "api:billing-operator-account-list": Route((EXEMPT,), api=True),
    "api:billing-operator-account-detail": Route((EXEMPT,), kwargs=lambda w: {"pk": w.account.pk}, api=True),
    "api:api-root": api(AUTHENTICATED_ONLY),
    # The console shell.
    "console:overview": page(AUTHENTICATED_ONLY),
    "console:set-region": page(AUTHENTICATED_ONLY, method="post", data=lambda w: {"region": w.region.code}),
    # IAM pages.
    "iam:user-list": page("iam:list"), "iam:user-add": page("iam:create"),
    "iam:user-edit": page("iam:update", kwargs=lambda w: {"pk": w.tenant.nopolicy.pk}),
    "iam:user-password": page("iam:update", kwargs=lambda w: {"pk": w.tenant.nopolicy.pk}),
    "iam:user-delete": page("iam:delete", kwargs=lambda w: {"pk": w.tenant.nopolicy.pk}),
    "iam:group-list": page("iam:list"), "iam:group-add": page("iam:create"),
    "iam:group-edit": page("iam:update", kwargs=lambda w: {"pk": w.group.pk}),
    "iam:group-delete": page("iam:delete", kwargs=lambda w: {"pk": w.group.pk}),
    "iam:policy-list": page("iam:list"), "iam:policy-add": page("iam:create"),
    "iam:policy-edit": page("iam:update", kwargs=lambda w: {"pk": w.policy.pk}),
    "iam:policy-delete": page("iam:delete", kwargs=lambda w: {"pk": w.policy.pk}),
    "iam:project-list": page("iam:list"), "iam:project-add": page("iam:create"),
    "iam:project-edit": page("iam:update", kwargs=lambda w: {"pk": w.project.pk}),
    "iam:project-delete": page("iam:delete", kwargs=lambda w: {"pk": w.project.pk}),
    "iam:delegation": page("iam:list"),
    "iam:verification": page(MAIN_ONLY),
    "iam:api-tokens": page(AUTHENTICATED_ONLY),
    "iam:api-token-revoke": Route((AUTHENTICATED_ONLY,), lambda w: {"pk": w.token.pk}, "post", object_route=True),
    "audit:list": page("audit:list"),
    # Clusters.
    "clusters:list": page("clusters:list"),
    "clusters:order": page("clusters:create", kwargs=lambda w: {"cluster_type": "local"}, own_object=False),
    "clusters:overview": page("clusters:get", kwargs=cluster),
    "clusters:access": page("clusters:get", kwargs=cluster),
    "clusters:access-action": page("clusters:get", "clusters:update", method="post",
                                   kwargs=lambda w: {"pk": w.cluster.pk, "action": "protection"}),
    # The agent YAML holds the cluster's credentials: a write-tier action shows it.
    "clusters:agent-yaml": page("clusters:update", kwargs=lambda w: {"pk": w.cluster.pk, "variant": "public"}),
    "clusters:operations": page("clusters:get", kwargs=cluster),
    "clusters:unsubscribe": page("clusters:get", "clusters:delete", kwargs=cluster),
    # Fleets.
    "fleets:list": page("fleets:list"), "fleets:create": page("fleets:create"),
    "fleets:detail": page("fleets:get", kwargs=lambda w: {"pk": w.fleet.pk}),
    "fleets:edit": page("fleets:update", kwargs=lambda w: {"pk": w.fleet.pk}),
    "fleets:add-clusters": page("fleets:update", kwargs=lambda w: {"pk": w.fleet.pk}),
    "fleets:remove-cluster": page("fleets:get", "fleets:update", method="post",
                                  kwargs=lambda w: {"pk": w.fleet.pk, "cluster_pk": w.fleet_cluster.pk}),
    "fleets:permissions": page("fleets:get", "permissions:list", kwargs=lambda w: {"pk": w.fleet.pk}),
    "fleets:delete": page("fleets:get", "fleets:delete", kwargs=lambda w: {"pk": w.fleet.pk}),
    "fleets:protection": page("fleets:get", "fleets:update", kwargs=lambda w: {"pk": w.fleet.pk}, method="post"),
    # Federations.
    "federation:list": page("federations:list"),
    "federation:order": page("federations:create"),
    "federation:detail": page("federations:get", kwargs=lambda w: {"pk": w.federation.pk}),
    "federation:protection": page("federations:get", "federations:update", method="post",
                                  kwargs=lambda w: {"pk": w.federation.pk}),
    "federation:unsubscribe": page("federations:get", "federations:delete", kwargs=lambda w: {"pk": w.federation.pk}),
    "federation:fleet": page("federations:get", "federations:update", method="post",
                             kwargs=lambda w: {"pk": w.federation.pk}),
    "federation:join-fleet": page("fleets:update", method="post", kwargs=lambda w: {"fleet_pk": w.fleet.pk}),
    "federation:leave-fleet": page("fleets:update", method="post", kwargs=lambda w: {"fleet_pk": w.fleet.pk}),
    "federation:access": page("federations:get", kwargs=lambda w: {"pk": w.federation.pk}),
    "federation:access-action": page("federations:get", "federations:update", method="post",
                                     kwargs=lambda w: {"pk": w.federation.pk, "action": "unbind-eip"}),
    "federation:member-network": page("federations:get", "federations:update", method="post",
                                      kwargs=lambda w: {"pk": w.federation.pk, "member_pk": w.member.pk}),
    # The federation's console pages beside the generic resource pages (issue #15).
    "federation:workload-create": page("federations:get", "federations:deploy", kwargs=federation),
    "federation:workload-create POST": page("federations:get", "federations:deploy", kwargs=federation,
                                            method="post"),
    "federation:division-preview": page("federations:get", kwargs=federation, method="post",
                                        data=lambda w: {"replicas": "3"}),
    "federation:promote": page("federations:get", "federations:deploy", kwargs=federation),
    "federation:promote POST": page("federations:get", "federations:deploy", kwargs=federation, method="post"),
    "federation:failover": page("federations:get", kwargs=federation),
    # The incremental migration wizard (R6.2): viewers look, deployers start and move it.
    "federation:migrations": page("federations:get", kwargs=federation),
    "federation:migrations POST": page("federations:get", "federations:deploy", kwargs=federation, method="post"),
    "federation:migration": page("federations:get", kwargs=lambda w: {"pk": w.federation.pk,
                                                                       "migration_pk": w.fed_migration.pk}),
    "federation:migration-advance": page("federations:get", "federations:deploy", method="post", kwargs=lambda w: {
        "pk": w.federation.pk, "migration_pk": w.fed_migration.pk}),
    "federation:migration-rollback": page("federations:get", "federations:deploy", method="post", kwargs=lambda w: {
        "pk": w.federation.pk, "migration_pk": w.fed_migration.pk}),
    "federation:placement": page("federations:get", kwargs=lambda w: {
        "pk": w.federation.pk, "kind": "deployments", "namespace": "default", "name": "web"}),
    "federation:drift": page("federations:get", kwargs=lambda w: {
        "pk": w.federation.pk, "kind": "deployments", "namespace": "default", "name": "web"}),
    "federation:drift-resync": page("federations:get", "federations:deploy", method="post", kwargs=lambda w: {
        "pk": w.federation.pk, "kind": "deployments", "namespace": "default", "name": "web"}),
    # Kubernetes permissions and their associations.
    "permissions:list": page("permissions:list"), "permissions:create": page("permissions:create"),
    "permissions:edit": page("permissions:update", kwargs=lambda w: {"pk": w.permission.pk}),
    "permissions:delete": page("permissions:delete", kwargs=lambda w: {"pk": w.permission.pk}),
    "permissions:associations": page("permissions:list"),
    "permissions:associate": page("permissions:create"),
    "permissions:association-edit": page("permissions:list", "clusters:get", "permissions:update",
                                         kwargs=lambda w: {"pk": w.binding.pk}),
    "permissions:association-delete": page("permissions:list", "clusters:get", "permissions:delete",
                                           kwargs=lambda w: {"pk": w.binding.pk}),
    "permissions:cluster": page("clusters:get", "permissions:list", kwargs=cluster),
    "permissions:sync": page("clusters:list", "permissions:list"),
    "permissions:sync-retry": page("clusters:get", "permissions:update", method="post", kwargs=cluster),
    # Operations: diagnosis and inspection of a cluster (viewer reads, user runs, admin configures).
    "operations:diagnoses": page("clusters:list"), "operations:inspections": page("clusters:list"),
    "operations:waivers": page("clusters:list"), "operations:trends": page("clusters:list"),
    "operations:diagnosis-new": page("clusters:diagnose"),
    "operations:diagnosis": page("clusters:get", kwargs=lambda w: {"pk": w.diagnosis.pk}),
    "operations:diagnosis-confirm": page("clusters:get", "clusters:diagnose", method="post",
                                         kwargs=lambda w: {"pk": w.diagnosis.pk}),
    "operations:inspection": page("clusters:get", kwargs=lambda w: {"pk": w.inspection.pk}),
    "operations:cluster": page("clusters:get", kwargs=cluster),
    "operations:inspection-run": page("clusters:get", "clusters:inspect", method="post", kwargs=cluster),
    "operations:schedule": page("clusters:get", "clusters:configure-inspection", kwargs=cluster),
    "operations:schedule-delete": page("clusters:get", "clusters:configure-inspection", method="post",
                                       kwargs=cluster),
    "operations:waiver-new": page("clusters:get", "clusters:configure-inspection", kwargs=cluster),
    "operations:waiver-revoke": page("clusters:get", "clusters:configure-inspection", method="post",
                                     kwargs=lambda w: {"pk": w.waiver.pk}),
    # Billing.
    "billing:overview": page("billing:list"), "billing:ledger": page("billing:list"),
    "billing:usage": page("billing:list"), "billing:usage-export": page("billing:list"),
    "billing:bills": page("billing:list"),
    "billing:showback": page("billing:showback"), "billing:showback-export": page("billing:showback"),
    "billing:showback-cluster": page("billing:showback", kwargs=cluster),
    # A cluster's Kubernetes resources: opening its console is clusters:get; the rest is RBAC.
    "resources:summary": page("clusters:get", kwargs=lambda w: {"target_type": "cluster",
                                                                 "target_id": str(w.cluster.pk)}),
    "resources:list": page("clusters:get", kwargs=k8s()),
    "resources:create": page("clusters:get", kwargs=k8s("deployments")),
    **{f"resources:{name}": page("clusters:get", kwargs=k8s(kind, **obj)) for name, kind, obj in [
        ("detail", "pods", OBJECT), ("edit", "deployments", OBJECT), ("delete", "deployments", OBJECT),
        ("scale", "deployments", OBJECT), ("restart", "deployments", OBJECT), ("labels", "nodes", NODE),
        ("reveal", "secrets", OBJECT), ("logs", "pods", OBJECT), ("logs-stream", "pods", OBJECT),
        ("logs-download", "pods", OBJECT), ("cordon", "nodes", NODE), ("taints", "nodes", NODE),
        ("drain", "nodes", NODE), ("drain-status", "nodes", {**NODE, "drain_id": 1}),
        ("terminal", "pods", OBJECT), ("terminal-stream", "pods", OBJECT)]},
    "resources:terminal-input": page("clusters:get", kwargs=k8s("pods", **OBJECT), method="post",
                                     data=lambda w: {"id": "a" * 24, "data": "ls"}),
    # The same generic pages on a federation's Karmada API server: opening it is federations:get.
    "resources:list (federation)": page("federations:get", kwargs=fed_k8s("propagationpolicies")),
    "resources:create (federation)": page("federations:get", kwargs=fed_k8s("overridepolicies")),
    **{f"resources:{name} (federation)": page("federations:get", kwargs=fed_k8s(kind, **obj)) for name, kind, obj in [
        ("detail", "resourcebindings", OBJECT), ("edit", "propagationpolicies", OBJECT),
        ("delete", "deployments", OBJECT), ("scale", "deployments", OBJECT), ("detail", "clusters", {"name": "m1"})]},
}


def iam_api(basename, *, read="iam:list", kwargs):
    return {f"api:{basename}-list": api(read), f"api:{basename}-list POST": api("iam:create", method="post"),
            f"api:{basename}-detail": api(read, kwargs=kwargs),
            f"api:{basename}-detail PUT": api("iam:update", kwargs=kwargs, method="put"),
            f"api:{basename}-detail PATCH": api("iam:update", kwargs=kwargs, method="patch"),
            f"api:{basename}-detail DELETE": api("iam:delete", kwargs=kwargs, method="delete")}


def crud_api(basename, service, *, read, get=None, kwargs):
    return {f"api:{basename}-list": api(f"{service}:{read}"),
            f"api:{basename}-list POST": api(f"{service}:create", method="post"),
            f"api:{basename}-detail": api(f"{service}:{get or read}", kwargs=kwargs),
            f"api:{basename}-detail PUT": api(f"{service}:update", kwargs=kwargs, method="put"),
            f"api:{basename}-detail PATCH": api(f"{service}:update", kwargs=kwargs, method="patch"),
            f"api:{basename}-detail DELETE": api(f"{service}:delete", kwargs=kwargs, method="delete")}


ROUTES.update({
    **iam_api("subaccount", kwargs=lambda w: {"pk": w.tenant.nopolicy.pk}),
    **iam_api("group", kwargs=lambda w: {"pk": w.group.pk}),
    **iam_api("policy", kwargs=lambda w: {"pk": w.policy.pk}),
    **iam_api("project", kwargs=lambda w: {"pk": w.project.pk}),
    "api:delegation-list": api("iam:list"),
    "api:delegation-list POST": api("iam:delegate", method="post"),
    "api:auditevent-list": api("audit:list"),
    "api:auditevent-detail": api("audit:list", kwargs=lambda w: {"pk": w.event.pk}),
    "api:cluster-list": api("clusters:list"),
    "api:cluster-list POST": api("clusters:create", method="post"),
    "api:cluster-precheck": api("clusters:create", method="post"),
    "api:cluster-detail": api("clusters:get", kwargs=cluster),
    "api:cluster-detail PATCH": api("clusters:update", kwargs=cluster, method="patch"),
    "api:cluster-agent-yaml": api("clusters:update", kwargs=cluster),
    "api:cluster-rotate-agent-token": api("clusters:update", kwargs=cluster, method="post"),
    "api:cluster-bind-eip": api("clusters:update", kwargs=cluster, method="post"),
    "api:cluster-unbind-eip": api("clusters:update", kwargs=cluster, method="post"),
    "api:cluster-kubeconfigs": api("clusters:kubeconfig", kwargs=cluster),
    "api:cluster-kubeconfigs POST": api("clusters:kubeconfig", kwargs=cluster, method="post",
                                        data=lambda w: {"hours": 0}),
    "api:cluster-operation-logs": api("clusters:get", kwargs=cluster),
    "api:cluster-revoke-kubeconfig": api("clusters:kubeconfig", method="delete",
                                         kwargs=lambda w: {"pk": w.cluster.pk, "token_id": "all"}),
    "api:cluster-unsubscribe": api("clusters:delete", kwargs=lambda w: {"pk": w.protected.pk}, method="post"),
    "api:federation-list": api("federations:list"),
    "api:federation-list POST": api("federations:create", method="post"),
    "api:federation-precheck": api("federations:create", method="post"),
    "api:federation-detail": api("federations:get", kwargs=federation),
    "api:federation-detail PATCH": api("federations:update", kwargs=federation, method="patch"),
    "api:federation-operation-logs": api("federations:get", kwargs=federation),
    "api:federation-unsubscribe-checks": api("federations:delete", kwargs=federation),
    "api:federation-unsubscribe": api("federations:delete", kwargs=federation, method="post"),
    "api:federation-fleet": api("federations:update", kwargs=federation, method="post"),
    "api:federation-members": api("federations:get", kwargs=federation),
    "api:federation-bind-eip": api("federations:update", kwargs=federation, method="post"),
    "api:federation-unbind-eip": api("federations:update", kwargs=federation, method="post"),
    "api:federation-kubeconfigs": api("federations:kubeconfig", kwargs=federation),
    "api:federation-kubeconfigs POST": api("federations:kubeconfig", kwargs=federation, method="post",
                                           data=lambda w: {"hours": 0}),
    "api:federation-revoke-kubeconfig": api("federations:kubeconfig", method="delete",
                                            kwargs=lambda w: {"pk": w.federation.pk, "token_id": "all"}),
    "api:federation-member-network": api("federations:update", method="post",
                                         kwargs=lambda w: {"pk": w.federation.pk, "member_id": w.member.pk}),
    **crud_api("fleet", "fleets", read="list", get="get", kwargs=lambda w: {"pk": w.fleet.pk}),
    "api:fleet-add-clusters": api("fleets:update", kwargs=lambda w: {"pk": w.fleet.pk}, method="post"),
    "api:fleet-remove-cluster": api("fleets:update", kwargs=lambda w: {"pk": w.fleet.pk}, method="post"),
    **crud_api("kube-permission", "permissions", read="list", kwargs=lambda w: {"pk": w.permission.pk}),
    "api:kube-permission-presets": api("permissions:list"),
    **crud_api("permission-association", "permissions", read="list", kwargs=lambda w: {"pk": w.binding.pk}),
    "api:permission-sync-list": api("permissions:list"),
    "api:permission-sync-detail": api("permissions:list", kwargs=cluster),
    "api:permission-sync-retry": api("permissions:update", kwargs=cluster, method="post"),
    "api:billing-balance-list": api("billing:list"),
    "api:billing-ledger-list": api("billing:list"),
    "api:billing-ledger-detail": api("billing:list", kwargs=lambda w: {"pk": w.ledger_entry.pk}),
    "api:billing-usage-list": api("billing:list"),
    "api:billing-usage-detail": api("billing:list", kwargs=lambda w: {"pk": w.settlement.pk}),
    "api:billing-bill-list": api("billing:list"),
    "api:billing-bill-detail": api("billing:list", kwargs=lambda w: {"month": w.month}, own_object=False),
    "api:billing-showback-list": api("billing:showback"),
    "api:billing-showback-detail": api("billing:showback", kwargs=cluster),
    "api:kubernetes-endpoint-list": api("clusters:list"),
    "api:kubernetes-endpoint-detail": api("clusters:get", kwargs=cluster),
    "api:billing-operator-topup-list POST": Route((EXEMPT,), method="post", api=True),
    "api:diagnosis-list": api("clusters:list"),
    "api:diagnosis-list POST": api("clusters:diagnose", method="post"),
    "api:diagnosis-detail": api("clusters:get", kwargs=lambda w: {"pk": w.diagnosis.pk}),
    "api:diagnosis-confirm": api("clusters:diagnose", method="post", kwargs=lambda w: {"pk": w.diagnosis.pk}),
    "api:inspection-list": api("clusters:list"),
    "api:inspection-list POST": api("clusters:inspect", method="post"),
    "api:inspection-detail": api("clusters:get", kwargs=lambda w: {"pk": w.inspection.pk}),
    "api:inspection-schedule-list": api("clusters:list"),
    "api:inspection-schedule-list POST": api("clusters:configure-inspection", method="post"),
    "api:inspection-schedule-detail": api("clusters:get", kwargs=lambda w: {"pk": w.schedule.pk}),
    "api:inspection-schedule-detail PUT": api("clusters:configure-inspection", method="put",
                                              kwargs=lambda w: {"pk": w.schedule.pk}),
    "api:inspection-schedule-detail PATCH": api("clusters:configure-inspection", method="patch",
                                                kwargs=lambda w: {"pk": w.schedule.pk}),
    "api:inspection-schedule-detail DELETE": api("clusters:configure-inspection", method="delete",
                                                 kwargs=lambda w: {"pk": w.schedule.pk}),
    "api:inspection-trend-list": api("clusters:list"),
    "api:inspection-waiver-list": api("clusters:list"),
    "api:inspection-waiver-list POST": api("clusters:configure-inspection", method="post"),
    "api:inspection-waiver-detail": api("clusters:get", kwargs=lambda w: {"pk": w.waiver.pk}),
    "api:inspection-waiver-detail DELETE": api("clusters:configure-inspection", method="delete",
                                               kwargs=lambda w: {"pk": w.waiver.pk}),
})
def kubernetes_api_rows() -> dict[str, Route]:
    """The console's actions on a target's objects (resources.object_api), for each target
    type (a cluster: clusters:get; a federation: federations:get): every operation is opening
    the target's console; what follows is its RBAC. Every kind has list and get; a kind the
    console writes has replace, delete and labels; a kind with a create form is created by
    it; scalable and restartable kinds scale and restart; nodes are cordoned, tainted and
    drained; a secret's values are revealed; a pod's logs read."""
    from resources import registry
    from resources.targets import get_type

    rows = {}
    for type_name, needs, owner in (("cluster", "clusters:get", "cluster"),
                                    ("federation", "federations:get", "federation")):
        target_type = get_type(type_name)

        def root(w, target_type=target_type, owner=owner):
            return {target_type.api_id: getattr(w, owner).pk}

        basename = target_type.api_basename
        rows[f"api:{basename}-manifests-list POST"] = api(needs, method="post", kwargs=root)
        for kind in filter(target_type.serves, registry.all_kinds()):
            def scope(w, kind=kind, root=root):
                return {**root(w), **({"namespace": "default"} if kind.namespaced else {})}

            def one(w, scope=scope):
                return {**scope(w), "name": "web"}

            prefix = f"api:{basename}-{kind.plural}"
            rows.update({f"{prefix}-list": api(needs, kwargs=scope), f"{prefix}-detail": api(needs, kwargs=one)})
            if kind.writable:
                rows.update({f"{prefix}-detail PUT": api(needs, kwargs=one, method="put"),
                             f"{prefix}-detail DELETE": api(needs, kwargs=one, method="delete"),
                             f"{prefix}-labels PUT": api(needs, kwargs=one, method="put")})
            if kind.writable and kind.create_form:
                rows[f"{prefix}-list POST"] = api(needs, kwargs=scope, method="post")
            if kind.scalable:
                rows[f"{prefix}-scale POST"] = api(needs, kwargs=one, method="post")
            if kind.restartable:
                rows[f"{prefix}-restart POST"] = api(needs, kwargs=one, method="post")
            if kind.plural == "nodes":
                for name in ("cordon", "uncordon", "taints", "drain"):
                    rows[f"{prefix}-{name} POST"] = api(needs, kwargs=one, method="post")
                rows[f"{prefix}-taints DELETE"] = api(needs, kwargs=one, method="delete")
                rows[f"{prefix}-drain-status"] = api(needs, kwargs=lambda w, one=one: {**one(w), "drain_id": 1})
            if kind.plural == "secrets":
                rows[f"{prefix}-reveal POST"] = api(needs, kwargs=one, method="post")
            if kind.plural == "pods":
                rows[f"{prefix}-logs"] = api(needs, kwargs=one)

    def fed(w):
        return {"federation_id": w.federation.pk}

    rows.update({
        "api:federation-console-division-preview POST": api("federations:get", kwargs=fed, method="post",
                                                            data=lambda w: {"replicas": 3}),
        "api:federation-console-workloads POST": api("federations:get", "federations:deploy", kwargs=fed,
                                                     method="post"),
        "api:federation-console-promote POST": api("federations:get", "federations:deploy", kwargs=fed,
                                                   method="post"),
        "api:federation-failover-list": api("federations:get", kwargs=fed),
        "api:federation-migration-list": api("federations:get", kwargs=fed),
        "api:federation-migration-list POST": api("federations:get", "federations:deploy", kwargs=fed,
                                                  method="post"),
        "api:federation-migration-detail": api("federations:get", kwargs=lambda w: {
            **fed(w), "pk": w.fed_migration.pk}),
        "api:federation-migration-advance POST": api("federations:get", "federations:deploy", method="post",
                                                     kwargs=lambda w: {**fed(w), "pk": w.fed_migration.pk}),
        "api:federation-migration-rollback POST": api("federations:get", "federations:deploy", method="post",
                                                      kwargs=lambda w: {**fed(w), "pk": w.fed_migration.pk}),
        "api:federation-console-placement": api("federations:get", kwargs=lambda w: {
            **fed(w), "kind": "deployments", "namespace": "default", "name": "web"}),
        "api:federation-workload-drift": api("federations:get", kwargs=lambda w: {
            **fed(w), "kind": "deployments", "namespace": "default", "name": "web"}),
        "api:federation-workload-resync POST": api("federations:get", "federations:deploy", method="post",
                                                   kwargs=lambda w: {**fed(w), "kind": "deployments",
                                                                     "namespace": "default", "name": "web"}),
    })
    return rows


ROUTES.update(kubernetes_api_rows())



def backup(w):
    return {"pk": w.backup.pk}


def location(w):
    return {"pk": w.location.pk}


def migration(w):
    return {"pk": w.migration.pk}


# Backups (R3.12): viewers list and look, users back up and restore, admins manage locations.
ROUTES.update({
    "backups:list": page("backups:list"), "backups:restores": page("backups:list"),
    "backups:schedules": page("backups:list"), "backups:locations": page("backups:list"),
    "backups:create": page("backups:create"), "backups:schedule-create": page("backups:create"),
    "backups:import": page("backups:create"), "api:backup-upload POST": api("backups:create", method="post"),
    "backups:detail": page("backups:get", kwargs=backup),
    "backups:download": page("backups:get", "backups:download", kwargs=backup),
    "backups:delete": page("backups:get", "backups:delete", kwargs=backup),
    "backups:restore": page("backups:get", "backups:restore", kwargs=backup),
    "backups:restore-detail": page("backups:get", kwargs=lambda w: {"pk": w.restore.pk}),
    "backups:restore-apply": page("backups:get", "backups:restore", "clusters:update", method="post",
                                  kwargs=lambda w: {"pk": w.restore.pk}),
    "backups:schedule-delete": page("backups:get", "backups:delete", kwargs=lambda w: {"pk": w.backup_schedule.pk}),
    "backups:location-create": page("backups:locations"),
    "backups:location-edit": page("backups:locations", kwargs=location),
    "backups:location-check": page("backups:list", "backups:locations", method="post", kwargs=location),
    "backups:location-delete": page("backups:list", "backups:locations", kwargs=location),
    "api:backup-location-list": api("backups:list"),
    "api:backup-location-list POST": api("backups:locations", method="post"),
    "api:backup-location-detail": api("backups:list", kwargs=location),
    "api:backup-location-detail PUT": api("backups:locations", kwargs=location, method="put"),
    "api:backup-location-detail PATCH": api("backups:locations", kwargs=location, method="patch"),
    "api:backup-location-detail DELETE": api("backups:locations", kwargs=location, method="delete"),
    "api:backup-location-check": api("backups:locations", kwargs=location, method="post"),
    "api:backup-list": api("backups:list"),
    "api:backup-list POST": api("backups:create", method="post"),
    "api:backup-detail": api("backups:get", kwargs=backup),
    "api:backup-detail DELETE": api("backups:delete", kwargs=backup, method="delete"),
    "api:backup-download": api("backups:download", kwargs=backup),
    "api:backup-restore": api("backups:restore", kwargs=backup, method="post"),
    "api:backup-dry-run": api("backups:restore", kwargs=backup, method="post"),
    "api:restore-list": api("backups:list"),
    "api:restore-detail": api("backups:get", kwargs=lambda w: {"pk": w.restore.pk}),
    "api:backup-schedule-list": api("backups:list"),
    "api:backup-schedule-list POST": api("backups:create", method="post"),
    "api:backup-schedule-detail": api("backups:get", kwargs=lambda w: {"pk": w.backup_schedule.pk}),
    "api:backup-schedule-detail DELETE": api("backups:delete", kwargs=lambda w: {"pk": w.backup_schedule.pk},
                                             method="delete"),
    # A cluster's backups in its console; the migration wizard (R6.1).
    "backups:cluster": page("backups:list", "clusters:get", kwargs=cluster),
    "backups:migrations": page("backups:list"),
    "backups:migration-create": page("backups:migrate"),
    "backups:migration-detail": page("backups:get", kwargs=migration),
    "backups:migration-confirm": page("backups:get", "backups:migrate", method="post", kwargs=migration),
    "backups:migration-cancel": page("backups:get", "backups:migrate", method="post", kwargs=migration),
    "api:backup-migration-list": api("backups:list"),
    "api:backup-migration-list POST": api("backups:migrate", method="post"),
    "api:backup-migration-detail": api("backups:get", kwargs=migration),
    "api:backup-migration-confirm": api("backups:migrate", kwargs=migration, method="post"),
    "api:backup-migration-cancel": api("backups:migrate", kwargs=migration, method="post"),
    # Monitoring (R3.9).
    "monitoring:guide": page(AUTHENTICATED_ONLY),
    "monitoring:cluster": page("clusters:get", kwargs=cluster),
    "monitoring:configure": page("clusters:get", "monitoring:configure", kwargs=cluster),
    "monitoring:test": page("clusters:get", "monitoring:configure", kwargs=cluster, method="post"),
    "api:monitoring-list": api("clusters:list"),
    "api:monitoring-detail": api("clusters:get", kwargs=cluster),
    "api:monitoring-detail PUT": api("monitoring:configure", kwargs=cluster, method="put",
                                     data=lambda w: {"mode": "in_cluster", "namespace": "monitoring",
                                                     "service": "prometheus", "port": "9090"}),
    "api:monitoring-detail DELETE": api("monitoring:configure", kwargs=cluster, method="delete"),
    "api:monitoring-test": api("monitoring:configure", kwargs=cluster, method="post"),
    "api:monitoring-panels": api("clusters:get", kwargs=cluster),
    # Add-ons (R3.9): metrics-server is installed on the world's cluster, kube-state-metrics is not.
    "addons:cluster": page("clusters:get", kwargs=cluster),
    "addons:install": page("clusters:get", "addons:install",
                           kwargs=lambda w: {"pk": w.cluster.pk, "addon": "kube-state-metrics"}),
    "addons:upgrade": page("clusters:get", "addons:upgrade",
                           kwargs=lambda w: {"pk": w.cluster.pk, "addon": "metrics-server"}),
    "addons:uninstall": page("clusters:get", "addons:uninstall",
                             kwargs=lambda w: {"pk": w.cluster.pk, "addon": "metrics-server"}),
    "api:addons-list": api("clusters:list"),
    "api:addons-detail": api("clusters:get", kwargs=cluster),
    "api:addons-install": api("addons:install", kwargs=cluster, method="post",
                              data=lambda w: {"addon": "kube-state-metrics"}),
    "api:addons-upgrade": api("addons:upgrade", kwargs=cluster, method="post",
                              data=lambda w: {"addon": "metrics-server", "version": "0.7.2"}),
    "api:addons-uninstall": api("addons:uninstall", kwargs=cluster, method="post",
                                data=lambda w: {"addon": "metrics-server"}),
})
# An API row is one operation: its method is part of the key unless it is GET.
ROUTES = {key if not route.api or route.method == "get" or " " in key else f"{key} {route.method.upper()}": route
          for key, route in ROUTES.items()}


# --- the URLconf, walked ----------------------------------------------------------------------

def url_routes():
    """(table key, URL pattern, namespaces, callback) of every route, format-suffix variants
    and the two spellings of a resource URL folded into one key."""
    found = []

    def walk(resolver, prefix, namespaces):
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                walk(entry, prefix + str(entry.pattern), namespaces + ([entry.namespace] if entry.namespace else []))
            elif isinstance(entry, URLPattern):
                found.append((prefix + str(entry.pattern), namespaces, entry.name, entry.callback))

    walk(get_resolver(), "", [])
    return found


def table_keys(pattern, namespaces, name, callback) -> list[str]:
    if namespaces and namespaces[0] in EXEMPT_NAMESPACES:
        return [f"{namespaces[0]}:*"]
    qualified = ":".join([*namespaces, name])
    if not is_api_view(callback) or not getattr(callback, "actions", None):
        return ["api:" + name if pattern.startswith("api/v1/") else qualified]
    keys = []
    for method in callback.actions:
        if method == "head":
            continue  # DRF adds it as GET's twin
        suffix = "" if method == "get" else f" {method.upper()}"
        keys.append(f"api:{name}{suffix}")
    return keys


def test_every_route_has_a_row_in_the_persona_table():
    missing = sorted({key for route in url_routes() for key in table_keys(*route)} - set(ROUTES))
    assert missing == [], f"routes without a persona row in tests/iam/test_routes.py: {missing}"


def test_every_route_declares_its_iam_actions_or_opts_out_by_name():
    undeclared = []
    for pattern, namespaces, name, callback in url_routes():
        if not is_api_view(callback):
            if page_declaration(callback, namespaces) is None:
                undeclared.append(pattern)
            continue
        view = callback.cls
        if getattr(callback, "iam_exempt", None) or getattr(view, "iam_exempt", None):
            continue
        if IAMPermission not in [p if isinstance(p, type) else type(p) for p in view.permission_classes]:
            undeclared.append(f"{pattern} (not under IAMPermission, no iam_exempt)")
            continue
        mapping = getattr(view, "iam_actions", None) or {}
        for method, action in (getattr(callback, "actions", None) or {"get": "list"}).items():
            if action not in mapping:
                undeclared.append(f"{method.upper()} {pattern} ({view.__name__}.{action})")
    assert undeclared == []


# --- the personas, once per module --------------------------------------------------------

@dataclass
class World:
    tenant: object
    other: object
    account: object
    region: object
    group: object
    policy: object
    project: object
    cluster: object
    protected: object
    fleet: object
    fleet_cluster: object
    federation: object
    permission: object
    binding: object
    token: object
    event: object
    ledger_entry: object
    settlement: object
    month: str
    granted: dict
    diagnosis: object = None
    inspection: object = None
    schedule: object = None
    waiver: object = None
    member: object = None
    fed_migration: object = None


def build_world() -> World:
    from billing import services as billing
    from cceone.audit.services import record
    from cceone.iam import services as iam
    from permissions import services as permissions
    from permissions.models import ClusterPermissionSync
    from tests.billing.conftest import running_cluster
    from tests.factories import operator, top_up

    tenant, other = make_tenant("acme"), make_tenant("globex")
    account = tenant.account
    the_cluster = ClusterFactory(account=account, name="edge-01")
    ClusterPermissionSync.objects.get_or_create(cluster=the_cluster)
    fleet = FleetFactory(account=account, name="fleet-a")
    fleet_cluster = ClusterFactory(account=account, name="edge-02", fleet=fleet)
    permission = permissions.save_permission(tenant.main, None, name="reader", rules=[
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}])
    binding = permissions.associate(tenant.main, the_cluster, user=tenant.user, preset="restricted")
    top_up(account, 100)
    hour = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    running_cluster(account, since=hour - timedelta(hours=1), until=hour + timedelta(minutes=59), vcpu=2)
    billing.settle(hour + timedelta(hours=2))
    from billing.models import LedgerEntry, Settlement

    settlement = Settlement.objects.filter(account=account, billable=True).first()
    assert settlement is not None
    roles = {"admin": "ccseone-admin", "user": "ccseone-user", "viewer": "ccseone-viewer"}
    granted = {persona: Policy.objects.get(account=None, name=policy).granted_actions()
               for persona, policy in roles.items()}
    granted["nopolicy"] = set()
    from operations import services as operations
    from operations.models import Diagnosis, Inspection, Waiver

    diagnosis = Diagnosis.objects.create(cluster=the_cluster, requested_by=tenant.main, kind="pods",
                                         namespace="default", name="web", status="succeeded",
                                         results=[{"check": "POD-CRASHLOOP", "status": "abnormal", "title": "Crash loop",
                                                   "severity": "critical", "remedy": "", "findings": []}])
    inspection = Inspection.objects.create(cluster=the_cluster, status="succeeded", score=90, counts={})
    schedule = operations.save_schedule(tenant.main, the_cluster, {"minute": "0", "hour": "2", "day_of_month": "*",
                                                                   "month_of_year": "*", "day_of_week": "*",
                                                                   "timezone": "Asia/Shanghai"})
    waiver = Waiver.objects.create(cluster=the_cluster, check_id="NoCPULimits", namespace="default", name="web",
                                   reason="r", expires_at=timezone.now() + timedelta(days=1))
    world = World(
        diagnosis=diagnosis, inspection=inspection, schedule=schedule, waiver=waiver,
        tenant=tenant, other=other, account=account, region=the_cluster.region,
        group=UserGroup.objects.get(account=account, name="viewers"),
        policy=iam.save_policy(tenant.main, None, name="readers", description="", actions=["clusters:list"],
                               scope=Policy.Scope.ACCOUNT),
        project=iam.save_project(tenant.main, None, name="web", description=""),
        cluster=the_cluster, protected=ClusterFactory(account=account, name="edge-03", deletion_protection=True),
        fleet=fleet, fleet_cluster=fleet_cluster, permission=permission, binding=binding,
        # Protected: an allowed unsubscribe is refused by its check (400), not carried out.
        federation=FederationFactory(account=account, name="fed-east", deletion_protection=True),
        token=APIToken.issue(tenant.main, "script")[0],
        event=record(tenant.main, "iam:update", ("user", tenant.user.pk, tenant.user.username), account=account),
        ledger_entry=LedgerEntry.objects.filter(account=account).first(), settlement=settlement,
        month=timezone.localtime(settlement.hour_start).strftime("%Y-%m"), granted=granted,
    )
    from federation.models import FederationMember

    world.member = FederationMember.objects.create(federation=world.federation, cluster=fleet_cluster,
                                                   name="edge-02", status="connected")
    from federation.models import FederationMigration

    world.fed_migration = FederationMigration.objects.create(
        federation=world.federation, source="edge-02", target="edge-03", namespace="default",
        steps=[[1, 0], [0, 1]], current_step=1, state="ready")
    add_backups(world)
    add_addon(world)
    return world


def add_addon(world: World) -> None:
    from addons.models import AddonInstallation

    AddonInstallation.objects.create(cluster=world.cluster, addon="metrics-server", version="0.7.1",
                                     status="installed")


def add_backups(world: World) -> None:
    """A storage location (on an endpoint that does not answer: nothing is reached), a
    completed backup of the cluster, its dry run and a schedule."""
    from backups.models import Backup, BackupSchedule, Migration, Restore, StorageLocation

    account, cluster = world.account, world.cluster
    world.location = StorageLocation.objects.create(account=account, name="oss", endpoint="http://127.0.0.1:9",
                                                    bucket="backups", access_key="key")
    world.backup = Backup.objects.create(account=account, cluster=cluster, location=world.location, name="edge-1",
                                         phase="completed", object_key="backups/edge-1/edge-1.tar.gz",
                                         checksum="0" * 64)
    world.restore = Restore.objects.create(account=account, name="edge-1-dry", backup=world.backup, target=cluster,
                                           dry_run=True, phase="completed")
    world.backup_schedule = BackupSchedule.objects.create(account=account, name="nightly", cluster=cluster,
                                                   location=world.location, crontab="0 2 * * *", keep_last=3)
    # Waiting for confirmation after its dry run (confirming starts the restore on commit: never here).
    world.migration = Migration.objects.create(account=account, name="edge-move", source=cluster,
                                               target=world.protected, location=world.location,
                                               backup=world.backup, dry_run=world.restore,
                                               state=Migration.State.AWAITING_CONFIRMATION)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One tenant for the whole module, rolled back at its end; each test's own writes are
    rolled back by its `db` savepoint."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield build_world()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def _no_hub(settings):
    settings.CCEONE_HUB_INTERNAL_URL = "http://127.0.0.1:9"  # syncs fail fast; nothing is reached


def allowed(world: World, route: Route, persona: str) -> bool:
    if EXEMPT in route.needs:
        return True
    if persona == "main":
        return True
    if MAIN_ONLY in route.needs:
        return False
    return AUTHENTICATED_ONLY in route.needs or all(a in world.granted[persona] for a in route.needs)


def call(client: Client, world: World, key: str, route: Route):
    name = key.split(" ")[0]
    if name == "admin:*":
        url = reverse("admin:index")
    else:
        url = reverse(name.removeprefix("api:"), kwargs=route.kwargs(world))
    data = route.data(world)
    if route.api:
        return getattr(client, route.method)(url, data, content_type="application/json")
    return getattr(client, route.method)(url, data)


def refused_sign_in(response) -> bool:
    return response.status_code in (301, 302) and "/login/" in response.get("Location", "")


KEYS = sorted(ROUTES)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("key", KEYS)
def test_route_as_persona(world, db, key, persona):
    route = ROUTES[key]
    client = Client()
    client.force_login(world.tenant.persona(persona))
    response = call(client, world, key, route)
    if key == "admin:*" or key.startswith("api:billing-operator"):
        # The operators' routes: no tenant user is an operator.
        assert response.status_code in (302, 403), response.status_code
        return
    if allowed(world, route, persona):
        assert response.status_code != 403 and not refused_sign_in(response), (response.status_code, key, persona)
    else:
        assert response.status_code == 403, (response.status_code, key, persona)


@pytest.mark.parametrize("key", KEYS)
def test_route_as_another_tenant_and_anonymous(world, db, key):
    route = ROUTES[key]
    if EXEMPT in route.needs:
        return
    response = call(Client(), world, key, route)
    if route.api:
        assert response.status_code in (401, 403), response.status_code
    else:
        assert refused_sign_in(response), response.status_code
    if route.object_route:
        client = Client()
        client.force_login(world.other.main)
        assert call(client, world, key, route).status_code == 404
