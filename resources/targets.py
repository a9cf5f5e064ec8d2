"""Which Kubernetes API a resource page talks to: a small registry of target types.

A target type ("cluster" here; "federation" registers itself the same way) turns the
id in the URL into a `cceone.kube.targets.KubeTarget` after the IAM check, or refuses
with `Unavailable` when the target cannot serve its console now. The generic views
know nothing else about a target: its name, its page header, and this lookup.
"""
from dataclasses import dataclass
from typing import Callable

from django.http import Http404
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cceone.iam.access import get_or_deny, require


class Unavailable(Exception):
    """The target exists and the user may see it, but its console cannot be served.

    `facts` are (label, value) pairs the page shows instead (e.g. the last reported
    state of a disconnected cluster); `status` is the HTTP status of that page.
    """

    def __init__(self, message: str, status: int = 503, facts=(), reason: str = "unavailable"):
        super().__init__(message)
        self.message, self.status, self.facts, self.reason = message, status, list(facts), reason


@dataclass(frozen=True)
class TargetType:
    name: str  # the URL segment: /k8s/<name>/<id>/...
    lookup: Callable  # (user, target_id, check_status) → the target object, or Http404 / PermissionDenied / Unavailable
    iam_action: str  # what opening the console needs on the target, e.g. clusters:get
    # Included at the top of every resource page with `target` (and `context_name`) and `page`.
    header_template: str = "resources/partials/target_header.html"
    kinds: tuple[str, ...] | None = None  # plurals served on this target type; None: every registered kind
    label: str = ""
    context_name: str = "target_object"  # the name the header template knows the target object by
    # The console's API for this type (resources.object_api): routes under
    # /api/v1/<api_prefix>/<api_id>/…, route names `<api_basename>-<plural>-…`, operation ids
    # `<api_operation>_<plural>_<action>`; no prefix: no API.
    api_prefix: str = ""
    api_id: str = "target_id"  # the URL's keyword for the target's id
    api_basename: str = ""
    api_operation: str = ""
    api_description: str = ""  # of the id in the URL, for the schema
    api_tag: str = ""  # the schema's tag of a kind's operations, %(section)s its console section
    # (kind) → what an object's status means on this target, under its summary; "" for none.
    status_note: Callable = lambda kind: ""

    def serves(self, kind) -> bool:
        if kind.target_types is not None and self.name not in kind.target_types:
            return False
        return self.kinds is None or kind.plural in self.kinds


@dataclass
class Target:
    """A resolved target: its type and the object (a KubeTarget, e.g. a RegisteredCluster)."""

    type: TargetType
    obj: object

    @property
    def id(self) -> str:
        return str(self.obj.pk)

    @property
    def name(self) -> str:
        return self.obj.name

    @property
    def audit_ref(self):
        """What audit events name as their target: the model instance, or (type, id, name)."""
        from django.db.models import Model

        return self.obj if isinstance(self.obj, Model) else (self.type.name, self.id, self.name)

    def serves(self, kind) -> bool:
        return self.type.serves(kind)


_TYPES: dict[str, TargetType] = {}


def register(target_type: TargetType) -> TargetType:
    _TYPES[target_type.name] = target_type
    return target_type


def all_types() -> list[TargetType]:
    return list(_TYPES.values())


def get_type(name: str) -> TargetType:
    try:
        return _TYPES[name]
    except KeyError:
        raise Http404(name) from None


def resolve(type_name: str, user, target_id, check_status: bool = True) -> Target:
    """The target named in a URL, for this user: 404 when it is not theirs to see, 403
    (audited) when IAM forbids opening its console, `Unavailable` when it cannot serve."""
    target_type = get_type(type_name)
    return Target(target_type, target_type.lookup(user, str(target_id), check_status))


def require_console(user, target: Target) -> None:
    """The IAM check every service repeats before acting on a target."""
    require(user, target.type.iam_action, target.obj)


# --- registered clusters -------------------------------------------------------------------

def _cluster_facts(cluster) -> list[tuple[str, object]]:
    from clusters.status import overview_facts

    facts = overview_facts(cluster)
    allocation = facts["allocation"]
    rows = [
        (gettext_lazy("Nodes ready / total"), f"{facts['nodes_ready']} / {facts['nodes_total']}"),
        (gettext_lazy("vCPU (billable)"), f"{facts['vcpu'].normalize():f}"),
        (gettext_lazy("Kubernetes version"), cluster.kubernetes_version or "--"),
    ]
    if allocation["cpu_rate"] is not None:
        rows.append((gettext_lazy("CPU requests / allocatable"), f"{allocation['cpu_rate']:.0%}"))
    if allocation["memory_rate"] is not None:
        rows.append((gettext_lazy("Memory requests / allocatable"), f"{allocation['memory_rate']:.0%}"))
    when = cluster.last_heartbeat_at
    rows.append((gettext_lazy("Last heartbeat"),
                 formats.date_format(timezone.localtime(when), "Y-m-d H:i:s") if when else "--"))
    return rows


def _lookup_cluster(user, target_id: str, check_status: bool):
    from clusters.models import RegisteredCluster

    Status = RegisteredCluster.Status
    cluster = get_or_deny(RegisteredCluster.objects.select_related("region", "account"), user, target_id,
                          "clusters:get")
    # A configuration change (EIP, agent credentials, fleet) leaves the cluster reachable.
    if not check_status or cluster.status in (Status.RUNNING, Status.CHANGING):
        return cluster
    if cluster.status == Status.DISCONNECTED:
        raise Unavailable(f"{cluster.unreachable_message()} {_('Showing the last reported facts.')}", 503,
                          _cluster_facts(cluster), reason="disconnected")
    if cluster.status == Status.FROZEN:
        raise Unavailable(_("Cluster %(name)s is frozen because the account is in arrears. Top up the balance to "
                            "use its console again.") % {"name": cluster.name}, 403, reason="frozen")
    raise Unavailable(_("The console of cluster %(name)s is not available while the cluster is %(status)s.")
                      % {"name": cluster.name, "status": cluster.get_status_display()}, 409, reason="not-running")


register(TargetType(name="cluster", lookup=_lookup_cluster, iam_action="clusters:get",
                    header_template="clusters/_header.html", label=gettext_lazy("Registered cluster"),
                    context_name="cluster", api_prefix="kubernetes/clusters", api_id="cluster_id",
                    api_basename="k8s", api_operation="kubernetes", api_description="The registered cluster's id.",
                    api_tag=gettext_lazy("Kubernetes %(section)s")))
