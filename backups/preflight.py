"""A dry run's look at the target before anything is written (issue #18 item 4): missing
CRDs, API versions the target no longer serves, namespaces to create, storage classes and
image registries referenced but absent, ResourceQuotas the restore would exceed."""
from django.utils.translation import gettext as _
from kubernetes.utils import parse_quantity

from . import cleansing
from .kube import Client, Resource

_NS = Resource("", "v1", "namespaces", "Namespace", False)
_SC = Resource("storage.k8s.io", "v1", "storageclasses", "StorageClass", False)
_PODS = Resource("", "v1", "pods", "Pod", True)
_QUOTAS = Resource("", "v1", "resourcequotas", "ResourceQuota", True)


def registry_of(image: str) -> str:
    first = image.split("/", 1)[0]
    if "/" in image and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def _images(obj: dict) -> list[str]:
    return [value for path in cleansing.SHORTCUTS["image"]
            for _parts, value in cleansing.locate(obj, cleansing.parse_path(path))]


def _storage_classes(obj: dict) -> list[str]:
    return [value for path in cleansing.SHORTCUTS["storageClassName"]
            for _parts, value in cleansing.locate(obj, cleansing.parse_path(path))]


def _pod_requests(obj: dict) -> dict:
    """Requests the restored object will ask of its namespace's quota: cpu, memory, pods."""
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "Pod":
        pod, replicas = spec, 1
    elif kind in ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"):
        pod, replicas = (spec.get("template") or {}).get("spec") or {}, spec.get("replicas", 1)
    else:
        return {}
    cpu = memory = 0
    for container in pod.get("containers") or []:
        requests = (container.get("resources") or {}).get("requests") or {}
        cpu += parse_quantity(requests.get("cpu", "0"))
        memory += parse_quantity(requests.get("memory", "0"))
    return {"requests.cpu": cpu * replicas, "requests.memory": memory * replicas, "pods": replicas}


def api_findings(plan, manifest: dict, served: set) -> tuple[list, list]:
    """(missing CRDs, API versions the target does not serve) for what the restore writes:
    a kind whose CRD the restore brings first is fine; one the target serves only at other
    versions, or not at all, is a version the target cannot take."""
    served_groups = {group for group, _v, _r in served}
    restored_crds = {item.name for item in plan.items if item.resource.kind == "CustomResourceDefinition"}
    missing_crds, unserved = [], []
    for entry in manifest.get("resources", {}).values():
        group, version, resource = entry["group"], entry["version"], entry["resource"]
        if (group, version, resource) in served or entry["resource"] in ("events",):
            continue
        if not any(i.resource.group_resource == (f"{resource}.{group}" if group else resource) for i in plan.items):
            continue  # nothing of it is restored
        if f"{resource}.{group}" in restored_crds:
            continue  # its CRD comes first in the restore
        versions = sorted(v for g, v, r in served if g == group and r == resource)
        if versions:
            unserved.append({"what": f"{group}/{version}" if group else version,
                             "detail": _("The target serves %(kind)s only as %(versions)s.") % {
                                 "kind": entry["kind"], "versions": ", ".join(versions)}})
        elif group in served_groups or not group or "." not in group or group.endswith(".k8s.io"):
            unserved.append({"what": f"{group}/{version}" if group else version,
                             "detail": _("The target does not serve %(kind)s at all (Kubernetes %(version)s "
                                         "of the source).") % {"kind": entry["kind"], "version":
                                                               manifest["source"].get("kubernetes_version", "")}})
        else:
            missing_crds.append({"what": f"{resource}.{group}",
                                 "detail": _("No CustomResourceDefinition for %(kind)s in the target or in the "
                                             "backup: its objects would fail.") % {"kind": entry["kind"]}})
    return missing_crds, unserved


def check(client: Client, plan, manifest: dict) -> dict:
    """Findings, each a list of {what, detail}; `blocking` counts those that make objects fail."""
    served = client.served()
    missing_crds, unserved = api_findings(plan, manifest, served)
    existing_ns = {ns["metadata"]["name"] for ns in client.list_all(_NS)}
    to_create = [{"what": ns, "detail": _("Created by the restore.")} for ns in plan.namespaces
                 if ns not in existing_ns]
    existing_sc = {sc["metadata"]["name"] for sc in client.list_all(_SC)} if (
        "storage.k8s.io", "v1", "storageclasses") in served else set()
    restored_sc = {i.name for i in plan.items if i.resource.kind == "StorageClass"}
    classes, registries, requests = {}, {}, {}
    for item in plan.items:
        for name in _storage_classes(item.obj):
            classes.setdefault(name, set()).add(f"{item.resource.kind} {item.namespace or ''}/{item.name}")
        for image in _images(item.obj):
            registries.setdefault(registry_of(image), set()).add(image)
        if item.namespace:
            add = _pod_requests(item.obj)
            total = requests.setdefault(item.namespace, {})
            for key, value in add.items():
                total[key] = total.get(key, 0) + value
    missing_sc = [{"what": name, "detail": _("Referenced by %(objects)s; the target has no such storage class.")
                   % {"objects": ", ".join(sorted(users)[:3])}}
                  for name, users in sorted(classes.items()) if name not in existing_sc | restored_sc]
    in_use = {registry_of(image) for pod in client.list_all(_PODS)
              for image in _images(pod)}
    new_registries = [{"what": name, "detail": _("No workload in the target pulls from this registry yet: check "
                                                 "that it is reachable and that pull secrets exist. Images: "
                                                 "%(images)s") % {"images": ", ".join(sorted(images)[:3])}}
                      for name, images in sorted(registries.items()) if name not in in_use]
    quotas = []
    for quota in client.list_all(_QUOTAS):
        namespace = quota["metadata"]["namespace"]
        if namespace not in requests:
            continue
        hard = (quota.get("spec") or {}).get("hard") or {}
        used = (quota.get("status") or {}).get("used") or {}
        for key in ("requests.cpu", "requests.memory", "pods"):
            if key in hard and key in requests[namespace]:
                after = parse_quantity(used.get(key, "0")) + requests[namespace][key]
                if after > parse_quantity(hard[key]):
                    quotas.append({"what": f"{namespace}/{quota['metadata']['name']}",
                                   "detail": _("%(resource)s would reach %(after)s of %(hard)s.") % {
                                       "resource": key, "after": _quantity(after), "hard": hard[key]}})
    return {"missing_crds": missing_crds, "unserved_versions": unserved, "namespaces_to_create": to_create,
            "missing_storage_classes": missing_sc, "new_registries": new_registries, "quotas_exceeded": quotas,
            "blocking": len(missing_crds) + len(unserved) + len(missing_sc) + len(quotas)}


def _quantity(value) -> str:
    return f"{float(value):g}"
