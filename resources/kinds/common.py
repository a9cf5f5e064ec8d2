"""Readers several kinds share."""
from django.utils.translation import gettext_lazy as _

from ..formatting import spec, status


def images(obj: dict) -> str:
    template = spec(obj).get("template") or {}
    if spec(obj).get("jobTemplate"):
        template = (spec(spec(obj)["jobTemplate"]).get("template")) or {}
    containers = (spec(template).get("containers")) or spec(obj).get("containers") or []
    return ", ".join(c.get("image", "") for c in containers) or "--"


def _pod_template_spec(obj: dict) -> dict:
    template = spec(obj).get("template") or {}
    if spec(obj).get("jobTemplate"):
        template = (spec(spec(obj)["jobTemplate"]).get("template")) or {}
    return spec(template) if template else spec(obj)


def _env_entry(entry: dict) -> str:
    """One variable as the detail page shows it: a literal value, or where it comes from
    (a Secret's value is never shown here; its reveal is audited)."""
    name, source = entry.get("name", ""), entry.get("valueFrom") or {}
    if "value" in entry or not source:
        return f"{name}={entry.get('value', '')}"
    if "secretKeyRef" in source:
        ref = source["secretKeyRef"]
        return f"{name} ← Secret {ref.get('name', '')}/{ref.get('key', '')}"
    if "configMapKeyRef" in source:
        ref = source["configMapKeyRef"]
        return f"{name} ← ConfigMap {ref.get('name', '')}/{ref.get('key', '')}"
    if "fieldRef" in source:
        return f"{name} ← {source['fieldRef'].get('fieldPath', '')}"
    if "resourceFieldRef" in source:
        return f"{name} ← {source['resourceFieldRef'].get('resource', '')}"
    return name


def _quantities(values: dict | None) -> str:
    return ", ".join(f"{key} {value}" for key, value in sorted((values or {}).items())) or "--"


def container_specs(obj: dict) -> list[dict]:
    """What each container of a workload (or pod) runs with: image, ports, requests and
    limits, environment — the detail page's "Container specs"."""
    result = []
    for container in _pod_template_spec(obj).get("containers") or []:
        resources = container.get("resources") or {}
        ports = [f"{p.get('containerPort')}/{p.get('protocol', 'TCP')}" + (f" ({p['name']})" if p.get("name") else "")
                 for p in container.get("ports") or []]
        env = [_env_entry(e) for e in container.get("env") or []]
        env += [f"← {kind} {ref.get('name', '')}" for item in container.get("envFrom") or []
                for kind, ref in (("ConfigMap", item.get("configMapRef")), ("Secret", item.get("secretRef"))) if ref]
        result.append({"name": container.get("name", ""), "image": container.get("image", ""),
                       "ports": ", ".join(ports) or "--", "requests": _quantities(resources.get("requests")),
                       "limits": _quantities(resources.get("limits")), "env": env})
    return result


def ready_of(obj: dict) -> str:
    return f"{status(obj).get('readyReplicas') or 0}/{spec(obj).get('replicas', 1)}"


def replicas_status(obj: dict) -> tuple[str, str]:
    desired = spec(obj).get("replicas", 1)
    ready = status(obj).get("readyReplicas") or 0
    if desired == 0:
        return (_("Scaled to zero"), "muted")
    if ready >= desired:
        return (_("Running"), "ok")
    return (_("Updating") if ready else _("Unavailable"), "warn" if ready else "error")


def phase_status(obj: dict) -> tuple[str, str]:
    phase = status(obj).get("phase") or "--"
    return (phase, {"Bound": "ok", "Available": "ok", "Active": "ok", "Pending": "warn", "Released": "muted",
                    "Failed": "error", "Lost": "error", "Terminating": "warn"}.get(phase, "muted"))
