"""Which resources the emulator serves, and what discovery says about them.

Everything resource-specific the server needs (scope, verbs, subresources,
short names, field selectors, name rules) lives in one ``ResourceType`` so
that a CustomResourceDefinition can produce the same description at runtime
and get exactly the same generic treatment as a built-in kind.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Iterable

STANDARD_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
# Fields every kind can be selected by; most kinds add nothing to these.
BASE_FIELDS = ("metadata.name", "metadata.namespace")


@dataclass
class ResourceType:
    group: str
    versions: list[str]  # served versions; the first one is the storage/preferred version
    kind: str
    plural: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = STANDARD_VERBS
    subresources: tuple[str, ...] = ()  # "status", "scale", "log", "eviction"
    field_labels: tuple[str, ...] = ()
    # "subdomain" (DNS-1123, the default), "label" (DNS-1123 label), "label1035" (Services), "path" (RBAC)
    name_rule: str = "subdomain"
    # Where the autoscaling/v1 Scale of this kind reads and writes.
    scale_spec_path: str = ".spec.replicas"
    scale_status_path: str = ".status.replicas"
    scale_selector_path: str | None = None  # None: derive from .spec.selector like apps/v1 kinds do
    custom: bool = False  # served from a CRD: no strategic merge patch, no unconditional PUT
    virtual: bool = False  # create-only review APIs that store nothing
    printer_columns: list[dict[str, Any]] = field(default_factory=list)  # CRD additionalPrinterColumns
    # A CRD's openAPIV3Schema (of the storage version): pruning, defaults, validation (schema.py).
    schema: dict[str, Any] | None = None
    # The apiVersion of the kind whose storage this resource shares (events.k8s.io/v1 Events are
    # core/v1 Events): objects are stored in that form and converted (conversion.py) when served.
    stored_as: str | None = None

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def version(self) -> str:
        return self.versions[0]

    @property
    def key(self) -> tuple[str, str]:
        """Where the objects are stored (the store's key)."""
        if self.stored_as:
            return (self.stored_as.rpartition("/")[0], self.plural)
        return (self.group, self.plural)

    @property
    def storage_api_version(self) -> str:
        return self.stored_as or self.api_version()

    def api_version(self, version: str | None = None) -> str:
        v = version or self.version
        return f"{self.group}/{v}" if self.group else v

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    def has(self, subresource: str) -> bool:
        return subresource in self.subresources

    def allowed_fields(self) -> tuple[str, ...]:
        return BASE_FIELDS + self.field_labels


def _rt(group: str, version: str, kind: str, plural: str, **kw: Any) -> ResourceType:
    return ResourceType(group=group, versions=[version], kind=kind, plural=plural, **kw)


_POD_FIELDS = ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
               "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName")
_EVENT_FIELDS = ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                 "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
                 "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type")
_REVIEW = {"verbs": ("create",), "virtual": True, "namespaced": False}


