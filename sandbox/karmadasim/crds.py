"""Karmada's CustomResourceDefinitions and the Cluster API, as a Karmada control plane serves them.

The policy CRDs carry Karmada's own schemas (``cceone_karmada/crd_schemas``). No schema
of ResourceBinding, ClusterResourceBinding, Work or ClusterTaintPolicy was extracted
from Karmada, so theirs below declare the fields the controllers and the console rely
on and keep the rest (``x-kubernetes-preserve-unknown-fields``). The annotation
``controller-gen.kubebuilder.io/version`` is what a client reads to tell the Karmada
version (karmada SPEC §10), so it follows the version the sandbox imitates.
"""

from __future__ import annotations

from typing import Any

from cceone_karmada import schemas
from cceone_karmada.division import parse_version

from sandbox.kubesim.registry import ResourceType

POLICY = "policy.karmada.io"
WORK = "work.karmada.io"
CLUSTER = "cluster.karmada.io"

_PRESERVE = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def controller_gen_version(karmada_version: str) -> str:
    """The controller-gen that generated a Karmada release's CRDs (karmada SPEC §10)."""
    v = parse_version(karmada_version)
    if v >= (1, 19):
        return "v0.21.0"
    if v >= (1, 17):
        return "v0.20.0"
    return {(1, 16): "v0.19.0", (1, 15): "v0.18.0", (1, 14): "v0.17.3"}.get(v, "v0.16.5")


def _crd(group: str, kind: str, plural: str, short: list[str], scope: str, versions: list[dict[str, Any]],
         karmada_version: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}",
                     "annotations": {"controller-gen.kubebuilder.io/version": controller_gen_version(karmada_version)},
                     "labels": {"karmada.io/system": "true"}},
        "spec": {"group": group, "scope": scope,
                 "names": {"kind": kind, "listKind": f"{kind}List", "plural": plural, "singular": kind.lower(),
                           "shortNames": short, "categories": ["karmada-io"]},
                 "versions": versions},
    }


def _version(name: str, schema: dict[str, Any], columns: list[dict[str, Any]], *, storage: bool = True,
             status: bool = False) -> dict[str, Any]:
    version: dict[str, Any] = {"name": name, "served": True, "storage": storage,
                               "schema": {"openAPIV3Schema": schema}, "additionalPrinterColumns": columns}
    if status:
        version["subresources"] = {"status": {}}
    return version


def _condition_column(name: str, type_: str) -> dict[str, Any]:
    return {"name": name, "type": "string", "jsonPath": f'.status.conditions[?(@.type=="{type_}")].status'}


_TARGET_CLUSTER = {"type": "object", "required": ["name"], "properties": {
    "name": {"type": "string"}, "replicas": {"type": "integer", "format": "int32"},
    "components": {"type": "array", "items": _PRESERVE}}}

_BINDING_SPEC = {
    "type": "object", "required": ["resource"], "x-kubernetes-preserve-unknown-fields": True,
    "properties": {
        "resource": {"type": "object", "required": ["apiVersion", "kind", "name"], "properties": {
            k: {"type": "string"} for k in ("apiVersion", "kind", "namespace", "name", "uid", "resourceVersion")}},
        "replicas": {"type": "integer", "format": "int32"},
        "clusters": {"type": "array", "items": _TARGET_CLUSTER},
        "placement": _PRESERVE,
        "conflictResolution": {"type": "string", "enum": ["Abort", "Overwrite"]},
        "schedulerName": {"type": "string"},
        "gracefulEvictionTasks": {"type": "array", "items": {
            "type": "object", "required": ["fromCluster", "reason"], "x-kubernetes-preserve-unknown-fields": True,
            "properties": {"fromCluster": {"type": "string"}, "reason": {"type": "string"},
                           "purgeMode": {"type": "string"}, "replicas": {"type": "integer"},
                           "producer": {"type": "string"}, "gracePeriodSeconds": {"type": "integer"},
                           "creationTimestamp": {"type": "string"}}}},
        "rescheduleTriggeredAt": {"type": "string"},
    },
}
_BINDING_STATUS = {
    "type": "object", "x-kubernetes-preserve-unknown-fields": True,
    "properties": {
        "schedulerObservedGeneration": {"type": "integer"},
        "schedulerObservingAffinityName": {"type": "string"},
        "lastScheduledTime": {"type": "string"},
        "conditions": {"type": "array", "items": {
            "type": "object", "required": ["type", "status"], "x-kubernetes-preserve-unknown-fields": True,
            "properties": {"type": {"type": "string"}, "status": {"type": "string",
                                                                  "enum": ["True", "False", "Unknown"]},
                           "reason": {"type": "string"}, "message": {"type": "string"}}}},
        "aggregatedStatus": {"type": "array", "items": {
            "type": "object", "required": ["clusterName"], "properties": {
                "clusterName": {"type": "string"}, "applied": {"type": "boolean"},
                "appliedMessage": {"type": "string"},
                "health": {"type": "string", "enum": ["Healthy", "Unhealthy", "Unknown"]},
                "status": _PRESERVE}}},
    },
}


