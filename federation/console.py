"""The federation as a console target (R5.5): the single-cluster console's generic resource
pages and API (`resources`), pointed at the federation's Karmada API server.

Registered from `FederationConfig.ready()`: the target type "federation" (IAM
`federations:get` to open it; a frozen or not-running federation explains itself), the
kinds it serves (the core's namespaces, workloads, network, configuration and storage, and
Karmada's policies, bindings and member clusters from `federation.kinds`), and the
sections those add to the console's tabs. Every request impersonates the user, so the
federation's own RBAC decides, exactly as in a member cluster's console.
"""
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cceone.iam.access import get_or_deny
from resources import registry, targets

# The core's kinds a Karmada API server holds as resource templates (no pods, nodes or
# events: those live in the members).
TEMPLATE_KINDS = ("namespaces", "deployments", "statefulsets", "daemonsets", "jobs", "cronjobs", "services",
                  "ingresses", "configmaps", "secrets", "persistentvolumeclaims")
KARMADA_KINDS = ("propagationpolicies", "clusterpropagationpolicies", "overridepolicies", "clusteroverridepolicies",
                 "resourcebindings", "clusterresourcebindings", "clusters")


def _lookup(user, target_id: str, check_status: bool):
    from .models import Federation

    Status = Federation.Status
    federation = get_or_deny(Federation.objects.select_related("region", "account", "control_plane"), user,
                             target_id, "federations:get")
    if not check_status or federation.status in (Status.RUNNING, Status.CHANGING):
        return federation
    if federation.status == Status.FROZEN:
        raise targets.Unavailable(_("Federation %(name)s is frozen because the account is in arrears. Top up the "
                                    "balance to use its console again.") % {"name": federation.name}, 403,
                                  reason="frozen")
    raise targets.Unavailable(_("The console of federation %(name)s is not available while the federation is "
                                "%(status)s.") % {"name": federation.name,
                                                  "status": federation.get_status_display()}, 409,
                              reason="not-running")


def _status_note(kind) -> str:
    """A workload template's status is Karmada's sum over the members it runs in."""
    if kind.plural not in ("deployments", "statefulsets", "daemonsets"):
        return ""
    return gettext_lazy("The status is Karmada's, collected from the member clusters: ready and available "
                        "replicas are summed over them, so a workload duplicated to three members counts each "
                        "member's.")


FEDERATION = targets.TargetType(
    name="federation", lookup=_lookup, iam_action="federations:get", header_template="federation/_header.html",
    kinds=TEMPLATE_KINDS + KARMADA_KINDS, label=gettext_lazy("Federation"), context_name="federation",
    api_prefix="kubernetes/federations", api_id="federation_id", api_basename="federation-k8s",
    api_operation="federation", api_description="The federation's id.",
    api_tag=gettext_lazy("Federation %(section)s"), status_note=_status_note)


def register() -> None:
    registry.CATEGORIES.setdefault("federation", gettext_lazy("Federation"))
    from . import kinds  # noqa: F401 - registers Karmada's kinds

    registry.register_section("policies", gettext_lazy("Policies"))
    registry.register_section("bindings", gettext_lazy("Bindings"))
    registry.register_section("members", gettext_lazy("Member clusters"))
    targets.register(FEDERATION)
