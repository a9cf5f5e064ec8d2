"""The resource registry: each Kubernetes kind the console manages, described once
(ARCHITECTURE decision 2). The generic views in `views.py` serve every kind here on
every target; another app adds kinds (e.g. Karmada's policies) with `register()`.

A kind says where it lives in the API (group, version, plural, scope), where it sits in
the console (category, section), how a list row reads (columns, status summary), what
its detail page shows (spec summary, related objects — see `related.py`) and how a
new one starts (a YAML template, and for some kinds a form in `forms.py`).
"""
from dataclasses import dataclass
from typing import Callable

from django.http import Http404
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from .formatting import age, condition, cpu, memory, meta, parse_time, spec, status

CATEGORIES = {
    "workloads": _("Workloads"),
    "network": _("Network"),
    "configuration": _("Configuration"),
    "storage": _("Storage"),
    "cluster": _("Cluster"),
}

# The console's sections, in navigation order: a category, or one cluster-level kind.
SECTIONS = {
    "namespaces": _("Namespaces"),
    "workloads": _("Workloads"),
    "network": _("Network"),
    "configuration": _("Configuration"),
    "storage": _("Storage"),
    "nodes": _("Nodes"),
    "events": _("Events"),
}


@dataclass(frozen=True)
class Column:
    label: str
    value: Callable[[dict, dict], object]  # (object, list context) → text or safe HTML


@dataclass(frozen=True)
class Kind:
    kind: str
    plural: str
    group: str
    version: str
    namespaced: bool
    category: str
    label: str  # plural, e.g. "Deployments"
    label_singular: str
    columns: tuple[Column, ...] = ()
    # (text, tone) — tone is one of ok, warn, error, muted; drives the badge colour.
    status: Callable[[dict], tuple[str, str]] = lambda obj: ("", "muted")
    summary: Callable[[dict], list[tuple[str, object]]] = lambda obj: []
    template: str = ""
    section: str = ""  # defaults to the category, or the plural for cluster-level kinds
    scalable: bool = False
    restartable: bool = False
    has_logs: bool = False
    creatable: bool = True
    # What a list row needs beyond the objects themselves (e.g. pods per node), computed
    # once per page as the user: (api, items) → context passed to every Column.value.
    list_context: Callable | None = None
    conditions: bool = True  # whether status.conditions is worth a table on the detail page
    show_status: bool = True  # False for kinds without a status to summarise (ConfigMap …)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def nav_section(self) -> str:
        return self.section or (self.plural if self.category == "cluster" else self.category)

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
            if subresource:
                base += f"/{subresource}"
        return base


_KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    _KINDS[kind.plural] = kind
    return kind


def get(plural: str) -> Kind:
    try:
        return _KINDS[plural]
    except KeyError:
        raise Http404(plural) from None


def all_kinds() -> list[Kind]:
    return list(_KINDS.values())


def for_object(api_version: str, kind: str) -> Kind | None:
    return next((k for k in _KINDS.values() if k.api_version == api_version and k.kind == kind), None)


def by_kind_name(kind: str) -> Kind | None:
    """The registered kind called `kind` (owner references and events name kinds only)."""
    return next((k for k in _KINDS.values() if k.kind == kind), None)


def in_section(section: str, kinds=None) -> list[Kind]:
    return [k for k in (kinds if kinds is not None else _KINDS.values()) if k.nav_section == section]


# --- readers shared by several kinds ------------------------------------------------------

def _images(obj: dict) -> str:
    template = spec(obj).get("template") or {}
    if spec(obj).get("jobTemplate"):
        template = (spec(spec(obj)["jobTemplate"]).get("template")) or {}
    containers = (spec(template).get("containers")) or spec(obj).get("containers") or []
    return ", ".join(c.get("image", "") for c in containers) or "--"


def _ready_of(obj: dict) -> str:
    return f"{status(obj).get('readyReplicas') or 0}/{spec(obj).get('replicas', 1)}"


