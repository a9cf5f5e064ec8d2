"""The federation console's own pages over the API (issue #15 item 8): the division preview,
the guided federated workload and a workload's placement, through the same services and IAM
checks as the pages. The generic resource pages' twins (every kind, policies included) are
`resources.object_api`'s, under /api/v1/kubernetes/federations/<id>/."""
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cceone import api_routes as routes
from cceone.api import form_serializer
from cceone.api_schema import ConsoleAutoSchema, ErrorSerializer
from cceone.kube.gateway import KubeError
from resources.object_api import NAME, NAMESPACE, KubernetesRefusal, ObjectRefSerializer, TargetUnavailable, ref
from resources.targets import Unavailable, resolve

from . import promote as promotion
from . import workloads as federated
from .policy_forms import FederatedWorkloadForm, OverrideFields, PlacementFields, PromoteForm

PlacementSerializer = form_serializer(PlacementFields, "FederationPlacement")
WorkloadSerializer = form_serializer(FederatedWorkloadForm, "FederatedWorkloadCreate")
OverrideSerializer = form_serializer(OverrideFields, "FederatedWorkloadOverride")


class DivisionPreviewRequestSerializer(serializers.Serializer):
    """Replicas and a placement: the guided fields (`replica_scheduling`, `cluster_names`, `cluster_labels`,
    `weights`, `tolerations`) or a Karmada `placement` object as a policy holds it."""

    replicas = serializers.IntegerField(min_value=0, max_value=10000)
    workload_kind = WorkloadSerializer._declared_fields["workload_kind"]
    placement = serializers.DictField(required=False, help_text="A PropagationPolicy's spec.placement; "
                                                                "instead of the guided fields.")
    uid = serializers.CharField(required=False, allow_blank=True,
                                help_text="The resource template's UID, once it exists: ties are then exact.")
    replica_scheduling = PlacementSerializer._declared_fields["replica_scheduling"]
    cluster_names = PlacementSerializer._declared_fields["cluster_names"]
    cluster_labels = PlacementSerializer._declared_fields["cluster_labels"]
    weights = PlacementSerializer._declared_fields["weights"]
    tolerations = PlacementSerializer._declared_fields["tolerations"]

    def placement_manifest(self) -> dict:
        data = self.validated_data
        if "placement" in data:
            return data["placement"]
        form = PlacementFields(data={key: data[key] for key in PlacementFields.base_fields if key in data})
        if not form.is_valid():
            raise serializers.ValidationError({field: list(errors) for field, errors in form.errors.items()})
        return form.placement().manifest()


class PreviewMemberSerializer(serializers.Serializer):
    name = serializers.CharField()
    replicas = serializers.IntegerField()
    candidate = serializers.BooleanField(help_text="It passed the filters (affinity, taints, the kind served).")
    weight = serializers.IntegerField(allow_null=True, help_text="Its static weight, or its room for replicas.")
    reason = serializers.CharField(help_text="Why it gets nothing: not-selected, taint-not-tolerated, "
                                             "kind-not-served, no-weight, not-needed; empty otherwise.")
    detail = serializers.CharField()
    alternatives = serializers.ListField(child=serializers.IntegerField(),
                                         help_text="Other counts a tie could give it (the UID is not known yet).")


class PreviewSerializer(serializers.Serializer):
    replicas = serializers.IntegerField()
    scheduling = serializers.CharField(help_text="Duplicated, Weighted, Aggregated or DynamicWeight.")
    algorithm = serializers.CharField(help_text="webster (Karmada ≥ 1.16), legacy-random, legacy-name, duplicated "
                                                "or capacity.")
    placed = serializers.DictField(child=serializers.IntegerField(), help_text="Member → replicas, as the "
                                                                               "binding's spec.clusters.")
    uid_dependent = serializers.BooleanField(help_text="A tie the template's UID decides: ±1 replica.")
    random_ties = serializers.BooleanField(help_text="A tie this Karmada release settles at random.")
    error = serializers.CharField()
    members = PreviewMemberSerializer(many=True)


class FederatedWorkloadRequestSerializer(WorkloadSerializer):
    overrides = OverrideSerializer(many=True, required=False, help_text="One per member that differs "
                                                                        "(override_cluster names it).")


