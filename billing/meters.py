"""Registered clusters as a billable kind (R7.2, R7.3).

The rule, also written on the bills page:

- billing starts with the hour the cluster first became running and ends with the hour
  it was unsubscribed; partial hours are billed whole;
- an hour is billed when a heartbeat was recorded during it while the cluster was billable
  (running or changing): an agent's, or for a cloud cluster reached directly the worker's
  poll of its API server (a disconnected cluster has neither);
- the vCPU billed for an hour is the largest value observed while billable in that hour
  (heartbeats carry the R7.2 count: capacity CPU of Ready nodes, virtual-kubelet nodes
  excluded).

For showback each hour also carries the cluster's fleet and enterprise project and the CPU
requests per namespace reported by the last billable heartbeat of the hour.
"""
from collections import defaultdict
from datetime import datetime

from django.db import transaction
from django.db.models import F, Max, Q
from django.db.models.functions import TruncHour
from django.utils.translation import gettext_noop as N_  # status reasons: translated when shown

from clusters import facts as facts_mod
from clusters import services as cluster_services
from clusters.models import ClusterHeartbeat, RegisteredCluster
from clusters.transitions import change_status

from .metering import BILLING_TZ, HOUR, BillableKind, FrozenState, HourUsage, hour_floor, hours_between, last_settled

Status = RegisteredCluster.Status
BILLABLE = {Status.RUNNING, Status.CHANGING}
# Statuses a freeze applies to: every on-demand cluster that is not being created or gone.
FREEZABLE = {Status.PENDING_ACCESS, Status.RUNNING, Status.DISCONNECTED, Status.ACCESS_TIMEOUT, Status.CHANGING}


class RegisteredClusterMeter(BillableKind):
    kind = "cluster"

    def unsettled_hours(self, cutoff: datetime):
        clusters = list(
            RegisteredCluster.objects.filter(first_running_at__isnull=False, first_running_at__lt=cutoff)
            .annotate(last=last_settled(self.kind))
            .filter(Q(last__isnull=True) | Q(last__lt=cutoff - HOUR))
            # Unsubscribed: only while the hour it ended in is still unsettled.
            .filter(Q(unsubscribed_at__isnull=True) | Q(last__isnull=True) | Q(last__lte=F("unsubscribed_at") - HOUR))
            .values("pk", "account_id", "name", "cluster_type", "first_running_at", "unsubscribed_at", "last",
                    "fleet_id", "fleet__name", "enterprise_project_id", "enterprise_project__name")
        )
        windows = {}
        for c in clusters:
            start = (c["last"].astimezone(BILLING_TZ) + HOUR) if c["last"] else hour_floor(c["first_running_at"])
            end = cutoff if c["unsubscribed_at"] is None else min(cutoff, hour_floor(c["unsubscribed_at"]) + HOUR)
            if start < end:
                windows[c["pk"]] = (start, end)
        if not windows:
            return []
        observed, requests = self._billable_maxima(windows, cutoff)
        out = []
        for c in clusters:
            if c["pk"] not in windows:
                continue
            start, end = windows[c["pk"]]
            for hour in hours_between(start, end):
                out.append(HourUsage(self.kind, c["pk"], c["account_id"], c["name"], c["cluster_type"], hour,
                                     observed.get((c["pk"], hour)), fleet_id=c["fleet_id"],
                                     fleet_name=c["fleet__name"] or "", project_id=c["enterprise_project_id"],
                                     project_name=c["enterprise_project__name"] or "",
                                     namespace_cpu=requests.get((c["pk"], hour))))
        return out

    def _billable_maxima(self, windows, cutoff) -> tuple[dict, dict]:
        """(cluster id, hour) → the largest vCPU of the heartbeats recorded in a billable status,
        and → the CPU requests per namespace of the last of them (showback's weights)."""
        since = min(start for start, _end in windows.values())
        rows = (ClusterHeartbeat.objects
                .filter(cluster_id__in=list(windows), time__gte=since, time__lt=cutoff, status__in=BILLABLE)
                .annotate(hour=TruncHour("time", tzinfo=BILLING_TZ))
                .values("cluster_id", "hour").annotate(vcpu=Max("vcpu"), last=Max("id")).order_by())
        maxima, last = {}, {}
        for r in rows:
            key = (r["cluster_id"], r["hour"].astimezone(BILLING_TZ))
            maxima[key], last[r["last"]] = r["vcpu"], key
        requests = {}
        ids = list(last)
        for chunk in range(0, len(ids), 5000):
            for pk, namespace_cpu in (ClusterHeartbeat.objects.filter(pk__in=ids[chunk:chunk + 5000])
                                      .exclude(namespace_cpu={}).values_list("pk", "namespace_cpu")):
                requests[last[pk]] = namespace_cpu
        return maxima, requests

    def current_vcpu(self, account_ids):
        # Only what the next hour would bill: a disconnected, frozen or not yet connected
        # cluster is not billed (R7.5), so it does not raise the balance an order needs.
        out = defaultdict(list)
        for account_id, cluster_type, facts in (RegisteredCluster.objects.filter(account_id__in=list(account_ids),
                                                                                 status__in=BILLABLE)
                                                .values_list("account_id", "cluster_type", "facts")):
            out[account_id].append((cluster_type, facts_mod.billable_vcpu(facts or {})))
        return out

    def freeze(self, account_id):
        frozen = []
        for cluster in (RegisteredCluster.objects.select_for_update(of=("self",))
                        .filter(account_id=account_id, status__in=FREEZABLE).select_related("account")):
            previous = cluster.status
            if previous == Status.CHANGING:
                # Its change is not applied now (the worker finds it frozen): it comes back as it
                # was before the change, not changing with nothing left to run.
                previous = cluster_services.status_before_change(cluster)
            change_status(cluster, Status.FROZEN, N_("arrears"))
            frozen.append(FrozenState(cluster.pk, cluster.name, previous))
        return frozen

    def unfreeze(self, instance_id, previous_status):
        with transaction.atomic():
            cluster = (RegisteredCluster.objects.select_for_update(of=("self",)).select_related("account")
                       .filter(pk=instance_id, status=Status.FROZEN).first())
            if cluster is None:
                return False  # unsubscribed (or otherwise changed) while frozen: leave it be
            change_status(cluster, previous_status, N_("balance restored"))
            return True