def _conditions_summary(obj: dict, ok_type: str) -> tuple[str, str]:
    found = condition(obj, ok_type)
    if found is None:
        return ("", "muted")
    return (ok_type, "ok") if found.get("status") == "True" else (found.get("reason") or f"Not {ok_type}", "warn")


def _replicas_status(obj: dict) -> tuple[str, str]:
    desired = spec(obj).get("replicas", 1)
    ready = status(obj).get("readyReplicas") or 0
    if desired == 0:
        return (_("Scaled to zero"), "muted")
    if ready >= desired:
        return (_("Running"), "ok")
    return (_("Updating") if ready else _("Unavailable"), "warn" if ready else "error")


# --- pods ---------------------------------------------------------------------------------

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


# --- workloads ----------------------------------------------------------------------------

def _deployment_status(obj: dict) -> tuple[str, str]:
    if spec(obj).get("paused"):
        return (_("Paused"), "warn")
    return _replicas_status(obj)


def _strategy(obj: dict) -> str:
    strategy = spec(obj).get("strategy") or spec(obj).get("updateStrategy") or {}
    return strategy.get("type") or "--"


def _workload_summary(obj: dict) -> list:
    sp = spec(obj)
    rows = [(_("Selector"), ", ".join(f"{k}={v}" for k, v in ((sp.get("selector") or {}).get("matchLabels") or {}).items()) or "--"),
            (_("Images"), _images(obj)),
            (_("Update strategy"), _strategy(obj))]
    if "replicas" in sp or obj.get("kind") in ("Deployment", "StatefulSet"):
        st = status(obj)
        rows[0:0] = [(_("Replicas"), format_html(
            "{} {} · {} {} · {} {}", sp.get("replicas", 1), _("desired"), st.get("readyReplicas") or 0, _("ready"),
            st.get("availableReplicas") or 0, _("available")))]
    if obj.get("kind") == "StatefulSet":
        rows.append((_("Service name"), sp.get("serviceName") or "--"))
    return rows


def _daemonset_status(obj: dict) -> tuple[str, str]:
    st = status(obj)
    desired, ready = st.get("desiredNumberScheduled") or 0, st.get("numberReady") or 0
    if desired and ready >= desired:
        return (_("Running"), "ok")
    return (_("Updating") if ready else _("Unavailable"), "warn" if ready else "error")


def _job_status(obj: dict) -> tuple[str, str]:
    if condition(obj, "Complete") and condition(obj, "Complete").get("status") == "True":
        return (_("Complete"), "ok")
    if condition(obj, "Failed") and condition(obj, "Failed").get("status") == "True":
        return (_("Failed"), "error")
    if spec(obj).get("suspend"):
        return (_("Suspended"), "muted")
    return (_("Running"), "warn")


def _job_duration(obj: dict, _ctx=None) -> str:
    start, end = parse_time(status(obj).get("startTime")), parse_time(status(obj).get("completionTime"))
    if start is None:
        return "--"
    if end is None:
        return age(status(obj).get("startTime"))
    seconds = int((end - start).total_seconds())
    return f"{seconds}s" if seconds < 120 else f"{seconds // 60}m"


def _cronjob_status(obj: dict) -> tuple[str, str]:
    if spec(obj).get("suspend"):
        return (_("Suspended"), "muted")
    return (_("Active"), "ok") if status(obj).get("active") else (_("Scheduled"), "ok")


# --- network ------------------------------------------------------------------------------

def _service_ports(obj: dict, _ctx=None) -> str:
    ports = []
    for p in spec(obj).get("ports") or []:
        text = f"{p.get('port')}"
        if p.get("nodePort"):
            text += f":{p['nodePort']}"
        ports.append(f"{text}/{p.get('protocol', 'TCP')}")
    return ", ".join(ports) or "--"


def _external_ip(obj: dict, _ctx=None) -> str:
    ingress = (status(obj).get("loadBalancer") or {}).get("ingress") or []
    found = [i.get("ip") or i.get("hostname") for i in ingress] + list(spec(obj).get("externalIPs") or [])
    if found:
        return ", ".join(x for x in found if x)
    return "<pending>" if spec(obj).get("type") == "LoadBalancer" else "--"


