"""Pod diagnosis (DIAGNOSIS.md §1)."""
import re

from django.utils.translation import gettext_noop as N_

from ..findings import Evidence, Finding
from .common import check, event_evidence, parse_time

WAITING_ERRORS = {"CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "ErrImageNeverPull", "InvalidImageName",
                  "ImageInspectError", "CreateContainerConfigError", "CreateContainerError", "RunContainerError",
                  "PreCreateHookError", "PreStartHookError"}
RESTART_THRESHOLD = 5
STUCK_MARGIN_SECONDS = 60
# POD-LOG-ERRORS: k8sgpt's Log analyzer reads the last 100 lines and matches these words.
LOG_LINES = 100
LOG_PATTERN = re.compile(r"error|exception|fail", re.IGNORECASE)
LOG_EVIDENCE_LINES = 20


def _statuses(ctx, init=True):
    found = [("containerStatuses", s) for s in ctx.status.get("containerStatuses") or []]
    if init:
        found += [("initContainerStatuses", s) for s in ctx.status.get("initContainerStatuses") or []]
    return found


def _scheduled(ctx) -> dict:
    return next((c for c in ctx.status.get("conditions") or [] if c.get("type") == "PodScheduled"), {})


def _field(path, status, part):
    return f"status.{path}[{status.get('name')}].{part}"


@check("pods", "POD-UNSCHEDULABLE", N_("Scheduling"), "critical",
       N_("Lower requests or add capacity. Check nodeSelector, affinity and anti-affinity, tolerations against node "
          "taints, and PVC zone/topology. Check that nodes are Ready and not cordoned."))
def unschedulable(ctx):
    cond = _scheduled(ctx)
    if ctx.status.get("phase") == "Pending" and cond.get("reason") == "Unschedulable" and cond.get("message"):
        return Finding(N_("%(message)s"), {"message": cond["message"]},
                       [Evidence("status.conditions[PodScheduled]", cond)])


@check("pods", "POD-SCHEDULING-GATED", N_("Scheduling gates"), "warning",
       N_("Find the controller responsible for spec.schedulingGates and check why it has not removed the gate."))
def gated(ctx):
    cond = _scheduled(ctx)
    if ctx.status.get("phase") == "Pending" and cond.get("reason") == "SchedulingGated":
        return Finding(N_("Pod %(pod)s is blocked from scheduling by non-empty schedulingGates: %(message)s"),
                       {"pod": f"{ctx.namespace}/{ctx.name}", "message": cond.get("message", "")},
                       [Evidence("spec.schedulingGates", ctx.spec.get("schedulingGates") or []),
                        Evidence("status.conditions[PodScheduled]", cond)])


@check("pods", "POD-EVICTED", N_("Eviction"), "critical",
       N_("The node was under resource pressure. Set requests equal to real usage, add limits, and check the node's "
          "disk and memory. Delete evicted pods; the controller recreates them."))
def evicted(ctx):
    if ctx.status.get("reason") == "Evicted":
        return Finding(N_("Pod was evicted: %(message)s"), {"message": ctx.status.get("message", "")},
                       [Evidence("status.reason", "Evicted"), Evidence("status.message", ctx.status.get("message", ""))])


@check("pods", "POD-PHASE", N_("Pod phase"), "critical",
       N_("For Failed, check the container statuses and events. For Unknown, check the node."))
def phase(ctx):
    value = ctx.status.get("phase")
    if value == "Failed":
        return Finding(N_("Pod phase Failed: %(reason)s"),
                       {"reason": ctx.status.get("reason") or ctx.status.get("message") or "--"},
                       [Evidence("status.phase", value)])
    if value == "Unknown":
        return Finding(N_("Pod phase Unknown (node lost contact)"), {}, [Evidence("status.phase", value)])


@check("pods", "POD-CRASHLOOP", N_("Crash loop"), "critical",
       N_("Read the previous container's logs. For OOMKilled, raise resources.limits.memory or fix the leak. For "
          "Error, check the exit code, command and args, configuration and dependencies. For Completed, the main "
          "process exits: the container needs a long-running command."))
def crashloop(ctx):
    found = []
    for path, status in _statuses(ctx):
        waiting = (status.get("state") or {}).get("waiting") or {}
        terminated = (status.get("lastState") or {}).get("terminated")
        if waiting.get("reason") == "CrashLoopBackOff" and terminated:
            found.append(Finding(
                N_("The last termination reason is %(reason)s (exit code %(code)s) container=%(container)s "
                   "pod=%(pod)s"),
                {"reason": terminated.get("reason") or "Unknown", "code": terminated.get("exitCode"),
                 "container": status.get("name"), "pod": ctx.name},
                [Evidence(_field(path, status, "state"), status.get("state")),
                 Evidence(_field(path, status, "lastState"), status.get("lastState")),
                 Evidence(_field(path, status, "restartCount"), status.get("restartCount", 0))]))
    return found


