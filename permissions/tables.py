import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from cceone.console.tables import ConsoleTable
from clusters.models import RegisteredCluster

from .models import CustomPermission, PermissionBinding


class PermissionTable(ConsoleTable):
    name = tables.Column(verbose_name=_("Permission name"))
    kind = tables.TemplateColumn("{% load i18n %}{% translate 'Custom permission' %}", verbose_name=_("Type"),
                                 orderable=False)
    rules = tables.TemplateColumn(template_name="permissions/partials/rules_cell.html", verbose_name=_("Rules"),
                                  orderable=False)
    description = tables.Column(verbose_name=_("Description"), default="--")
    updated_at = tables.DateTimeColumn(verbose_name=_("Updated at"), format="Y-m-d H:i:s")
    actions = tables.TemplateColumn(template_name="permissions/partials/permission_actions.html",
                                    verbose_name=_("Actions"), orderable=False)

    class Meta:
        model = CustomPermission
        fields = ("name", "kind", "rules", "description", "updated_at")
        attrs = {"class": "table table-hover align-middle", "id": "custom-permissions"}


class AssociationTable(ConsoleTable):
    target = tables.TemplateColumn(template_name="permissions/partials/target_cell.html",
                                   verbose_name=_("Cluster or fleet"), order_by=("cluster__name", "fleet__name"))
    user = tables.Column(verbose_name=_("User"), accessor="user__username")
    user_id = tables.Column(verbose_name=_("User ID"))
    namespaces = tables.Column(verbose_name=_("Namespaces"), accessor="namespaces_display", orderable=False)
    permission = tables.Column(verbose_name=_("Permission name"), accessor="permission_name", orderable=False)
    kind = tables.TemplateColumn(
        "{% load i18n %}{% if record.preset %}{% translate 'Preset permission' %}{% else %}"
        "{% translate 'Custom permission' %}{% endif %}", verbose_name=_("Permission type"), orderable=False)
    actions = tables.TemplateColumn(template_name="permissions/partials/association_actions.html",
                                    verbose_name=_("Actions"), orderable=False)

    class Meta:
        model = PermissionBinding
        fields = ("target", "user", "user_id", "namespaces", "permission", "kind")
        attrs = {"class": "table table-hover align-middle"}


class SyncTable(ConsoleTable):
    name = tables.Column(verbose_name=_("Cluster name"), linkify=("permissions:cluster", [tables.A("pk")]))
    status = tables.TemplateColumn(template_name="clusters/partials/status_badge.html", verbose_name=_("Status"))
    fleet = tables.Column(verbose_name=_("Fleet"), default="--", linkify=True)
    sync = tables.TemplateColumn(template_name="permissions/partials/sync_cell.html", verbose_name=_("Permission sync"),
                                 order_by=("permission_sync__state",))

    class Meta:
        model = RegisteredCluster
        fields = ("name", "status", "fleet", "sync")
        attrs = {"class": "table table-hover align-middle"}
