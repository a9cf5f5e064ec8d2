"""The Failover view's API twin: `GET /api/v1/federations/<id>/failover/`, the same reading
(as the user) and recording as the page (`federation.failover.view`)."""
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from cceone import api_routes as routes

from . import failover
from .console_api import FederationConsoleSchema, FederationViewSet

# A plain string, not an enum: the same choice set under several field names would make the
# schema generator name it twice.
READY = serializers.CharField(help_text="The Ready condition's status: True, False or Unknown; empty: not "
                                        "reported yet.")


class ReadyNowSerializer(serializers.Serializer):
    status = READY
    reason = serializers.CharField()
    message = serializers.CharField()
    since = serializers.DateTimeField(allow_null=True, help_text="The condition's lastTransitionTime.")


class ConditionChangeSerializer(serializers.Serializer):
    status = READY
    reason = serializers.CharField()
    message = serializers.CharField()
    transitioned_at = serializers.DateTimeField(help_text="Karmada's lastTransitionTime.")
    observed_at = serializers.DateTimeField(help_text="When the console first saw it.")


class TaintSerializer(serializers.Serializer):
    key = serializers.CharField()
    effect = serializers.CharField()
    added = serializers.DateTimeField(allow_null=True)


class FailoverMemberSerializer(serializers.Serializer):
    name = serializers.CharField()
    ready = ReadyNowSerializer()
    taints = TaintSerializer(many=True)
    history = ConditionChangeSerializer(many=True, help_text="Recorded transitions, newest first.")


class EvictionSerializer(serializers.Serializer):
    from_cluster = serializers.CharField()
    replicas = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()
    producer = serializers.CharField()
    clusters_before = serializers.ListField(child=serializers.CharField(),
                                            help_text="clustersBeforeFailover: the members before the eviction.")
    created_at = serializers.CharField()


class WorkloadMemberSerializer(serializers.Serializer):
    cluster = serializers.CharField()
    before = serializers.IntegerField(allow_null=True, help_text="Replicas before the move (null: unknown or "
                                                                 "not there).")
    now = serializers.IntegerField(allow_null=True, help_text="Replicas in the binding's spec.clusters now.")
    member_ready = READY
    applied = serializers.BooleanField(allow_null=True)
    health = serializers.CharField()
    ready_replicas = serializers.IntegerField(allow_null=True)


class SnapshotSerializer(serializers.Serializer):
    observed_at = serializers.DateTimeField()
    clusters = serializers.DictField(child=serializers.IntegerField())


class FailoverWorkloadSerializer(serializers.Serializer):
    namespace = serializers.CharField()
    binding = serializers.CharField()
    kind = serializers.CharField()
    name = serializers.CharField()
    replicas = serializers.IntegerField(allow_null=True)
    now = serializers.DictField(child=serializers.IntegerField(), help_text="Member → replicas now.")
    before = serializers.DictField(child=serializers.IntegerField(allow_null=True), allow_null=True,
                                   help_text="Member → replicas before the last move; null when it never moved.")
    before_at = serializers.DateTimeField(allow_null=True, help_text="When the console recorded that placement.")
    moved_at = serializers.DateTimeField(allow_null=True, help_text="When the move was first seen (recorded) or "
                                                                    "the eviction task's creation time.")
    before_source = serializers.ChoiceField(choices=["recorded", "eviction", ""],
                                            help_text="recorded: the console's placement history; eviction: "
                                                      "Karmada's gracefulEvictionTasks.")
    moved = serializers.BooleanField()
    evictions = EvictionSerializer(many=True)
    members = WorkloadMemberSerializer(many=True)
    history = SnapshotSerializer(many=True, help_text="Recorded placements, newest first.")


class FailoverSerializer(serializers.Serializer):
    members = FailoverMemberSerializer(many=True)
    members_error = serializers.CharField(help_text="Why the members could not be read (as you), if so.")
    workloads = FailoverWorkloadSerializer(many=True)
    workloads_error = serializers.CharField()
    not_ready = serializers.ListField(child=serializers.CharField())
    refresh_seconds = serializers.IntegerField(help_text="When to look again: short while a member is not Ready.")


class FailoverSchema(FederationConsoleSchema):
    """One object per federation, though served as the viewset's `list`."""

    def _is_list_view(self, serializer=None):
        return False


class FederationFailoverViewSet(FederationViewSet):
    """A federation's failover: members' Ready history and where workloads' replicas moved."""

    schema = FailoverSchema()
    iam_actions = {"list": "federations:get"}

    @extend_schema(responses=FailoverSerializer, summary="A federation's failover view",
                   description="Each member's Ready condition now and its transitions recorded by the console, and "
                               "for each federated workload (ResourceBinding) the replicas per member before its "
                               "last move and now, with each member's Ready state and what it reports. Read from "
                               "Karmada as you: only what you may read is shown.")
    def list(self, request, federation_id=None):
        self.iam_object()
        return Response(FailoverSerializer(failover.view(request.user, self.target)).data)


def register() -> None:
    routes.register(r"federations/(?P<federation_id>\d+)/failover", FederationFailoverViewSet,
                    basename="federation-failover")
