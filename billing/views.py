"""Billing pages (R7.4): balance with top-up history, ledger, usage records (with CSV
export) and monthly bills. Read-only for tenants: `billing:list` (a read-tier action) opens
them all; operators top up in the admin."""
import csv

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cceone.console.views import ObjectListView
from cceone.iam.access import require, restrict
from cceone.iam.routes import iam_page

from . import services
from .filters import LedgerFilterSet, UsageFilterSet
from .metering import BILLING_TZ
from .models import InstanceType, LedgerEntry, Settlement, price_in_force
from .tables import LedgerTable, UsageTable

VIEW = "billing:list"


def _entries(user):
    return restrict(LedgerEntry.objects.select_related("settlement"), user, VIEW)


def _usage(user):
    return restrict(Settlement.objects.all(), user, VIEW)


@iam_page("billing:list")
@login_required
def overview(request):
    require(request.user, VIEW)
    account = request.user.account
    top_ups = _entries(request.user).filter(kind=LedgerEntry.Kind.TOP_UP).order_by("-created_at", "-id")[:10]
    month = services.current_month()
    return render(request, "billing/overview.html", {
        "title": _("Billing"), "tab": "overview", "summary": services.summary(account),
        "top_ups": LedgerTable(top_ups, exclude=("details", "kind"), orderable=False),
        "month": month, "month_total": services.monthly_bill(_usage(request.user), month).total,
        "minimum": services.MINIMUM_BALANCE, "low_hours": services.LOW_BALANCE_HOURS,
    })


class BillingListView(ObjectListView):
    view_action = VIEW
    template_name = "billing/list.html"
    per_page = 50
    tab = ""

    def get_context_extra(self):
        return {"tab": self.tab}


class LedgerList(BillingListView):
    queryset = LedgerEntry.objects.select_related("settlement")
    table_class = LedgerTable
    filterset_class = LedgerFilterSet
    title = gettext_lazy("Ledger")
    tab = "ledger"


class UsageList(BillingListView):
    queryset = Settlement.objects.all()
    table_class = UsageTable
    filterset_class = UsageFilterSet
    title = gettext_lazy("Usage records")
    tab = "usage"

    def get_context_extra(self):
        query = self.request.GET.urlencode()
        return {**super().get_context_extra(), "export_query": query}


class Echo:
    def write(self, value):
        return value


@iam_page("billing:list")
@login_required
def usage_export(request):
    """The usage records the page shows (same filters), as CSV, oldest first."""
    require(request.user, VIEW)
    records = UsageFilterSet(request.GET or None, queryset=_usage(request.user), request=request).qs
    types = dict(InstanceType.choices)
    writer = csv.writer(Echo())
    header = [_("Hour (UTC+8)"), _("Instance type"), _("Instance"), _("Instance ID"), _("vCPU"),
              _("Unit price (¥/vCPU/hour)"), _("Amount (¥)"), _("Billed")]

    def rows():
        yield "\ufeff" + writer.writerow(header)  # BOM: spreadsheet programs then read UTF-8
        for r in records.order_by("hour_start", "instance_name", "id").iterator(chunk_size=2000):
            yield writer.writerow([r.hour_start.astimezone(BILLING_TZ).strftime("%Y-%m-%d %H:00"),
                                   str(types.get(r.instance_type, r.instance_type)), r.instance_name,
                                   r.instance_ref, r.vcpu, r.unit_price, r.amount, "1" if r.billable else "0"])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="usage-records.csv"'
    return response


@iam_page("billing:list")
@login_required
def bills(request):
    """The monthly bill by instance type and by instance, with the metering rule."""
    require(request.user, VIEW)
    month = request.GET.get("month") or services.current_month()
    usage = _usage(request.user)
    try:
        bill = services.monthly_bill(usage, month)
    except ValidationError:
        raise Http404 from None
    months = services.bill_months(usage)
    if month not in {m["month"] for m in months}:
        months = sorted([*months, {"month": month, "total": bill.total, "hours": bill.hours}],
                        key=lambda m: m["month"], reverse=True)
    prices = [(label, price_in_force(value)) for value, label in InstanceType.choices]
    return render(request, "billing/bills.html", {"title": _("Bills"), "tab": "bills", "bill": bill,
                                                  "months": months, "month": month, "prices": prices})


