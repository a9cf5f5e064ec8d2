"""Fleet operations (R4).

Each checks permission and invariants, writes in one transaction and audits; a cluster
joining or leaving a fleet is announced (`signals.members_changed`) so its Kubernetes
permissions follow. Pages and the API call these and nothing else writes.
"""
import re

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_noop as N_

from cceone.audit.services import record
from cceone.iam import mirror
from cceone.iam.access import require, restrict
from cceone.iam.models import EnterpriseProject
from clusters import facts as facts_mod
from clusters import services as cluster_services
from clusters.models import RegisteredCluster

from .models import Fleet
from .signals import members_changed

Status = RegisteredCluster.Status

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}[A-Za-z0-9]$")
NAME_RULE = gettext_lazy("2-64 characters: letters, digits, '-' and '_', starting with a letter and ending "
                         "with a letter or digit.")
# Clusters that can no longer join a fleet.
GONE = (Status.DESTROYING, Status.UNSUBSCRIBED)
# ...and those that cannot join or leave one now: another configuration change runs.
BUSY = (*GONE, Status.CHANGING)


def _validate_name(name: str) -> str:
    name = (name or "").strip()
    if not NAME_RE.match(name):
        raise ValidationError({"name": NAME_RULE})
    return name


# --- fleets ---------------------------------------------------------------------------------------

def joinable_clusters(user, region=None):
    """Clusters the user may put into a fleet: in no fleet, not unsubscribed, any region unless given."""
    queryset = RegisteredCluster.objects.filter(fleet__isnull=True).exclude(status__in=BUSY)
    queryset = restrict(queryset, user, "clusters:update").select_related("region")
    return queryset.filter(region=region) if region is not None else queryset


def _join(actor, fleet: Fleet, clusters) -> list[RegisteredCluster]:
    clusters = list({c.pk: c for c in clusters}.values())
    for cluster in clusters:
        if cluster.account_id != fleet.account_id:
            raise ValidationError({"clusters": _("Unknown cluster.")})
        require(actor, "clusters:update", cluster)
    ids = [c.pk for c in clusters]
    # One conditional UPDATE: of two requests adding a cluster to two fleets, exactly one
    # finds it still in no fleet.
    joined = (RegisteredCluster.objects.filter(pk__in=ids, fleet__isnull=True, account_id=fleet.account_id)
              .exclude(status__in=BUSY).update(fleet=fleet))
    if joined != len(ids):
        problems = []
        for cluster in RegisteredCluster.objects.filter(pk__in=ids).select_related("fleet"):
            if cluster.fleet_id and cluster.fleet_id != fleet.pk:
                problems.append(_("Cluster %(cluster)s is already in fleet %(fleet)s; remove it from that fleet "
                                  "first.") % {"cluster": cluster.name, "fleet": cluster.fleet.name})
            elif cluster.fleet_id == fleet.pk:
                problems.append(_("Cluster %(cluster)s is already in this fleet.") % {"cluster": cluster.name})
            elif cluster.status in GONE:
                problems.append(_("Cluster %(cluster)s is unsubscribed.") % {"cluster": cluster.name})
            elif cluster.status == Status.CHANGING:
                problems.append(_("Cluster %(cluster)s is being changed: add it once that change is done.")
                                % {"cluster": cluster.name})
        raise ValidationError({"clusters": problems or [_("A cluster could not be added.")]})
    added = list(RegisteredCluster.objects.filter(pk__in=ids))
    for cluster in added:
        record(actor, "fleets:add-cluster", cluster, details={"fleet": fleet.name, "fleet_id": fleet.pk})
    _apply_membership(actor, fleet, added, joined=True)
    return added


def _apply_membership(actor, fleet: Fleet, clusters, *, joined: bool) -> None:
    """What follows a cluster joining or leaving (its Kubernetes permissions) runs as a
    configuration change of the cluster: it is `changing` until the worker has applied it
    (`apply_membership_change`). A cluster in no state for a change (still creating, frozen)
    takes it at once, as it has no running change to wait for."""
    at_once = []
    for cluster in RegisteredCluster.objects.select_for_update().filter(pk__in=[c.pk for c in clusters]):
        if cluster.status in cluster_services.CHANGEABLE:
            cluster_services.start_change(actor, cluster, "fleet", fleet_id=fleet.pk, fleet_name=fleet.name,
                                          joined=joined)
        else:
            at_once.append(cluster)
    if at_once:
        members_changed.send(Fleet, fleet=fleet, clusters=at_once)


