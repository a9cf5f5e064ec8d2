"""Readers several kinds share."""
from django.utils.translation import gettext_lazy as _

from ..formatting import spec, status


def images(obj: dict) -> str:
    template = spec(obj).get("template") or {}
    if spec(obj).get("jobTemplate"):
        template = (spec(spec(obj)["jobTemplate"]).get("template")) or {}
    containers = (spec(template).get("containers")) or spec(obj).get("containers") or []
    return ", ".join(c.get("image", "") for c in containers) or "--"


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
