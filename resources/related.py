"""The related objects a detail page shows: a workload's pods, a service's endpoints,
a node's pods (each kind names its own in `Kind.related`), an object's events. Each part
is fetched as the user; a part the user may not read shows why instead of failing the page."""
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from cceone.kube.gateway import KubeError

from . import registry
from .formatting import meta, selector_string, spec, status


def event_time(event: dict) -> str | None:
    return (event.get("lastTimestamp") or (event.get("series") or {}).get("lastObservedTime")
            or event.get("eventTime") or event.get("firstTimestamp") or meta(event).get("creationTimestamp"))

ENDPOINTS = registry.Kind("Endpoints", "endpoints", "", "v1", True, "network", "Endpoints", "Endpoints")


@dataclass
class Related:
    title: str
    kind: registry.Kind | None = None  # items are shown as this kind's rows
    items: list = field(default_factory=list)
    links: list = field(default_factory=list)  # (text, kind plural, namespace, name) — name None: plain text
    error: str = ""
    list_query: dict | None = None  # the list page showing all of them (namespace, labelSelector …)


def _fetch(title, kind, fetch, list_query=None) -> Related:
    try:
        return Related(title, kind, fetch(), list_query=list_query)
    except KubeError as error:
        return Related(title, kind, error=error.message)


def _pods_by_selector(api, obj, selector: str) -> Related:
    pods, namespace = registry.get("pods"), meta(obj).get("namespace")
    if not selector:
        return Related(_("Pods"), pods)
    return _fetch(_("Pods"), pods, lambda: api.list_all(pods, namespace, label_selector=selector, cap=500),
                  {"namespace": namespace, "labelSelector": selector})


def workload_pods(api, obj) -> list[Related]:
    return [_pods_by_selector(api, obj, selector_string(spec(obj).get("selector")))]


def job_pods(api, obj) -> list[Related]:
    selector = selector_string(spec(obj).get("selector")) or f"job-name={meta(obj).get('name')}"
    return [_pods_by_selector(api, obj, selector)]


def cronjob_jobs(api, obj) -> list[Related]:
    jobs, uid = registry.get("jobs"), meta(obj).get("uid")

    def owned():
        return [j for j in api.list_all(jobs, meta(obj).get("namespace"), cap=2000)
                if any(ref.get("uid") == uid for ref in meta(j).get("ownerReferences") or [])]

    return [_fetch(_("Jobs"), jobs, owned)]


def service_endpoints(api, obj) -> list[Related]:
    namespace, name = meta(obj).get("namespace"), meta(obj).get("name")
    endpoints = Related(_("Endpoints"))
    try:
        found = api.get(ENDPOINTS, name, namespace)
        for subset in found.get("subsets") or []:
            ports = ", ".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in subset.get("ports") or [])
            for address in subset.get("addresses") or []:
                target = address.get("targetRef") or {}
                text = f"{address.get('ip')} ({ports})"
                if target.get("kind") == "Pod":
                    endpoints.links.append((text, "pods", target.get("namespace") or namespace, target.get("name")))
                else:
                    endpoints.links.append((text, None, None, None))
            for address in subset.get("notReadyAddresses") or []:
                endpoints.links.append((f"{address.get('ip')} ({ports}) — {_('not ready')}", None, None, None))
    except KubeError as error:
        if error.status != 404:
            endpoints.error = error.message
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec(obj).get("selector") or {}).items()))
    return [endpoints, _pods_by_selector(api, obj, selector)] if selector else [endpoints]


def ingress_backends(api, obj) -> list[Related]:
    namespace = meta(obj).get("namespace")
    services = Related(_("Backend services"))
    seen = set()
    for rule in spec(obj).get("rules") or []:
        for path in (rule.get("http") or {}).get("paths") or []:
            name = ((path.get("backend") or {}).get("service") or {}).get("name")
            if name and name not in seen:
                seen.add(name)
                services.links.append((name, "services", namespace, name))
    return [services]


def claim_volume(api, obj) -> list[Related]:
    volume = spec(obj).get("volumeName")
    return [Related(_("Volume"), links=[(volume, "persistentvolumes", None, volume)])] if volume else []


def volume_claim(api, obj) -> list[Related]:
    ref = spec(obj).get("claimRef") or {}
    if not ref.get("name"):
        return []
    return [Related(_("Claim"), links=[(f"{ref.get('namespace')}/{ref['name']}", "persistentvolumeclaims",
                                        ref.get("namespace"), ref["name"])])]


def node_pods(api, obj) -> list[Related]:
    pods = registry.get("pods")
    selector = f"spec.nodeName={meta(obj).get('name')}"
    return [_fetch(_("Pods on this node"), pods, lambda: api.list_all(pods, field_selector=selector, cap=1000))]


def pod_owners(api, obj) -> list[Related]:
    owners = Related(_("Owner"))
    for ref in meta(obj).get("ownerReferences") or []:
        kind = registry.by_kind_name(ref.get("kind", ""))
        owners.links.append((f"{ref.get('kind')}/{ref.get('name')}", kind.plural if kind else None,
                             meta(obj).get("namespace"), ref.get("name")))
    return [owners] if owners.links else []


def related(api, kind, obj) -> list[Related]:
    return kind.related(api, obj) if kind.related else []


def sort_events(events: list) -> list:
    """Warnings first, then the most recent first."""
    events = sorted(events, key=lambda e: event_time(e) or "", reverse=True)
    return sorted(events, key=lambda e: e.get("type") != "Warning")


def object_events(api, kind, obj) -> Related:
    """The events about one object (warnings first)."""
    events = registry.get("events")
    m = meta(obj)
    selector = f"involvedObject.kind={kind.kind},involvedObject.name={m.get('name')}"
    namespace = m.get("namespace") if kind.namespaced else None
    if namespace:
        selector += f",involvedObject.namespace={namespace}"
    return _fetch(_("Events"), events, lambda: sort_events(
        api.list_all(events, namespace, field_selector=selector, cap=500)))


def conditions(obj) -> list[dict]:
    return status(obj).get("conditions") or []
