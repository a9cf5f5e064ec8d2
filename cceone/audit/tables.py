import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from cceone.console.tables import ConsoleTable

from .models import AuditEvent

# The audit `target_type` strings (stable API values) as a reader names them.
TARGET_TYPES = {
    "account": _("Account"), "agent": _("Agent"), "api-token": _("API token"), "cluster": _("Cluster"),
    "delegation": _("Delegation"), "group": _("User group"), "policy": _("Policy"),
    "project": _("Enterprise project"), "user": _("Sub-account"), "verification": _("Real-name verification"),
    "fleet": _("Fleet"), "kube-permission": _("Kubernetes permission"),
    "permission-binding": _("Permission association"),
}


class AuditEventTable(ConsoleTable):
    time = tables.DateTimeColumn(verbose_name=_("Time"), format="Y-m-d H:i:s")
    actor_name = tables.Column(verbose_name=_("User"))
    action = tables.Column(verbose_name=_("Action"))
    target = tables.Column(verbose_name=_("Instance"), accessor="target_name", orderable=False)
    region = tables.Column(verbose_name=_("Region"))
    result = tables.TemplateColumn(template_name="audit/partials/result.html", verbose_name=_("Result"))
    # What a kubeconfig-proxy request asked and how it was answered (empty for console events).
    request = tables.TemplateColumn(template_name="audit/partials/request.html", verbose_name=_("Request"),
                                    accessor="details", orderable=False)
    source_ip = tables.Column(verbose_name=_("Source IP"))

    def render_target(self, record):
        kind = TARGET_TYPES.get(record.target_type, record.target_type)
        return f"{kind} {record.target_name}" if kind else record.target_name

    class Meta:
        model = AuditEvent
        fields = ("time", "actor_name", "action", "target", "region", "result", "request", "source_ip")
        attrs = {"class": "table table-sm table-hover align-middle"}
