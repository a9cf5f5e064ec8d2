"""The resource detector (karmada SPEC §2, §8): resource templates claimed by policies, and their bindings.

A template is matched against the PropagationPolicies of its namespace first, then the
ClusterPropagationPolicies; among candidates the higher ``priority`` wins, then the more
precise selector (name > labelSelector > kind), then the smaller policy name. Once claimed,
a template keeps its policy while the policy still selects it (no preemption: the alpha
gate is off by default). A deleted policy releases its templates (its finalizer waits for
that); their bindings stay, as in Karmada.
"""

from __future__ import annotations

import copy
import uuid
from typing import TYPE_CHECKING, Any

from cceone_karmada.affinity import PRIORITY_NONE, selector_priority

from .. import constants as k
from .kube import ApiFailure, Controller, JSON_PATCH

if TYPE_CHECKING:
    from . import ControllerManager

_POLICY_FINALIZERS = {"PropagationPolicy": "karmada.io/propagation-policy-controller",
                      "ClusterPropagationPolicy": "karmada.io/cluster-propagation-policy-controller"}


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def _deleting(obj: dict[str, Any] | None) -> bool:
    return bool(obj and _meta(obj).get("deletionTimestamp"))


def binding_name(name: str, kind: str) -> str:
    return f"{name.replace(':', '.')}-{kind}".lower()


def _spec_view(obj: dict[str, Any]) -> dict[str, Any]:
    """What of a template matters to propagation: not its status, not its resourceVersion."""
    m = {key: v for key, v in _meta(obj).items() if key not in ("resourceVersion", "managedFields")}
    return {**{key: v for key, v in obj.items() if key != "status"}, "metadata": m}


def policy_precision(policy: dict[str, Any], template: dict[str, Any]) -> int:
    selectors = (policy.get("spec") or {}).get("resourceSelectors") or []
    return max((selector_priority(s, template) for s in selectors), default=PRIORITY_NONE)


def best_policy(template: dict[str, Any], candidates: list[dict[str, Any]]) -> dict[str, Any] | None:
    scored = [(p, policy_precision(p, template)) for p in candidates if not _deleting(p)]
    scored = [(p, precision) for p, precision in scored if precision > PRIORITY_NONE]
    if not scored:
        return None
    scored.sort(key=lambda t: (-int((t[0].get("spec") or {}).get("priority") or 0), -t[1], _meta(t[0])["name"]))
    return scored[0][0]


