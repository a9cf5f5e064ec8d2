"""A cluster's permission sync state, as the fleet and permission APIs show it."""
from rest_framework import serializers

from .models import ClusterPermissionSync


class SyncStateSerializer(serializers.ModelSerializer):
    waiting_for_namespaces = serializers.SerializerMethodField()

    class Meta:
        model = ClusterPermissionSync
        fields = ["state", "error", "synced_at", "last_attempt_at", "waiting_for_namespaces"]

    def get_waiting_for_namespaces(self, state) -> list[str]:
        return list((state.summary or {}).get("waiting_for_namespaces") or [])