def _service_status(obj: dict) -> tuple[str, str]:
    if spec(obj).get("type") == "LoadBalancer" and _external_ip(obj) == "<pending>":
        return (_("Pending"), "warn")
    return (_("Active"), "ok")


def _ingress_hosts(obj: dict, _ctx=None) -> str:
    return ", ".join(r.get("host") or "*" for r in spec(obj).get("rules") or []) or "*"


def _ingress_address(obj: dict, _ctx=None) -> str:
    ingress = (status(obj).get("loadBalancer") or {}).get("ingress") or []
    return ", ".join(i.get("ip") or i.get("hostname") or "" for i in ingress) or "--"


def _ingress_ports(obj: dict, _ctx=None) -> str:
    return "80, 443" if spec(obj).get("tls") else "80"


def _ingress_summary(obj: dict) -> list:
    rows = []
    for rule in spec(obj).get("rules") or []:
        for path in ((rule.get("http") or {}).get("paths") or []):
            backend = (path.get("backend") or {}).get("service") or {}
            port = (backend.get("port") or {})
            rows.append((f"{rule.get('host') or '*'}{path.get('path') or '/'}",
                         f"{backend.get('name', '--')}:{port.get('number') or port.get('name') or ''}"))
    tls = ", ".join(h for t in spec(obj).get("tls") or [] for h in t.get("hosts") or [])
    return [(_("Ingress class"), spec(obj).get("ingressClassName") or "--"), *rows, (_("TLS hosts"), tls or "--")]


# --- storage ------------------------------------------------------------------------------

def _phase(obj: dict) -> tuple[str, str]:
    phase = status(obj).get("phase") or "--"
    return (phase, {"Bound": "ok", "Available": "ok", "Active": "ok", "Pending": "warn", "Released": "muted",
                    "Failed": "error", "Lost": "error", "Terminating": "warn"}.get(phase, "muted"))


def _access_modes(obj: dict, _ctx=None) -> str:
    short = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}
    modes = spec(obj).get("accessModes") or status(obj).get("accessModes") or []
    return ", ".join(short.get(m, m) for m in modes) or "--"


def _pvc_capacity(obj: dict, _ctx=None) -> str:
    quantity = (status(obj).get("capacity") or {}).get("storage") or \
        ((spec(obj).get("resources") or {}).get("requests") or {}).get("storage")
    return memory(quantity) if quantity else "--"


def _pv_claim(obj: dict, _ctx=None) -> str:
    ref = spec(obj).get("claimRef") or {}
    return f"{ref.get('namespace')}/{ref.get('name')}" if ref.get("name") else "--"


_DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"


# --- nodes --------------------------------------------------------------------------------

def node_status(node: dict) -> tuple[str, str]:
    ready = condition(node, "Ready")
    text, tone = ("Ready", "ok") if ready and ready.get("status") == "True" else ("NotReady", "error")
    if spec(node).get("unschedulable"):
        return (f"{text},SchedulingDisabled", "warn" if tone == "ok" else tone)
    return (text, tone)


def node_roles(node: dict, _ctx=None) -> str:
    prefix = "node-role.kubernetes.io/"
    roles = sorted(k[len(prefix):] for k in (meta(node).get("labels") or {}) if k.startswith(prefix))
    return ", ".join(roles) or "<none>"


def _cpu_mem(resources: dict | None) -> str:
    resources = resources or {}
    return f"{cpu(resources.get('cpu'))} CPU · {memory(resources.get('memory'))}"


def _node_pods(node: dict, ctx: dict) -> str:
    counts = ctx.get("pods_per_node")
    if counts is None:
        return "--"
    return f"{counts.get(meta(node).get('name'), 0)}/{(status(node).get('allocatable') or {}).get('pods', '--')}"


