"""Restore (BACKUP.md §2-§8): from a backup's objects to what is written into the target.

`plan()` is pure: it filters (non-restorable kinds, completed or controller-owned objects,
the user's kinds), strips and rewrites fields (§4), applies the cleansing rules (§7-§8),
remaps namespaces and sorts the items in Velero's order (§3). `apply()` writes them
(create; on AlreadyExists skip or merge-update, §5) and `dry_run()` compares them with
what the target holds now and checks the target before anything is written."""
import copy
import difflib
import hashlib
import json
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from cceone.kube.gateway import KubeError

from . import cleansing
from .collect import dump, matches_kind
from .kube import Client, Resource

BACKUP_LABEL = "backup.cceone.io/backup-name"
RESTORE_LABEL = "backup.cceone.io/restore-name"
_OUR_LABELS = (BACKUP_LABEL, RESTORE_LABEL)

# §3: these first, in this order; then every other resource by `resource.group`.
PRIORITIES = ["customresourcedefinitions.apiextensions.k8s.io", "namespaces", "storageclasses.storage.k8s.io",
              "persistentvolumes", "persistentvolumeclaims", "clusterroles.rbac.authorization.k8s.io",
              "roles.rbac.authorization.k8s.io", "serviceaccounts", "clusterrolebindings.rbac.authorization.k8s.io",
              "rolebindings.rbac.authorization.k8s.io", "secrets", "configmaps", "limitranges",
              "priorityclasses.scheduling.k8s.io", "pods", "replicasets.apps", "endpoints", "services"]
NON_RESTORABLE = {"nodes", "events", "events.events.k8s.io", "backups.velero.io", "restores.velero.io",
                  "resticrepositories.velero.io", "backuprepositories.velero.io", "csinodes.storage.k8s.io",
                  "volumeattachments.storage.k8s.io", "componentstatuses", "endpointslices.discovery.k8s.io",
                  "controllerrevisions.apps"}
_STRIPPED_METADATA = ("generateName", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp",
                      "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences", "managedFields")
_PVC_ANNOTATIONS = ("pv.kubernetes.io/bind-completed", "pv.kubernetes.io/bound-by-controller",
                    "volume.kubernetes.io/storage-provisioner", "volume.beta.kubernetes.io/storage-provisioner",
                    "volume.kubernetes.io/selected-node")


def _priority(group_resource: str) -> tuple:
    if group_resource in PRIORITIES:
        return (0, PRIORITIES.index(group_resource), "")
    return (1, 0, group_resource)


@dataclass
class Item:
    resource: Resource
    source_namespace: str | None
    namespace: str | None
    name: str
    obj: dict
    changes: list = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.resource.group_resource}/{self.namespace or ''}/{self.name}"

    def row(self, result: str, reason: str = "", **extra) -> dict:
        return {"kind": self.resource.kind, "resource": self.resource.group_resource,
                "source_namespace": self.source_namespace or "", "namespace": self.namespace or "",
                "name": self.name, "result": result, "reason": reason, "changes": self.changes, **extra}


@dataclass
class Plan:
    items: list[Item]
    skipped: list[dict]
    namespaces: list[str]  # target namespaces the restore needs


def label_value(value: str) -> str:
    """A label value of at most 63 characters (Velero: truncated, with a hash suffix)."""
    if len(value) <= 63:
        return value
    return value[:57] + hashlib.sha256(value.encode()).hexdigest()[:6]


