"""API twins of the operations pages (R8.2): the same services, the same checks."""
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cceone import api_routes as routes
from cceone.api import RestrictedViewSet
from cceone.iam.access import get_or_deny
from clusters.models import RegisteredCluster

from . import schedules, services, trends
from .filters import DiagnosisFilterSet, InspectionFilterSet
from .findings import translate
from .models import Diagnosis, Inspection, InspectionSchedule, Waiver

LIST, VIEW = "clusters:list", "clusters:get"


def _cluster(request, pk, action):
    return get_or_deny(RegisteredCluster.objects.all(), request.user, pk, action)


# A create names its cluster in the body, so its gate cannot be the action asked about no
# cluster (a grant scoped to clusters never answers that): the gate is reading clusters, then
# the action on some cluster (403 before the body is read), then on the cluster named.
CREATE_GATE = LIST


def _require_somewhere(request, action):
    services.require_somewhere(request.user, action)


class DiagnosisSerializer(serializers.ModelSerializer):
    cluster = serializers.PrimaryKeyRelatedField(read_only=True)
    cluster_id = serializers.IntegerField(write_only=True)
    namespace = serializers.CharField(required=False, allow_blank=True, default="")
    message = serializers.SerializerMethodField()
    results = serializers.SerializerMethodField()
    confirmations = serializers.SerializerMethodField()

    class Meta:
        model = Diagnosis
        fields = ("id", "cluster", "cluster_id", "kind", "namespace", "name", "status", "checks_done", "checks_total",
                  "abnormal_count", "message", "results", "confirmations", "created_at", "finished_at")
        read_only_fields = ("status", "checks_done", "checks_total", "abnormal_count", "created_at", "finished_at")

    def get_message(self, obj) -> str:
        return obj.display_message()

    def get_results(self, obj) -> list[dict]:
        return [{**r, "title": translate(r["title"], None), "remedy": translate(r["remedy"], None),
                 "findings": [{"message": translate(f["message"], f.get("params")), "evidence": f.get("evidence", [])}
                              for f in r.get("findings", [])]} for r in obj.results]

    def get_confirmations(self, obj) -> list[dict]:
        return [{"check": c.check_id, "user": c.user_name, "note": c.note, "confirmed_at": c.confirmed_at}
                for c in obj.confirmations.all()]


