"""API for fleets (R8.2). Writes call fleets.services, the same functions the pages call."""
from django.db.models import Prefetch
from django.utils.functional import cached_property
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from cceone import api_routes as routes
from cceone.api import RestrictedViewSet
from cceone.iam.api import AccountRelatedField
from cceone.iam.models import EnterpriseProject
from clusters.models import RegisteredCluster

from . import services
from .filters import FleetFilterSet
from .models import Fleet


class WriteViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """List and retrieve restricted by `read_action`; create/update/destroy through `write` and
    `remove`, which call the services."""

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        obj = self.write(None, serializer.validated_data)
        return Response(self.get_serializer(obj).data, status=status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        obj = self.get_object()
        serializer = self.get_serializer(obj, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        obj = self.write(obj, {**self.current(obj), **serializer.validated_data})
        return Response(self.get_serializer(obj).data)

    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)

    def destroy(self, request, pk=None):
        self.remove(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- fleets -------------------------------------------------------------------------------------

# Fields other apps add to each member cluster in the fleet API (the permissions app adds
# `permission_sync`): name -> a factory of a read-only serializer field that takes the
# cluster. Registered from their AppConfig.ready(), so this app imports none of them.
_member_fields: dict = {}
_member_relations: list[str] = []  # what those fields read, joined in when a list is read


def register_member_field(name: str, make_field, select_related: str = "") -> None:
    _member_fields[name] = make_field
    if select_related:
        _member_relations.append(select_related)


def _with_member_relations(queryset):
    return queryset.select_related(*_member_relations) if _member_relations else queryset


class MemberSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True, help_text="The cluster's status, e.g. running or disconnected.")

    class Meta:
        model = RegisteredCluster
        fields = ["id", "name", "status", "cluster_type", "region", "kubernetes_version"]

    def get_fields(self):
        fields = super().get_fields()
        for name, make_field in _member_fields.items():
            fields[name] = make_field()
        return fields


class StatisticsSerializer(serializers.Serializer):
    clusters = serializers.IntegerField()
    clusters_running = serializers.IntegerField()
    nodes_total = serializers.IntegerField()
    nodes_ready = serializers.IntegerField()
    vcpu = serializers.DecimalField(max_digits=12, decimal_places=3, help_text="vCPU of Ready nodes")
    cpu_rate = serializers.FloatField(allow_null=True, help_text="CPU requests ÷ allocatable CPU of Ready nodes")
    memory_rate = serializers.FloatField(allow_null=True, help_text="Memory requests ÷ allocatable memory")
    cpu_requested = serializers.IntegerField(help_text="millicores")
    cpu_allocatable = serializers.IntegerField(help_text="millicores")
    memory_requested = serializers.IntegerField(help_text="bytes")
    memory_allocatable = serializers.IntegerField(help_text="bytes")


class FleetSerializer(serializers.ModelSerializer):
    enterprise_project = AccountRelatedField(queryset=EnterpriseProject.objects.all(), required=False)
    clusters = AccountRelatedField(many=True, queryset=RegisteredCluster.objects.all(), required=False,
                                   help_text="On create: clusters in no fleet to add.")
    creator = serializers.CharField(source="creator.username", read_only=True, default=None)
    members = serializers.SerializerMethodField()
    statistics = serializers.SerializerMethodField()

    class Meta:
        model = Fleet
        fields = ["id", "name", "description", "enterprise_project", "creator", "created_at", "deletion_protection",
                  "clusters", "members", "statistics"]
        read_only_fields = ["deletion_protection"]  # switched on the fleet console

    @extend_schema(responses=MemberSerializer(many=True))
    def get_members(self, fleet) -> list[dict]:
        return self._members.to_representation(_members(fleet))

    @extend_schema(responses=StatisticsSerializer)
    def get_statistics(self, fleet) -> dict:
        return self._statistics.to_representation(services.fleet_statistics(fleet, _members(fleet)))

    # One nested serializer for every fleet of a list, not one per fleet.
    @cached_property
    def _members(self):
        return MemberSerializer(many=True, context=self.context)

    @cached_property
    def _statistics(self):
        return StatisticsSerializer(context=self.context)


def _members(fleet) -> list[RegisteredCluster]:
    """The fleet's clusters by name: prefetched for a list (FleetViewSet.get_queryset), else read."""
    members = getattr(fleet, "members_by_name", None)
    if members is None:
        members = list(_with_member_relations(fleet.clusters.order_by("name")))
    return members


class ClusterIdsSerializer(serializers.Serializer):
    clusters = AccountRelatedField(many=True, queryset=RegisteredCluster.objects.all())


class ClusterIdSerializer(serializers.Serializer):
    cluster = AccountRelatedField(queryset=RegisteredCluster.objects.all())


class FleetViewSet(WriteViewSet):
    """Fleets (R4): create with clusters, add and remove clusters, delete when empty."""

    queryset = Fleet.objects.select_related("creator")
    serializer_class = FleetSerializer
    filterset_class = FleetFilterSet
    iam_actions = {"list": "fleets:list", "retrieve": "fleets:get", "create": "fleets:create",
                   "update": "fleets:update", "partial_update": "fleets:update", "destroy": "fleets:delete",
                   "add_clusters": "fleets:update", "remove_cluster": "fleets:update"}

    @property
    def read_action(self):
        return "fleets:list" if self.action == "list" else "fleets:get"

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list":  # a page of fleets in three queries, whatever their members
            members = _with_member_relations(RegisteredCluster.objects.order_by("name"))
            queryset = queryset.prefetch_related(
                Prefetch("clusters", queryset=RegisteredCluster.objects.only("pk", "fleet_id")),  # `clusters`: ids
                Prefetch("clusters", queryset=members, to_attr="members_by_name"))
        return queryset

    def current(self, fleet):
        return {"name": fleet.name, "description": fleet.description}

    def write(self, fleet, data):
        user = self.request.user
        if fleet is None:
            return services.create_fleet(user, name=data.get("name", ""), description=data.get("description", ""),
                                         enterprise_project=data.get("enterprise_project"),
                                         clusters=data.get("clusters", []))
        return services.update_fleet(user, fleet, name=data["name"], description=data.get("description", ""))

    def remove(self, fleet):
        services.delete_fleet(self.request.user, fleet)

    @extend_schema(request=ClusterIdsSerializer, responses=FleetSerializer)
    @action(detail=True, methods=["post"], url_path="add-clusters")
    def add_clusters(self, request, pk=None):
        """Add clusters that are in no fleet; they take the fleet's permissions."""
        fleet = self.get_object()
        data = ClusterIdsSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        services.add_clusters(request.user, fleet, data.validated_data["clusters"])
        return Response(self.get_serializer(fleet).data)

    @extend_schema(request=ClusterIdSerializer, responses=FleetSerializer)
    @action(detail=True, methods=["post"], url_path="remove-cluster")
    def remove_cluster(self, request, pk=None):
        """Remove a cluster from the fleet; its own permissions apply again."""
        fleet = self.get_object()
        data = ClusterIdSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        services.remove_cluster(request.user, fleet, data.validated_data["cluster"])
        return Response(self.get_serializer(fleet).data)


def register() -> None:
    """Serve this app's viewsets under /api/v1/ (called from AppConfig.ready())."""
    routes.register("fleets", FleetViewSet, basename="fleet")
