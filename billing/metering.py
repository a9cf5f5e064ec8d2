"""Metering (R7.2, R7.3): what each billable instance used, hour by hour.

Settlement is generic over *billable kinds*: registered clusters are one (billing.meters,
registered by this app), federations another (registered by the federation app with
`metering.register(...)` in its AppConfig.ready()). A kind answers four questions:

- `unsettled_hours(cutoff)`: every hour of its instances, from the hour after the last
  settled one (`last_settled(kind)`) or from the hour billing started, up to `cutoff`
  (exclusive) or to the hour billing ended; with the vCPU to bill, or None when the
  instance was not billable during that hour;
- `current_vcpu(account_ids)`: (instance type, vCPU now) of the accounts' on-demand
  instances that the next hour would bill, for the next hour's charge (balance check,
  low-balance warning);
- `freeze(account_id)` / `unfreeze(instance_id, previous_status)`: arrears (R7.6).

Hours are the hours of UTC+8 (the manual: "以 UTC+8 时间为准"), whatever TIME_ZONE is.
"""
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import OuterRef, Subquery

BILLING_TZ = ZoneInfo("Asia/Shanghai")
HOUR = timedelta(hours=1)


def hour_floor(moment: datetime) -> datetime:
    """The start of the billing hour `moment` falls in, in UTC+8."""
    return moment.astimezone(BILLING_TZ).replace(minute=0, second=0, microsecond=0)


def hours_between(start: datetime, end: datetime) -> Iterator[datetime]:
    """Hour starts from `start` (hour-aligned) up to `end` (exclusive)."""
    hour = start
    while hour < end:
        yield hour
        hour = (hour + HOUR).astimezone(BILLING_TZ)


@dataclass(frozen=True)
class HourUsage:
    kind: str
    instance_id: int
    account_id: int
    name: str
    instance_type: str  # billing.models.InstanceType: the price to apply
    hour_start: datetime
    vcpu: Decimal | None  # None: not billable during this hour
    # Showback (optional): where the instance is, and its CPU requests per namespace in the hour.
    fleet_id: int | None = None
    fleet_name: str = ""
    project_id: int | None = None
    project_name: str = ""
    namespace_cpu: dict | None = None


@dataclass(frozen=True)
class FrozenState:
    instance_id: int
    name: str
    previous_status: str


class BillableKind(ABC):
    """What settlement needs from a kind of billable instance (registered clusters here;
    federations register their own)."""

    kind: str = ""

    @abstractmethod
    def unsettled_hours(self, cutoff: datetime) -> Iterable[HourUsage]:
        """Every instance-hour before `cutoff` not settled yet."""

    @abstractmethod
    def current_vcpu(self, account_ids) -> dict[int, list[tuple[str, Decimal]]]:
        """Per account: (instance type, vCPU) of its on-demand instances now."""

    @abstractmethod
    def freeze(self, account_id: int) -> list[FrozenState]:
        """Freeze the account's instances (arrears); what each was before."""

    @abstractmethod
    def unfreeze(self, instance_id: int, previous_status: str) -> bool:
        """Restore one instance; False if it changed meanwhile."""


_kinds: dict[str, BillableKind] = {}


def register(kind: BillableKind) -> BillableKind:
    _kinds[kind.kind] = kind
    return kind


def unregister(key: str) -> None:
    _kinds.pop(key, None)


def kinds() -> list[BillableKind]:
    return list(_kinds.values())


def kind(key: str) -> BillableKind | None:
    return _kinds.get(key)


def last_settled(kind_key: str, ref: str = "pk") -> Subquery:
    """The last settled hour of each instance of a kind, to annotate the kind's queryset."""
    from .models import Settlement

    return Subquery(Settlement.objects.filter(instance_kind=kind_key, instance_id=OuterRef(ref))
                    .order_by("-hour_start").values("hour_start")[:1])