def builtin_types() -> list[ResourceType]:
    return [
        # core/v1
        _rt("", "v1", "Namespace", "namespaces", namespaced=False, short_names=("ns",),
            subresources=("status", "finalize"), field_labels=("status.phase",), name_rule="label",
            verbs=("create", "delete", "get", "list", "patch", "update", "watch")),
        _rt("", "v1", "Node", "nodes", namespaced=False, short_names=("no",), subresources=("status",),
            field_labels=("spec.unschedulable",)),
        _rt("", "v1", "Pod", "pods", short_names=("po",), categories=("all",),
            subresources=("status", "log", "eviction", "exec", "attach", "portforward"), field_labels=_POD_FIELDS),
        _rt("", "v1", "Service", "services", short_names=("svc",), categories=("all",),
            subresources=("status", "proxy"), name_rule="label1035",
            verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")),
        _rt("", "v1", "Endpoints", "endpoints", short_names=("ep",)),
        _rt("", "v1", "ConfigMap", "configmaps", short_names=("cm",)),
        _rt("", "v1", "Secret", "secrets", field_labels=("type",)),
        _rt("", "v1", "ServiceAccount", "serviceaccounts", short_names=("sa",), subresources=("token",)),
        _rt("", "v1", "ReplicationController", "replicationcontrollers", short_names=("rc",), categories=("all",),
            subresources=("status",)),
        _rt("", "v1", "PodTemplate", "podtemplates"),
        _rt("", "v1", "Event", "events", short_names=("ev",), field_labels=_EVENT_FIELDS),
        _rt("", "v1", "PersistentVolume", "persistentvolumes", namespaced=False, short_names=("pv",),
            subresources=("status",)),
        _rt("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", short_names=("pvc",),
            subresources=("status",)),
        _rt("", "v1", "LimitRange", "limitranges", short_names=("limits",)),
        _rt("", "v1", "ResourceQuota", "resourcequotas", short_names=("quota",), subresources=("status",)),
        # apps/v1
        _rt("apps", "v1", "Deployment", "deployments", short_names=("deploy",), categories=("all",),
            subresources=("status", "scale")),
        _rt("apps", "v1", "StatefulSet", "statefulsets", short_names=("sts",), categories=("all",),
            subresources=("status", "scale")),
        _rt("apps", "v1", "DaemonSet", "daemonsets", short_names=("ds",), categories=("all",),
            subresources=("status",)),
        _rt("apps", "v1", "ReplicaSet", "replicasets", short_names=("rs",), categories=("all",),
            subresources=("status", "scale"), field_labels=("status.replicas",)),
        _rt("apps", "v1", "ControllerRevision", "controllerrevisions"),
        # batch/v1
        _rt("batch", "v1", "Job", "jobs", categories=("all",), subresources=("status",),
            field_labels=("status.successful",)),
        _rt("batch", "v1", "CronJob", "cronjobs", short_names=("cj",), categories=("all",),
            subresources=("status",)),
        # networking.k8s.io/v1
        _rt("networking.k8s.io", "v1", "Ingress", "ingresses", short_names=("ing",), subresources=("status",)),
        _rt("networking.k8s.io", "v1", "IngressClass", "ingressclasses", namespaced=False),
        _rt("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", short_names=("netpol",)),
        # rbac.authorization.k8s.io/v1: names like "system:discovery" are legal here
        _rt("rbac.authorization.k8s.io", "v1", "Role", "roles", name_rule="path"),
        _rt("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", namespaced=False, name_rule="path"),
        _rt("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", name_rule="path"),
        _rt("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", namespaced=False,
            name_rule="path"),
        # apiextensions.k8s.io/v1
        _rt("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions",
            namespaced=False, short_names=("crd", "crds"), categories=("api-extensions",),
            subresources=("status",)),
        # policy/v1
        _rt("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", short_names=("pdb",),
            subresources=("status",)),
        # storage.k8s.io/v1
        _rt("storage.k8s.io", "v1", "StorageClass", "storageclasses", namespaced=False, short_names=("sc",)),
        # coordination.k8s.io/v1
        _rt("coordination.k8s.io", "v1", "Lease", "leases"),
        # autoscaling/v2, also served as autoscaling/v1 (conversion.py)
        ResourceType("autoscaling", ["v2", "v1"], "HorizontalPodAutoscaler", "horizontalpodautoscalers",
                     short_names=("hpa",), categories=("all",), subresources=("status",)),
        # events.k8s.io/v1: the same Events as core/v1 in the newer shape
        _rt("events.k8s.io", "v1", "Event", "events", short_names=("ev",), stored_as="v1"),
        # admissionregistration.k8s.io/v1: stored; the emulator calls no webhooks of users
        _rt("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration",
            "mutatingwebhookconfigurations", namespaced=False, categories=("api-extensions",)),
        _rt("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration",
            "validatingwebhookconfigurations", namespaced=False, categories=("api-extensions",)),
        _rt("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy", "validatingadmissionpolicies",
            namespaced=False, categories=("api-extensions",), subresources=("status",)),
        _rt("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicyBinding",
            "validatingadmissionpolicybindings", namespaced=False, categories=("api-extensions",)),
        # apiregistration.k8s.io/v1: APIServices (an aggregated API such as Karmada's Cluster API registers one)
        _rt("apiregistration.k8s.io", "v1", "APIService", "apiservices", namespaced=False,
            categories=("api-extensions",), subresources=("status",)),
        # scheduling.k8s.io/v1
        _rt("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", namespaced=False, short_names=("pc",)),
        # discovery.k8s.io/v1
        _rt("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices"),
        # Review APIs: POST-only, answered from RBAC, never stored.
        _rt("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", **_REVIEW),
        _rt("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", **_REVIEW),
        _rt("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews", **_REVIEW),
        _rt("authorization.k8s.io", "v1", "LocalSubjectAccessReview", "localsubjectaccessreviews",
            verbs=("create",), virtual=True, namespaced=True),
        _rt("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", **_REVIEW),
    ]


def type_from_crd(crd: dict[str, Any]) -> ResourceType:
    """Describe the resource a CustomResourceDefinition serves.

    All served versions share one storage (no conversion webhooks here); the
    storage version is listed first so discovery prefers it.
    """
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    versions = [v for v in spec.get("versions") or [] if v.get("served", True)]
    versions.sort(key=lambda v: not v.get("storage", False))
    subresources: list[str] = []
    scale: dict[str, Any] = {}
    columns: list[dict[str, Any]] = []
    schema = None
    if versions:
        schema = (versions[0].get("schema") or {}).get("openAPIV3Schema")
        sub = versions[0].get("subresources") or {}
        if "status" in sub:
            subresources.append("status")
        if "scale" in sub:
            subresources.append("scale")
            scale = sub.get("scale") or {}
        columns = list(versions[0].get("additionalPrinterColumns") or [])
    selectable = tuple(f.get("jsonPath", "").lstrip(".") for f in (versions[0].get("selectableFields") or [])) \
        if versions else ()
    return ResourceType(
        group=spec.get("group", ""),
        versions=[v["name"] for v in versions],
        kind=names.get("kind", ""),
        plural=names.get("plural", ""),
        namespaced=spec.get("scope", "Namespaced") == "Namespaced",
        short_names=tuple(names.get("shortNames") or ()),
        categories=tuple(names.get("categories") or ()),
        subresources=tuple(subresources),
        field_labels=selectable,
        scale_spec_path=scale.get("specReplicasPath", ".spec.replicas"),
        scale_status_path=scale.get("statusReplicasPath", ".status.replicas"),
        scale_selector_path=scale.get("labelSelectorPath"),
        custom=True,
        printer_columns=columns,
        schema=schema,
    )


class Registry:
    """Thread-safe map of served resources, in discovery order."""

    def __init__(self, types: Iterable[ResourceType] = ()) -> None:
        self._lock = threading.Lock()
        self._types: dict[tuple[str, str], ResourceType] = {}
        for rt in types:
            self.add(rt)

    def add(self, rt: ResourceType) -> None:
        with self._lock:
            self._types[(rt.group, rt.plural)] = rt

    def remove(self, group: str, plural: str) -> ResourceType | None:
        with self._lock:
            return self._types.pop((group, plural), None)

    def get(self, group: str, plural: str) -> ResourceType | None:
        return self._types.get((group, plural))

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        rt = self._types.get((group, plural))
        if rt is not None and version in rt.versions:
            return rt
        return None

    def by_kind(self, group: str, kind: str) -> ResourceType | None:
        for rt in list(self._types.values()):
            if rt.group == group and rt.kind == kind:
                return rt
        return None

    def for_api_version(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        rt = self.by_kind(group, kind)
        return rt if rt is not None and version in rt.versions else None

    def all(self) -> list[ResourceType]:
        return list(self._types.values())

    def groups(self) -> list[tuple[str, list[str]]]:
        """``[(group, [versions, preferred first])]`` for every named group."""
        out: dict[str, list[str]] = {}
        for rt in list(self._types.values()):
            if not rt.group:
                continue
            versions = out.setdefault(rt.group, [])
            for v in rt.versions:
                if v not in versions:
                    versions.append(v)
        return list(out.items())

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [rt for rt in list(self._types.values()) if rt.group == group and version in rt.versions]
