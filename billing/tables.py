import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from cceone.console.tables import ConsoleTable

from .metering import BILLING_TZ
from .money import yuan
from .models import LedgerEntry, Settlement


class HourColumn(tables.Column):
    """An hour start, shown in UTC+8 whatever the server's time zone."""

    def render(self, value):
        return value.astimezone(BILLING_TZ).strftime("%Y-%m-%d %H:00")


class MoneyColumn(tables.Column):
    def __init__(self, *args, places=4, **kwargs):
        self.places = places
        kwargs.setdefault("attrs", {"td": {"class": "text-end num"}, "th": {"class": "text-end text-nowrap"}})
        super().__init__(*args, **kwargs)

    def render(self, value):
        return yuan(value, self.places)


class LedgerTable(ConsoleTable):
    created_at = tables.DateTimeColumn(verbose_name=_("Time"), format="Y-m-d H:i:s", order_by=("created_at", "id"),
                                       attrs={"td": {"class": "num"}})
    kind = tables.TemplateColumn(template_name="billing/partials/kind_badge.html", verbose_name=_("Type"))
    amount = MoneyColumn(verbose_name=_("Amount (¥)"))
    balance_after = MoneyColumn(verbose_name=_("Balance (¥)"))
    details = tables.TemplateColumn(template_name="billing/partials/ledger_details.html", verbose_name=_("Details"),
                                    orderable=False)
    reference = tables.Column(verbose_name=_("Reference"))
    actor_name = tables.Column(verbose_name=_("By"))

    class Meta:
        model = LedgerEntry
        fields = ("created_at", "kind", "amount", "balance_after", "details", "reference", "actor_name")
        attrs = {"class": "table table-sm table-hover align-middle"}
        order_by = ("-created_at",)


class UsageTable(ConsoleTable):
    hour_start = HourColumn(verbose_name=_("Hour (UTC+8)"), order_by=("hour_start", "instance_name", "id"),
                            attrs={"td": {"class": "num"}})
    instance_name = tables.Column(verbose_name=_("Instance"))
    instance_type = tables.Column(verbose_name=_("Instance type"))
    vcpu = MoneyColumn(verbose_name=_("vCPU"), places=3)
    unit_price = MoneyColumn(verbose_name=_("Unit price (¥/vCPU/hour)"))
    amount = MoneyColumn(verbose_name=_("Amount (¥)"))
    billable = tables.TemplateColumn(template_name="billing/partials/billed_badge.html", verbose_name=_("Billed"))

    class Meta:
        model = Settlement
        fields = ("hour_start", "instance_name", "instance_type", "vcpu", "unit_price", "amount", "billable")
        attrs = {"class": "table table-sm table-hover align-middle"}
        order_by = ("-hour_start",)