class ConfirmSerializer(serializers.Serializer):
    check = serializers.CharField(max_length=64)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class DiagnosisViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    queryset = Diagnosis.objects.select_related("cluster").prefetch_related("confirmations")
    serializer_class = DiagnosisSerializer
    filterset_class = DiagnosisFilterSet
    read_action = LIST
    iam_actions = {"list": LIST, "retrieve": VIEW, "create": CREATE_GATE, "confirm": services.DIAGNOSE}

    def create(self, request):
        _require_somewhere(request, services.DIAGNOSE)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        cluster = _cluster(request, data["cluster_id"], services.DIAGNOSE)
        diagnosis = services.start_diagnosis(request.user, cluster, data["kind"], data["namespace"], data["name"])
        return Response(self.get_serializer(diagnosis).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ConfirmSerializer, responses=DiagnosisSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        diagnosis = self.get_object()
        serializer = ConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.confirm_item(request.user, diagnosis, serializer.validated_data["check"],
                              serializer.validated_data["note"])
        return Response(self.get_serializer(Diagnosis.objects.get(pk=diagnosis.pk)).data)


class InspectionSerializer(serializers.ModelSerializer):
    cluster = serializers.PrimaryKeyRelatedField(read_only=True)
    cluster_id = serializers.IntegerField(write_only=True)
    message = serializers.SerializerMethodField()
    findings = serializers.SerializerMethodField()

    class Meta:
        model = Inspection
        fields = ("id", "cluster", "cluster_id", "trigger", "status", "checks_done", "checks_total", "score", "counts",
                  "diff", "findings", "objects_inspected", "api_calls", "message", "created_at", "finished_at")
        read_only_fields = tuple(f for f in fields if f not in ("cluster_id",))

    def get_message(self, obj) -> str:
        return obj.display_message()

    def get_findings(self, obj) -> list[dict]:
        return [{**f, "message": translate(f["message"], f.get("params"))} for f in obj.findings]


class InspectionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    queryset = Inspection.objects.select_related("cluster")
    serializer_class = InspectionSerializer
    filterset_class = InspectionFilterSet
    read_action = LIST
    iam_actions = {"list": LIST, "retrieve": VIEW, "create": CREATE_GATE}

    def create(self, request):
        """Run an inspection of the cluster now."""
        _require_somewhere(request, services.INSPECT)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cluster = _cluster(request, serializer.validated_data["cluster_id"], services.INSPECT)
        inspection = services.start_inspection(request.user, cluster)
        return Response(self.get_serializer(inspection).data, status=status.HTTP_201_CREATED)


class InspectionScheduleSerializer(serializers.ModelSerializer):
    cluster = serializers.PrimaryKeyRelatedField(read_only=True)
    cluster_id = serializers.IntegerField(write_only=True)
    description = serializers.SerializerMethodField()

    class Meta:
        model = InspectionSchedule
        fields = ("id", "cluster", "cluster_id", "minute", "hour", "day_of_month", "month_of_year", "day_of_week",
                  "timezone", "enabled", "description")

    def get_description(self, obj) -> str:
        return schedules.describe(obj)


class ScheduleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    queryset = InspectionSchedule.objects.select_related("cluster")
    serializer_class = InspectionScheduleSerializer
    read_action = LIST
    iam_actions = {"list": LIST, "retrieve": VIEW, "create": CREATE_GATE, "update": services.CONFIGURE,
                   "partial_update": services.CONFIGURE, "destroy": services.CONFIGURE}

    def _values(self, data, current=None):
        names = (*schedules.FIELDS, "timezone")
        return {n: data.get(n, getattr(current, n, None) if current else None) or
                (getattr(current, n) if current else InspectionSchedule._meta.get_field(n).default) for n in names}

    def create(self, request):
        _require_somewhere(request, services.CONFIGURE)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        cluster = _cluster(request, data["cluster_id"], services.CONFIGURE)
        if InspectionSchedule.objects.filter(cluster=cluster).exists():
            raise serializers.ValidationError({"cluster_id": [_("This cluster already has a schedule; change it.")]})
        schedule = services.save_schedule(request.user, cluster, self._values(data), data.get("enabled", True))
        return Response(self.get_serializer(schedule).data, status=status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        schedule = self.get_object()
        serializer = self.get_serializer(schedule, data={"cluster_id": schedule.cluster_id, **request.data},
                                         partial=partial)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        schedule = services.save_schedule(request.user, schedule.cluster, self._values(data, schedule),
                                          data.get("enabled", schedule.enabled))
        return Response(self.get_serializer(schedule).data)

    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)

    def destroy(self, request, pk=None):
        services.delete_schedule(request.user, self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class WaiverSerializer(serializers.ModelSerializer):
    cluster = serializers.PrimaryKeyRelatedField(read_only=True)
    cluster_id = serializers.IntegerField(write_only=True)
    active = serializers.SerializerMethodField()

    class Meta:
        model = Waiver
        fields = ("id", "cluster", "cluster_id", "check_id", "namespace", "kind", "name", "reason", "expires_at",
                  "revoked_at", "active")
        read_only_fields = ("revoked_at",)

    def get_active(self, obj) -> bool:
        return obj.is_active()


class WaiverViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    queryset = Waiver.objects.select_related("cluster")
    serializer_class = WaiverSerializer
    read_action = LIST
    iam_actions = {"list": LIST, "retrieve": VIEW, "create": CREATE_GATE, "destroy": services.CONFIGURE}

    def create(self, request):
        _require_somewhere(request, services.CONFIGURE)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        cluster = _cluster(request, data["cluster_id"], services.CONFIGURE)
        waiver = services.create_waiver(request.user, cluster, check_id=data["check_id"],
                                        namespace=data.get("namespace", ""), kind=data.get("kind", ""),
                                        name=data.get("name", ""), reason=data["reason"],
                                        expires_at=data["expires_at"])
        return Response(self.get_serializer(waiver).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, pk=None):
        """Revoke the waiver (it stays listed, revoked)."""
        services.revoke_waiver(request.user, self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class TrendPointSerializer(serializers.Serializer):
    time = serializers.DateTimeField()
    score = serializers.IntegerField()


class ClusterTrendSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    points = TrendPointSerializer(many=True)


class FleetTrendSerializer(ClusterTrendSerializer):
    covered = serializers.IntegerField(help_text="Clusters of the fleet with a completed inspection.")
    members = serializers.IntegerField(help_text="Clusters of the fleet the caller may list.")


class InspectionTrendsSerializer(serializers.Serializer):
    clusters = ClusterTrendSerializer(many=True)
    fleets = FleetTrendSerializer(many=True,
                                  help_text="A fleet's score at each point is the mean of its clusters' latest scores.")


class TrendViewSet(viewsets.ViewSet):
    """Inspection scores over time per cluster and per fleet (the Score trends page)."""

    iam_actions = {"list": LIST}

    @extend_schema(responses=InspectionTrendsSerializer, parameters=[OpenApiParameter(
        "fleet", int, description="Only the clusters of this fleet in `clusters`.")])
    def list(self, request):
        found = trends.scores(request.user, request.query_params.get("fleet", ""))

        def points(line):
            return {**line, "points": [{"time": when, "score": score} for when, score in line["points"]]}

        return Response(InspectionTrendsSerializer({"clusters": [points(c) for c in found.clusters],
                                                    "fleets": [points(f) for f in found.fleets]}).data)


def register() -> None:
    routes.register("diagnoses", DiagnosisViewSet, "diagnosis")
    routes.register("inspections", InspectionViewSet, "inspection")
    routes.register("inspection-schedules", ScheduleViewSet, "inspection-schedule")
    routes.register("inspection-waivers", WaiverViewSet, "inspection-waiver")
    routes.register("inspection-trends", TrendViewSet, "inspection-trend")