# --- showback ----------------------------------------------------------------------------

SHOWBACK = "billing:showback"


def _showback_for(request, cluster=None):
    """The showback the query string asks for (month, by, period), of the account or of
    one cluster; 404 for a malformed month, like the bills."""
    from . import showback

    usage = restrict(Settlement.objects.all(), request.user, SHOWBACK)
    if cluster is not None:
        usage = usage.filter(instance_kind="cluster", instance_id=cluster.pk)
    month = request.GET.get("month") or services.current_month()
    by = request.GET.get("by") or "namespace"
    period = request.GET.get("period") or "month"
    try:
        return showback.showback(usage, month, by, period), usage
    except ValidationError:
        raise Http404 from None


def _showback_cluster(request, pk):
    from cceone.iam.access import get_or_deny
    from clusters.models import RegisteredCluster

    return get_or_deny(RegisteredCluster.objects.all(), request.user, pk, SHOWBACK)


def _showback_page(request, cluster=None):
    from cceone.console import charts

    from . import showback

    require(request.user, SHOWBACK)
    result, usage = _showback_for(request, cluster)
    months = services.bill_months(usage)
    if result.month not in {m["month"] for m in months}:
        months = sorted([*months, {"month": result.month}], key=lambda m: m["month"], reverse=True)
    dimension = showback.DIMENSIONS[result.by]
    chart = charts.bar_chart(_("Cost by %(dimension)s, %(month)s (¥)") % {"dimension": str(dimension).lower(),
                                                                           "month": result.month},
                             [_("Amount (¥)")], showback.chart_rows(result), chart_id="showback-chart")
    daily = None
    if result.period == "day":
        daily = charts.bar_chart(_("Cost per day, %(month)s (¥)") % {"month": result.month}, [_("Amount (¥)")],
                                 [(d["day"].isoformat(), [d["amount"].quantize(services.PRECISION * 100)])
                                  for d in result.days], chart_id="showback-daily")
    return render(request, "billing/showback.html", {
        "title": _("Showback"), "tab": "showback", "result": result, "chart": chart, "daily": daily,
        "months": months, "dimensions": showback.DIMENSIONS.items(), "periods": showback.PERIODS.items(),
        "cluster": cluster, "export_query": request.GET.urlencode(),
    })


@iam_page(SHOWBACK)
@login_required
def showback_page(request):
    """Cost per namespace, cluster, fleet or enterprise project, by day or month, as a chart and a table."""
    return _showback_page(request)


@iam_page(SHOWBACK)
@login_required
def showback_cluster(request, pk):
    """One cluster's showback (its namespaces by default)."""
    return _showback_page(request, _showback_cluster(request, pk))


@iam_page(SHOWBACK)
@login_required
def showback_export(request):
    """The showback the page shows, as CSV."""
    require(request.user, SHOWBACK)
    cluster = _showback_cluster(request, request.GET["cluster"]) if request.GET.get("cluster") else None
    result, _usage = _showback_for(request, cluster)
    writer = csv.writer(Echo())
    from . import showback

    header = [_("Period (UTC+8)"), str(showback.DIMENSIONS[result.by]), _("Cluster"), _("Namespace"), _("Amount (¥)")]

    def rows():
        yield "\ufeff" + writer.writerow(header)
        for r in result.rows:
            yield writer.writerow([str(r["period"]), r["label"], r["cluster"], r["namespace"], r["amount"]])
        yield writer.writerow([result.month, _("Total"), "", "", result.total])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="showback-{result.month}-{result.by}-{result.period}.csv"'
    return response