def apply_membership_change(cluster, operation, *, fleet_id: int, fleet_name: str, joined: bool) -> None:
    """The worker's part of a fleet change (registered with clusters.changes): the cluster
    takes the fleet's permissions, or its own again (`members_changed`: permissions re-sync)."""
    operation.step(N_("Join fleet") if joined else N_("Leave fleet"), fleet_name)
    members_changed.send(Fleet, fleet=Fleet.objects.filter(pk=fleet_id).first(), clusters=[cluster])


def create_fleet(actor, *, name, description="", enterprise_project=None, clusters=()) -> Fleet:
    name = _validate_name(name)
    account = actor.account
    if enterprise_project is None:
        enterprise_project = EnterpriseProject.objects.filter(account=account, name="default").first()
    elif enterprise_project.account_id != account.pk:
        raise ValidationError({"enterprise_project": _("Unknown enterprise project.")})
    require(actor, "fleets:create", Fleet(account=account, enterprise_project=enterprise_project))
    if Fleet.objects.filter(account=account, name=name).exists():
        raise ValidationError({"name": _("A fleet named “%(name)s” already exists.") % {"name": name}})
    try:
        with transaction.atomic():
            fleet = Fleet.objects.create(account=account, name=name, description=description,
                                         enterprise_project=enterprise_project, creator=actor)
            mirror.sync_anchor(fleet)  # what scoped policies give on it (its instance, its project)
            record(actor, "fleets:create", fleet, details={"description": description})
            if clusters:
                _join(actor, fleet, clusters)
    except IntegrityError:
        raise ValidationError({"name": _("A fleet named “%(name)s” already exists.") % {"name": name}}) from None
    return fleet


@transaction.atomic
def update_fleet(actor, fleet: Fleet, *, name, description) -> Fleet:
    require(actor, "fleets:update", fleet)
    name = _validate_name(name)
    if Fleet.objects.filter(account=fleet.account_id, name=name).exclude(pk=fleet.pk).exists():
        raise ValidationError({"name": _("A fleet named “%(name)s” already exists.") % {"name": name}})
    fleet.name, fleet.description = name, description
    fleet.save(update_fields=["name", "description"])
    record(actor, "fleets:update", fleet, details={"description": description})
    return fleet


@transaction.atomic
def add_clusters(actor, fleet: Fleet, clusters) -> list[RegisteredCluster]:
    """Add clusters in no fleet; each takes the fleet's permissions (R2.5)."""
    require(actor, "fleets:update", fleet)
    if not clusters:
        raise ValidationError({"clusters": _("Choose at least one cluster.")})
    return _join(actor, fleet, clusters)


def add_ordered_cluster(actor, cluster: RegisteredCluster, fleet: Fleet, operation) -> None:
    """A cluster ordered into a fleet (R3.2) joins it as a step of its creation, inside the
    order's transaction: a refusal here orders nothing."""
    fleet = Fleet.objects.select_for_update().filter(pk=fleet.pk, account_id=cluster.account_id).first()
    if fleet is None:
        raise ValidationError({"fleet": _("Unknown fleet.")})
    require(actor, "fleets:update", fleet)
    _join(actor, fleet, [cluster])
    operation.step(N_("Join fleet"), fleet.name)


@transaction.atomic
def remove_cluster(actor, fleet: Fleet, cluster: RegisteredCluster) -> None:
    """The cluster leaves; its own permissions apply again."""
    require(actor, "fleets:update", fleet)
    require(actor, "clusters:update", cluster)
    if RegisteredCluster.objects.select_for_update().get(pk=cluster.pk).status == Status.CHANGING:
        raise ValidationError(_("Cluster %(cluster)s is being changed: remove it once that change is done.")
                              % {"cluster": cluster.name})
    if not RegisteredCluster.objects.filter(pk=cluster.pk, fleet=fleet).update(fleet=None):
        raise ValidationError(_("Cluster %(cluster)s is not in this fleet.") % {"cluster": cluster.name})
    cluster.fleet = None
    record(actor, "fleets:remove-cluster", cluster, details={"fleet": fleet.name, "fleet_id": fleet.pk})
    _apply_membership(actor, fleet, [cluster], joined=False)


def federation_of(fleet: Fleet):
    """The fleet's federation, once the federation app gives fleets one; None until then."""
    try:
        return getattr(fleet, "federation", None)
    except ObjectDoesNotExist:
        return None


