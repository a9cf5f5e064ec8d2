"""RBAC checks (INSPECTION.md §4, §7): evaluated per rule (the resource and the verb in the same
rule, apiGroups honoured), skipping the built-in roles."""
from django.utils.translation import gettext_noop as N_

from .registry import WARNING, inspection_check

ROLES = ("Role", "ClusterRole")
WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection", "*"}
CORE_GROUPS = {"", "*"}


def _builtin(obj) -> bool:
    meta = obj.get("metadata") or {}
    return ((meta.get("labels") or {}).get("kubernetes.io/bootstrapping") == "rbac-defaults"
            or (meta.get("name") or "").startswith("system:"))


def _matching_rules(obj, resources: set[str], verbs: set[str], groups: set[str] | None = None) -> list[int]:
    found = []
    for i, rule in enumerate(obj.get("rules") or []):
        if groups is not None and not (set(rule.get("apiGroups") or [""]) & (groups | {"*"})):
            continue
        if set(rule.get("resources") or []) & resources and set(rule.get("verbs") or []) & verbs:
            found.append(i)
    return found


def _rule(resources: set[str], verbs: set[str], groups: set[str] | None = None):
    def rule(obj, ctx):
        if _builtin(obj):
            return None
        found = _matching_rules(obj, resources, verbs, groups)
        if found:
            return N_("Rules: %(rules)s"), {"rules": ", ".join(f"#{i}" for i in found)}
        return None
    return rule


inspection_check("CanImpersonateUser", N_("Can impersonate users"), WARNING, ROLES,
                 N_("Remove the impersonate verb unless the subject is a trusted proxy."))(
    _rule({"users", "groups", "serviceaccounts", "*"}, {"impersonate", "*"}))

inspection_check("CanDeleteResources", N_("Can modify or delete resources"), WARNING, ROLES,
                 N_("Grant write verbs on these resources only to the subjects that need them."))(
    _rule({"secrets", "configmaps", "persistentvolumeclaims", "horizontalpodautoscalers", "events", "roles",
           "clusterroles", "users", "groups", "serviceaccounts", "services", "ingresses", "endpoints",
           "networkpolicies", "certificates", "certificaterequests", "issuers", "*"}, WRITE_VERBS))

inspection_check("CanModifyWorkloads", N_("Can modify workloads"), WARNING, ROLES,
                 N_("Grant write verbs on workloads only to deployment pipelines and operators."))(
    _rule({"pods", "deployments", "daemonsets", "replicasets", "statefulsets", "jobs", "cronjobs",
           "replicationcontrollers", "*"}, WRITE_VERBS))