class PlacementRowSerializer(serializers.Serializer):
    cluster = serializers.CharField()
    preview = serializers.IntegerField(allow_null=True)
    scheduled = serializers.IntegerField(allow_null=True, help_text="The ResourceBinding's spec.clusters.")
    applied = serializers.BooleanField(allow_null=True)
    health = serializers.CharField()
    message = serializers.CharField()
    ready = serializers.IntegerField(allow_null=True)
    matches = serializers.BooleanField()


PlacementResponse = inline_serializer("FederatedWorkloadPlacement", {
    "policy": serializers.CharField(allow_null=True), "binding": serializers.CharField(allow_null=True),
    "preview": PreviewSerializer(allow_null=True), "matches": serializers.BooleanField(),
    "scheduled": serializers.DictField(allow_null=True), "applied": serializers.DictField(allow_null=True),
    "members": PlacementRowSerializer(many=True)})


class FederationConsoleSchema(ConsoleAutoSchema):
    """Besides the console's usual answers: Kubernetes' refusals passed on (409, 422), the
    Karmada API server unreachable (502) and a federation whose console cannot serve now (503)."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in ("409", "422", "502", "503"):
            responses.setdefault(code, self._get_response_for_code(ErrorSerializer, code, direction=direction))
        return responses


class PromoteRequestSerializer(serializers.Serializer):
    """What to take over from one member: the chosen kinds (all when empty) in a namespace,
    narrowed by a label selector or one name."""

    member = serializers.CharField(max_length=253, help_text="The member cluster.")
    namespace = serializers.CharField(max_length=63)
    kinds = serializers.ListField(child=serializers.ChoiceField(choices=list(promotion.KINDS)), required=False,
                                  help_text="Kinds to promote; all of them when left out.")
    label_selector = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    name = serializers.CharField(required=False, allow_blank=True, max_length=253,
                                 help_text="One object by name (give one kind).")
    dependencies = serializers.BooleanField(required=False, default=False,
                                            help_text="Also the ConfigMaps, Secrets and PersistentVolumeClaims the "
                                                      "chosen workloads use (karmadactl promote --dependencies).")


class PromoteResultSerializer(serializers.Serializer):
    kind = serializers.CharField()
    name = serializers.CharField()
    outcome = serializers.ChoiceField(choices=list(promotion.OUTCOMES))
    reason = serializers.CharField()
    policy = serializers.CharField(help_text="The PropagationPolicy created for it.")


class PromotePodSerializer(serializers.Serializer):
    name = serializers.CharField()
    uid_before = serializers.CharField()
    uid_after = serializers.CharField()
    state = serializers.ChoiceField(choices=["unchanged", "restarted", "new", "gone"])


class PromoteResponseSerializer(serializers.Serializer):
    member = serializers.CharField()
    namespace = serializers.CharField()
    results = PromoteResultSerializer(many=True)
    pods = PromotePodSerializer(many=True)
    applied = serializers.BooleanField(help_text="Karmada reported every promoted object applied to the member.")
    namespace_created = serializers.BooleanField(
        help_text="The namespace was missing in Karmada and was created from the member's before promoting.")
    counts = serializers.DictField(child=serializers.IntegerField())


class FederationViewSet(viewsets.ViewSet):
    """The base of the federation console's viewsets: the federation from the URL as their IAM
    object, Kubernetes' refusals passed on."""

    schema = FederationConsoleSchema()

    def iam_object(self):
        """The federation: 404 outside the account, 403 (audited) without `federations:get`, its
        state when its console cannot serve (IAMPermission asks first)."""
        if not hasattr(self, "target"):
            try:
                self.target = resolve("federation", self.request.user, self.kwargs["federation_id"])
            except Unavailable as error:
                raise TargetUnavailable(error) from None
        return self.target.obj

    def handle_exception(self, exc):
        if isinstance(exc, KubeError):
            exc = KubernetesRefusal(exc)
        return super().handle_exception(exc)


