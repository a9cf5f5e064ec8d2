"""Federations as a billable kind (R7.2, R7.3, R7.6), registered with billing's metering.

A federation is priced per vCPU at ¥0 (the manual: federations are free), yet the ledger's
usage records show it like any on-demand instance: billing starts with the hour it first
became running and ends with the hour it was unsubscribed; an hour is billed when its status
history shows it running or changing at some moment of the hour, at 0 vCPU. Arrears freeze
it like a registered cluster; topping up restores the status it had.
"""
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q
from django.utils.translation import gettext_noop as N_

from billing.metering import BILLING_TZ, HOUR, BillableKind, FrozenState, HourUsage, hour_floor, hours_between, \
    last_settled

from . import transitions
from .models import Federation, FederationStatusChange

Status = Federation.Status
BILLABLE = {Status.RUNNING, Status.CHANGING}
FREEZABLE = {Status.RUNNING, Status.CHANGING}
VCPU = Decimal("0")


class FederationMeter(BillableKind):
    kind = "federation"

    def unsettled_hours(self, cutoff):
        federations = list(
            Federation.objects.filter(first_running_at__isnull=False, first_running_at__lt=cutoff)
            .annotate(last=last_settled(self.kind))
            .filter(Q(last__isnull=True) | Q(last__lt=cutoff - HOUR))
            .filter(Q(unsubscribed_at__isnull=True) | Q(last__isnull=True) | Q(last__lte=F("unsubscribed_at") - HOUR))
            .values("pk", "account_id", "name", "status", "first_running_at", "unsubscribed_at", "last"))
        out = []
        for f in federations:
            start = (f["last"].astimezone(BILLING_TZ) + HOUR) if f["last"] else hour_floor(f["first_running_at"])
            end = cutoff if f["unsubscribed_at"] is None else min(cutoff, hour_floor(f["unsubscribed_at"]) + HOUR)
            if start >= end:
                continue
            changes = list(FederationStatusChange.objects.filter(federation_id=f["pk"], at__lt=end)
                           .order_by("at", "id").values_list("at", "to_status"))
            for hour in hours_between(start, end):
                before = [to for at, to in changes if at <= hour]
                during = [to for at, to in changes if hour < at < hour + HOUR]
                billable = (before[-1:] and before[-1] in BILLABLE) or any(to in BILLABLE for to in during)
                out.append(HourUsage(self.kind, f["pk"], f["account_id"], f["name"], "federation", hour,
                                     VCPU if billable else None))
        return out

    def current_vcpu(self, account_ids):
        out = {}
        for account_id in Federation.objects.filter(account_id__in=list(account_ids), status__in=BILLABLE) \
                .values_list("account_id", flat=True):
            out.setdefault(account_id, []).append(("federation", VCPU))
        return out

    def freeze(self, account_id):
        frozen = []
        for federation in (Federation.objects.select_for_update(of=("self",))
                           .filter(account_id=account_id, status__in=FREEZABLE).select_related("account")):
            previous = federation.status
            transitions.change_status(federation, Status.FROZEN, N_("arrears"))
            frozen.append(FrozenState(federation.pk, federation.name, previous))
        return frozen

    def unfreeze(self, instance_id, previous_status):
        with transaction.atomic():
            federation = (Federation.objects.select_for_update(of=("self",)).select_related("account")
                          .filter(pk=instance_id, status=Status.FROZEN).first())
            if federation is None:
                return False  # unsubscribed (or otherwise changed) while frozen: leave it be
            transitions.change_status(federation, previous_status, N_("balance restored"))
            return True
