"""API for fleets, Kubernetes permissions, associations and sync state (R8.2).
Writes call fleets.services, the same functions the pages call."""
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from cceone.api import RestrictedViewSet
from cceone.iam.access import require
from cceone.iam.api import AccountRelatedField
from cceone.iam.models import EnterpriseProject, User
from clusters.models import RegisteredCluster

from . import rbac, services
from .filters import AssociationFilterSet, FleetFilterSet, PermissionFilterSet, SyncFilterSet
from .models import ClusterPermissionSync, CustomPermission, Fleet, PermissionBinding


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

class SyncStateSerializer(serializers.ModelSerializer):
    waiting_for_namespaces = serializers.SerializerMethodField()

    class Meta:
        model = ClusterPermissionSync
        fields = ["state", "error", "synced_at", "last_attempt_at", "waiting_for_namespaces"]

    def get_waiting_for_namespaces(self, state) -> list[str]:
        return list((state.summary or {}).get("waiting_for_namespaces") or [])


class MemberSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True, help_text="The cluster's status, e.g. running or disconnected.")
    permission_sync = serializers.SerializerMethodField()

    class Meta:
        model = RegisteredCluster
        fields = ["id", "name", "status", "cluster_type", "region", "kubernetes_version", "permission_sync"]

    @extend_schema(responses=SyncStateSerializer(allow_null=True))
    def get_permission_sync(self, cluster) -> dict | None:
        state = ClusterPermissionSync.objects.filter(pk=cluster.pk).first()
        return SyncStateSerializer(state).data if state else None


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
        fields = ["id", "name", "description", "enterprise_project", "creator", "created_at", "clusters", "members",
                  "statistics"]

    @extend_schema(responses=MemberSerializer(many=True))
    def get_members(self, fleet) -> list[dict]:
        return MemberSerializer(fleet.clusters.order_by("name"), many=True).data

    @extend_schema(responses=StatisticsSerializer)
    def get_statistics(self, fleet) -> dict:
        return StatisticsSerializer(services.fleet_statistics(fleet)).data


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


# --- custom permissions ---------------------------------------------------------------------------

class RuleSerializer(serializers.Serializer):
    verbs = serializers.ListField(child=serializers.CharField(), help_text="get, list, watch, create, update, "
                                                                          "patch, delete, or other verbs")
    resources = serializers.JSONField(help_text='"*" for all resources, or a list such as ["configmaps", '
                                                '"deployments", "widgets.example.com"]')


class CustomPermissionSerializer(serializers.ModelSerializer):
    rules = RuleSerializer(many=True)
    cluster_role = serializers.CharField(read_only=True)
    policy_rules = serializers.SerializerMethodField()

    class Meta:
        model = CustomPermission
        fields = ["id", "name", "description", "rules", "cluster_role", "policy_rules", "created_at", "updated_at"]

    def get_policy_rules(self, permission) -> list[dict]:
        return permission.policy_rules()


class PresetSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    cluster_role = serializers.CharField()
    policy_rules = serializers.ListField(child=serializers.DictField())


class CustomPermissionViewSet(WriteViewSet):
    """Custom Kubernetes permissions (R2.4); `presets` lists the four preset ones."""

    queryset = CustomPermission.objects.all()
    serializer_class = CustomPermissionSerializer
    filterset_class = PermissionFilterSet
    iam_actions = {"list": "permissions:list", "retrieve": "permissions:list", "presets": "permissions:list",
                   "create": "permissions:create", "update": "permissions:update",
                   "partial_update": "permissions:update", "destroy": "permissions:delete"}
    read_action = "permissions:list"

    def current(self, permission):
        return {"name": permission.name, "description": permission.description, "rules": permission.rules}

    def write(self, permission, data):
        return services.save_permission(self.request.user, permission, name=data.get("name", ""),
                                        description=data.get("description", ""), rules=data.get("rules", []))

    def remove(self, permission):
        services.delete_permission(self.request.user, permission)

    @extend_schema(responses=PresetSerializer(many=True), filters=False)
    @action(detail=False, methods=["get"], pagination_class=None, filterset_class=None)
    def presets(self, request):
        data = [{"key": p.value, "name": str(p.label), "description": str(rbac.PRESET_DESCRIPTIONS[p]),
                 "cluster_role": f"cceone:{p.value}", "policy_rules": rbac.preset_rules(p)} for p in rbac.Preset]
        return Response(PresetSerializer(data, many=True).data)


# --- associations -----------------------------------------------------------------------------------