def _binding_schema() -> dict[str, Any]:
    return {"type": "object", "required": ["spec"], "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
        "spec": _BINDING_SPEC, "status": _BINDING_STATUS}}


def _work_schema() -> dict[str, Any]:
    return {"type": "object", "required": ["spec"], "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
        "spec": {"type": "object", "properties": {
            "workload": {"type": "object", "properties": {
                "manifests": {"type": "array", "items": {"type": "object",
                                                         "x-kubernetes-embedded-resource": True,
                                                         "x-kubernetes-preserve-unknown-fields": True}}}},
            "suspendDispatching": {"type": "boolean"},
            "preserveResourcesOnDeletion": {"type": "boolean"}}},
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}


def policy_crds(karmada_version: str) -> list[dict[str, Any]]:
    pp_columns = [{"name": "Conflict-Resolution", "type": "string", "jsonPath": ".spec.conflictResolution"},
                  {"name": "Priority", "type": "string", "jsonPath": ".spec.priority"}]
    out = []
    for kind, plural, short, scope, columns in (
            ("PropagationPolicy", "propagationpolicies", ["pp"], "Namespaced", pp_columns),
            ("ClusterPropagationPolicy", "clusterpropagationpolicies", ["cpp"], "Cluster", pp_columns),
            ("OverridePolicy", "overridepolicies", ["op"], "Namespaced", []),
            ("ClusterOverridePolicy", "clusteroverridepolicies", ["cop"], "Cluster", [])):
        out.append(_crd(POLICY, kind, plural, short, scope,
                        [_version("v1alpha1", schemas.openapi_v3(kind), columns)], karmada_version))
    taint_policy = {"type": "object", "required": ["spec"], "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
        "spec": {"type": "object", "required": ["taints"], "x-kubernetes-preserve-unknown-fields": True,
                 "properties": {"taints": {"type": "array", "minItems": 1, "items": {
                     "type": "object", "required": ["key", "effect"], "properties": {
                         "key": {"type": "string"}, "value": {"type": "string"},
                         "effect": {"type": "string", "enum": ["NoSchedule", "PreferNoSchedule", "NoExecute"]}}}}}}}}
    out.append(_crd(POLICY, "ClusterTaintPolicy", "clustertaintpolicies", [], "Cluster",
                    [_version("v1alpha1", taint_policy, [])], karmada_version))
    return out


def work_crds(karmada_version: str) -> list[dict[str, Any]]:
    binding_columns = [_condition_column("Scheduled", "Scheduled"), _condition_column("FullyApplied", "FullyApplied")]
    out = []
    for kind, plural, short, scope in (("ResourceBinding", "resourcebindings", ["rb"], "Namespaced"),
                                       ("ClusterResourceBinding", "clusterresourcebindings", ["crb"], "Cluster")):
        out.append(_crd(WORK, kind, plural, short, scope, [
            _version("v1alpha2", _binding_schema(), binding_columns, status=True),
            _version("v1alpha1", _binding_schema(), binding_columns, storage=False, status=True)], karmada_version))
    out.append(_crd(WORK, "Work", "works", ["wk"], "Namespaced",
                    [_version("v1alpha1", _work_schema(), [_condition_column("Applied", "Applied")], status=True)],
                    karmada_version))
    return out


def cluster_type() -> ResourceType:
    """Cluster is served by karmada-aggregated-apiserver (an APIService), not by a CRD."""
    return ResourceType(
        group=CLUSTER, versions=["v1alpha1"], kind="Cluster", plural="clusters", namespaced=False,
        subresources=("status", "proxy"), name_rule="label",
        printer_columns=[
            {"name": "Version", "type": "string", "jsonPath": ".status.kubernetesVersion"},
            {"name": "Mode", "type": "string", "jsonPath": ".spec.syncMode"},
            _condition_column("Ready", "Ready")])
