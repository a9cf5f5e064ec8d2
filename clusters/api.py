"""Registered clusters over the API (R8.2): the same services as the pages."""
from datetime import timedelta

from django.conf import settings
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from cceone import api_routes as routes
from cceone.api import RestrictedViewSet
from cceone.audit.models import OperationLog
from cceone.iam.access import get_or_deny
from cceone.iam.models import EnterpriseProject, Region

from . import checks, kubeconfigs, order_fields, services
from .agent_manifest import render_agent_yaml
from .filters import ClusterFilterSet
from .models import (ApiServerSpec, CloudProviderCluster, KubeconfigToken, RegisteredCluster, SecurityGroup, Subnet,
                     Vpc)


class ClusterSerializer(serializers.ModelSerializer):
    region = serializers.SlugRelatedField(slug_field="code", read_only=True)
    enterprise_project = serializers.SlugRelatedField(slug_field="name", read_only=True)
    creator = serializers.SlugRelatedField(slug_field="username", read_only=True)
    nodes_ready = serializers.SerializerMethodField()
    nodes_total = serializers.SerializerMethodField()

    class Meta:
        model = RegisteredCluster
        fields = ["id", "name", "cluster_type", "provider", "region", "enterprise_project", "status",
                  "kubernetes_version", "deletion_protection", "eip_address", "connection_mode", "is_sandbox",
                  "creator", "created_at", "first_running_at", "last_heartbeat_at", "unsubscribed_at",
                  "nodes_ready", "nodes_total"]

    def get_nodes_ready(self, cluster) -> int:
        return sum(1 for n in (cluster.facts or {}).get("nodes") or [] if n.get("ready"))

    def get_nodes_total(self, cluster) -> int:
        return len((cluster.facts or {}).get("nodes") or [])


class OrderSerializer(serializers.Serializer):
    """An order (R3.2). Local and third-party: provider, network settings; cloud: cloud_cluster."""

    cluster_type = serializers.ChoiceField(RegisteredCluster.Type.choices)
    region = serializers.SlugRelatedField(slug_field="code", queryset=Region.objects.all(), required=False)
    name = serializers.CharField(max_length=services.NAME_MAX_LENGTH, required=False)
    provider = serializers.CharField(max_length=40, required=False, default="")
    enterprise_project = serializers.CharField(help_text="enterprise project name")
    vpc = serializers.PrimaryKeyRelatedField(queryset=Vpc.objects.all(), required=False)
    subnet = serializers.PrimaryKeyRelatedField(queryset=Subnet.objects.all(), required=False)
    security_group = serializers.PrimaryKeyRelatedField(queryset=SecurityGroup.objects.all(), required=False,
                                                        allow_null=True, help_text="omit to auto-create")
    apiserver_spec = serializers.PrimaryKeyRelatedField(queryset=ApiServerSpec.objects.all(), required=False)
    apiserver_eip = serializers.BooleanField(default=False)
    bind_public_ip = serializers.BooleanField(default=False)
    deletion_protection = serializers.BooleanField(default=True)
    cloud_cluster = serializers.PrimaryKeyRelatedField(queryset=CloudProviderCluster.objects.all(), required=False)
    agreed = serializers.BooleanField(help_text="the service agreement is accepted")

    def get_fields(self):
        fields = super().get_fields()
        for extra in order_fields.all_fields():  # other apps' fields (the fleet)
            fields[extra.name] = extra.api_field()
        return fields

    def to_order(self, request) -> services.Order:
        data = {k: v for k, v in self.validated_data.items() if k != "agreed"}
        data["extras"] = {f.name: data.pop(f.name, None) for f in order_fields.all_fields()}
        data["enterprise_project"] = EnterpriseProject.objects.filter(account=request.user.account,
                                                                      name=data["enterprise_project"]).first()
        data["region"] = data.get("region") or request.region
        return services.Order.build(**data)


class PrecheckSerializer(OrderSerializer):
    agreed = serializers.HiddenField(default=True)  # nothing is placed: nothing to agree to


class ClusterSettingsSerializer(serializers.Serializer):
    deletion_protection = serializers.BooleanField(required=False)


