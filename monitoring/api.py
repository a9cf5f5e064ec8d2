"""API twins of the monitoring pages: the endpoint (read, set, remove), its test and the panels."""
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from cceone import api_routes as routes
from cceone.api import RestrictedViewSet
from clusters.models import RegisteredCluster

from . import panels, services
from .models import PrometheusEndpoint

VIEW, CONFIGURE = services.VIEW, services.CONFIGURE


class EndpointSerializer(serializers.ModelSerializer):
    token = serializers.CharField(write_only=True, required=False, allow_blank=True,
                                  help_text="Bearer token for an external https:// URL; blank keeps the stored one.")
    clear_token = serializers.BooleanField(write_only=True, required=False, default=False)
    has_token = serializers.SerializerMethodField()
    cluster = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = PrometheusEndpoint
        fields = ("cluster", "mode", "namespace", "service", "port", "scheme", "path_prefix", "url", "verify_tls",
                  "token", "clear_token", "has_token", "checked_at", "check_ok", "check_message", "updated_at")
        read_only_fields = ("checked_at", "check_ok", "check_message", "updated_at")
        extra_kwargs = {"namespace": {"required": False}, "service": {"required": False}, "url": {"required": False},
                        "port": {"required": False}}

    def get_has_token(self, obj) -> bool:
        return bool(obj.token_encrypted)

    def validate(self, attrs):
        return attrs  # services.build judges the endpoint

    def values(self) -> dict:
        return dict(self.validated_data)


class TestResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    message = serializers.CharField()


class PointSerializer(serializers.ListField):
    child = serializers.FloatField()


class SeriesSerializer(serializers.Serializer):
    name = serializers.CharField()
    labels = serializers.DictField(child=serializers.CharField())
    points = serializers.ListField(child=PointSerializer(), help_text="[unix seconds, value] pairs, oldest first")


class PanelSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    unit = serializers.CharField()
    queries = serializers.ListField(child=serializers.CharField())
    error = serializers.CharField(allow_blank=True)
    series = SeriesSerializer(many=True)


class PanelsSerializer(serializers.Serializer):
    range = serializers.CharField()
    start = serializers.FloatField()
    end = serializers.FloatField()
    step = serializers.IntegerField()
    panels = PanelSerializer(many=True)


class ClusterEndpointSerializer(serializers.ModelSerializer):
    endpoint = serializers.SerializerMethodField()

    class Meta:
        model = RegisteredCluster
        fields = ("id", "name", "endpoint")

    def get_endpoint(self, obj) -> EndpointSerializer(allow_null=True):
        endpoint = getattr(obj, "prometheus_endpoint", None)
        return EndpointSerializer(endpoint).data if endpoint else None


class MonitoringViewSet(mixins.ListModelMixin, RestrictedViewSet):
    """A cluster's Prometheus endpoint and its preset panels, at /monitoring/clusters/<cluster id>/;
    the list shows each cluster the user may list with its endpoint (or none)."""

    queryset = RegisteredCluster.objects.select_related("prometheus_endpoint").order_by("name", "pk")
    serializer_class = EndpointSerializer
    read_action = "clusters:list"
    iam_actions = {"list": "clusters:list", "retrieve": VIEW, "update": CONFIGURE, "destroy": CONFIGURE, "test": CONFIGURE, "panels": VIEW}

    def get_serializer_class(self):
        return ClusterEndpointSerializer if self.action == "list" else EndpointSerializer

    @extend_schema(responses=EndpointSerializer, operation_id="monitoring_endpoint_retrieve",
                   summary="The cluster's Prometheus endpoint (404 when none is configured)")
    def retrieve(self, request, pk=None):
        cluster = self.get_object()
        endpoint = services.endpoint_of(cluster)
        if endpoint is None:
            return Response({"detail": _("No Prometheus endpoint is configured for this cluster.")},
                            status=status.HTTP_404_NOT_FOUND)
        return Response(EndpointSerializer(endpoint).data)

    @extend_schema(request=EndpointSerializer, responses=EndpointSerializer, operation_id="monitoring_endpoint_update",
                   summary="Set the cluster's Prometheus endpoint")
    def update(self, request, pk=None):
        cluster = self.get_object()
        serializer = EndpointSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.configure(request.user, cluster, serializer.values())
        return Response(EndpointSerializer(endpoint).data)

    @extend_schema(responses={204: None}, operation_id="monitoring_endpoint_destroy",
                   summary="Remove the cluster's Prometheus endpoint")
    def destroy(self, request, pk=None):
        services.remove(request.user, self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=EndpointSerializer, responses=TestResultSerializer, operation_id="monitoring_endpoint_test",
                   summary="Test an endpoint: the values given, or the stored one when the body is empty")
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        cluster = self.get_object()
        values = None
        if request.data:
            serializer = EndpointSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            values = serializer.values()
        ok, message = services.test_connection(request.user, cluster, values)
        return Response({"ok": ok, "message": message})

    @extend_schema(parameters=[OpenApiParameter("range", str, enum=list(panels.RANGES), default=panels.DEFAULT_RANGE)],
                   responses=PanelsSerializer, operation_id="monitoring_panels",
                   summary="The preset panels' series (query_range); 404 when no endpoint is configured")
    @action(detail=True, methods=["get"])
    def panels(self, request, pk=None):
        cluster = self.get_object()
        data = services.panel_data(request.user, cluster, request.query_params.get("range", panels.DEFAULT_RANGE))
        if data is None:
            return Response({"detail": _("No Prometheus endpoint is configured for this cluster.")},
                            status=status.HTTP_404_NOT_FOUND)
        return Response({"range": data["range"], "start": data["start"], "end": data["end"], "step": data["step"],
                         "panels": [{"key": p["panel"].key, "title": str(p["panel"].title), "unit": p["panel"].unit,
                                     "queries": [q.expr for q in p["panel"].queries], "error": p["error"],
                                     "series": [{"name": s["name"], "labels": s["labels"],
                                                 "points": [list(pt) for pt in s["points"]]} for s in p["series"]]}
                                    for p in data["panels"]]})


def register():
    routes.register("monitoring/clusters", MonitoringViewSet, basename="monitoring")