class Detector(Controller):
    name = "detector"
    workers = 2

    def __init__(self, manager: "ControllerManager") -> None:
        super().__init__()
        self.m = manager
        for api_version, kind in k.TEMPLATE_KINDS:
            manager.informer(api_version, kind).handlers.append(self._on_template)
        manager.informer(k.POLICY_API, "PropagationPolicy").handlers.append(self._on_policy)
        manager.informer(k.POLICY_API, "ClusterPropagationPolicy").handlers.append(self._on_policy)

    # ------------------------------------------------------------ events

    def _on_template(self, event: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        if k.reserved(_meta(obj).get("namespace", "")):
            return
        if event == "MODIFIED" and old is not None and _spec_view(old) == _spec_view(obj):
            return  # a status write (ours, aggregating members' status) changes nothing here
        self.queue.add(("template", obj["apiVersion"], obj["kind"], _meta(obj).get("namespace", ""),
                        _meta(obj)["name"]))

    def _on_policy(self, event: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        self.queue.add(("policy", obj["kind"], _meta(obj).get("namespace", ""), _meta(obj)["name"]))
        namespace = _meta(obj).get("namespace") if obj["kind"] == "PropagationPolicy" else None
        for api_version, kind in k.TEMPLATE_KINDS:
            for template in self.m.informer(api_version, kind).items():
                ns = _meta(template).get("namespace", "")
                if k.reserved(ns) or (namespace is not None and ns != namespace):
                    continue
                self.queue.add(("template", api_version, kind, ns, _meta(template)["name"]))

    # ------------------------------------------------------------ reconcile

    def reconcile(self, key: tuple[str, ...]) -> float | None:
        if key[0] == "policy":
            return self._reconcile_policy(*key[1:])
        return self._reconcile_template(*key[1:])

    def _policies(self, kind: str) -> list[dict[str, Any]]:
        return self.m.informer(k.POLICY_API, kind).items()

    def _reconcile_template(self, api_version: str, kind: str, namespace: str, name: str) -> float | None:
        template = self.m.informer(api_version, kind).get(namespace, name)
        if template is None or _deleting(template):
            return None  # its binding goes with it (ownerReference, garbage collector)
        labels = _meta(template).get("labels") or {}
        policy = self._current_claim(template, labels)
        if policy is None:
            pps = [p for p in self._policies("PropagationPolicy") if _meta(p).get("namespace") == namespace]
            policy = best_policy(template, pps) if namespace else None
            if policy is None:
                policy = best_policy(template, self._policies("ClusterPropagationPolicy"))
        if policy is None:
            if labels.get(k.PP_ID_LABEL) or labels.get(k.CPP_ID_LABEL):
                self._release(template)
            return None
        template = self._claim(template, policy)
        self._ensure_binding(template, policy)
        return None

    def _current_claim(self, template: dict[str, Any], labels: dict[str, str]) -> dict[str, Any] | None:
        for kind, label in (("PropagationPolicy", k.PP_ID_LABEL), ("ClusterPropagationPolicy", k.CPP_ID_LABEL)):
            claimed = labels.get(label)
            if not claimed:
                continue
            for policy in self._policies(kind):
                if (_meta(policy).get("labels") or {}).get(label) == claimed and not _deleting(policy) \
                        and policy_precision(policy, template) > PRIORITY_NONE:
                    return policy
        return None

    def _claim_metadata(self, policy: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
        m = _meta(policy)
        if policy["kind"] == "PropagationPolicy":
            return ({k.PP_ID_LABEL: m["labels"][k.PP_ID_LABEL]},
                    {k.PP_NAME_ANNOTATION: m["name"], k.PP_NAMESPACE_ANNOTATION: m["namespace"]})
        return ({k.CPP_ID_LABEL: m["labels"][k.CPP_ID_LABEL]}, {k.CPP_NAME_ANNOTATION: m["name"]})

    def _claim(self, template: dict[str, Any], policy: dict[str, Any]) -> dict[str, Any]:
        labels, annotations = self._claim_metadata(policy)
        m = _meta(template)
        stale = [key for key in (k.PP_ID_LABEL, k.CPP_ID_LABEL) if key not in labels and key in (m.get("labels") or {})]
        stale_ann = [key for key in (k.PP_NAME_ANNOTATION, k.PP_NAMESPACE_ANNOTATION, k.CPP_NAME_ANNOTATION)
                     if key not in annotations and key in (m.get("annotations") or {})]
        if all((m.get("labels") or {}).get(a) == b for a, b in labels.items()) and \
                all((m.get("annotations") or {}).get(a) == b for a, b in annotations.items()) and \
                not stale and not stale_ann:
            return template
        patch = {"metadata": {"labels": {**labels, **{s: None for s in stale}},
                              "annotations": {**annotations, **{s: None for s in stale_ann}}}}
        return self.m.karmada.patch(template["apiVersion"], template["kind"], m["name"], patch,
                                    m.get("namespace") or None)

    def _release(self, template: dict[str, Any]) -> None:
        m = _meta(template)
        patch = {"metadata": {"labels": {k.PP_ID_LABEL: None, k.CPP_ID_LABEL: None},
                              "annotations": {k.PP_NAME_ANNOTATION: None, k.PP_NAMESPACE_ANNOTATION: None,
                                              k.CPP_NAME_ANNOTATION: None}}}
        self.m.karmada.patch(template["apiVersion"], template["kind"], m["name"], patch, m.get("namespace") or None)

    def _ensure_binding(self, template: dict[str, Any], policy: dict[str, Any]) -> None:
        m = _meta(template)
        namespace = m.get("namespace") or ""
        kind = "ResourceBinding" if namespace else "ClusterResourceBinding"
        name = binding_name(m["name"], template["kind"])
        id_label = k.RB_ID_LABEL if namespace else k.CRB_ID_LABEL
        existing = self.m.informer(k.BINDING_API, kind).get(namespace, name)
        if existing is None:
            existing = self.m.karmada.get(k.BINDING_API, kind, name, namespace or None)
        if existing is not None and _deleting(existing):
            raise ApiFailure(409, f"binding {name} is being deleted")
        labels, annotations = self._claim_metadata(policy)
        desired_meta = {
            "name": name, **({"namespace": namespace} if namespace else {}),
            "labels": {**labels, id_label: ((_meta(existing or {}).get("labels") or {}).get(id_label)
                                            or str(uuid.uuid4()))},
            "annotations": annotations,
            "ownerReferences": [{"apiVersion": template["apiVersion"], "kind": template["kind"], "name": m["name"],
                                 "uid": m["uid"], "controller": True, "blockOwnerDeletion": True}],
            "finalizers": [k.BINDING_FINALIZER],
        }
        spec = self._binding_spec(template, policy, existing)
        if existing is None:
            self.m.karmada.create({"apiVersion": k.BINDING_API, "kind": kind, "metadata": desired_meta,
                                   "spec": spec})
            return
        old_meta = _meta(existing)
        same_meta = all(old_meta.get(f) == desired_meta[f] for f in ("ownerReferences", "finalizers")) and \
            all((old_meta.get("labels") or {}).get(a) == b for a, b in desired_meta["labels"].items()) and \
            all((old_meta.get("annotations") or {}).get(a) == b for a, b in annotations.items())
        if same_meta and existing.get("spec") == spec:
            return
        updated = copy.deepcopy(existing)
        updated["metadata"]["labels"] = {**{a: b for a, b in (old_meta.get("labels") or {}).items()
                                            if a not in (k.PP_ID_LABEL, k.CPP_ID_LABEL)}, **desired_meta["labels"]}
        updated["metadata"]["annotations"] = annotations
        updated["metadata"]["ownerReferences"] = desired_meta["ownerReferences"]
        updated["metadata"]["finalizers"] = desired_meta["finalizers"]
        updated["spec"] = spec
        updated.pop("status", None)
        self.m.karmada.replace(updated)

    def _binding_spec(self, template: dict[str, Any], policy: dict[str, Any],
                      existing: dict[str, Any] | None) -> dict[str, Any]:
        m = _meta(template)
        policy_spec = policy.get("spec") or {}
        old = (existing or {}).get("spec") or {}
        resource = {"apiVersion": template["apiVersion"], "kind": template["kind"], "name": m["name"],
                    "uid": m["uid"], "resourceVersion": m.get("resourceVersion", "")}
        if m.get("namespace"):
            resource["namespace"] = m["namespace"]
        spec: dict[str, Any] = {"resource": resource}
        replicas, requirements = self.m.interpret_replicas(template)
        if replicas:
            spec["replicas"] = replicas
        if requirements:
            spec["replicaRequirements"] = requirements
        for field in ("placement", "propagateDeps", "schedulerName", "failover", "conflictResolution",
                      "preserveResourcesOnDeletion", "suspension"):
            if field in policy_spec:
                spec[field] = copy.deepcopy(policy_spec[field])
        for field in ("clusters", "gracefulEvictionTasks", "rescheduleTriggeredAt", "requiredBy"):
            if field in old:
                spec[field] = old[field]
        return spec

    def _reconcile_policy(self, kind: str, namespace: str, name: str) -> float | None:
        policy = self.m.informer(k.POLICY_API, kind).get(namespace, name)
        if policy is None or not _deleting(policy):
            return None
        label = k.PP_ID_LABEL if kind == "PropagationPolicy" else k.CPP_ID_LABEL
        policy_id = (_meta(policy).get("labels") or {}).get(label)
        for api_version, template_kind in k.TEMPLATE_KINDS:
            for template in self.m.informer(api_version, template_kind).items():
                if policy_id and (_meta(template).get("labels") or {}).get(label) == policy_id:
                    self._release(template)
        finalizers = _meta(policy).get("finalizers") or []
        if _POLICY_FINALIZERS[kind] in finalizers:
            index = finalizers.index(_POLICY_FINALIZERS[kind])
            self.m.karmada.patch(k.POLICY_API, kind, name, [
                {"op": "test", "path": f"/metadata/finalizers/{index}", "value": _POLICY_FINALIZERS[kind]},
                {"op": "remove", "path": f"/metadata/finalizers/{index}"}], namespace or None,
                content_type=JSON_PATCH)
        return None
