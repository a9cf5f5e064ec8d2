"""Authorization with Kubernetes' RBAC rules, evaluated from stored objects.

The point of the emulator for CCE One is that a console acting *for* a person
(impersonation) is allowed and denied exactly like on a real cluster, so the
matching below follows k8s.io/kubernetes/plugin/pkg/auth/authorizer/rbac
line by line: ``*`` only as a whole word or ``*/subresource`` (never
``pods/*``), resourceNames never match a request without a name (list,
create), RoleBindings may grant ClusterRoles inside one namespace, and
members of ``system:masters`` bypass RBAC entirely.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from .selectors import LabelSelector
from .store import Store

RBAC = "rbac.authorization.k8s.io"
CLUSTER_ROLES = (RBAC, "clusterroles")
ROLES = (RBAC, "roles")
CLUSTER_ROLE_BINDINGS = (RBAC, "clusterrolebindings")
ROLE_BINDINGS = (RBAC, "rolebindings")

MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
SA_PREFIX = "system:serviceaccount:"


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()
    extra: dict[str, list[str]] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "groups", tuple(self.groups))

    def authenticated(self) -> "User":
        """The identity as requests see it: every authenticated user is in ``system:authenticated``."""
        if AUTHENTICATED in self.groups:
            return self
        return User(self.name, self.groups + (AUTHENTICATED,), self.extra)

    @classmethod
    def service_account(cls, namespace: str, name: str) -> "User":
        return cls(f"{SA_PREFIX}{namespace}:{name}",
                   ("system:serviceaccounts", f"system:serviceaccounts:{namespace}"))


@dataclass
class Attributes:
    verb: str
    resource_request: bool = True
    namespace: str = ""
    group: str = ""
    version: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    path: str = ""

    def describe(self, user: User) -> str:
        """The sentence the real API puts in a 403."""
        if not self.resource_request:
            return f'User "{user.name}" cannot {self.verb} path "{self.path}"'
        resource = self.resource + (f"/{self.subresource}" if self.subresource else "")
        where = f'in the namespace "{self.namespace}"' if self.namespace else "at the cluster scope"
        return f'User "{user.name}" cannot {self.verb} resource "{resource}" in API group "{self.group}" {where}'


# ------------------------------------------------------------------ rule matching

def _verb_matches(rule: dict[str, Any], verb: str) -> bool:
    verbs = rule.get("verbs") or []
    return "*" in verbs or verb in verbs


def _group_matches(rule: dict[str, Any], group: str) -> bool:
    groups = rule.get("apiGroups") or []
    return "*" in groups or group in groups


def _resource_matches(rule: dict[str, Any], resource: str, subresource: str) -> bool:
    combined = f"{resource}/{subresource}" if subresource else resource
    for r in rule.get("resources") or []:
        if r == "*" or r == combined:
            return True
        if subresource and r == "*/" + subresource:
            return True
    return False


def _name_matches(rule: dict[str, Any], name: str) -> bool:
    names = rule.get("resourceNames") or []
    return not names or name in names


def _url_matches(rule: dict[str, Any], path: str) -> bool:
    for url in rule.get("nonResourceURLs") or []:
        if url == "*" or url == path:
            return True
        if url.endswith("*") and path.startswith(url.rstrip("*")):
            return True
    return False


def rule_allows(rule: dict[str, Any], attrs: Attributes) -> bool:
    if not _verb_matches(rule, attrs.verb):
        return False
    if not attrs.resource_request:
        return _url_matches(rule, attrs.path)
    return (_group_matches(rule, attrs.group) and _resource_matches(rule, attrs.resource, attrs.subresource)
            and _name_matches(rule, attrs.name))


def subject_matches(subject: dict[str, Any], user: User, binding_namespace: str) -> bool:
    kind = subject.get("kind")
    name = subject.get("name")
    if kind == "User":
        return name == user.name
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        # Bindings may leave a ServiceAccount's namespace to default to their own.
        ns = subject.get("namespace") or binding_namespace
        return user.name == f"{SA_PREFIX}{ns}:{name}"
    return False


class Authorizer:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _cluster_role_rules(self, name: str, errors: list[str]) -> list[dict[str, Any]]:
        role = self.store.get(CLUSTER_ROLES, "", name)
        if role is None:
            errors.append(f'clusterrole.rbac.authorization.k8s.io "{name}" not found')
            return []
        rules = list(role.get("rules") or [])
        # Evaluate aggregation directly instead of running the aggregation controller.
        selectors = ((role.get("aggregationRule") or {}).get("clusterRoleSelectors")) or []
        if selectors:
            parsed = [LabelSelector.from_spec(s) for s in selectors]
            for other in self.store.iter(CLUSTER_ROLES):
                if other is role:
                    continue
                labels = (other.get("metadata") or {}).get("labels") or {}
                if any(sel.matches(labels) for sel in parsed):
                    rules.extend(other.get("rules") or [])
        return rules

    def _role_ref_rules(self, ref: dict[str, Any], namespace: str, errors: list[str]) -> list[dict[str, Any]]:
        if ref.get("kind") == "ClusterRole":
            return self._cluster_role_rules(ref.get("name", ""), errors)
        if ref.get("kind") == "Role":
            role = self.store.get(ROLES, namespace, ref.get("name", ""))
            if role is None:
                errors.append(f'role.rbac.authorization.k8s.io "{ref.get("name")}" not found')
                return []
            return list(role.get("rules") or [])
        return []

    def rules_for(self, user: User, namespace: str, errors: list[str] | None = None) -> Iterable[dict[str, Any]]:
        """Every rule granted to ``user`` in ``namespace`` ("" for cluster-wide only), lazily."""
        errors = errors if errors is not None else []
        for binding in self.store.iter(CLUSTER_ROLE_BINDINGS):
            if any(subject_matches(s, user, "") for s in binding.get("subjects") or []):
                yield from self._role_ref_rules(binding.get("roleRef") or {}, "", errors)
        if namespace:
            for binding in self.store.iter(ROLE_BINDINGS, namespace):
                if any(subject_matches(s, user, namespace) for s in binding.get("subjects") or []):
                    for rule in self._role_ref_rules(binding.get("roleRef") or {}, namespace, errors):
                        # Non-resource URLs granted through a RoleBinding mean nothing.
                        if rule.get("nonResourceURLs") and not rule.get("resources"):
                            continue
                        yield rule

    def authorize(self, user: User, attrs: Attributes) -> tuple[bool, str]:
        """``(allowed, reason)``; reason lists RBAC lookup errors the way the real denial does."""
        if MASTERS in user.groups:
            return True, ""
        errors: list[str] = []
        namespace = attrs.namespace if attrs.resource_request else ""
        for rule in self.rules_for(user, namespace, errors):
            if rule_allows(rule, attrs):
                return True, ""
        return False, ("RBAC: " + ", ".join(errors)) if errors else ""

    def rules_review(self, user: User, namespace: str) -> dict[str, Any]:
        resource_rules, non_resource_rules = [], []
        if MASTERS in user.groups:
            resource_rules.append({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]})
            non_resource_rules.append({"verbs": ["*"], "nonResourceURLs": ["*"]})
        errors: list[str] = []
        for rule in self.rules_for(user, namespace, errors):
            if rule.get("nonResourceURLs"):
                non_resource_rules.append({"verbs": rule.get("verbs") or [],
                                           "nonResourceURLs": rule["nonResourceURLs"]})
            if rule.get("resources"):
                out = {"verbs": rule.get("verbs") or [], "apiGroups": rule.get("apiGroups") or [],
                       "resources": rule["resources"]}
                if rule.get("resourceNames"):
                    out["resourceNames"] = rule["resourceNames"]
                resource_rules.append(out)
        status: dict[str, Any] = {"resourceRules": resource_rules, "nonResourceRules": non_resource_rules,
                                  "incomplete": bool(errors)}
        if errors:
            status["evaluationError"] = ", ".join(errors)
        return status


# ------------------------------------------------------------------ bootstrap policy

_DISCOVERY_URLS = ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/readyz", "/version",
                   "/version/", "/openapi", "/openapi/*"]
_READ = ["get", "list", "watch"]
_WRITE = ["create", "delete", "deletecollection", "patch", "update"]
_WORKLOADS: list[tuple[str, list[str]]] = [
    ("", ["pods", "pods/log", "pods/status", "services", "services/status", "endpoints", "configmaps",
          "persistentvolumeclaims", "persistentvolumeclaims/status", "events", "serviceaccounts",
          "limitranges", "resourcequotas", "resourcequotas/status", "replicationcontrollers"]),
    ("apps", ["deployments", "deployments/scale", "deployments/status", "statefulsets", "statefulsets/scale",
              "statefulsets/status", "daemonsets", "daemonsets/status", "replicasets", "replicasets/scale",
              "replicasets/status", "controllerrevisions"]),
    ("batch", ["jobs", "jobs/status", "cronjobs", "cronjobs/status"]),
    ("networking.k8s.io", ["ingresses", "ingresses/status", "networkpolicies"]),
    ("policy", ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
    ("autoscaling", ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
    ("discovery.k8s.io", ["endpointslices"]),
    ("coordination.k8s.io", ["leases"]),
]


def _meta(name: str) -> dict[str, Any]:
    return {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
            "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}}


def bootstrap_policy() -> list[dict[str, Any]]:
    """The default roles and bindings every cluster has (simplified ``admin``/``edit``/``view``)."""
    view = [{"apiGroups": [g], "resources": rs, "verbs": _READ} for g, rs in _WORKLOADS]
    view.append({"apiGroups": [""], "resources": ["namespaces"], "verbs": _READ})
    edit = view + [{"apiGroups": [g], "resources": [r for r in rs if not r.endswith("/status")], "verbs": _WRITE}
                   for g, rs in _WORKLOADS if g]
    edit += [
        {"apiGroups": [""], "resources": ["pods", "services", "endpoints", "configmaps", "persistentvolumeclaims",
                                          "serviceaccounts", "replicationcontrollers"], "verbs": _WRITE},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": _READ + _WRITE},
        {"apiGroups": [""], "resources": ["pods/eviction", "pods/exec", "pods/attach", "pods/portforward",
                                          "serviceaccounts/token"], "verbs": ["create"]},
    ]
    admin = edit + [
        {"apiGroups": [RBAC], "resources": ["roles", "rolebindings"], "verbs": _READ + _WRITE},
        {"apiGroups": ["authorization.k8s.io"], "resources": ["localsubjectaccessreviews"], "verbs": ["create"]},
    ]
    cluster_roles = {
        "cluster-admin": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                          {"nonResourceURLs": ["*"], "verbs": ["*"]}],
        "admin": admin,
        "edit": edit,
        "view": view,
        "system:discovery": [{"nonResourceURLs": _DISCOVERY_URLS, "verbs": ["get"]}],
        "system:basic-user": [
            {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews",
                                                                  "selfsubjectrulesreviews"], "verbs": ["create"]},
            {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]},
        ],
    }
    objects: list[dict[str, Any]] = [
        {"apiVersion": f"{RBAC}/v1", "kind": "ClusterRole", "metadata": _meta(name), "rules": rules}
        for name, rules in cluster_roles.items()
    ]
    bindings = {"cluster-admin": ("cluster-admin", MASTERS),
                "system:discovery": ("system:discovery", AUTHENTICATED),
                "system:basic-user": ("system:basic-user", AUTHENTICATED)}
    for name, (role, group) in bindings.items():
        objects.append({
            "apiVersion": f"{RBAC}/v1", "kind": "ClusterRoleBinding", "metadata": _meta(name),
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": RBAC, "kind": "Group", "name": group}],
        })
    return objects
