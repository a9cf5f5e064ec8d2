"""API for Kubernetes permissions, associations and sync state (R8.2).
Writes call permissions.services, the same functions the pages call."""
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from cceone import api_routes as routes
from cceone.api import RestrictedViewSet
from cceone.iam.access import require
from cceone.iam.api import AccountRelatedField
from cceone.iam.models import User
from clusters.models import RegisteredCluster
from fleets.api import WriteViewSet
from fleets.models import Fleet

from . import rbac, services
from .filters import AssociationFilterSet, PermissionFilterSet, SyncFilterSet
from .models import CustomPermission, PermissionBinding
from .serializers import SyncStateSerializer


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
        # The permission is not merged in: what the request names, the service weighs against it.
        return {"all_namespaces": binding.all_namespaces, "namespaces": binding.namespaces}

    def write(self, binding, data):
        actor = self.request.user
        kwargs = {"all_namespaces": data.get("all_namespaces", True), "namespaces": data.get("namespaces", []),
                  "preset": data.get("preset", ""), "permission": data.get("permission")}
        if binding is None:
            target = services.association_target(cluster=data.get("cluster"), fleet=data.get("fleet"))
            return services.associate(actor, target, user=data["user"], **kwargs)
        return services.update_association(actor, binding, user=data.get("user"), cluster=data.get("cluster"),
                                           fleet=data.get("fleet"), **kwargs)

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


def register() -> None:
    """Serve this app's viewsets under /api/v1/ (called from AppConfig.ready())."""
    routes.register("permissions", CustomPermissionViewSet, basename="kube-permission")
    routes.register("permission-associations", BindingViewSet, basename="permission-association")
    routes.register("permission-sync", PermissionSyncViewSet, basename="permission-sync")