def _nodes_context(api, items) -> dict:
    """Pod counts per node: one paged list of the cluster's active pods, as the user."""
    from cceone.kube.gateway import KubeError

    try:
        pods = api.list_all(get("pods"), field_selector="status.phase!=Succeeded,status.phase!=Failed")
    except KubeError:
        return {"pods_per_node": None}
    counts: dict[str, int] = {}
    for pod in pods:
        node = spec(pod).get("nodeName")
        if node:
            counts[node] = counts.get(node, 0) + 1
    return {"pods_per_node": counts}


def _node_summary(node: dict) -> list:
    info = status(node).get("nodeInfo") or {}
    addresses = format_html_join(", ", "{} ({})", ((a.get("address"), a.get("type"))
                                                   for a in status(node).get("addresses") or []))
    return [
        (_("Roles"), node_roles(node)),
        (_("Addresses"), addresses or "--"),
        (_("Kubelet version"), info.get("kubeletVersion") or "--"),
        (_("Container runtime"), info.get("containerRuntimeVersion") or "--"),
        (_("OS image"), info.get("osImage") or "--"),
        (_("Kernel"), info.get("kernelVersion") or "--"),
        (_("Architecture"), info.get("architecture") or "--"),
        (_("Capacity"), _cpu_mem(status(node).get("capacity"))),
        (_("Allocatable"), _cpu_mem(status(node).get("allocatable"))),
        (_("Pod CIDR"), spec(node).get("podCIDR") or "--"),
        (_("Schedulable"), _("No (cordoned)") if spec(node).get("unschedulable") else _("Yes")),
    ]


# --- events -------------------------------------------------------------------------------

def event_time(event: dict) -> str | None:
    return (event.get("lastTimestamp") or (event.get("series") or {}).get("lastObservedTime")
            or event.get("eventTime") or event.get("firstTimestamp") or meta(event).get("creationTimestamp"))


def _event_object(event: dict, _ctx=None) -> str:
    involved = event.get("involvedObject") or {}
    return f"{involved.get('kind', '')}/{involved.get('name', '')}"


def _event_status(event: dict) -> tuple[str, str]:
    kind = event.get("type") or "Normal"
    return (kind, "warn" if kind == "Warning" else "muted")


# --- the kinds ----------------------------------------------------------------------------

NAMESPACE_TEMPLATE = """apiVersion: v1
kind: Namespace
metadata:
  name: my-namespace
  labels: {}
"""

register(Kind(
    "Namespace", "namespaces", "", "v1", False, "cluster", _("Namespaces"), _("Namespace"),
    columns=(Column(_("Labels"), lambda o, c: ", ".join(f"{k}={v}" for k, v in (meta(o).get("labels") or {}).items()
                                                        if not k.startswith("kubernetes.io/")) or "--"),),
    status=_phase, template=NAMESPACE_TEMPLATE, conditions=False,
))

register(Kind(
    "Deployment", "deployments", "apps", "v1", True, "workloads", _("Deployments"), _("Deployment"),
    columns=(Column(_("Ready"), lambda o, c: _ready_of(o)),
             Column(_("Up-to-date"), lambda o, c: status(o).get("updatedReplicas") or 0),
             Column(_("Available"), lambda o, c: status(o).get("availableReplicas") or 0),
             Column(_("Images"), lambda o, c: _images(o))),
    status=_deployment_status, summary=_workload_summary, scalable=True, restartable=True,
    template="""apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-app
  labels:
    app: my-app
spec:
  replicas: 2
  selector:
    matchLabels:
      app: my-app
  template:
    metadata:
      labels:
        app: my-app
    spec:
      containers:
      - name: main
        image: nginx:1.27
        ports:
        - containerPort: 80
""",
))

