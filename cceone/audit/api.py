from rest_framework import mixins, serializers

from cceone.api import RestrictedViewSet

from .filters import AuditEventFilterSet
from .models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", "time", "actor_name", "action", "target_type", "target_id", "target_name", "region",
                  "result", "source_ip", "user_agent", "details", "request_id"]


class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """The account's audit log (R1.3), newest first."""

    queryset = AuditEvent.objects.all()
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilterSet
    iam_actions = {"list": "audit:list", "retrieve": "audit:list"}
    read_action = "audit:list"