class BindingSerializer(serializers.ModelSerializer):
    cluster = AccountRelatedField(queryset=RegisteredCluster.objects.all(), required=False, allow_null=True)
    fleet = AccountRelatedField(queryset=Fleet.objects.all(), required=False, allow_null=True)
    user = AccountRelatedField(queryset=User.objects.all())
    username = serializers.CharField(source="user.username", read_only=True)
    preset = serializers.ChoiceField(choices=rbac.Preset.choices, required=False, allow_blank=True)
    permission = AccountRelatedField(queryset=CustomPermission.objects.all(), required=False, allow_null=True,
                                     help_text="A custom permission (or give `preset`).")
    permission_name = serializers.CharField(read_only=True)
    permission_type = serializers.SerializerMethodField()
    namespaces = serializers.ListField(child=serializers.CharField(), required=False,
                                       help_text="When all_namespaces is false: names, existing or not (yet).")

    class Meta:
        model = PermissionBinding
        fields = ["id", "cluster", "fleet", "user", "username", "all_namespaces", "namespaces", "preset",
                  "permission", "permission_name", "permission_type", "created_at"]

    def get_permission_type(self, binding) -> str:
        return "preset" if binding.preset else "custom"

    def validate(self, data):
        if self.instance is None:
            if bool(data.get("cluster")) == bool(data.get("fleet")):
                raise serializers.ValidationError({"cluster": _("Give either cluster or fleet.")})
        elif any(field in data and data[field] != getattr(self.instance, field)
                 for field in ("cluster", "fleet", "user")):
            raise serializers.ValidationError({"detail": _("An association's cluster, fleet and user cannot change; "
                                                           "remove it and associate again.")})
        return data


class BindingViewSet(WriteViewSet):
    """Associations of permissions with users on clusters and fleets (R2.4, R2.5)."""

    queryset = PermissionBinding.objects.all()
    serializer_class = BindingSerializer
    filterset_class = AssociationFilterSet
    iam_actions = {"list": "permissions:list", "retrieve": "permissions:list", "create": "permissions:create",
                   "update": "permissions:update", "partial_update": "permissions:update",
                   "destroy": "permissions:delete"}

    def get_queryset(self):
        if self.detail:
            return super().get_queryset().select_related("user", "permission", "cluster", "fleet")
        return services.visible_bindings(self.request.user).order_by("id")

    def get_object(self):
        binding = super().get_object()
        require(self.request.user, "fleets:get" if binding.fleet_id else "clusters:get", binding.target)
        return binding

    def current(self, binding):
        return {"all_namespaces": binding.all_namespaces, "namespaces": binding.namespaces,
                "preset": binding.preset, "permission": binding.permission}

    def write(self, binding, data):
        user = self.request.user
        if "preset" in data and data["preset"] and "permission" not in self.request.data:
            data["permission"] = None
        if data.get("permission") is not None and "preset" not in self.request.data:
            data["preset"] = ""
        kwargs = {"all_namespaces": data.get("all_namespaces", True), "namespaces": data.get("namespaces", []),
                  "preset": data.get("preset", ""), "permission": data.get("permission")}
        if binding is None:
            target = data.get("cluster") or data.get("fleet")
            return services.associate(user, target, user=data["user"], **kwargs)
        return services.update_association(user, binding, **kwargs)

    def remove(self, binding):
        services.dissociate(self.request.user, binding)


# --- sync state -----------------------------------------------------------------------------------

class ClusterSyncSerializer(serializers.ModelSerializer):
    cluster = serializers.IntegerField(source="pk", read_only=True)
    status = serializers.CharField(read_only=True, help_text="The cluster's status, e.g. running or disconnected.")
    permission_sync = serializers.SerializerMethodField()

    class Meta:
        model = RegisteredCluster
        fields = ["cluster", "name", "status", "fleet", "permission_sync"]

    @extend_schema(responses=SyncStateSerializer(allow_null=True))
    def get_permission_sync(self, cluster) -> dict | None:
        state = getattr(cluster, "permission_sync", None)
        return SyncStateSerializer(state).data if state else None


class PermissionSyncViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """Each cluster's permission sync state (synced / pending / failed with the error); `retry`."""

    queryset = RegisteredCluster.objects.exclude(status=RegisteredCluster.Status.UNSUBSCRIBED).select_related(
        "permission_sync").order_by("name")
    serializer_class = ClusterSyncSerializer
    filterset_class = SyncFilterSet
    iam_actions = {"list": "permissions:list", "retrieve": "permissions:list", "retry": "permissions:update"}
    read_action = "clusters:get"

    def get_object(self):
        cluster = super().get_object()
        require(self.request.user, "clusters:get", cluster)
        return cluster

    @extend_schema(request=None, responses={202: ClusterSyncSerializer})
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        cluster = self.get_object()
        services.retry_sync(request.user, cluster)
        cluster = self.get_queryset().get(pk=cluster.pk)
        return Response(self.get_serializer(cluster).data, status=status.HTTP_202_ACCEPTED)


def register(router) -> None:
    router.register("fleets", FleetViewSet, basename="fleet")
    router.register("permissions", CustomPermissionViewSet, basename="kube-permission")
    router.register("permission-associations", BindingViewSet, basename="permission-association")
    router.register("permission-sync", PermissionSyncViewSet, basename="permission-sync")

