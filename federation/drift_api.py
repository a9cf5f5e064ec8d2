"""The drift page's API twins: a federated workload's three-way comparison per member, and
re-sync of one member (`federation.drift_service`, the same IAM checks as the pages)."""
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from cceone import api_routes as routes
from resources.object_api import NAME, NAMESPACE

from . import drift_service
from .console_api import FederationViewSet
from .workloads import DEPLOY_ACTION

PARAMETERS = [OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=["deployments", "statefulsets"]),
              OpenApiParameter("namespace", str, OpenApiParameter.PATH, pattern=f"^{NAMESPACE}$"),
              OpenApiParameter("name", str, OpenApiParameter.PATH, pattern=f"^{NAME}$")]


class PresentSerializer(serializers.Serializer):
    template = serializers.BooleanField()
    rendered = serializers.BooleanField()
    live = serializers.BooleanField()


class DifferenceSerializer(serializers.Serializer):
    field = serializers.CharField(help_text='The field, e.g. `spec.template.spec.containers[web].image` '
                                            '(list items by name, label keys in brackets).')
    kind = serializers.ChoiceField(choices=["drift", "override"], help_text="drift: the member's object differs "
                                   "from what Karmada rendered for it; override: Karmada rendered it differently "
                                   "from the template (an OverridePolicy, the member's share of the replicas).")
    overridden = serializers.BooleanField(help_text="The rendered value differs from the template's.")
    template = serializers.JSONField(allow_null=True)
    rendered = serializers.JSONField(allow_null=True)
    live = serializers.JSONField(allow_null=True)
    present = PresentSerializer(help_text="Which of the three objects have the field (null is a value too).")


class MemberDriftSerializer(serializers.Serializer):
    cluster = serializers.CharField()
    state = serializers.ChoiceField(choices=list(drift_service.STATES))
    work = serializers.CharField(help_text="The Work in karmada-es-<member> holding the rendered object.")
    suspended = serializers.BooleanField(help_text="Dispatching to this member is suspended.")
    applied = serializers.DictField(allow_null=True, help_text="The Work's Applied condition.")
    error = serializers.CharField()
    written = serializers.BooleanField(help_text="Re-sync wrote the member; false when it was already in sync "
                                                 "(and always false in a comparison).")
    differences = DifferenceSerializer(many=True)


class DriftSerializer(serializers.Serializer):
    kind = serializers.CharField()
    namespace = serializers.CharField()
    name = serializers.CharField()
    binding = serializers.CharField(allow_null=True, help_text="The ResourceBinding; null when no policy claims it.")
    drifted = serializers.BooleanField(help_text="A member holds something other than what Karmada rendered.")
    members = MemberDriftSerializer(many=True)


class ResyncSerializer(serializers.Serializer):
    member = serializers.CharField(max_length=48, help_text="The member cluster to write the rendered object into.")


class FederatedWorkloadDriftViewSet(FederationViewSet):
    """A federated workload's drift and its re-sync."""

    iam_actions = {"drift": "federations:get", "resync": DEPLOY_ACTION}

    @extend_schema(responses=DriftSerializer, parameters=PARAMETERS, summary="A federated workload's drift",
                   description="For each member the workload is placed on: the fields in which the template, the "
                               "object Karmada rendered for the member (its Work) and the member's live object "
                               "differ. Status, server-managed metadata, Karmada's own labels and annotations and "
                               "fields the member's API server defaults are not compared.")
    @action(detail=False, methods=["get"], url_path="drift")
    def drift(self, request, federation_id=None, kind=None, namespace=None, name=None):
        # A service's ValidationError is a 400 through `cceone.api.exception_handler`.
        found = drift_service.compare(request.user, self.target, kind, namespace, name)
        return Response(found.as_dict())

    @extend_schema(request=ResyncSerializer, responses=MemberDriftSerializer, parameters=PARAMETERS,
                   summary="Re-sync a member with what Karmada rendered for it",
                   description="Writes the rendered object into the member through Karmada's cluster proxy as the "
                               "caller (Karmada's labels, annotations and retained fields kept); nothing is written "
                               "when the member is in sync. The member's comparison afterwards.")
    @action(detail=False, methods=["post"], url_path="drift/resync")
    def resync(self, request, federation_id=None, kind=None, namespace=None, name=None):
        given = ResyncSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        found = drift_service.resync(request.user, self.target, kind, namespace, name,
                                     given.validated_data["member"])
        return Response(found.as_dict())


def register() -> None:
    routes.register(rf"federations/(?P<federation_id>\d+)/workloads/(?P<kind>[a-z]+)/(?P<namespace>{NAMESPACE})/"
                    rf"(?P<name>{NAME})", FederatedWorkloadDriftViewSet, basename="federation-workload")