def delete_checks(fleet: Fleet) -> list[tuple[str, bool, str]]:
    """(label, passed, message) for each condition deleting a fleet needs (R4.7)."""
    count = fleet.clusters.count()
    federation = federation_of(fleet)
    return [
        (_("The fleet has no clusters"), count == 0,
         _("Remove its %(count)d cluster(s) from the fleet first.") % {"count": count} if count else ""),
        (_("The fleet is in no federation"), federation is None,
         _("Remove the fleet from federation %(name)s first.") % {"name": federation} if federation else ""),
        (_("Deletion protection is off"), not fleet.deletion_protection,
         _("Turn deletion protection off first.") if fleet.deletion_protection else ""),
    ]


def set_deletion_protection(actor, fleet: Fleet, enabled: bool) -> None:
    require(actor, "fleets:update", fleet)
    Fleet.objects.filter(pk=fleet.pk).update(deletion_protection=enabled)
    fleet.deletion_protection = enabled
    record(actor, "fleets:update", fleet, details={"deletion_protection": enabled})


def delete_fleet(actor, fleet: Fleet) -> None:
    with transaction.atomic():
        fleet = Fleet.objects.select_for_update().get(pk=fleet.pk)
        require(actor, "fleets:delete", fleet)
        failed = [message for _label, passed, message in delete_checks(fleet) if not passed]
        if failed:
            raise ValidationError(failed)
        bindings = fleet.permission_bindings.count()
        record(actor, "fleets:delete", fleet, details={"associations_removed": bindings})
        try:
            fleet.delete()
        except ProtectedError:  # a cluster joined meanwhile
            raise ValidationError(delete_checks(fleet)[0][2] or _("The fleet has clusters.")) from None


def unsubscribe_effect(cluster) -> str | None:
    """Registered with clusters.checks: said on the unsubscribe page before confirming."""
    if not cluster.fleet_id:
        return None
    return _("It leaves fleet %(fleet)s (and the fleet's federation): the fleet's permissions stop applying to "
             "it.") % {"fleet": cluster.fleet.name}


def leave_on_unsubscribe(operation, cluster) -> None:
    """An unsubscribed cluster leaves its fleet, as a step of the unsubscribe operation."""
    fleet = Fleet.objects.filter(pk=cluster.fleet_id).first()
    if fleet is None or not RegisteredCluster.objects.filter(pk=cluster.pk, fleet=fleet).update(fleet=None):
        return
    cluster.fleet = None
    operation.step(N_("Leave fleet"), fleet.name)
    record(None, "fleets:remove-cluster", cluster, account=cluster.account,
           details={"fleet": fleet.name, "fleet_id": fleet.pk, "reason": "unsubscribed"})
    members_changed.send(Fleet, fleet=fleet, clusters=[cluster])


def fleet_statistics(fleet: Fleet, members=None) -> dict:
    """R4.6 from the agents' heartbeats: clusters, nodes, CPU and memory allocation rates
    (requests ÷ allocatable of Ready nodes, summed over the members)."""
    members = list(fleet.clusters.all()) if members is None else members
    totals = {"cpu_requested": 0, "cpu_allocatable": 0, "memory_requested": 0, "memory_allocatable": 0}
    nodes_ready = nodes_total = 0
    vcpu = facts_mod.billable_vcpu({})
    for cluster in members:
        facts = cluster.facts or {}
        vcpu += facts_mod.billable_vcpu(facts)
        ready, total = facts_mod.node_counts(facts)
        nodes_ready, nodes_total = nodes_ready + ready, nodes_total + total
        allocation = facts_mod.allocation(facts)
        totals["cpu_requested"] += allocation["cpu_requested_millicores"]
        totals["cpu_allocatable"] += allocation["cpu_allocatable_millicores"]
        totals["memory_requested"] += allocation["memory_requested_bytes"]
        totals["memory_allocatable"] += allocation["memory_allocatable_bytes"]
    return {
        "clusters": len(members),
        "clusters_running": sum(1 for c in members if c.status == Status.RUNNING),
        "nodes_total": nodes_total, "nodes_ready": nodes_ready, "vcpu": vcpu,
        "cpu_rate": totals["cpu_requested"] / totals["cpu_allocatable"] if totals["cpu_allocatable"] else None,
        "memory_rate": (totals["memory_requested"] / totals["memory_allocatable"]
                        if totals["memory_allocatable"] else None),
        **totals,
    }
