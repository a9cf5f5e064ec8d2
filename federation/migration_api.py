"""The incremental migration wizard over the API (R6.2, R8.2): the same service
(`federation.migration`), IAM actions and audit as the pages. Reading a migration looks at the
ResourceBindings, so it also moves a step to "reached" once the target's replicas are ready."""
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from cceone import api_routes as routes
from resources.kube import Api

from . import migration as service
from .console_api import FederationViewSet
from .models import FederationMigration


class FederationMigrationStartSerializer(serializers.Serializer):
    source = serializers.CharField(max_length=253, help_text="The member the application runs in now.")
    target = serializers.CharField(max_length=253, help_text="The member it moves to.")
    namespace = serializers.RegexField(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)
    label_selector = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="",
                                           help_text="Only this application's objects; empty: the whole namespace.")
    steps = serializers.CharField(max_length=400, help_text="source:target weights per step, e.g. "
                                                            "\"100:0 50:50 0:100\": the first 0 for the target, "
                                                            "the last 0 for the source.")

    def validate_steps(self, value):
        try:
            return service.parse_steps(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None


class FederationMigrationMoveSerializer(serializers.Serializer):
    step = serializers.IntegerField(required=False, min_value=0,
                                    help_text="The step index the caller saw (0-based): refused if it moved since.")


class FederationMigrationObjectSerializer(serializers.Serializer):
    kind = serializers.CharField()
    name = serializers.CharField()
    observed = serializers.BooleanField(help_text="Its ResourceBinding holds the current step.")
    scheduled = serializers.DictField(child=serializers.IntegerField(), help_text="Member → replicas scheduled.")
    ready = serializers.DictField(child=serializers.IntegerField(), help_text="Member → ready replicas.")
    applied = serializers.DictField(child=serializers.BooleanField())


class FederationMigrationSerializer(serializers.ModelSerializer):
    message = serializers.CharField(source="display_message", read_only=True,
                                    help_text="Why the step stalled or a write failed, in the caller's language.")
    steps = serializers.ListField(child=serializers.ListField(child=serializers.IntegerField()),
                                  help_text="[source weight, target weight] per step.")
    promoted = serializers.ListField(child=serializers.DictField(), help_text="What the promotion made: kind, name, "
                                                                            "policy.")
    history = serializers.ListField(child=serializers.DictField(), help_text="Events: promoted, applied, ready, "
                                                                            "rolled-back, stalled; with the time.")
    claimed = serializers.ListField(child=serializers.CharField(), help_text="\"Kind/name\" of the source's objects "
                                    "this migration holds: no other unfinished migration may take them.")
    steps_reached = serializers.IntegerField(read_only=True, help_text="How many steps are reached (the current one "
                                                                       "once the target's replicas are ready).")
    next_step = serializers.ListField(source="next_weights", child=serializers.IntegerField(), allow_null=True,
                                      read_only=True, help_text="The next step's weights; null after the last.")
    advance_refused = serializers.CharField(source="advance_refusal", read_only=True,
                                            help_text="Why `advance` would be refused now, in the caller's "
                                                      "language; empty when it may be taken.")
    rollback_refused = serializers.CharField(source="rollback_refusal", read_only=True,
                                             help_text="Why `rollback` would be refused now; empty when it may be "
                                                       "taken.")

    class Meta:
        model = FederationMigration
        fields = ["id", "source", "target", "namespace", "label_selector", "steps", "current_step", "state",
                  "steps_reached", "next_step", "advance_refused", "rollback_refused", "message", "claimed",
                  "promoted", "history", "created_at", "step_started_at"]


class FederationMigrationDetailSerializer(FederationMigrationSerializer):
    status = FederationMigrationObjectSerializer(many=True,
                                                 help_text="Each promoted object as its ResourceBinding says now.")
    placed = serializers.DictField(child=serializers.IntegerField(), help_text="Member → ready replicas, summed.")

    class Meta(FederationMigrationSerializer.Meta):
        fields = [*FederationMigrationSerializer.Meta.fields, "status", "placed"]


MIGRATION_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The migration's id.")


@extend_schema_view(retrieve=extend_schema(parameters=[MIGRATION_ID]), advance=extend_schema(parameters=[MIGRATION_ID]),
                    rollback=extend_schema(parameters=[MIGRATION_ID]))
class FederationMigrationViewSet(FederationViewSet):
    """A federation's incremental migrations: start (promote), move on, roll back, look. The
    services' ValidationErrors are answered as 400s by `cceone.api.exception_handler`."""

    lookup_value_regex = r"\d+"  # /migrations/abc/ is a 404, not an error from the id's query
    iam_actions = {"list": "federations:get", "retrieve": "federations:get", "create": service.MIGRATE_ACTION,
                   "advance": service.MIGRATE_ACTION, "rollback": service.MIGRATE_ACTION}
    def _detail(self, found):
        rows = service.refresh(found, Api(self.target.obj, self.request.user))
        data = FederationMigrationSerializer(found).data
        return {**data, "status": [row.as_dict() for row in rows], "placed": service.placed(rows)}

    @extend_schema(responses=FederationMigrationSerializer(many=True), summary="A federation's migrations")
    def list(self, request, federation_id=None):
        return Response(FederationMigrationSerializer(FederationMigration.objects.filter(federation=self.target.obj),
                                            many=True).data)

    @extend_schema(request=FederationMigrationStartSerializer, responses={201: FederationMigrationDetailSerializer},
                   summary="Start a migration: promote the application from the source",
                   description="The source's matching objects are promoted (their pods keep running), then the "
                               "first step's policies are written; later steps are taken with `advance`.")
    def create(self, request, federation_id=None):
        given = FederationMigrationStartSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        found = service.start(request.user, self.target, service.Start(**given.validated_data))
        return Response(self._detail(found), status=status.HTTP_201_CREATED)

    @extend_schema(responses=FederationMigrationDetailSerializer, summary="A migration and where its replicas are")
    def retrieve(self, request, federation_id=None, pk=None):
        return Response(self._detail(get_object_or_404(FederationMigration, pk=pk, federation=self.target.obj)))

    def _move(self, request, pk, move):
        found = get_object_or_404(FederationMigration, pk=pk, federation=self.target.obj)
        given = FederationMigrationMoveSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        found = move(request.user, self.target, found.pk, given.validated_data.get("step"))
        return Response(self._detail(found))

    @extend_schema(request=FederationMigrationMoveSerializer, responses=FederationMigrationDetailSerializer,
                   summary="Take the next step",
                   description="Refused (400) until the target's replicas of the current step are ready.")
    @action(detail=True, methods=["post"])
    def advance(self, request, federation_id=None, pk=None):
        return self._move(request, pk, service.advance)

    @extend_schema(request=FederationMigrationMoveSerializer, responses=FederationMigrationDetailSerializer,
                   summary="Roll back one step")
    @action(detail=True, methods=["post"])
    def rollback(self, request, federation_id=None, pk=None):
        return self._move(request, pk, service.rollback)


def register() -> None:
    routes.register(r"federations/(?P<federation_id>\d+)/migrations", FederationMigrationViewSet,
                    basename="federation-migration")