register(Kind(
    "StatefulSet", "statefulsets", "apps", "v1", True, "workloads", _("StatefulSets"), _("StatefulSet"),
    columns=(Column(_("Ready"), lambda o, c: _ready_of(o)), Column(_("Images"), lambda o, c: _images(o))),
    status=_replicas_status, summary=_workload_summary, scalable=True, restartable=True,
    template="""apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: my-db
spec:
  serviceName: my-db
  replicas: 1
  selector:
    matchLabels:
      app: my-db
  template:
    metadata:
      labels:
        app: my-db
    spec:
      containers:
      - name: main
        image: redis:7
""",
))

register(Kind(
    "DaemonSet", "daemonsets", "apps", "v1", True, "workloads", _("DaemonSets"), _("DaemonSet"),
    columns=(Column(_("Desired"), lambda o, c: status(o).get("desiredNumberScheduled") or 0),
             Column(_("Current"), lambda o, c: status(o).get("currentNumberScheduled") or 0),
             Column(_("Ready"), lambda o, c: status(o).get("numberReady") or 0),
             Column(_("Images"), lambda o, c: _images(o))),
    status=_daemonset_status, summary=_workload_summary, restartable=True,
    template="""apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: my-agent
spec:
  selector:
    matchLabels:
      app: my-agent
  template:
    metadata:
      labels:
        app: my-agent
    spec:
      containers:
      - name: main
        image: busybox:1.36
        command: ["sleep", "infinity"]
""",
))

register(Kind(
    "Job", "jobs", "batch", "v1", True, "workloads", _("Jobs"), _("Job"),
    columns=(Column(_("Completions"), lambda o, c: f"{status(o).get('succeeded') or 0}/{spec(o).get('completions', 1)}"),
             Column(_("Duration"), _job_duration), Column(_("Images"), lambda o, c: _images(o))),
    status=_job_status,
    summary=lambda o: [(_("Completions"), spec(o).get("completions", 1)), (_("Parallelism"), spec(o).get("parallelism", 1)),
                       (_("Backoff limit"), spec(o).get("backoffLimit", 6)), (_("Images"), _images(o)),
                       (_("Duration"), _job_duration(o))],
    template="""apiVersion: batch/v1
kind: Job
metadata:
  name: my-job
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox:1.36
        command: ["echo", "hello"]
""",
))

register(Kind(
    "CronJob", "cronjobs", "batch", "v1", True, "workloads", _("CronJobs"), _("CronJob"),
    columns=(Column(_("Schedule"), lambda o, c: spec(o).get("schedule") or "--"),
             Column(_("Suspend"), lambda o, c: _("Yes") if spec(o).get("suspend") else _("No")),
             Column(_("Active"), lambda o, c: len(status(o).get("active") or [])),
             Column(_("Last schedule"), lambda o, c: age(status(o).get("lastScheduleTime")))),
    status=_cronjob_status, conditions=False,
    summary=lambda o: [(_("Schedule"), spec(o).get("schedule") or "--"),
                       (_("Concurrency policy"), spec(o).get("concurrencyPolicy") or "Allow"),
                       (_("Suspend"), _("Yes") if spec(o).get("suspend") else _("No")),
                       (_("Images"), _images(o)),
                       (_("Last schedule"), status(o).get("lastScheduleTime") or "--")],
    template="""apiVersion: batch/v1
kind: CronJob
metadata:
  name: my-cronjob
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: main
            image: busybox:1.36
            command: ["date"]
""",
))