class FederationConsoleViewSet(FederationViewSet):
    """A federation's division preview, guided workloads and placements."""

    iam_actions = {"division_preview": "federations:get", "workloads": federated.DEPLOY_ACTION,
                   "placement": "federations:get", "promote": promotion.PROMOTE_ACTION}

    @extend_schema(request=DivisionPreviewRequestSerializer, responses=PreviewSerializer,
                   summary="Preview a division of replicas among the members",
                   description="Karmada's scheduler rules (Webster for ≥ 1.16, the older rule before, detected "
                               "from the CRDs) applied to the members as they are now; nothing is created.")
    @action(detail=False, methods=["post"], url_path="division-preview")
    def division_preview(self, request, federation_id=None):
        given = DivisionPreviewRequestSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        found = federated.preview_for(request.user, self.target, data["replicas"], given.placement_manifest(),
                                      kind=data["workload_kind"], uid=data.get("uid") or None)
        return Response(found.as_dict())

    @extend_schema(request=FederatedWorkloadRequestSerializer,
                   responses={201: inline_serializer("FederatedWorkloadCreated", {
                       "created": ObjectRefSerializer(many=True)})},
                   summary="Create a federated workload with its policies",
                   description="The workload, its PropagationPolicy and (when a member differs) its OverridePolicy, "
                               "each checked by the API server (a dry run) before any is created.")
    @action(detail=False, methods=["post"], url_path="workloads")
    def workloads(self, request, federation_id=None):
        given = FederatedWorkloadRequestSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        overrides = []
        for number, data in enumerate(given.validated_data.get("overrides") or []):
            form = OverrideFields(data=data)
            if not form.is_valid():
                raise serializers.ValidationError({"overrides": {number: form.errors}})
            overrides.append(form.cluster_override())
        form = given.form
        created = federated.create(request.user, self.target, federated.FederatedWorkload(
            form.manifest(), form.placement(), overrides))
        return Response({"created": [ref(*c) for c in created]}, status=status.HTTP_201_CREATED)

    @extend_schema(responses=PlacementResponse, summary="A federated workload's placement",
                   description="The preview (exact: the template's UID is known) next to the ResourceBinding's "
                               "result per member and what each member reports.",
                   parameters=[OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=["deployments",
                                                                                           "statefulsets"]),
                               OpenApiParameter("namespace", str, OpenApiParameter.PATH, pattern=f"^{NAMESPACE}$"),
                               OpenApiParameter("name", str, OpenApiParameter.PATH, pattern=f"^{NAME}$")])
    @action(detail=False, methods=["get"],
            url_path=rf"workloads/(?P<kind>[a-z]+)/(?P<namespace>{NAMESPACE})/(?P<name>{NAME})/placement")
    def placement(self, request, federation_id=None, kind=None, namespace=None, name=None):
        found = federated.placement(request.user, self.target, kind, namespace, name)
        return Response({
            "policy": (found["policy"] or {}).get("metadata", {}).get("name"),
            "binding": (found["binding"] or {}).get("metadata", {}).get("name"),
            "preview": found["preview"].as_dict() if found["preview"] else None, "matches": found["matches"],
            "scheduled": found["scheduled"], "applied": found["applied"], "members": found["rows"]})

    @extend_schema(request=PromoteRequestSerializer, responses=PromoteResponseSerializer,
                   summary="Promote a member's existing objects into the federation",
                   description="As karmadactl promote: each matching object of the member (read through Karmada's "
                               "cluster proxy) becomes a resource template, pruned of status and server-managed "
                               "fields, with a PropagationPolicy placing it on that member only and "
                               "conflictResolution Overwrite, so the member's object is adopted, not recreated. "
                               "Every match has a result; the member's pods are listed before and after.")
    @action(detail=False, methods=["post"], url_path="promote")
    def promote(self, request, federation_id=None):
        given = PromoteRequestSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        form = PromoteForm(data={**given.validated_data, "kinds": given.validated_data.get("kinds") or []})
        if not form.is_valid():
            raise serializers.ValidationError({key: list(errors) for key, errors in form.errors.items()})
        try:
            outcome = promotion.promote(request.user, self.target, form.promote_request())
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict if hasattr(error, "error_dict")
                                              else {"detail": error.messages}) from None
        return Response(outcome.as_dict())


def register() -> None:
    routes.register(r"federations/(?P<federation_id>\d+)", FederationConsoleViewSet, basename="federation-console")
