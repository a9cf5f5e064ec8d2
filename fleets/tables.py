import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from cceone.console.tables import ConsoleTable

from .models import Fleet


class FleetTable(ConsoleTable):
    name = tables.Column(verbose_name=_("Fleet name"), linkify=("fleets:detail", [tables.A("pk")]))
    cluster_count = tables.Column(verbose_name=_("Clusters"))
    description = tables.Column(verbose_name=_("Description"), default="--")
    enterprise_project = tables.Column(verbose_name=_("Enterprise project"), default="--")
    created_at = tables.DateTimeColumn(verbose_name=_("Created at"), format="Y-m-d H:i:s")
    actions = tables.TemplateColumn(template_name="fleets/partials/fleet_actions.html", verbose_name=_("Actions"),
                                    orderable=False)

    class Meta:
        model = Fleet
        fields = ("name", "cluster_count", "description", "enterprise_project", "created_at")
        attrs = {"class": "table table-hover align-middle"}
        order_by = ("-created_at",)