def _skip_reason(resource: Resource, obj: dict, kinds_in_backup: set, service_accounts: set,
                 services_with_selector: set) -> str:
    """Why an object of the backup is not restored (§6), or ""."""
    meta = obj.get("metadata") or {}
    name, namespace = meta.get("name", ""), meta.get("namespace")
    kind = resource.kind
    if resource.group_resource in NON_RESTORABLE or resource.group.endswith("metrics.k8s.io"):
        return _("%(kind)s objects are never restored.") % {"kind": kind}
    if kind == "Pod":
        if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return _("The pod had completed.")
        if "kubernetes.io/config.mirror" in (meta.get("annotations") or {}):
            return _("A mirror (static) pod is recreated by its node.")
    if kind == "Job" and (obj.get("status") or {}).get("completionTime"):
        return _("The job had completed.")
    if kind == "ConfigMap" and name == "kube-root-ca.crt":
        return _("Kubernetes recreates this ConfigMap in every namespace.")
    if kind == "Secret" and obj.get("type") == "kubernetes.io/service-account-token":
        owner = (meta.get("annotations") or {}).get("kubernetes.io/service-account.name", "")
        if (namespace, owner) in service_accounts or owner == "default":
            return _("A service account token is issued again by the target.")
    if kind == "Endpoints" and (namespace, name) in services_with_selector:
        return _("The endpoints of a service with a selector are regenerated.")
    if kind == "Lease" and (namespace == "kube-node-lease" or name.endswith("leader") or "leader" in name):
        return _("Leases are held by the target's own components.")
    if kind == "APIService" and "kube-aggregator.kubernetes.io/automanaged" in (meta.get("labels") or {}):
        return _("Kubernetes manages this APIService itself.")
    for owner in meta.get("ownerReferences") or []:
        if owner.get("controller") and owner.get("kind") in kinds_in_backup:
            return _("Created by its controller (%(kind)s %(name)s), which is restored instead.") % {
                "kind": owner.get("kind"), "name": owner.get("name")}
    return ""


def strip(obj: dict) -> dict:
    """§4 for every object: metadata the source assigned and the status."""
    obj = copy.deepcopy(obj)
    meta = obj.setdefault("metadata", {})
    for key in _STRIPPED_METADATA:
        meta.pop(key, None)
    obj.pop("status", None)
    return obj


def _node_ports_explicit(obj: dict) -> set:
    last = (obj.get("metadata", {}).get("annotations") or {}).get("kubectl.kubernetes.io/last-applied-configuration")
    try:
        applied = json.loads(last) if last else {}
    except ValueError:
        applied = {}
    return {p.get("nodePort") for p in (applied.get("spec") or {}).get("ports") or [] if p.get("nodePort")}


def kind_actions(kind: str, obj: dict, mapping: dict) -> None:
    """§4's kind-specific rewrites, in place."""
    spec = obj.get("spec") or {}
    meta = obj["metadata"]
    if kind == "Service":
        if spec.get("clusterIP") not in (None, "None"):
            spec.pop("clusterIP", None)
            spec.pop("clusterIPs", None)
        explicit = _node_ports_explicit(obj)
        for port in spec.get("ports") or []:
            if port.get("nodePort") and port["nodePort"] not in explicit:
                port.pop("nodePort")
        if spec.get("healthCheckNodePort") and spec["healthCheckNodePort"] not in explicit:
            spec.pop("healthCheckNodePort")
    elif kind == "Pod":
        spec.pop("nodeName", None)
        spec.pop("priority", None)
        account = spec.get("serviceAccountName") or spec.get("serviceAccount") or ""
        prefix = f"{account}-token-"
        if account:
            spec["volumes"] = [v for v in spec.get("volumes") or [] if not v.get("name", "").startswith(prefix)]
            for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
                container["volumeMounts"] = [m for m in container.get("volumeMounts") or []
                                             if not m.get("name", "").startswith(prefix)]
    elif kind == "Job":
        for labels in ((spec.get("selector") or {}).get("matchLabels"),
                       ((spec.get("template") or {}).get("metadata") or {}).get("labels")):
            if labels:
                labels.pop("controller-uid", None)
                labels.pop("batch.kubernetes.io/controller-uid", None)
    elif kind == "PersistentVolumeClaim":
        annotations = meta.get("annotations") or {}
        for key in _PVC_ANNOTATIONS:
            annotations.pop(key, None)
        spec.pop("volumeName", None)  # volume data is not restored: the claim is provisioned again
    elif kind == "PersistentVolume":
        claim = spec.get("claimRef")
        if claim:
            claim.pop("uid", None)
            claim.pop("resourceVersion", None)
            if claim.get("namespace") in mapping:
                claim["namespace"] = mapping[claim["namespace"]]
        annotations = meta.get("annotations") or {}
        annotations.pop("pv.kubernetes.io/bound-by-controller", None)
    elif kind == "ServiceAccount":
        name = meta.get("name", "")
        if obj.get("secrets"):
            obj["secrets"] = [s for s in obj["secrets"] if not s.get("name", "").startswith(f"{name}-token-")]
    elif kind == "Secret" and obj.get("type") == "kubernetes.io/service-account-token":
        for key in ("token", "ca.crt"):
            (obj.get("data") or {}).pop(key, None)
        (meta.get("annotations") or {}).pop("kubernetes.io/service-account.uid", None)
    elif kind in ("RoleBinding", "ClusterRoleBinding"):
        for subject in obj.get("subjects") or []:
            if subject.get("namespace") in mapping:
                subject["namespace"] = mapping[subject["namespace"]]
    elif kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
        for hook in obj.get("webhooks") or []:
            if hook.get("sideEffects") not in ("None", "NoneOnDryRun"):
                hook["sideEffects"] = "None"
    elif kind == "Namespace":
        obj.pop("spec", None)  # finalizers are the target's
        meta.get("labels", {}).pop("kubernetes.io/metadata.name", None)


