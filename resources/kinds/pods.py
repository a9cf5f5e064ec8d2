"""Pods: status as kubectl prints it, containers, logs."""
from django.utils.translation import gettext_lazy as _

from .. import related
from ..formatting import meta, spec, status
from ..links import object_url
from ..registry import Column, Kind, register
from .common import container_specs


def pod_status(pod: dict) -> tuple[str, str]:
    """What `kubectl get pods` prints in STATUS."""
    if meta(pod).get("deletionTimestamp"):
        return ("Terminating", "warn")
    st = status(pod)
    phase = st.get("phase") or "Pending"
    reason = st.get("reason")
    for cs in st.get("initContainerStatuses") or []:
        state = cs.get("state") or {}
        if (state.get("terminated") or {}).get("exitCode"):
            return (f"Init:{state['terminated'].get('reason') or 'Error'}", "error")
        if state.get("waiting") and state["waiting"].get("reason") not in (None, "PodInitializing"):
            return (f"Init:{state['waiting']['reason']}", "error")
    for cs in st.get("containerStatuses") or []:
        state = cs.get("state") or {}
        waiting = (state.get("waiting") or {}).get("reason")
        if waiting:
            tone = "warn" if waiting in ("ContainerCreating", "PodInitializing") else "error"
            return (waiting, tone)
        terminated = state.get("terminated") or {}
        if terminated and phase != "Succeeded":
            return (terminated.get("reason") or "Error", "error" if terminated.get("exitCode") else "muted")
    if reason:
        return (reason, "error")
    tone = {"Running": "ok", "Succeeded": "muted", "Pending": "warn", "Failed": "error"}.get(phase, "muted")
    if phase == "Succeeded":
        return ("Completed", tone)
    return (phase, tone)


def _pod_ready(pod: dict, _ctx=None) -> str:
    statuses = status(pod).get("containerStatuses") or []
    total = len(spec(pod).get("containers") or []) or len(statuses)
    return f"{sum(1 for c in statuses if c.get('ready'))}/{total}"


def _pod_restarts(pod: dict, _ctx=None) -> int:
    return sum(c.get("restartCount") or 0 for c in status(pod).get("containerStatuses") or [])


def _pod_summary(pod: dict) -> list:
    sp, st = spec(pod), status(pod)
    return [
        (_("Node"), sp.get("nodeName") or "--"),
        (_("Pod IP"), st.get("podIP") or "--"),
        (_("Host IP"), st.get("hostIP") or "--"),
        (_("QoS class"), st.get("qosClass") or "--"),
        (_("Restart policy"), sp.get("restartPolicy") or "--"),
        (_("Service account"), sp.get("serviceAccountName") or "--"),
        (_("Containers"), ", ".join(f"{c.get('name')} ({c.get('image')})" for c in sp.get("containers") or [])),
        (_("Ready"), _pod_ready(pod)),
        (_("Restarts"), _pod_restarts(pod)),
    ]


def _containers(view, pod) -> dict:
    statuses = {c.get("name"): c for c in status(pod).get("containerStatuses") or []}
    result = []
    for container in spec(pod).get("containers") or []:
        st = statuses.get(container.get("name"), {})
        state = next(iter(st.get("state") or {}), "waiting")
        result.append({"name": container.get("name"), "image": container.get("image"),
                       "ready": st.get("ready", False), "restarts": st.get("restartCount", 0), "state": state,
                       "logs_url": object_url(view.target, view.kind, view.namespace, view.name, "logs",
                                              container=container.get("name")),
                       "terminal_url": object_url(view.target, view.kind, view.namespace, view.name, "terminal",
                                                  container=container.get("name"))})
    return {"containers": result, "specs": container_specs(pod)}


PODS = register(Kind(
    "Pod", "pods", "", "v1", True, "workloads", _("Pods"), _("Pod"),
    columns=(Column(_("Ready"), _pod_ready), Column(_("Restarts"), _pod_restarts),
             Column(_("Node"), lambda o, c: spec(o).get("nodeName") or "--"),
             Column(_("Pod IP"), lambda o, c: status(o).get("podIP") or "--")),
    status=pod_status, summary=_pod_summary, related=related.pod_owners,
    actions=frozenset({"logs", "logs-stream", "logs-download", "terminal", "terminal-stream", "terminal-input"}),
    detail_context=_containers, detail_template="resources/partials/containers.html",
    template="""apiVersion: v1
kind: Pod
metadata:
  name: my-pod
  labels:
    app: my-pod
spec:
  containers:
  - name: main
    image: nginx:1.27
""",
))
