"""Registered clusters as a billable kind (R7.2, R7.3).

The rule, also written on the bills page:

- billing starts with the hour the cluster first became running and ends with the hour
  it was unsubscribed; partial hours are billed whole;
- an hour is billed when the cluster was billable (running or changing) during it: for a
  cluster reached through the agent, when a heartbeat was recorded in a billable status
  during the hour (a disconnected agent sends none); for a cloud cluster reached directly
  (no agent, no periodic heartbeats), when its status history says it was running or
  changing at some moment of the hour;
- the vCPU billed for an hour is the largest value observed while billable in that hour
  (heartbeats carry the R7.2 count: capacity CPU of Ready nodes, virtual-kubelet nodes
  excluded); a directly reached cluster without a heartbeat in the hour is billed at the
  last value observed before the hour ended.
"""
from collections import defaultdict
from datetime import datetime

from django.db import transaction
from django.db.models import F, Max, Q
from django.db.models.functions import TruncHour
from django.utils.translation import gettext_noop as N_  # status reasons: translated when shown

from clusters import facts as facts_mod
from clusters import services as cluster_services
from clusters import transitions
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
            .values("pk", "account_id", "name", "cluster_type", "connection_mode", "status", "first_running_at",
                    "unsubscribed_at", "last")
        )
        windows = {}
        for c in clusters:
            start = (c["last"].astimezone(BILLING_TZ) + HOUR) if c["last"] else hour_floor(c["first_running_at"])
            end = cutoff if c["unsubscribed_at"] is None else min(cutoff, hour_floor(c["unsubscribed_at"]) + HOUR)
            if start < end:
                windows[c["pk"]] = (start, end)
        if not windows:
            return []
        observed = self._billable_maxima(windows, cutoff)
        direct = [c for c in clusters if c["pk"] in windows
                  and c["connection_mode"] == RegisteredCluster.ConnectionMode.DIRECT]
        status_billable = self._direct_billable_hours(direct, windows) if direct else {}
        carried = self._direct_carried_vcpu(direct, windows) if direct else {}
        out = []
        for c in clusters:
            if c["pk"] not in windows:
                continue
            start, end = windows[c["pk"]]
            is_direct = c["connection_mode"] == RegisteredCluster.ConnectionMode.DIRECT
            for hour in hours_between(start, end):
                vcpu = observed.get((c["pk"], hour))
                if vcpu is None and is_direct and hour in status_billable.get(c["pk"], ()):
                    vcpu = carried[c["pk"]](hour + HOUR)
                out.append(HourUsage(self.kind, c["pk"], c["account_id"], c["name"], c["cluster_type"], hour, vcpu))
        return out

    def _billable_maxima(self, windows, cutoff) -> dict:
        """(cluster id, hour) → the largest vCPU of the heartbeats recorded in a billable status."""
        since = min(start for start, _end in windows.values())
        rows = (ClusterHeartbeat.objects
                .filter(cluster_id__in=list(windows), time__gte=since, time__lt=cutoff, status__in=BILLABLE)
                .annotate(hour=TruncHour("time", tzinfo=BILLING_TZ))
                .values("cluster_id", "hour").annotate(vcpu=Max("vcpu")).order_by())
        return {(r["cluster_id"], r["hour"].astimezone(BILLING_TZ)): r["vcpu"] for r in rows}

    def _direct_billable_hours(self, clusters, windows) -> dict[int, set]:
        """Hours during which a directly reached cluster's status history shows it billable."""
        history = defaultdict(list)
        for cluster_id, time, to in transitions.history(c["pk"] for c in clusters).values_list(
                "cluster_id", "at", "to_status"):
            history[cluster_id].append((time, to))
        result = {}
        for c in clusters:
            start, end = windows[c["pk"]]
            # No recorded transition at all (e.g. set up by an operator): its current status.
            changes = history.get(c["pk"]) or [(c["first_running_at"], c["status"])]
            hours = set()
            status, i = None, 0
            for hour in hours_between(start, end):
                while i < len(changes) and changes[i][0] <= hour:
                    status = changes[i][1]
                    i += 1
                billable = status in BILLABLE
                j = i
                while j < len(changes) and changes[j][0] < hour + HOUR:
                    billable = billable or changes[j][1] in BILLABLE
                    j += 1
                if billable:
                    hours.add(hour)
            result[c["pk"]] = hours
        return result

    def _direct_carried_vcpu(self, clusters, windows) -> dict:
        """cluster id → f(before): the vCPU last reported before `before` (its current facts
        when no heartbeat was recorded at all)."""
        facts = dict(RegisteredCluster.objects.filter(pk__in=[c["pk"] for c in clusters]).values_list("pk", "facts"))
        out = {}
        for c in clusters:
            start, end = windows[c["pk"]]
            beats = list(ClusterHeartbeat.objects.filter(cluster_id=c["pk"], time__gte=start, time__lt=end)
                         .order_by("time").values_list("time", "vcpu"))
            earlier = (ClusterHeartbeat.objects.filter(cluster_id=c["pk"], time__lt=start)
                       .order_by("-time").values_list("time", "vcpu").first())
            if earlier:
                beats.insert(0, earlier)
            default = facts_mod.billable_vcpu(facts.get(c["pk"]) or {})

            def value_before(before, beats=beats, default=default):
                last = None
                for time, vcpu in beats:
                    if time >= before:
                        break
                    last = vcpu
                return last if last is not None else default

            out[c["pk"]] = value_before
        return out

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