@check("pods", "POD-WAITING-ERROR", N_("Container waiting"), "critical",
       N_("Image errors: check the image name and tag, that the registry is reachable from the node, "
          "imagePullSecrets, rate limits, and that imagePullPolicy Never has the image preloaded. "
          "CreateContainerConfigError: a referenced ConfigMap or Secret, or a key in it, is missing. Hook errors: "
          "fix the lifecycle hook command. RunContainerError: bad command, missing binary, or a security context "
          "that denies it."))
def waiting_error(ctx):
    found = []
    for path, status in _statuses(ctx):
        waiting = (status.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason")
        if reason not in WAITING_ERRORS or not waiting.get("message"):
            continue
        if reason == "CrashLoopBackOff" and (status.get("lastState") or {}).get("terminated"):
            continue  # POD-CRASHLOOP reports it with the termination reason
        found.append(Finding(N_("Container %(container)s is waiting (%(reason)s): %(message)s"),
                             {"container": status.get("name"), "reason": reason, "message": waiting["message"]},
                             [Evidence(_field(path, status, "state.waiting"), waiting),
                              Evidence(_field(path, status, "image"), status.get("image", ""))]))
    return found


@check("pods", "POD-TERMINATED-NONZERO", N_("Container exit code"), "critical",
       N_("Exit codes: 1 = application error; 126/127 = command not executable or not found; 137 = SIGKILL "
          "(out of memory or a failed liveness probe); 139 = segmentation fault; 143 = SIGTERM. Read the logs."))
def terminated_nonzero(ctx):
    found = []
    for path, status in _statuses(ctx):
        terminated = (status.get("state") or {}).get("terminated") or {}
        if terminated and terminated.get("exitCode", 0) != 0:
            found.append(Finding(
                N_("The termination reason is %(reason)s exitCode=%(code)s container=%(container)s pod=%(pod)s"),
                {"reason": terminated.get("reason") or "Unknown", "code": terminated.get("exitCode"),
                 "container": status.get("name"), "pod": ctx.name},
                [Evidence(_field(path, status, "state.terminated"), terminated)]))
    return found


@check("pods", "POD-SANDBOX-OR-MOUNT", N_("Sandbox and volume mounts"), "critical",
       N_("Sandbox: check the CNI plugin pods on that node and IP exhaustion. Mount: check that the referenced PVC, "
          "Secret or ConfigMap exists, that the CSI driver pods are healthy, and for attach/detach conflicts (a RWO "
          "volume still attached elsewhere)."))
def sandbox_or_mount(ctx):
    creating = any(((s.get("state") or {}).get("waiting") or {}).get("reason") == "ContainerCreating"
                   for _, s in _statuses(ctx))
    if not creating or ctx.status.get("phase") != "Pending":
        return None
    latest = ctx.latest_event()
    if latest and latest.get("reason") in ("FailedCreatePodSandBox", "FailedMount"):
        return Finding(N_("%(message)s"), {"message": latest.get("message", "")}, [event_evidence(latest)])


@check("pods", "POD-NOT-READY-PROBE", N_("Readiness"), "warning",
       N_("Check the probe's path, port, scheme and timeouts. Use a startupProbe or a larger initialDelaySeconds "
          "for slow starts. Check the dependencies the probe touches."))
def not_ready_probe(ctx):
    if ctx.status.get("phase") != "Running":
        return None
    unready = [s for _, s in _statuses(ctx, init=False) if not s.get("ready")
               and not (s.get("state") or {}).get("waiting") and not (s.get("state") or {}).get("terminated")]
    if not unready:
        return None
    latest = ctx.latest_event()
    if latest and latest.get("reason") == "Unhealthy":
        return Finding(N_("%(message)s"), {"message": latest.get("message", "")},
                       [event_evidence(latest), *[Evidence(_field("containerStatuses", s, "ready"), False)
                                                  for s in unready]])


@check("pods", "POD-PVC-PENDING", N_("Persistent volume claims"), "critical",
       N_("Check that the StorageClass exists and its provisioner is running, quota, the requested size and access "
          "mode, and that WaitForFirstConsumer is combined with a schedulable pod."))
def pvc_pending(ctx):
    found = []
    for volume in ctx.spec.get("volumes") or []:
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        pvc = ctx.get("persistentvolumeclaims", claim, ctx.namespace) if claim else None
        if pvc and (pvc.get("status") or {}).get("phase") == "Pending":
            latest = ctx.latest_event(pvc, "PersistentVolumeClaim")
            found.append(Finding(N_("PVC %(pvc)s is Pending: %(message)s"),
                                 {"pvc": f"{ctx.namespace}/{claim}", "message": (latest or {}).get("message", "")},
                                 [Evidence(f"PersistentVolumeClaim {claim} status.phase", "Pending"),
                                  *([event_evidence(latest)] if latest else [])]))
    return found


def _references(spec: dict):
    """(kind plural, name, field) of every object the pod refers to, optional ones left out."""
    for i, volume in enumerate(spec.get("volumes") or []):
        if volume.get("configMap") and not volume["configMap"].get("optional"):
            yield "configmaps", volume["configMap"].get("name"), f"spec.volumes[{i}].configMap"
        if volume.get("secret") and not volume["secret"].get("optional"):
            yield "secrets", volume["secret"].get("secretName"), f"spec.volumes[{i}].secret"
        if volume.get("persistentVolumeClaim"):
            yield "persistentvolumeclaims", volume["persistentVolumeClaim"].get("claimName"), \
                f"spec.volumes[{i}].persistentVolumeClaim"
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        cname = container.get("name")
        for env in container.get("env") or []:
            source = env.get("valueFrom") or {}
            for key, plural in (("configMapKeyRef", "configmaps"), ("secretKeyRef", "secrets")):
                ref = source.get(key)
                if ref and not ref.get("optional"):
                    yield plural, ref.get("name"), f"containers[{cname}].env[{env.get('name')}].valueFrom.{key}"
        for source in container.get("envFrom") or []:
            for key, plural in (("configMapRef", "configmaps"), ("secretRef", "secrets")):
                ref = source.get(key)
                if ref and not ref.get("optional"):
                    yield plural, ref.get("name"), f"containers[{cname}].envFrom.{key}"
    for ref in spec.get("imagePullSecrets") or []:
        yield "secrets", ref.get("name"), "spec.imagePullSecrets"
    if spec.get("serviceAccountName") and spec["serviceAccountName"] != "default":
        yield "serviceaccounts", spec["serviceAccountName"], "spec.serviceAccountName"


KIND_NAMES = {"configmaps": "ConfigMap", "secrets": "Secret", "persistentvolumeclaims": "PersistentVolumeClaim",
              "serviceaccounts": "ServiceAccount"}


@check("pods", "POD-REF-MISSING", N_("Referenced objects"), "critical",
       N_("Create the object or fix the name or key, or mark the reference optional."))
def ref_missing(ctx):
    found, seen = [], set()
    for plural, name, field in _references(ctx.spec):
        if not name or (plural, name) in seen:
            continue
        seen.add((plural, name))
        if ctx.get(plural, name, ctx.namespace) is None:
            found.append(Finding(N_("Pod references %(kind)s %(object)s which does not exist"),
                                 {"kind": KIND_NAMES[plural], "object": f"{ctx.namespace}/{name}"},
                                 [Evidence(field, name)]))
    return found


@check("pods", "POD-RESTARTS", N_("Restarts"), "warning",
       N_("As for a crash loop: check the liveness probe, memory limits and the previous container's logs."))
def restarts(ctx):
    found = []
    for path, status in _statuses(ctx, init=False):
        count = status.get("restartCount") or 0
        if count >= RESTART_THRESHOLD:
            last = (status.get("lastState") or {}).get("terminated") or {}
            found.append(Finding(N_("Container %(container)s restarted %(count)s times; last reason %(reason)s at "
                                    "%(at)s"),
                                 {"container": status.get("name"), "count": count,
                                  "reason": last.get("reason") or "--", "at": last.get("finishedAt") or "--"},
                                 [Evidence(_field(path, status, "restartCount"), count),
                                  Evidence(_field(path, status, "lastState"), status.get("lastState") or {})]))
    return found


@check("pods", "POD-STUCK-TERMINATING", N_("Termination"), "warning",
       N_("If the node is down, the pod is released once the node is deleted or recovers. Check finalizers and "
          "volume detach. Force deletion is a last resort."))
def stuck_terminating(ctx):
    deleted = parse_time(ctx.meta.get("deletionTimestamp"))
    if not deleted:
        return None
    grace = ctx.meta.get("deletionGracePeriodSeconds") or 30
    age = (ctx.now - deleted).total_seconds()
    if age > grace + STUCK_MARGIN_SECONDS:
        return Finding(N_("Pod stuck terminating for %(seconds)s s; finalizers: %(finalizers)s; node: %(node)s"),
                       {"seconds": int(age), "finalizers": ", ".join(ctx.meta.get("finalizers") or []) or "--",
                        "node": ctx.spec.get("nodeName") or "--"},
                       [Evidence("metadata.deletionTimestamp", ctx.meta.get("deletionTimestamp")),
                        Evidence("metadata.finalizers", ctx.meta.get("finalizers") or [])])


@check("pods", "POD-NODE-NOTREADY", N_("Node"), "critical",
       N_("See the node's diagnosis; pods are evicted once their toleration for node.kubernetes.io/unreachable "
          "expires (300 s by default)."))
def node_not_ready(ctx):
    node_name = ctx.spec.get("nodeName")
    node = ctx.get("nodes", node_name) if node_name else None
    if not node:
        return None
    ready = next((c for c in (node.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), {})
    if ready.get("status") != "True":
        return Finding(N_("Pod runs on node %(node)s which is %(state)s"),
                       {"node": node_name, "state": "NotReady" if ready.get("status") == "False" else "Unknown"},
                       [Evidence(f"Node {node_name} status.conditions[Ready]", ready)])


@check("pods", "POD-INIT-BLOCKED", N_("Init containers"), "warning",
       N_("Read the init container's logs and check the dependencies it waits for (DNS, services)."))
def init_blocked(ctx):
    if ctx.status.get("phase") != "Pending":
        return None
    statuses = ctx.status.get("initContainerStatuses") or []
    for status in statuses:
        state = status.get("state") or {}
        if state.get("running") or (state.get("waiting") and state["waiting"].get("reason") not in WAITING_ERRORS):
            done = sum(1 for s in statuses if ((s.get("state") or {}).get("terminated") or {}).get("exitCode") == 0)
            return Finding(N_("Init container %(container)s has not completed (Init:%(done)s/%(total)s)"),
                           {"container": status.get("name"), "done": done, "total": len(statuses)},
                           [Evidence(_field("initContainerStatuses", status, "state"), state)])


@check("pods", "POD-NO-RESOURCES", N_("Requests and limits"), "info",
       N_("Set CPU and memory requests and limits (see the inspection checks NoCPURequests, NoMemoryLimits …)."))
def no_resources(ctx):
    found = []
    for container in ctx.spec.get("containers") or []:
        resources = container.get("resources") or {}
        if not resources.get("requests") or not resources.get("limits"):
            found.append(Finding(N_("Container %(container)s has no CPU/memory requests or limits"),
                                 {"container": container.get("name")},
                                 [Evidence(f"spec.containers[{container.get('name')}].resources", resources)]))
    return found


@check("pods", "POD-WARNING-EVENTS", N_("Warning events"), "warning",
       N_("Read the events together with the other findings; they usually name the cause."))
def warning_events(ctx):
    grouped: dict[str, list] = {}
    for event in ctx.warning_events():
        grouped.setdefault(event.get("reason", ""), []).append(event)
    return [Finding(N_("%(count)s× %(reason)s: %(message)s"),
                    {"count": sum(e.get("count") or 1 for e in events), "reason": reason,
                     "message": events[0].get("message", "")}, [event_evidence(events[0])])
            for reason, events in grouped.items()]


@check("pods", "POD-LOG-ERRORS", N_("Container logs"), "warning",
       N_("Read the matching lines in context in the log viewer; the previous instance's log usually says why a "
          "restarted container stopped."))
def log_errors(ctx):
    """The last lines of each container's log, and of its previous instance when it restarted,
    scanned for error, exception and fail (k8sgpt's Log analyzer)."""
    restarted = {s.get("name"): (s.get("restartCount") or 0) > 0 for s in ctx.status.get("containerStatuses") or []}
    found = []
    for container in ctx.spec.get("containers") or []:
        name = container.get("name")
        for previous in (False, True) if restarted.get(name) else (False,):
            lines = ctx.container_log(name, previous, LOG_LINES)
            matches = [line for line in lines or [] if LOG_PATTERN.search(line)]
            if not matches:
                continue
            message = (N_("The previous instance of container %(container)s logged %(count)s lines matching error, "
                          "exception or fail in its last %(lines)s lines") if previous else
                       N_("Container %(container)s logged %(count)s lines matching error, exception or fail in its "
                          "last %(lines)s lines"))
            field = f"previous container logs [{name}]" if previous else f"container logs [{name}]"
            found.append(Finding(message, {"container": name, "count": len(matches), "lines": len(lines),
                                           "previous": previous},
                                 [Evidence(field, "\n".join(matches[-LOG_EVIDENCE_LINES:]))]))
    return found
