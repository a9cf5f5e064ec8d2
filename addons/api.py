"""API twins of the add-on pages: a cluster's add-ons (catalogue, status, workloads ready) and
install, upgrade, uninstall. The same services, the same checks."""
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from django.db.models import Prefetch
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from cceone import api_routes as routes
from cceone.api import RestrictedViewSet
from clusters.models import RegisteredCluster

from . import catalogue, services
from .models import AddonInstallation

VIEW, INSTALL, UPGRADE, UNINSTALL = services.VIEW, services.INSTALL, services.UPGRADE, services.UNINSTALL


class ParameterSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.ChoiceField(choices=["integer", "string", "boolean", "choice"])
    default = serializers.JSONField()
    choices = serializers.ListField(child=serializers.CharField())
    minimum = serializers.IntegerField(allow_null=True)
    maximum = serializers.IntegerField(allow_null=True)


class WorkloadSerializer(serializers.Serializer):
    kind = serializers.CharField()
    namespace = serializers.CharField()
    name = serializers.CharField()
    ready = serializers.IntegerField()
    desired = serializers.IntegerField()


class AddonStatusSerializer(serializers.Serializer):
    addon = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    versions = serializers.ListField(child=serializers.CharField())
    parameters = ParameterSerializer(many=True)
    status = serializers.ChoiceField(choices=AddonInstallation.Status.choices)
    installed_version = serializers.CharField(allow_blank=True)
    installed_parameters = serializers.DictField()
    target_version = serializers.CharField(allow_blank=True)
    progress = serializers.DictField(child=serializers.IntegerField(), help_text="{done, total} objects")
    message = serializers.CharField(allow_blank=True)
    operation = serializers.IntegerField(allow_null=True, help_text="the operation log of the last operation")
    workloads = WorkloadSerializer(many=True)
    ready = serializers.BooleanField()


class ClusterAddonsSerializer(serializers.Serializer):
    cluster = serializers.IntegerField()
    field_manager = serializers.CharField()
    workload_error = serializers.CharField(allow_blank=True)
    addons = AddonStatusSerializer(many=True)


class AddonRequestSerializer(serializers.Serializer):
    addon = serializers.ChoiceField(choices=sorted(catalogue.ADDONS))
    version = serializers.CharField(required=False, allow_blank=True, default="",
                                    help_text="blank: the latest (install); required for an upgrade")
    parameters = serializers.DictField(required=False, default=dict)


class UninstallSerializer(serializers.Serializer):
    addon = serializers.ChoiceField(choices=sorted(catalogue.ADDONS))


def _status(cluster) -> dict:
    rows = services.rows(cluster)
    workloads, error = (services.workloads(cluster) if cluster.status in ("running", "changing")
                        and any(r["installation"] and r["installation"].version for r in rows) else ({}, ""))
    out = []
    for row in rows:
        addon, inst = row["addon"], row["installation"]
        ws = workloads.get(addon.name, [])
        out.append({
            "addon": addon.name, "title": str(addon.title), "description": str(addon.description),
            "versions": list(addon.versions),
            "parameters": [{"name": p.name, "label": str(p.label), "kind": p.kind, "default": p.default,
                            "choices": list(p.choices), "minimum": p.minimum, "maximum": p.maximum}
                           for p in addon.parameters],
            "status": inst.status if inst else "uninstalled", "installed_version": inst.version if inst else "",
            "installed_parameters": inst.parameters if inst else {},
            "target_version": inst.target_version if inst else "",
            "progress": {"done": inst.done if inst else 0, "total": inst.total if inst else 0},
            "message": inst.display_message() if inst else "", "operation": inst.operation_id if inst else None,
            "workloads": ws, "ready": bool(ws) and all(w["ready"] >= w["desired"] for w in ws)})
    return {"cluster": cluster.pk, "field_manager": catalogue.FIELD_MANAGER, "workload_error": error, "addons": out}


class InstalledSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True, help_text="installing, installed, upgrading, uninstalling, failed")

    class Meta:
        model = AddonInstallation
        fields = ("addon", "status", "version", "target_version")


class ClusterInstallationsSerializer(serializers.ModelSerializer):
    addons = InstalledSerializer(many=True, read_only=True)

    class Meta:
        model = RegisteredCluster
        fields = ("id", "name", "addons")


class ClusterAddonsViewSet(mixins.ListModelMixin, RestrictedViewSet):
    """A cluster's add-ons, at /addons/clusters/<cluster id>/; the list shows what each cluster the
    user may list has installed (or is installing)."""

    queryset = RegisteredCluster.objects.prefetch_related(
        Prefetch("addons", AddonInstallation.objects.exclude(status="uninstalled"))).order_by("name", "pk")
    serializer_class = ClusterAddonsSerializer
    read_action = "clusters:list"
    iam_actions = {"list": "clusters:list", "retrieve": VIEW, "install": INSTALL, "upgrade": UPGRADE, "uninstall": UNINSTALL}

    def get_serializer_class(self):
        return ClusterInstallationsSerializer if self.action == "list" else ClusterAddonsSerializer

    @extend_schema(responses=ClusterAddonsSerializer, operation_id="addons_cluster_retrieve",
                   summary="The catalogue with this cluster's installed versions, operations and workloads ready")
    def retrieve(self, request, pk=None):
        return Response(_status(self.get_object()))

    def _act(self, request, fn):
        cluster = self.get_object()
        fn(cluster)
        return Response(_status(RegisteredCluster.objects.get(pk=cluster.pk)), status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=AddonRequestSerializer, responses={202: ClusterAddonsSerializer},
                   operation_id="addons_install", summary="Install an add-on (a background operation)")
    @action(detail=True, methods=["post"])
    def install(self, request, pk=None):
        data = _valid(AddonRequestSerializer, request)
        return self._act(request, lambda c: services.install(request.user, c, data["addon"], data["version"],
                                                             data["parameters"]))

    @extend_schema(request=AddonRequestSerializer, responses={202: ClusterAddonsSerializer},
                   operation_id="addons_upgrade", summary="Upgrade or reconfigure an installed add-on")
    @action(detail=True, methods=["post"])
    def upgrade(self, request, pk=None):
        data = _valid(AddonRequestSerializer, request)
        return self._act(request, lambda c: services.upgrade(request.user, _installation(c, data["addon"]),
                                                             data["version"], data["parameters"]))

    @extend_schema(request=UninstallSerializer, responses={202: ClusterAddonsSerializer},
                   operation_id="addons_uninstall", summary="Uninstall an add-on: delete every object it labelled")
    @action(detail=True, methods=["post"])
    def uninstall(self, request, pk=None):
        data = _valid(UninstallSerializer, request)
        return self._act(request, lambda c: services.uninstall(request.user, _installation(c, data["addon"])))


def _valid(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _installation(cluster, addon):
    installation = AddonInstallation.objects.filter(cluster=cluster, addon=addon).select_related("cluster").first()
    if installation is None:
        raise serializers.ValidationError({"addon": [_("This add-on is not installed on this cluster.")]})
    return installation


def register():
    routes.register("addons/clusters", ClusterAddonsViewSet, basename="addons")
