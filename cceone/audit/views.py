from django.utils.translation import gettext_lazy as _

from cceone.console.views import ObjectListView

from .filters import AuditEventFilterSet
from .models import AuditEvent
from .tables import AuditEventTable


class AuditEventList(ObjectListView):
    queryset = AuditEvent.objects.all()
    view_action = "audit:list"
    table_class = AuditEventTable
    filterset_class = AuditEventFilterSet
    title = _("Audit log")
    per_page = 50