def resource_of(entry: dict) -> Resource:
    return Resource(entry["group"], entry["version"], entry["resource"], entry["kind"], entry["namespaced"])


def plan(manifest: dict, objects, *, mapping: dict, included=(), excluded=(), rules=(), backup_name="",
         restore_name="") -> Plan:
    """What the restore writes, in order; `objects` are (path, object) from the tarball."""
    resources = {key: resource_of(entry) for key, entry in manifest.get("resources", {}).items()}
    kinds_in_backup = {r.kind for r in resources.values()}
    by_resource: dict[str, list[dict]] = {}
    for path, obj in objects:
        by_resource.setdefault(path.split("/")[1], []).append(obj)
    service_accounts = {(o["metadata"].get("namespace"), o["metadata"]["name"])
                        for o in by_resource.get("serviceaccounts", [])}
    with_selector = {(o["metadata"].get("namespace"), o["metadata"]["name"])
                     for o in by_resource.get("services", []) if (o.get("spec") or {}).get("selector")}
    items, skipped, namespaces = [], [], set()
    for key in sorted(by_resource, key=_priority):
        resource = resources.get(key)
        if resource is None:
            continue
        if included and not matches_kind(resource, included):
            continue
        if excluded and matches_kind(resource, excluded):
            continue
        for original in sorted(by_resource[key], key=lambda o: (o["metadata"].get("namespace") or "",
                                                                  o["metadata"]["name"])):
            source_ns = original["metadata"].get("namespace") if resource.namespaced else None
            target_ns = mapping.get(source_ns, source_ns) if source_ns else None
            name = original["metadata"]["name"]
            if resource.kind == "Namespace":
                name = mapping.get(name, name)
            item = Item(resource, source_ns, target_ns, name, {})
            reason = _skip_reason(resource, original, kinds_in_backup, service_accounts, with_selector)
            if reason:
                skipped.append(item.row("skipped", reason))
                continue
            obj = strip(original)
            kind_actions(resource.kind, obj, mapping)
            snapshot = copy.deepcopy(obj)
            ns_for_rules = source_ns if resource.namespaced else (
                original["metadata"]["name"] if resource.kind == "Namespace" else None)
            item.changes = cleansing.apply(rules, obj, snapshot, ns_for_rules,
                                           lambda specs, r=resource: matches_kind(r, specs))
            meta = obj["metadata"]
            meta["name"] = name
            if target_ns:
                meta["namespace"] = target_ns
                namespaces.add(target_ns)
            labels = meta.setdefault("labels", {})
            labels[BACKUP_LABEL] = label_value(backup_name)
            labels[RESTORE_LABEL] = label_value(restore_name)
            obj["apiVersion"], obj["kind"] = resource.api_version, resource.kind
            item.obj = obj
            items.append(item)
    return Plan(items, skipped, sorted(namespaces))


# --- comparing with the target ----------------------------------------------------------------

def _comparable(obj: dict) -> dict:
    obj = strip(obj)
    labels = obj["metadata"].get("labels") or {}
    for key in _OUR_LABELS:
        labels.pop(key, None)
    if not labels:
        obj["metadata"].pop("labels", None)
    return obj


