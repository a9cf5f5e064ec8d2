"""Workload checks (INSPECTION.md §3 with the semantics of §7): per container, one finding
per workload listing the offending containers; initContainers are not regular containers."""
from django.utils.translation import gettext_noop as N_

from .registry import DANGER, IGNORE, WARNING, inspection_check

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod")
LONG_RUNNING = ("Deployment", "StatefulSet", "DaemonSet", "Pod")
HIGH_RISK = {"ALL", "SYS_ADMIN", "NET_ADMIN"}
INSECURE = {"CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID", "SETFCAP",
            "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE"}


def pod_spec(obj: dict) -> dict:
    spec = obj.get("spec") or {}
    kind = obj.get("kind")
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        return (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
    return (spec.get("template") or {}).get("spec") or {}


def containers(obj: dict) -> list[dict]:
    return pod_spec(obj).get("containers") or []


def _failing(obj, test) -> tuple[str, dict] | None:
    names = [c.get("name", "?") for c in containers(obj) if test(c)]
    if names:
        return N_("Containers: %(containers)s"), {"containers": ", ".join(names)}
    return None


def _sc(container) -> dict:
    return container.get("securityContext") or {}


def _caps(container) -> set[str]:
    added = ((_sc(container).get("capabilities") or {}).get("add")) or []
    return {c.upper().removeprefix("CAP_") for c in added}


def parse_image(image: str) -> tuple[str | None, bool]:
    """(tag, pinned by digest): the tag is after the last ':' of the final path segment, so
    a registry port (registry:5000/app) is not a tag."""
    if "@" in image:
        return None, True
    last = image.rsplit("/", 1)[-1]
    return (last.rsplit(":", 1)[1] if ":" in last else None), False


def _resource(section: str, name: str):
    return lambda c: not str(((c.get("resources") or {}).get(section) or {}).get(name) or "")


@inspection_check("PrivilegeEscalationAllowed", N_("Privilege escalation allowed"), DANGER, WORKLOADS,
                  N_("Set securityContext.allowPrivilegeEscalation: false on every container."))
def privilege_escalation(obj, ctx):
    return _failing(obj, lambda c: _sc(c).get("allowPrivilegeEscalation") is True)


@inspection_check("NoCPULimits", N_("No CPU limits"), DANGER, WORKLOADS, N_("Set resources.limits.cpu."))
def no_cpu_limits(obj, ctx):
    return _failing(obj, _resource("limits", "cpu"))


@inspection_check("NoCPURequests", N_("No CPU requests"), DANGER, WORKLOADS, N_("Set resources.requests.cpu."))
def no_cpu_requests(obj, ctx):
    return _failing(obj, _resource("requests", "cpu"))


@inspection_check("NoMemoryLimits", N_("No memory limits"), DANGER, WORKLOADS, N_("Set resources.limits.memory."))
def no_memory_limits(obj, ctx):
    return _failing(obj, _resource("limits", "memory"))


@inspection_check("NoMemoryRequests", N_("No memory requests"), DANGER, WORKLOADS,
                  N_("Set resources.requests.memory."))
def no_memory_requests(obj, ctx):
    return _failing(obj, _resource("requests", "memory"))


@inspection_check("HighRiskCapabilities", N_("High-risk capabilities"), DANGER, WORKLOADS,
                  N_("Do not add ALL, SYS_ADMIN or NET_ADMIN; add only the capabilities the process needs."))
def high_risk_capabilities(obj, ctx):
    return _failing(obj, lambda c: bool(_caps(c) & HIGH_RISK))


@inspection_check("InsecureCapabilities", N_("Insecure capabilities"), WARNING, WORKLOADS,
                  N_("Remove the added capabilities the process does not need (kubeeye's rule: an added capability "
                     "from its list of 13 fails; Polaris's \"drop ALL\" rule is a different check)."))
def insecure_capabilities(obj, ctx):
    return _failing(obj, lambda c: bool(_caps(c) & INSECURE))


def _pod_flag(flag):
    def rule(obj, ctx):
        if pod_spec(obj).get(flag) is True:
            return N_("%(field)s is true"), {"field": flag}
        return None
    return rule


inspection_check("HostIPCAccess", N_("Host IPC access"), DANGER, WORKLOADS, N_("Remove hostIPC: true."))(
    _pod_flag("hostIPC"))
inspection_check("HostNetworkAccess", N_("Host network access"), DANGER, WORKLOADS,
                 N_("Remove hostNetwork: true; expose the workload through a Service."))(_pod_flag("hostNetwork"))
inspection_check("HostPIDAccess", N_("Host PID access"), DANGER, WORKLOADS, N_("Remove hostPID: true."))(
    _pod_flag("hostPID"))


@inspection_check("HostPortAccess", N_("Host port access"), DANGER, WORKLOADS,
                  N_("Remove hostPort; expose the workload through a Service."))
def host_port(obj, ctx):
    return _failing(obj, lambda c: any((p.get("hostPort") or 0) > 0 for p in c.get("ports") or []))


@inspection_check("ImagePullPolicyNotAlways", N_("Image pull policy is not Always"), WARNING, WORKLOADS,
                  N_("Set imagePullPolicy: Always so that a moved tag is pulled again."))
def pull_policy(obj, ctx):
    return _failing(obj, lambda c: c.get("imagePullPolicy") != "Always")


@inspection_check("ImageTagsIsLatest", N_("Image tag is latest"), WARNING, WORKLOADS,
                  N_("Pin the image to a version tag or a digest."))
def tag_latest(obj, ctx):
    return _failing(obj, lambda c: parse_image(c.get("image", ""))[0] == "latest")


@inspection_check("ImageTagMiss", N_("Image tag missing"), DANGER, WORKLOADS,
                  N_("Give every image a tag or a digest; without one Kubernetes pulls latest."))
def tag_missing(obj, ctx):
    return _failing(obj, lambda c: parse_image(c.get("image", "")) == (None, False))


def _probe(name):
    def rule(obj, ctx):
        if obj.get("kind") not in LONG_RUNNING:
            return None  # batch workloads run to completion: probes are not expected
        if obj.get("kind") == "Pod" and (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return None
        return _failing(obj, lambda c: not c.get(name))
    return rule


inspection_check("NoLivenessProbe", N_("No liveness probe"), WARNING, WORKLOADS,
                 N_("Add a livenessProbe so that a hung container is restarted."))(_probe("livenessProbe"))
inspection_check("NoReadinessProbe", N_("No readiness probe"), WARNING, WORKLOADS,
                 N_("Add a readinessProbe so that traffic waits until the container is ready."))(
    _probe("readinessProbe"))


@inspection_check("NoPriorityClassName", N_("No priority class"), IGNORE, WORKLOADS,
                  N_("Set priorityClassName so that important workloads are scheduled and evicted last."))
def no_priority(obj, ctx):
    if not pod_spec(obj).get("priorityClassName"):
        return N_("priorityClassName is not set"), {}
    return None


@inspection_check("PrivilegedAllowed", N_("Privileged containers"), DANGER, WORKLOADS,
                  N_("Remove securityContext.privileged: true."))
def privileged(obj, ctx):
    return _failing(obj, lambda c: _sc(c).get("privileged") is True)


@inspection_check("NotReadOnlyRootFilesystem", N_("Root filesystem is writable"), WARNING, WORKLOADS,
                  N_("Set securityContext.readOnlyRootFilesystem: true and mount writable volumes where needed."))
def writable_root(obj, ctx):
    return _failing(obj, lambda c: _sc(c).get("readOnlyRootFilesystem") is not True)


@inspection_check("NotRunAsNonRoot", N_("May run as root"), WARNING, WORKLOADS,
                  N_("Set runAsNonRoot: true or runAsUser of 1 or more, in the pod or in every container."))
def run_as_root(obj, ctx):
    pod = pod_spec(obj).get("securityContext") or {}

    def effective(c, key):
        return _sc(c)[key] if key in _sc(c) else pod.get(key)

    def root(c):
        non_root, user = effective(c, "runAsNonRoot"), effective(c, "runAsUser")
        return not (non_root is True or (isinstance(user, int) and user >= 1))
    return _failing(obj, root)
