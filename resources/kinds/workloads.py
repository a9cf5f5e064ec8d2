"""Deployments, StatefulSets, DaemonSets, Jobs and CronJobs."""
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .. import related
from ..formatting import age, condition, parse_time, spec, status
from ..create_forms import CronJobForm, DaemonSetForm, DeploymentForm, JobForm, StatefulSetForm
from ..registry import Column, Kind, register
from .common import container_specs, images, ready_of, replicas_status


def _specs(view, obj) -> dict:
    return {"specs": container_specs(obj)}


SPECS = {"detail_context": _specs, "detail_template": "resources/partials/container_specs.html"}


def _deployment_status(obj: dict) -> tuple[str, str]:
    if spec(obj).get("paused"):
        return (_("Paused"), "warn")
    return replicas_status(obj)


def _strategy(obj: dict) -> str:
    strategy = spec(obj).get("strategy") or spec(obj).get("updateStrategy") or {}
    return strategy.get("type") or "--"


def _workload_summary(obj: dict, replicated: bool = False) -> list:
    sp = spec(obj)
    rows = [(_("Selector"), ", ".join(f"{k}={v}" for k, v in ((sp.get("selector") or {}).get("matchLabels") or {}).items()) or "--"),
            (_("Images"), images(obj)),
            (_("Update strategy"), _strategy(obj))]
    if replicated or "replicas" in sp:
        st = status(obj)
        rows[0:0] = [(_("Replicas"), format_html(
            "{} {} · {} {} · {} {}", sp.get("replicas", 1), _("desired"), st.get("readyReplicas") or 0, _("ready"),
            st.get("availableReplicas") or 0, _("available")))]
    return rows


def _deployment_summary(obj: dict) -> list:
    return _workload_summary(obj, replicated=True)


def _statefulset_summary(obj: dict) -> list:
    return [*_workload_summary(obj, replicated=True), (_("Service name"), spec(obj).get("serviceName") or "--")]


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


register(Kind(
    "Deployment", "deployments", "apps", "v1", True, "workloads", _("Deployments"), _("Deployment"),
    columns=(Column(_("Ready"), lambda o, c: ready_of(o)),
             Column(_("Up-to-date"), lambda o, c: status(o).get("updatedReplicas") or 0),
             Column(_("Available"), lambda o, c: status(o).get("availableReplicas") or 0),
             Column(_("Images"), lambda o, c: images(o))),
    status=_deployment_status, summary=_deployment_summary, scalable=True, restartable=True,
    related=related.workload_pods, create_form=DeploymentForm, reads=(("apps", "replicasets"),),
    **SPECS,
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
    columns=(Column(_("Ready"), lambda o, c: ready_of(o)), Column(_("Images"), lambda o, c: images(o))),
    status=replicas_status, summary=_statefulset_summary, scalable=True, restartable=True,
    related=related.workload_pods, create_form=StatefulSetForm,
    **SPECS,
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
             Column(_("Images"), lambda o, c: images(o))),
    status=_daemonset_status, summary=_workload_summary, restartable=True, related=related.workload_pods,
    create_form=DaemonSetForm,
    **SPECS,
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
             Column(_("Duration"), _job_duration), Column(_("Images"), lambda o, c: images(o))),
    status=_job_status, related=related.job_pods, create_form=JobForm,
    summary=lambda o: [(_("Completions"), spec(o).get("completions", 1)), (_("Parallelism"), spec(o).get("parallelism", 1)),
                       (_("Backoff limit"), spec(o).get("backoffLimit", 6)), (_("Images"), images(o)),
                       (_("Duration"), _job_duration(o))],
    **SPECS,
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
    status=_cronjob_status, conditions=False, related=related.cronjob_jobs, create_form=CronJobForm,
    summary=lambda o: [(_("Schedule"), spec(o).get("schedule") or "--"),
                       (_("Concurrency policy"), spec(o).get("concurrencyPolicy") or "Allow"),
                       (_("Suspend"), _("Yes") if spec(o).get("suspend") else _("No")),
                       (_("Images"), images(o)),
                       (_("Last schedule"), status(o).get("lastScheduleTime") or "--")],
    **SPECS,
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
