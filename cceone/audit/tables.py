import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from cceone.console.tables import ConsoleTable

from .models import AuditEvent


class AuditEventTable(ConsoleTable):
    time = tables.DateTimeColumn(verbose_name=_("Time"), format="Y-m-d H:i:s")
    actor_name = tables.Column(verbose_name=_("User"))
    action = tables.Column(verbose_name=_("Action"))
    target = tables.TemplateColumn("{{ record.target_type }} {{ record.target_name }}", verbose_name=_("Instance"),
                                   orderable=False)
    region = tables.Column(verbose_name=_("Region"))
    result = tables.TemplateColumn(template_name="audit/partials/result.html", verbose_name=_("Result"))
    source_ip = tables.Column(verbose_name=_("Source IP"))

    class Meta:
        model = AuditEvent
        fields = ("time", "actor_name", "action", "target", "region", "result", "source_ip")
        attrs = {"class": "table table-sm table-hover align-middle"}
