import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cceone.console.tables import ConsoleTable

from .models import RegisteredCluster

Status = RegisteredCluster.Status


def status_badge(cluster) -> str:
    return format_html('<span class="badge status-{}">{}</span>', cluster.status, cluster.get_status_display())


class ClusterTable(ConsoleTable):
    """The manual's cluster list columns (R3.4). Cells are rendered in Python: the list is
    the console's hottest page, and a template per cell costs more than the query."""

    name = tables.Column(verbose_name=gettext_lazy("Cluster name"))
    cluster_type = tables.Column(verbose_name=gettext_lazy("Cluster type"))
    provider = tables.Column(verbose_name=gettext_lazy("Cluster provider"))
    kubernetes_version = tables.Column(verbose_name=gettext_lazy("Cluster version"), default="--")
    region = tables.Column(verbose_name=gettext_lazy("Region"), order_by=("region__sort_order",))
    created_at = tables.DateTimeColumn(verbose_name=gettext_lazy("Created at"), format="Y-m-d H:i:s")
    status = tables.Column(verbose_name=gettext_lazy("Status"))
    deletion_protection = tables.BooleanColumn(verbose_name=gettext_lazy("Deletion protection"))
    actions = tables.Column(verbose_name=gettext_lazy("Actions"), empty_values=(), orderable=False,
                            attrs={"td": {"class": "text-nowrap"}})

    class Meta:
        model = RegisteredCluster
        fields = ("name", "cluster_type", "provider", "kubernetes_version", "region", "created_at", "status",
                  "deletion_protection")
        attrs = {"class": "table table-hover align-middle cluster-table"}
        order_by = ("-created_at",)

    def render_name(self, record):
        # Only running clusters link to their console (R3.4); a configuration change leaves it up.
        name = (format_html('<a href="{}">{}</a>', reverse("clusters:overview", args=[record.pk]), record.name)
                if record.status in (Status.RUNNING, Status.CHANGING) else record.name)
        if record.is_sandbox:
            return format_html('{} <span class="badge bg-sandbox">{}</span>', name, _("sandbox"))
        return name

    def render_status(self, record):
        return status_badge(record)

    def render_actions(self, record):
        links = []
        if record.status not in (Status.UNSUBSCRIBED, Status.CREATING):
            links.append(("", reverse("clusters:access", args=[record.pk]), _("Access configuration")))
        links.append(("", reverse("clusters:operations", args=[record.pk]), _("Operation log")))
        if record.status not in (Status.UNSUBSCRIBED, Status.DESTROYING, Status.CREATING, Status.CHANGING) \
                and getattr(record, "unsubscribable", False):  # annotate_can in the list's query
            links.append(("text-danger", reverse("clusters:unsubscribe", args=[record.pk]), _("Unsubscribe")))
        return format_html_join(" ", '<a class="me-2 {}" href="{}">{}</a>', links)