class IssueKubeconfigSerializer(serializers.Serializer):
    def get_fields(self):
        # The ceiling is a setting: read it when used, and say it in the schema.
        return {"hours": serializers.IntegerField(
            required=False, allow_null=True, min_value=1, max_value=settings.CCEONE_KUBECONFIG_MAX_HOURS,
            help_text="hours a temporary kubeconfig is valid; omit for a permanent one")}

    def valid_for(self) -> timedelta | None:
        hours = self.validated_data.get("hours")
        return timedelta(hours=hours) if hours is not None else None


class KubeconfigTokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = KubeconfigToken
        fields = ["id", "hint", "created_at", "expires_at", "revoked_at"]


class OperationLogSerializer(serializers.ModelSerializer):
    steps = serializers.SerializerMethodField()

    class Meta:
        model = OperationLog
        fields = ["id", "operation", "status", "started_at", "finished_at", "steps"]

    def get_steps(self, log) -> list[dict]:
        return [{"seq": s.seq, "name": s.name, "status": s.status, "message": s.display_message,
                 "time": s.time}
                for s in log.steps.all()]


class ClusterViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """Registered clusters: list (current region unless `all_regions=true`), order,
    settings, EIP, kubeconfigs, operation logs, agent YAML, unsubscribe."""

    queryset = RegisteredCluster.objects.select_related("region", "enterprise_project", "creator")
    serializer_class = ClusterSerializer
    filterset_class = ClusterFilterSet
    read_action = "clusters:list"
    iam_actions = {
        "list": "clusters:list", "retrieve": "clusters:get", "create": "clusters:create",
        "partial_update": "clusters:update", "bind_eip": "clusters:update", "unbind_eip": "clusters:update",
        "kubeconfigs": "clusters:kubeconfig", "revoke_kubeconfig": "clusters:kubeconfig",
        "operation_logs": "clusters:get", "agent_yaml": "clusters:update",
        "rotate_agent_token": "clusters:update", "unsubscribe": "clusters:delete", "precheck": "clusters:create",
    }

    @extend_schema(request=OrderSerializer, responses={201: ClusterSerializer})
    def create(self, request):
        serializer = OrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cluster = services.place_order(request.user, serializer.to_order(request),
                                       agreed=serializer.validated_data["agreed"])
        return Response(ClusterSerializer(cluster).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PrecheckSerializer, responses=inline_serializer("CheckResults", {
        "checks": serializers.ListField(child=serializers.DictField())}))
    @action(detail=False, methods=["post"])
    def precheck(self, request):
        """Validate an order and run its dependency checks without placing it."""
        serializer = PrecheckSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = serializer.to_order(request)
        services.validate_order(request.user, order)
        results = checks.run_all("cluster", request.user.account, order)
        return Response({"checks": [r.__dict__ for r in results]})

    @extend_schema(request=ClusterSettingsSerializer, responses=ClusterSerializer)
    def partial_update(self, request, pk=None):
        cluster = self.get_object()
        settings_ = ClusterSettingsSerializer(data=request.data)
        settings_.is_valid(raise_exception=True)
        if "deletion_protection" in settings_.validated_data:
            services.set_deletion_protection(request.user, cluster, settings_.validated_data["deletion_protection"])
        cluster.refresh_from_db()
        return Response(ClusterSerializer(cluster).data)

    @extend_schema(request=None, responses={202: ClusterSerializer})
    @action(detail=True, methods=["post"], url_path="bind-eip")
    def bind_eip(self, request, pk=None):
        """Bind an EIP: the cluster is `changing` until the change is applied in the background."""
        cluster = self.get_object()
        services.bind_eip(request.user, cluster)
        return self._accepted(cluster)

    @extend_schema(request=None, responses={202: ClusterSerializer})
    @action(detail=True, methods=["post"], url_path="unbind-eip")
    def unbind_eip(self, request, pk=None):
        """Unbind the EIP: the cluster is `changing` until the change is applied in the background."""
        cluster = self.get_object()
        services.unbind_eip(request.user, cluster)
        return self._accepted(cluster)

    def _accepted(self, cluster):
        cluster.refresh_from_db()
        return Response(ClusterSerializer(cluster).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        methods=["get"], responses=KubeconfigTokenSerializer(many=True))
    @extend_schema(
        methods=["post"],
        request=IssueKubeconfigSerializer,
        responses={201: inline_serializer("Kubeconfig", {"id": serializers.IntegerField(),
                                                         "expires_at": serializers.DateTimeField(allow_null=True),
                                                         "kubeconfig": serializers.CharField()})})
    @action(detail=True, methods=["get", "post"])
    def kubeconfigs(self, request, pk=None):
        """GET: your issued kubeconfigs for the cluster. POST: issue one (temporary with `hours`)."""
        cluster = self.get_object()
        if request.method == "GET":
            issued = KubeconfigToken.objects.filter(cluster=cluster, user=request.user)
            return Response(KubeconfigTokenSerializer(issued, many=True).data)
        wanted = IssueKubeconfigSerializer(data=request.data)
        wanted.is_valid(raise_exception=True)
        issued, config = kubeconfigs.issue(request.user, cluster, wanted.valid_for())
        return Response({"id": issued.pk, "expires_at": issued.expires_at, "kubeconfig": config},
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None},
                   parameters=[OpenApiParameter("token_id", str, OpenApiParameter.PATH, description="kubeconfig id, or 'all'")])
    @action(detail=True, methods=["delete"], url_path=r"kubeconfigs/(?P<token_id>\d+|all)")
    def revoke_kubeconfig(self, request, pk=None, token_id=None):
        cluster = self.get_object()
        if token_id == "all":
            kubeconfigs.revoke_all(request.user, cluster)
        else:
            issued = get_object_or_404(KubeconfigToken, pk=token_id, cluster=cluster, user=request.user)
            kubeconfigs.revoke(request.user, issued)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=OperationLogSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="operation-logs")
    def operation_logs(self, request, pk=None):
        cluster = self.get_object()
        logs = OperationLog.objects.filter(target_type="cluster", target_id=str(cluster.pk)).prefetch_related("steps")
        return Response(OperationLogSerializer(logs, many=True).data)

    @extend_schema(responses={(200, "application/yaml"): str},
                   parameters=[OpenApiParameter("variant", str, enum=["public", "private"])])
    @action(detail=True, methods=["get"], url_path="agent-yaml")
    def agent_yaml(self, request, pk=None):
        cluster = self.get_object()
        token = services.agent_token(request.user, cluster)
        variant = request.query_params.get("variant", "public")
        if not token or variant not in ("public", "private"):
            return Response({"detail": _("No agent YAML for this cluster.")}, status=status.HTTP_404_NOT_FOUND)
        return HttpResponse(render_agent_yaml(cluster, token, variant), content_type="application/yaml")

    @extend_schema(request=None, responses={202: ClusterSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-agent-token")
    def rotate_agent_token(self, request, pk=None):
        """Re-issue the agent credentials in the background (the cluster is `changing` meanwhile),
        then fetch the new agent YAML; the old token works for the grace period, then agents
        still using it are disconnected."""
        cluster = self.get_object()
        services.rotate_agent_token(request.user, cluster)
        return self._accepted(cluster)

    @extend_schema(request=None, responses={202: ClusterSerializer})
    @action(detail=True, methods=["post"])
    def unsubscribe(self, request, pk=None):
        cluster = self.get_object()
        services.unsubscribe(request.user, cluster)
        cluster.refresh_from_db()
        return Response(ClusterSerializer(cluster).data, status=status.HTTP_202_ACCEPTED)

    def get_object(self):
        # 404 outside the account; then read and the action's own permission (403, audited).
        obj = get_or_deny(self.queryset.all(), self.request.user, self.kwargs["pk"], "clusters:get")
        self.check_object_permissions(self.request, obj)
        return obj


def register() -> None:
    """Serve this app's viewsets under /api/v1/ (called from AppConfig.ready())."""
    routes.register("clusters", ClusterViewSet, basename="cluster")
