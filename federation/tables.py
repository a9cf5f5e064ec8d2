import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cceone.console.tables import ConsoleTable

from .models import Federation

Status = Federation.Status


class FederationTable(ConsoleTable):
    """The federation list (the manual's 联邦列表)."""

    name = tables.Column(verbose_name=gettext_lazy("Federation name"))
    status = tables.Column(verbose_name=gettext_lazy("Status"))
    karmada_version = tables.Column(verbose_name=gettext_lazy("Karmada API server version"), default="--")
    fleet = tables.Column(verbose_name=gettext_lazy("Fleet"), default="--")
    region = tables.Column(verbose_name=gettext_lazy("Region"), order_by=("region__sort_order",))
    created_at = tables.DateTimeColumn(verbose_name=gettext_lazy("Created at"), format="Y-m-d H:i:s")
    deletion_protection = tables.BooleanColumn(verbose_name=gettext_lazy("Deletion protection"))
    actions = tables.Column(verbose_name=gettext_lazy("Actions"), empty_values=(), orderable=False,
                            attrs={"td": {"class": "text-nowrap"}})

    class Meta:
        model = Federation
        fields = ("name", "status", "karmada_version", "fleet", "region", "created_at", "deletion_protection")
        attrs = {"class": "table table-hover align-middle federation-table"}
        order_by = ("-created_at",)

    def render_name(self, record):
        name = format_html('<a href="{}">{}</a>', reverse("federation:detail", args=[record.pk]), record.name)
        if record.is_sandbox:
            return format_html('{} <span class="badge bg-sandbox">{}</span>', name, _("sandbox"))
        return name

    def render_status(self, record):
        return format_html('<span class="badge status-{}">{}</span>', record.status, record.get_status_display())

    def render_region(self, record):
        return record.region.display_name

    def render_actions(self, record):
        links = [("", reverse("federation:detail", args=[record.pk]), _("Details"))]
        if record.status not in (Status.UNSUBSCRIBED, Status.UNSUBSCRIBING) \
                and getattr(record, "unsubscribable", False):  # annotate_can in the list's query
            links.append(("text-danger", reverse("federation:unsubscribe", args=[record.pk]), _("Unsubscribe")))
        return format_html_join(" ", '<a class="me-2 {}" href="{}">{}</a>', links)