register(Kind(
    "Pod", "pods", "", "v1", True, "workloads", _("Pods"), _("Pod"),
    columns=(Column(_("Ready"), _pod_ready), Column(_("Restarts"), _pod_restarts),
             Column(_("Node"), lambda o, c: spec(o).get("nodeName") or "--"),
             Column(_("Pod IP"), lambda o, c: status(o).get("podIP") or "--")),
    status=pod_status, summary=_pod_summary, has_logs=True,
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

register(Kind(
    "Service", "services", "", "v1", True, "network", _("Services"), _("Service"),
    columns=(Column(_("Type"), lambda o, c: spec(o).get("type") or "ClusterIP"),
             Column(_("Cluster IP"), lambda o, c: spec(o).get("clusterIP") or "--"),
             Column(_("External IP"), _external_ip), Column(_("Ports"), _service_ports)),
    status=_service_status, conditions=False,
    summary=lambda o: [(_("Type"), spec(o).get("type") or "ClusterIP"),
                       (_("Cluster IP"), spec(o).get("clusterIP") or "--"),
                       (_("External IP"), _external_ip(o)), (_("Ports"), _service_ports(o)),
                       (_("Selector"), ", ".join(f"{k}={v}" for k, v in (spec(o).get("selector") or {}).items()) or "--"),
                       (_("Session affinity"), spec(o).get("sessionAffinity") or "None")],
    template="""apiVersion: v1
kind: Service
metadata:
  name: my-service
spec:
  type: ClusterIP
  selector:
    app: my-app
  ports:
  - port: 80
    targetPort: 80
    protocol: TCP
""",
))

register(Kind(
    "Ingress", "ingresses", "networking.k8s.io", "v1", True, "network", _("Ingresses"), _("Ingress"),
    columns=(Column(_("Class"), lambda o, c: spec(o).get("ingressClassName") or "--"),
             Column(_("Hosts"), _ingress_hosts), Column(_("Address"), _ingress_address),
             Column(_("Ports"), _ingress_ports)),
    status=lambda o: (_("Active"), "ok") if _ingress_address(o) != "--" else (_("Pending"), "warn"),
    summary=_ingress_summary, conditions=False,
    template="""apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: my-ingress
spec:
  rules:
  - host: app.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: my-service
            port:
              number: 80
""",
))

register(Kind(
    "ConfigMap", "configmaps", "", "v1", True, "configuration", _("ConfigMaps"), _("ConfigMap"),
    columns=(Column(_("Data"), lambda o, c: len(o.get("data") or {}) + len(o.get("binaryData") or {})),),
    conditions=False, show_status=False,
    template="""apiVersion: v1
kind: ConfigMap
metadata:
  name: my-config
data:
  key: value
""",
))

register(Kind(
    "Secret", "secrets", "", "v1", True, "configuration", _("Secrets"), _("Secret"),
    columns=(Column(_("Type"), lambda o, c: o.get("type") or "Opaque"),
             Column(_("Data"), lambda o, c: len(o.get("data") or {}))),
    conditions=False, show_status=False, summary=lambda o: [(_("Type"), o.get("type") or "Opaque")],
    template="""apiVersion: v1
kind: Secret
metadata:
  name: my-secret
type: Opaque
stringData:
  password: change-me
""",
))

register(Kind(
    "PersistentVolumeClaim", "persistentvolumeclaims", "", "v1", True, "storage", _("PersistentVolumeClaims"),
    _("PersistentVolumeClaim"),
    columns=(Column(_("Volume"), lambda o, c: spec(o).get("volumeName") or "--"),
             Column(_("Capacity"), _pvc_capacity), Column(_("Access modes"), _access_modes),
             Column(_("Storage class"), lambda o, c: spec(o).get("storageClassName") or "--")),
    status=_phase,
    summary=lambda o: [(_("Capacity"), _pvc_capacity(o)), (_("Access modes"), _access_modes(o)),
                       (_("Storage class"), spec(o).get("storageClassName") or "--"),
                       (_("Volume mode"), spec(o).get("volumeMode") or "Filesystem")],
    template="""apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: my-claim
spec:
  accessModes: ["ReadWriteOnce"]
  resources:
    requests:
      storage: 1Gi
""",
))

register(Kind(
    "PersistentVolume", "persistentvolumes", "", "v1", False, "storage", _("PersistentVolumes"),
    _("PersistentVolume"),
    columns=(Column(_("Capacity"), lambda o, c: memory((spec(o).get("capacity") or {}).get("storage"))),
             Column(_("Access modes"), _access_modes),
             Column(_("Reclaim policy"), lambda o, c: spec(o).get("persistentVolumeReclaimPolicy") or "--"),
             Column(_("Claim"), _pv_claim),
             Column(_("Storage class"), lambda o, c: spec(o).get("storageClassName") or "--")),
    status=_phase,
    summary=lambda o: [(_("Capacity"), memory((spec(o).get("capacity") or {}).get("storage"))),
                       (_("Access modes"), _access_modes(o)),
                       (_("Reclaim policy"), spec(o).get("persistentVolumeReclaimPolicy") or "--"),
                       (_("Claim"), _pv_claim(o)), (_("Storage class"), spec(o).get("storageClassName") or "--")],
    template="""apiVersion: v1
kind: PersistentVolume
metadata:
  name: my-volume
spec:
  capacity:
    storage: 10Gi
  accessModes: ["ReadWriteOnce"]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: standard
  hostPath:
    path: /data/my-volume
""",
))

register(Kind(
    "StorageClass", "storageclasses", "storage.k8s.io", "v1", False, "storage", _("StorageClasses"),
    _("StorageClass"),
    columns=(Column(_("Provisioner"), lambda o, c: o.get("provisioner") or "--"),
             Column(_("Reclaim policy"), lambda o, c: o.get("reclaimPolicy") or "Delete"),
             Column(_("Binding mode"), lambda o, c: o.get("volumeBindingMode") or "Immediate"),
             Column(_("Default"), lambda o, c: _("Yes") if (meta(o).get("annotations") or {}).get(_DEFAULT_CLASS) == "true"
                    else _("No"))),
    conditions=False, show_status=False,
    summary=lambda o: [(_("Provisioner"), o.get("provisioner") or "--"),
                       (_("Reclaim policy"), o.get("reclaimPolicy") or "Delete"),
                       (_("Binding mode"), o.get("volumeBindingMode") or "Immediate"),
                       (_("Allow volume expansion"), _("Yes") if o.get("allowVolumeExpansion") else _("No")),
                       (_("Parameters"), ", ".join(f"{k}={v}" for k, v in (o.get("parameters") or {}).items()) or "--")],
    template="""apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: my-class
provisioner: rancher.io/local-path
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
""",
))

register(Kind(
    "Node", "nodes", "", "v1", False, "cluster", _("Nodes"), _("Node"),
    columns=(Column(_("Roles"), node_roles),
             Column(_("Version"), lambda o, c: (status(o).get("nodeInfo") or {}).get("kubeletVersion") or "--"),
             Column(_("Capacity"), lambda o, c: _cpu_mem(status(o).get("capacity"))),
             Column(_("Allocatable"), lambda o, c: _cpu_mem(status(o).get("allocatable"))),
             Column(_("Pods"), _node_pods)),
    status=node_status, summary=_node_summary, list_context=_nodes_context,
    template="""apiVersion: v1
kind: Node
metadata:
  name: my-node
  labels:
    kubernetes.io/hostname: my-node
""",
))

register(Kind(
    "Event", "events", "", "v1", True, "cluster", _("Events"), _("Event"),
    columns=(Column(_("Reason"), lambda o, c: o.get("reason") or "--"),
             Column(_("Object"), _event_object),
             Column(_("Message"), lambda o, c: o.get("message") or ""),
             Column(_("Count"), lambda o, c: o.get("count") or 1),
             Column(_("Last seen"), lambda o, c: age(event_time(o)))),
    status=_event_status, conditions=False,
    summary=lambda o: [(_("Type"), o.get("type") or "Normal"), (_("Reason"), o.get("reason") or "--"),
                       (_("Object"), _event_object(o)), (_("Message"), o.get("message") or ""),
                       (_("Source"), (o.get("source") or {}).get("component") or o.get("reportingComponent") or "--"),
                       (_("Count"), o.get("count") or 1), (_("Last seen"), event_time(o) or "--")],
    template="""apiVersion: v1
kind: Event
metadata:
  name: my-event
involvedObject:
  kind: Pod
  name: my-pod
  namespace: default
reason: Noted
message: Something worth noting
type: Normal
""",
))
