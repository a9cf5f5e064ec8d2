"""Service diagnosis (DIAGNOSIS.md §3): EndpointSlices first (v1 Endpoints is deprecated and
truncated at 1000 addresses), Endpoints when a cluster has no slices for the Service."""
import re
from datetime import timedelta

from django.utils.translation import gettext_noop as N_

from ..findings import Evidence, Finding
from .common import check, event_evidence, parse_time

LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader"
LB_PENDING_MINUTES = 10
DNS_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\.?$")


def _selector(ctx) -> dict:
    return ctx.spec.get("selector") or {}


def _selector_text(selector: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))


def endpoints(ctx) -> tuple[list[str], list[str], str, object]:
    """(ready pod names or addresses, not-ready ones, source field, raw evidence)."""
    slices = ctx.list("endpointslices", ctx.namespace, label_selector=f"kubernetes.io/service-name={ctx.name}")
    if slices:
        ready, not_ready = [], []
        for item in slices:
            for endpoint in item.get("endpoints") or []:
                label = (endpoint.get("targetRef") or {}).get("name") or ",".join(endpoint.get("addresses") or [])
                ok = (endpoint.get("conditions") or {}).get("ready", True) is not False
                (ready if ok else not_ready).append(label)
        return ready, not_ready, "EndpointSlice", [s.get("endpoints") or [] for s in slices]
    found = ctx.get("endpoints", ctx.name, ctx.namespace)
    if found is None:
        return [], [], "Endpoints", None
    subsets = found.get("subsets") or []
    ready = [(a.get("targetRef") or {}).get("name") or a.get("ip") for s in subsets for a in s.get("addresses") or []]
    not_ready = [(a.get("targetRef") or {}).get("name") or a.get("ip")
                 for s in subsets for a in s.get("notReadyAddresses") or []]
    return ready, not_ready, "Endpoints", found


def selected_pods(ctx) -> list[dict]:
    selector = _selector(ctx)
    if not selector:
        return []
    return ctx.list("pods", ctx.namespace, label_selector=_selector_text(selector))


@check("services", "SVC-NO-ENDPOINTS", N_("Endpoints"), "critical",
       N_("Check that pods with exactly these labels exist in the same namespace and are Ready. A selector typo or a "
          "renamed Deployment are the usual causes."))
def no_endpoints(ctx):
    selector = _selector(ctx)
    if not selector:
        return None
    ep = ctx.get("endpoints", ctx.name, ctx.namespace)
    if ep and LEADER_ANNOTATION in ((ep.get("metadata") or {}).get("annotations") or {}):
        return None
    ready, not_ready, source, raw = endpoints(ctx)
    if ready or not_ready:
        return None
    return [Finding(N_("Service has no endpoints, expected label %(label)s"), {"label": f"{k}={v}"},
                    [Evidence("spec.selector", selector), Evidence(source, raw if raw is not None else "--")])
            for k, v in sorted(selector.items())]


@check("services", "SVC-NOT-READY-ENDPOINTS", N_("Ready endpoints"), "warning",
       N_("Diagnose the listed pods (readiness probe, crash loop)."))
def not_ready_endpoints(ctx):
    ready, not_ready, source, raw = endpoints(ctx)
    if not_ready:
        return Finding(N_("Service has not ready endpoints, pods: %(pods)s, expected %(expected)s"),
                       {"pods": ", ".join(f"Pod/{p}" for p in not_ready), "expected": len(ready) + len(not_ready)},
                       [Evidence(source, raw)])


@check("services", "SVC-SELECTOR-NO-PODS", N_("Selected pods"), "critical",
       N_("Fix the selector or the pod template's labels. This tells \"no pods\" apart from \"pods not ready\"."))
def selector_no_pods(ctx):
    selector = _selector(ctx)
    if selector and not selected_pods(ctx):
        return Finding(N_("Selector %(selector)s matches no pods in namespace %(namespace)s"),
                       {"selector": _selector_text(selector), "namespace": ctx.namespace},
                       [Evidence("spec.selector", selector)])


@check("services", "SVC-PORT-MISMATCH", N_("Target ports"), "warning",
       N_("Align targetPort with the container's port or port name. An undefined named port yields endpoints "
          "without that port."))
def port_mismatch(ctx):
    pods = selected_pods(ctx)
    if not pods:
        return None
    numbers, names = set(), set()
    for pod in pods:
        for container in (pod.get("spec") or {}).get("containers") or []:
            for port in container.get("ports") or []:
                numbers.add(port.get("containerPort"))
                if port.get("name"):
                    names.add(port["name"])
    found = []
    for i, port in enumerate(ctx.spec.get("ports") or []):
        target = port.get("targetPort", port.get("port"))
        if isinstance(target, str) and not target.isdigit():
            if target not in names:
                found.append(Finding(N_("targetPort '%(port)s' is not a port name of the selected pods"),
                                     {"port": target}, [Evidence(f"spec.ports[{i}]", port)], severity="critical"))
        elif numbers and int(target) not in numbers:
            # containerPort is informational: a numeric mismatch is a hint, not proof.
            found.append(Finding(N_("targetPort %(port)s is not exposed by the selected pods (they declare %(declared)s)"),
                                 {"port": target, "declared": ", ".join(str(n) for n in sorted(numbers))},
                                 [Evidence(f"spec.ports[{i}]", port)]))
    return found


@check("services", "SVC-NO-SELECTOR-NO-ENDPOINTS", N_("Manual endpoints"), "critical",
       N_("Create the Endpoints or EndpointSlice, or add a selector."))
def no_selector(ctx):
    if _selector(ctx) or ctx.spec.get("type") == "ExternalName":
        return None
    ready, not_ready, source, raw = endpoints(ctx)
    if not ready and not not_ready:
        return Finding(N_("Service has no selector and no manually managed endpoints"), {},
                       [Evidence("spec.selector", None), Evidence(source, raw if raw is not None else "--")])


@check("services", "SVC-LB-PENDING", N_("Load balancer"), "warning",
       N_("Check the cloud controller or MetalLB, quota, the annotations and the events."))
def lb_pending(ctx):
    if ctx.spec.get("type") != "LoadBalancer":
        return None
    ingress = ((ctx.status.get("loadBalancer") or {}).get("ingress")) or []
    created = parse_time(ctx.meta.get("creationTimestamp"))
    if not ingress and created and ctx.now - created > timedelta(minutes=LB_PENDING_MINUTES):
        return Finding(N_("LoadBalancer external address still pending"), {},
                       [Evidence("status.loadBalancer", ctx.status.get("loadBalancer") or {})])


@check("services", "SVC-EXTERNALNAME", N_("External name"), "critical", N_("Fix the DNS name."))
def external_name(ctx):
    if ctx.spec.get("type") != "ExternalName":
        return None
    value = ctx.spec.get("externalName") or ""
    if not DNS_NAME.match(value.lower()) or value != value.lower():
        return Finding(N_("ExternalName target invalid: %(value)s"), {"value": value or "--"},
                       [Evidence("spec.externalName", value)])


@check("services", "SVC-WARNING-EVENTS", N_("Warning events"), "warning",
       N_("Depends on the event: read its message."))
def warning_events(ctx):
    return [Finding(N_("Service %(service)s has event %(message)s"),
                    {"service": f"{ctx.namespace}/{ctx.name}", "message": e.get("message", "")}, [event_evidence(e)])
            for e in ctx.warning_events()]
