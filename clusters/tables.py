import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from .models import RegisteredCluster


class ClusterTable(tables.Table):
    """The manual's cluster list columns (R3.4)."""

    name = tables.TemplateColumn(template_name="clusters/partials/name_cell.html", verbose_name=_("Cluster name"))
    cluster_type = tables.Column(verbose_name=_("Cluster type"))
    provider = tables.Column(verbose_name=_("Cluster provider"))
    kubernetes_version = tables.Column(verbose_name=_("Cluster version"), default="--")
    region = tables.Column(verbose_name=_("Region"), order_by=("region__sort_order",))
    created_at = tables.DateTimeColumn(verbose_name=_("Created at"), format="Y-m-d H:i:s")
    status = tables.TemplateColumn(template_name="clusters/partials/status_badge.html", verbose_name=_("Status"))
    deletion_protection = tables.BooleanColumn(verbose_name=_("Deletion protection"))
    actions = tables.TemplateColumn(template_name="clusters/partials/row_actions.html", verbose_name=_("Actions"),
                                    orderable=False)

    class Meta:
        model = RegisteredCluster
        fields = ("name", "cluster_type", "provider", "kubernetes_version", "region", "created_at", "status",
                  "deletion_protection")
        attrs = {"class": "table table-hover align-middle"}
        order_by = ("-created_at",)
