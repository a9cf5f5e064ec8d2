"""The one way a registered cluster's status changes.

`change_status()` sets the status, saves it, and writes the change as a fact
(`ClusterStatusChange`, read by billing and the overview) and, unless the caller audits
the operation itself, as a `clusters:status` audit event for people; a cluster that
becomes running is announced (`signals.cluster_came_up`: Kubernetes permissions sync its
RBAC). Callers hold the cluster's row lock when a concurrent change could race them
(`select_for_update`).
"""
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from cceone.audit.services import record

from .models import ClusterStatusChange, RegisteredCluster
from .signals import cluster_came_up


@transaction.atomic
def change_status(cluster: RegisteredCluster, to: str, reason: str = "", *, audit: bool = True,
                  at: datetime | None = None) -> ClusterStatusChange | None:
    """Move `cluster` to status `to`; nothing happens when it already has it.

    `audit=False` where the caller's own audit event already tells people (an unsubscribe is
    `clusters:delete`) or where the change is a step of background work nobody audited
    (provisioning's pending access, the end of a destroy). `at` is for history that
    happened earlier (the backfill); it defaults to now."""
    to = RegisteredCluster.Status(to)
    previous = cluster.status
    if previous == to:
        return None
    cluster.status = to
    cluster.save(update_fields=["status"])
    change = ClusterStatusChange.objects.create(cluster=cluster, from_status=previous or "", to_status=to,
                                                at=at or timezone.now(), reason=reason)
    if audit:
        record(None, "clusters:status", cluster, account=cluster.account,
               details={"from": previous, "to": str(to), "reason": reason})
    # Back from a configuration change it was up all along: nothing came up.
    if to == RegisteredCluster.Status.RUNNING and previous != RegisteredCluster.Status.CHANGING:
        cluster_came_up.send(RegisteredCluster, cluster=cluster)
    return change


def history(cluster_ids, *, newest_first: bool = False):
    """The recorded changes of these clusters, oldest first (or newest first)."""
    order = ("-at", "-id") if newest_first else ("at", "id")
    return ClusterStatusChange.objects.filter(cluster_id__in=list(cluster_ids)).order_by(*order)