def project(live, desired):
    """`live` cut down to the shape of `desired`: what the backup says, as the target has it
    (fields the target defaulted and the backup does not mention are not differences)."""
    if isinstance(desired, dict) and isinstance(live, dict):
        return {k: project(live[k], v) for k, v in desired.items() if k in live}
    if isinstance(desired, list) and isinstance(live, list) and len(desired) == len(live):
        return [project(a, b) for a, b in zip(live, desired)]
    return live


def merge_patch(live, desired):
    """An RFC 7386 merge patch that makes `live` say what `desired` says (lists whole, no
    deletions of fields the backup does not mention), or None when it already does."""
    if isinstance(desired, dict) and isinstance(live, dict):
        patch = {}
        for key, value in desired.items():
            if key not in live:
                patch[key] = value
            else:
                sub = merge_patch(live[key], value)
                if sub is not None:
                    patch[key] = sub
        return patch or None
    if isinstance(desired, list) and isinstance(live, list) and len(desired) == len(live):
        return desired if any(merge_patch(a, b) is not None for a, b in zip(live, desired)) else None
    return None if live == desired else desired


def diff_text(live: dict | None, desired: dict, limit: int = 6000) -> str:
    desired = _comparable(desired)
    before = dump(project(_comparable(live), desired)).decode().splitlines() if live else []
    after = dump(desired).decode().splitlines()
    text = "\n".join(difflib.unified_diff(before, after, "target", "restore", lineterm="", n=2))
    return text if len(text) <= limit else text[:limit] + "\n…"


# --- writing ----------------------------------------------------------------------------------

def ensure_namespace(client: Client, name: str, created: set) -> None:
    if name in created:
        return
    ns = Resource("", "v1", "namespaces", "Namespace", False)
    if client.get_or_none(ns.path(name=name)) is None:
        try:
            client.request("POST", ns.path(), body={"apiVersion": "v1", "kind": "Namespace",
                                                    "metadata": {"name": name}})
        except KubeError as error:
            if error.status != 409:
                raise
    created.add(name)


def apply_item(client: Client, item: Item, policy: str, namespaces_ready: set) -> dict:
    resource, obj = item.resource, item.obj
    try:
        if item.namespace:
            ensure_namespace(client, item.namespace, namespaces_ready)
        try:
            client.request("POST", resource.path(item.namespace), body=obj)
            if resource.kind == "Namespace":
                namespaces_ready.add(item.name)
            return item.row("created")
        except KubeError as error:
            if error.status != 409:
                raise
        live = client.get(resource.path(item.namespace, item.name))
        if resource.kind == "Namespace":
            namespaces_ready.add(item.name)
        patch = merge_patch(_comparable(live), _comparable(obj))
        if patch is None:
            return item.row("skipped", _("Already exists and is the same."))
        if policy != "update" and resource.kind != "ServiceAccount":
            return item.row("skipped", _("Already exists and differs from the backup; the policy is to skip."))
        if resource.kind == "ServiceAccount" and policy != "update":
            # Velero merges service accounts whatever the policy: their secrets, added labels.
            patch = _service_account_merge(live, obj)
            if patch is None:
                return item.row("skipped", _("Already exists and is the same."))
        patch.setdefault("metadata", {}).setdefault("labels", {}).update(
            {k: obj["metadata"]["labels"][k] for k in _OUR_LABELS})
        client.request("PATCH", resource.path(item.namespace, item.name), body=patch,
                       content_type="application/merge-patch+json")
        return item.row("updated")
    except KubeError as error:
        return item.row("failed", error.message)


def _service_account_merge(live: dict, desired: dict) -> dict | None:
    patch = {}
    for key in ("secrets", "imagePullSecrets"):
        have = live.get(key) or []
        extra = [s for s in desired.get(key) or [] if s not in have]
        if extra:
            patch[key] = have + extra
    for key in ("labels", "annotations"):
        have = live["metadata"].get(key) or {}
        missing = {k: v for k, v in (desired["metadata"].get(key) or {}).items()
                   if k not in have and k not in _OUR_LABELS}
        if missing:
            patch.setdefault("metadata", {})[key] = missing
    return patch or None
