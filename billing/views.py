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
