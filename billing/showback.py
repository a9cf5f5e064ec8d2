"""Showback: what each namespace, fleet, enterprise project and cluster cost, from the
same usage records as the bill (vCPU-hours × price), by day or by month in UTC+8.

A billed hour's charge is split among the cluster's namespaces by their CPU requests in the
hour (`SettlementShare`, written by settlement); fleets and projects are those the cluster
was in when the hour was settled. Every figure is a sum of the bill's own amounts, so a
month's showback, whatever the grouping, adds up to the month's bill exactly."""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import DecimalField, Sum, Value
from django.db.models.functions import Coalesce, TruncDay
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .metering import BILLING_TZ
from .models import MONEY as MONEY_FIELD
from .services import PRECISION, month_range

MONEY = DecimalField(**MONEY_FIELD)

DIMENSIONS = {
    "namespace": gettext_lazy("Namespace"),
    "cluster": gettext_lazy("Cluster"),
    "fleet": gettext_lazy("Fleet"),
    "project": gettext_lazy("Enterprise project"),
}
PERIODS = {"month": gettext_lazy("Month"), "day": gettext_lazy("Day")}
TOP = 12  # groups drawn on the chart; the rest are one bar, "Other"


@dataclass
class Showback:
    month: str
    by: str
    period: str
    total: Decimal
    rows: list[dict]  # period, key, label, cluster, namespace, amount; by period then amount
    groups: list[dict]  # key, label, amount: the month's totals per group, largest first
    days: list[dict]  # day, amount: the month's daily totals


def _label(by: str, row: dict) -> str:
    if by == "cluster":
        return row["instance_name"]
    if by == "fleet":
        return row["fleet_name"] or _("(no fleet)")
    if by == "project":
        return row["project_name"] or _("(no enterprise project)")
    return f"{row['instance_name']} / {row['ns'] or _('(no CPU requests reported)')}"


KEYS = {
    "cluster": ("instance_kind", "instance_id", "instance_name"),
    "fleet": ("fleet_id", "fleet_name"),
    "project": ("project_id", "project_name"),
    "namespace": ("instance_kind", "instance_id", "instance_name", "ns"),
}


def showback(settlements, month: str, by: str = "namespace", period: str = "month") -> Showback:
    """`settlements`: the account's usage records (already restricted); one aggregate query
    for the rows, the group and day totals are summed from them."""
    if by not in DIMENSIONS:
        raise ValidationError({"by": _("Group by namespace, cluster, fleet or project.")})
    if period not in PERIODS:
        raise ValidationError({"period": _("Show by day or by month.")})
    try:
        start, end = month_range(month)
    except (ValueError, OverflowError):  # a year past 9999
        raise ValidationError({"month": _("Give the month as YYYY-MM.")}) from None
    billed = settlements.filter(hour_start__gte=start, hour_start__lt=end, billable=True)
    if by == "namespace":
        # Hours settled before showback existed have no parts: their whole charge is "not attributed".
        billed = billed.annotate(ns=Coalesce("shares__namespace", Value("")),
                                 part=Coalesce("shares__amount", "amount", output_field=MONEY))
        amount = Sum("part")
    else:
        amount = Sum("amount")
    fields = list(KEYS[by])
    if period == "day":
        billed = billed.annotate(day=TruncDay("hour_start", tzinfo=BILLING_TZ))
        fields.append("day")
    rows = []
    for row in billed.values(*fields).annotate(amount=amount).order_by():
        key = "|".join(str(row[f]) for f in KEYS[by])
        day = row.get("day")
        rows.append({"period": day.astimezone(BILLING_TZ).date() if day else month, "key": key,
                     "label": _label(by, row), "amount": (row["amount"] or Decimal("0")).quantize(PRECISION),
                     "cluster": row.get("instance_name", ""), "namespace": row.get("ns", "")})
    groups, days = {}, {}
    for row in rows:
        group = groups.setdefault(row["key"], {"key": row["key"], "label": row["label"], "amount": Decimal("0")})
        group["amount"] += row["amount"]
        if isinstance(row["period"], date):
            days[row["period"]] = days.get(row["period"], Decimal("0")) + row["amount"]
    rows.sort(key=lambda r: (str(r["period"]), -r["amount"], r["label"]))
    return Showback(month=month, by=by, period=period, total=sum((r["amount"] for r in rows), Decimal("0")),
                    rows=rows, groups=sorted(groups.values(), key=lambda g: (-g["amount"], g["label"])),
                    days=[{"day": d, "amount": a} for d, a in sorted(days.items())])


def chart_rows(result: Showback) -> list[tuple[str, list]]:
    """The month's groups for the chart: the largest `TOP`, then the rest as "Other"."""
    top, rest = result.groups[:TOP], result.groups[TOP:]
    rows = [(g["label"], [g["amount"].quantize(Decimal("0.01"))]) for g in top]
    if rest:
        rows.append((_("Other"), [sum((g["amount"] for g in rest), Decimal("0")).quantize(Decimal("0.01"))]))
    return rows
