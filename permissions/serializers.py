"""A cluster's permission sync state, as the fleet and permission APIs show it."""
from django.utils.functional import cached_property
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import ClusterPermissionSync


class SyncStateSerializer(serializers.ModelSerializer):
    waiting_for_namespaces = serializers.SerializerMethodField()

    class Meta:
        model = ClusterPermissionSync
        fields = ["state", "error", "synced_at", "last_attempt_at", "waiting_for_namespaces"]

    def get_waiting_for_namespaces(self, state) -> list[str]:
        return list((state.summary or {}).get("waiting_for_namespaces") or [])


@extend_schema_field(SyncStateSerializer(allow_null=True))
class ClusterSyncField(serializers.Field):
    """A cluster's sync state (or null before its first sync): the `permission_sync` of each
    member in the fleet API (registered with `fleets.api.register_member_field`)."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, cluster):
        try:
            state = cluster.permission_sync  # joined in by the fleet list (select_related), else read
        except ClusterPermissionSync.DoesNotExist:
            state = None
        return self._state.to_representation(state) if state else None

    @cached_property
    def _state(self):
        # One serializer for every member: building a ModelSerializer's fields costs more than a row.
        return SyncStateSerializer(context=self.context)
