import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from cceone.console.tables import ConsoleTable

from .models import Diagnosis, Inspection, Waiver


class DiagnosisTable(ConsoleTable):
    object = tables.Column(verbose_name=_("Object"), accessor="name", linkify=("operations:diagnosis", [tables.A("pk")]))
    kind = tables.Column(verbose_name=_("Type"))
    cluster = tables.Column(verbose_name=_("Cluster"), accessor="cluster__name")
    status = tables.TemplateColumn(template_name="operations/partials/run_status.html", verbose_name=_("Status"))
    abnormal_count = tables.Column(verbose_name=_("Abnormal items"))
    requested_by = tables.Column(verbose_name=_("Started by"), default="--")
    created_at = tables.DateTimeColumn(verbose_name=_("Created at"), format="Y-m-d H:i:s")

    class Meta:
        model = Diagnosis
        fields = ("object", "kind", "cluster", "status", "abnormal_count", "requested_by", "created_at")
        attrs = {"class": "table table-hover align-middle", "id": "diagnosis-table"}
        order_by = ("-created_at",)

    def render_object(self, record):
        return record.object_label


class InspectionTable(ConsoleTable):
    id = tables.Column(verbose_name=_("Report"), linkify=("operations:inspection", [tables.A("pk")]))
    cluster = tables.Column(verbose_name=_("Cluster"), accessor="cluster__name",
                            linkify=("operations:cluster", [tables.A("cluster_id")]))
    trigger = tables.Column(verbose_name=_("Trigger"))
    status = tables.TemplateColumn(template_name="operations/partials/run_status.html", verbose_name=_("Status"))
    score = tables.Column(verbose_name=_("Score"), default="--")
    created_at = tables.DateTimeColumn(verbose_name=_("Created at"), format="Y-m-d H:i:s")

    class Meta:
        model = Inspection
        fields = ("id", "cluster", "trigger", "status", "score", "created_at")
        attrs = {"class": "table table-hover align-middle", "id": "inspection-table"}
        order_by = ("-created_at",)

    def render_id(self, value):
        return f"#{value}"


class WaiverTable(ConsoleTable):
    check_id = tables.Column(verbose_name=_("Check"))
    cluster = tables.Column(verbose_name=_("Cluster"), accessor="cluster__name")
    scope = tables.Column(verbose_name=_("Object"), accessor="name", default="--")
    reason = tables.Column(verbose_name=_("Reason"))
    expires_at = tables.DateTimeColumn(verbose_name=_("Expires at"), format="Y-m-d H:i:s")
    created_by = tables.Column(verbose_name=_("Created by"), default="--")
    state = tables.TemplateColumn(template_name="operations/partials/waiver_state.html", verbose_name=_("State"),
                                  orderable=False)

    class Meta:
        model = Waiver
        fields = ("check_id", "cluster", "scope", "reason", "expires_at", "created_by", "state")
        attrs = {"class": "table table-hover align-middle", "id": "waiver-table"}
        order_by = ("-created_at",)

    def render_scope(self, record):
        name = f"{record.kind}/{record.name}" if record.kind and record.name else record.name
        return f"{record.namespace}/{name}" if name else _("namespace %(namespace)s") % {"namespace": record.namespace}
