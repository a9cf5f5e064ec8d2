"""Karmada's admission webhooks and the aggregated API server's Cluster rules (karmada SPEC §2–§4, §9).

kubesim calls ``mutate`` then ``validate`` around its schema validation, as the API
server calls mutating and validating webhooks. A webhook denial reads like the real
one (403, ``admission webhook "<name>" denied the request: …``); Cluster validation
belongs to the API server itself, so it answers 422 Invalid.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlparse

from sandbox.kubesim.errors import ApiError, invalid
from sandbox.kubesim.registry import ResourceType

from .crds import CLUSTER, POLICY

PP_ID = "propagationpolicy.karmada.io/permanent-id"
CPP_ID = "clusterpropagationpolicy.karmada.io/permanent-id"
PP_FINALIZER = "karmada.io/propagation-policy-controller"
CPP_FINALIZER = "karmada.io/cluster-propagation-policy-controller"
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _denied(webhook: str, message: str) -> ApiError:
    return ApiError(403, "Forbidden", f'admission webhook "{webhook}" denied the request: {message}')


class PolicyWebhooks:
    """The mutating and validating webhooks of PropagationPolicy/ClusterPropagationPolicy and
    OverridePolicy/ClusterOverridePolicy."""

    def mutate(self, operation: str, rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        if rt.group != POLICY:
            return
        spec = obj.setdefault("spec", {})
        namespace = obj["metadata"].get("namespace", "")
        if rt.kind in ("PropagationPolicy", "OverridePolicy"):
            for selector in spec.get("resourceSelectors") or []:
                if isinstance(selector, dict) and not selector.get("namespace"):
                    selector["namespace"] = namespace
        if rt.kind not in ("PropagationPolicy", "ClusterPropagationPolicy"):
            return
        placement = spec.get("placement") or {}
        for constraint in placement.get("spreadConstraints") or []:
            if not constraint.get("spreadByField") and not constraint.get("spreadByLabel"):
                constraint["spreadByField"] = "cluster"
            if not constraint.get("minGroups"):
                constraint["minGroups"] = 1
        scheduling = placement.get("replicaScheduling")
        if isinstance(scheduling, dict) and scheduling.get("replicaSchedulingType") == "Divided" \
                and not scheduling.get("replicaDivisionPreference"):
            scheduling["replicaDivisionPreference"] = "Weighted"
        application = (spec.get("failover") or {}).get("application")
        if isinstance(application, dict) and application.get("purgeMode", "Gracefully") == "Gracefully" \
                and application.get("gracePeriodSeconds") is None:
            application["gracePeriodSeconds"] = 600
        label, finalizer = (PP_ID, PP_FINALIZER) if rt.kind == "PropagationPolicy" else (CPP_ID, CPP_FINALIZER)
        metadata = obj["metadata"]
        labels = metadata.setdefault("labels", {})
        if operation == "CREATE" and not labels.get(label):
            labels[label] = str(uuid.uuid4())
        finalizers = metadata.setdefault("finalizers", [])
        if finalizer not in finalizers and not metadata.get("deletionTimestamp"):
            finalizers.append(finalizer)

    def validate(self, operation: str, rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        if rt.group != POLICY or rt.kind == "ClusterTaintPolicy":
            return
        webhook = f"{rt.kind.lower()}.karmada.io"
        spec = obj.get("spec") or {}
        namespace = obj["metadata"].get("namespace", "")
        errors: list[str] = []
        if rt.kind in ("PropagationPolicy", "OverridePolicy"):
            for i, selector in enumerate(spec.get("resourceSelectors") or []):
                if selector.get("namespace") and selector["namespace"] != namespace:
                    errors.append(f"spec.resourceSelectors[{i}].namespace: Invalid value: "
                                  f'"{selector["namespace"]}": namespace must be the same as the policy namespace')
        if rt.kind in ("OverridePolicy", "ClusterOverridePolicy"):
            if spec.get("overrideRules") and (spec.get("targetCluster") or spec.get("overriders")):
                errors.append("overrideRules and (overriders or targetCluster) can't co-exist")
        else:
            errors += self._propagation_errors(rt, obj, old, spec)
        if errors:
            raise _denied(webhook, "; ".join(errors))

    def _propagation_errors(self, rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None,
                            spec: dict[str, Any]) -> list[str]:
        errors = []
        label = PP_ID if rt.kind == "PropagationPolicy" else CPP_ID
        labels = obj["metadata"].get("labels") or {}
        if not labels.get(label):
            errors.append(f"label {label} is required, it is a system-generated label")
        if old is not None:
            old_labels = (old.get("metadata") or {}).get("labels") or {}
            if old_labels.get(label) and old_labels.get(label) != labels.get(label):
                errors.append(f"metadata.labels[{label}]: Invalid value: can not be changed")
            if (old.get("spec") or {}).get("schedulerName") != spec.get("schedulerName"):
                errors.append("spec.schedulerName: Forbidden: the schedulerName should not be updated")
        placement = spec.get("placement") or {}
        if placement.get("clusterAffinity") and placement.get("clusterAffinities"):
            errors.append("clusterAffinities cannot co-exist with clusterAffinity")
        names = [term.get("affinityName") for term in placement.get("clusterAffinities") or []]
        if len(names) != len(set(names)):
            errors.append("each affinity term in a policy must have a unique name")
        for toleration in placement.get("clusterTolerations") or []:
            if toleration.get("operator") in ("Lt", "Gt"):
                errors.append(f'spec.placement.clusterTolerations.operator: Unsupported value: '
                              f'"{toleration["operator"]}": supported values: "Equal", "Exists"')
        fields = []
        for constraint in placement.get("spreadConstraints") or []:
            if constraint.get("spreadByField") and constraint.get("spreadByLabel"):
                errors.append("invalid constraints: SpreadByLabel(%s) should not co-exist with spreadByField(%s)"
                              % (constraint["spreadByLabel"], constraint["spreadByField"]))
            if constraint.get("maxGroups") and constraint.get("maxGroups", 0) < constraint.get("minGroups", 0):
                errors.append("maxGroups lower than minGroups is not allowed")
            if constraint.get("spreadByField"):
                fields.append(constraint["spreadByField"])
        if len(fields) != len(set(fields)):
            errors.append("multiple spreadByField with same value is not allowed")
        if fields and "cluster" not in fields:
            errors.append("the cluster spread constraint must be enabled in one of the constraints in case of "
                          "SpreadByField is enabled")
        if spec.get("preemption") == "Always" and any(not s.get("name")
                                                      for s in spec.get("resourceSelectors") or []):
            errors.append("name cannot be empty if preemption is Always, the empty name may cause unexpected "
                          "resources preemption")
        if (spec.get("failover") or {}).get("application") and not spec.get("propagateDeps"):
            errors.append("application failover is set, propagateDeps must be true")
        suspension = spec.get("suspension") or {}
        if suspension.get("dispatching") and (suspension.get("dispatchingOnClusters") or {}).get("clusterNames"):
            errors.append("suspension dispatching cannot co-exist with dispatchingOnClusters.clusterNames")
        return errors


class ClusterRules:
    """What karmada-aggregated-apiserver checks and defaults on a Cluster (pkg/apis/cluster/validation)."""

    def mutate(self, operation: str, rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        if rt.group != CLUSTER:
            return
        spec = obj.setdefault("spec", {})
        if spec.get("zone") and not spec.get("zones"):
            spec["zones"] = [spec.pop("zone")]

    def validate(self, operation: str, rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        if rt.group != CLUSTER:
            return
        name = obj["metadata"].get("name", "")
        spec = obj.get("spec") or {}
        causes = []
        if len(name) > 48:
            causes.append(("metadata.name", "FieldValueInvalid",
                           f'Invalid value: "{name}": must be no more than 48 characters'))
        if spec.get("syncMode") not in ("Push", "Pull"):
            value = spec.get("syncMode")
            causes.append(("spec.syncMode", "FieldValueRequired", "Required value") if not value else
                          ("spec.syncMode", "FieldValueNotSupported",
                           f'Unsupported value: "{value}": supported values: "Pull", "Push"'))
        endpoint = spec.get("apiEndpoint")
        if endpoint:
            url = urlparse(endpoint)
            if not url.scheme or not url.hostname or url.username or url.query or url.fragment:
                causes.append(("spec.apiEndpoint", "FieldValueInvalid",
                               f'Invalid value: "{endpoint}": must be a valid URL with a host and without '
                               "user info, query or fragment"))
        if spec.get("zone") and spec.get("zones"):
            causes.append(("spec.zones", "FieldValueForbidden", "Forbidden: zone and zones cannot co-exist"))
        for field in ("provider", "region"):
            value = spec.get(field)
            if value and (len(value) > 63 or not re.match(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$", value)):
                causes.append((f"spec.{field}", "FieldValueInvalid", f'Invalid value: "{value}": a valid label '
                                                                     "value is required"))
        if old is not None and (old.get("spec") or {}).get("id") and (old.get("spec") or {}).get("id") != spec.get("id"):
            causes.append(("spec.id", "FieldValueInvalid", "Invalid value: the cluster ID is immutable"))
        if causes:
            raise invalid("Cluster", CLUSTER, name, causes)
