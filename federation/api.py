"""Federations over the API: the pages' twin, through the same services."""
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from cceone import api_routes as routes
from cceone.api import RestrictedViewSet
from cceone.audit.models import OperationLog
from cceone.iam.access import get_or_deny
from cceone.iam.models import EnterpriseProject, Region
from clusters import checks
from clusters.api import IssueKubeconfigSerializer, OperationLogSerializer
from clusters.models import ApiServerSpec, SecurityGroup, Subnet, Vpc
from fleets.models import Fleet

from . import kubeconfigs, members, services
from .filters import FederationFilterSet
from .models import Federation, FederationKubeconfig, FederationMember


class FederationSerializer(serializers.ModelSerializer):
    region = serializers.SlugRelatedField(slug_field="code", read_only=True)
    enterprise_project = serializers.SlugRelatedField(slug_field="name", read_only=True)
    creator = serializers.SlugRelatedField(slug_field="username", read_only=True)
    fleet = serializers.PrimaryKeyRelatedField(read_only=True)
    status_reason = serializers.SerializerMethodField()

    class Meta:
        model = Federation
        fields = ["id", "name", "region", "enterprise_project", "status", "status_reason", "karmada_version",
                  "fleet", "deletion_protection", "apiserver_eip", "eip_address", "is_sandbox", "creator",
                  "created_at", "first_running_at", "unsubscribed_at"]

    def get_status_reason(self, federation) -> str:
        from .transitions import last_reason

        return last_reason(federation) if federation.status in (Federation.Status.FAILED,
                                                                 Federation.Status.FROZEN) else ""


class FederationMemberSerializer(serializers.ModelSerializer):
    cluster = serializers.PrimaryKeyRelatedField(read_only=True)
    cluster_name = serializers.CharField(source="cluster.name", read_only=True)
    reason = serializers.CharField(source="display_reason", read_only=True,
                                   help_text="why it failed or waits, in the reader's language")

    class Meta:
        model = FederationMember
        fields = ["id", "name", "cluster", "cluster_name", "status", "reason", "network", "cluster_uid", "updated_at"]


class FederationKubeconfigSerializer(serializers.ModelSerializer):
    class Meta:
        model = FederationKubeconfig
        fields = ["id", "hint", "created_at", "expires_at", "revoked_at"]


class FederationMemberNetworkSerializer(serializers.Serializer):
    # Checked by members.set_network, as for the page: one rule and one message.
    network = serializers.CharField(help_text="public or private")


class FederationOrderSerializer(serializers.Serializer):
    """A federation order: on-demand only."""

    region = serializers.SlugRelatedField(slug_field="code", queryset=Region.objects.all(), required=False)
    name = serializers.CharField(max_length=services.NAME_MAX_LENGTH)
    fleet = serializers.PrimaryKeyRelatedField(queryset=Fleet.objects.all(), required=False, allow_null=True)
    enterprise_project = serializers.CharField(help_text="enterprise project name")
    vpc = serializers.PrimaryKeyRelatedField(queryset=Vpc.objects.all())
    subnet = serializers.PrimaryKeyRelatedField(queryset=Subnet.objects.all())
    security_group = serializers.PrimaryKeyRelatedField(queryset=SecurityGroup.objects.all(), required=False,
                                                        allow_null=True, help_text="omit to auto-create")
    apiserver_spec = serializers.PrimaryKeyRelatedField(queryset=ApiServerSpec.objects.all())
    apiserver_eip = serializers.BooleanField(default=False)
    deletion_protection = serializers.BooleanField(default=True)
    agreed = serializers.BooleanField(help_text="the service agreement is accepted")

    def to_order(self, request) -> services.Order:
        data = {k: v for k, v in self.validated_data.items() if k != "agreed"}
        data["enterprise_project"] = EnterpriseProject.objects.filter(account=request.user.account,
                                                                      name=data["enterprise_project"]).first()
        data["region"] = data.get("region") or request.region
        return services.Order(**data)


class FederationPrecheckSerializer(FederationOrderSerializer):
    agreed = serializers.HiddenField(default=True)  # nothing is placed: nothing to agree to


class FederationSettingsSerializer(serializers.Serializer):
    deletion_protection = serializers.BooleanField(required=False)


class FederationFleetSerializer(serializers.Serializer):
    fleet = serializers.PrimaryKeyRelatedField(queryset=Fleet.objects.all(), allow_null=True,
                                               help_text="the fleet to join; null: the federation's fleet leaves")


class FederationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """Federations: list, order (and its precheck), settings, operation logs, unsubscribe."""

    queryset = Federation.objects.select_related("region", "enterprise_project", "creator")
    serializer_class = FederationSerializer
    filterset_class = FederationFilterSet
    read_action = "federations:list"
    iam_actions = {
        "list": "federations:list", "retrieve": "federations:get", "create": "federations:create",
        "precheck": "federations:create", "partial_update": "federations:update",
        "operation_logs": "federations:get", "unsubscribe_checks": "federations:delete", "fleet": "federations:update",
        "unsubscribe": "federations:delete", "members": "federations:get", "member_network": "federations:update",
        "bind_eip": "federations:update", "unbind_eip": "federations:update",
        "kubeconfigs": "federations:kubeconfig", "revoke_kubeconfig": "federations:kubeconfig",
    }

    @extend_schema(request=FederationOrderSerializer, responses={201: FederationSerializer})
    def create(self, request):
        serializer = FederationOrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        federation = services.place_order(request.user, serializer.to_order(request),
                                          agreed=serializer.validated_data["agreed"])
        return Response(FederationSerializer(federation).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=FederationPrecheckSerializer, responses=inline_serializer("FederationCheckResults", {
        "checks": serializers.ListField(child=serializers.DictField())}))
    @action(detail=False, methods=["post"])
    def precheck(self, request):
        """Validate an order and run its dependency checks without placing it."""
        serializer = FederationPrecheckSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = serializer.to_order(request)
        services.validate_order(request.user, order)
        results = checks.run_all("federation", request.user.account, order)
        return Response({"checks": [r.__dict__ for r in results]})

    @extend_schema(request=FederationSettingsSerializer, responses=FederationSerializer)
    def partial_update(self, request, pk=None):
        federation = self.get_object()
        settings_ = FederationSettingsSerializer(data=request.data)
        settings_.is_valid(raise_exception=True)
        if "deletion_protection" in settings_.validated_data:
            services.set_deletion_protection(request.user, federation,
                                             settings_.validated_data["deletion_protection"])
        federation.refresh_from_db()
        return Response(FederationSerializer(federation).data)

    @extend_schema(request=FederationFleetSerializer, responses=FederationSerializer)
    @action(detail=True, methods=["post"])
    def fleet(self, request, pk=None):
        """A fleet joins the federation (`fleet`: its id), or its fleet leaves (`fleet`: null)."""
        federation = self.get_object()
        body = FederationFleetSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        chosen = body.validated_data.get("fleet")
        errors = services.fleet_errors(request.user, federation, chosen) if chosen is not None else []
        if errors:
            raise serializers.ValidationError({"fleet": errors})
        services.set_fleet(request.user, federation, chosen)
        federation.refresh_from_db()
        return Response(FederationSerializer(federation).data)

    @extend_schema(request=None, responses=FederationSerializer)
    @action(detail=True, methods=["post"], url_path="bind-eip")
    def bind_eip(self, request, pk=None):
        """Expose the federation's API server with an EIP."""
        federation = self.get_object()
        services.bind_eip(request.user, federation)
        federation.refresh_from_db()
        return Response(FederationSerializer(federation).data)

    @extend_schema(request=None, responses=FederationSerializer)
    @action(detail=True, methods=["post"], url_path="unbind-eip")
    def unbind_eip(self, request, pk=None):
        federation = self.get_object()
        services.unbind_eip(request.user, federation)
        federation.refresh_from_db()
        return Response(FederationSerializer(federation).data)

    @extend_schema(methods=["get"], responses=FederationKubeconfigSerializer(many=True))
    @extend_schema(methods=["post"], request=IssueKubeconfigSerializer, responses={201: inline_serializer(
        "FederationKubeconfigIssued", {"id": serializers.IntegerField(),
                                       "expires_at": serializers.DateTimeField(allow_null=True),
                                       "kubeconfig": serializers.CharField()})})
    @action(detail=True, methods=["get", "post"])
    def kubeconfigs(self, request, pk=None):
        """GET: your federation kubeconfigs. POST: issue one (temporary with `hours`): kubectl and Helm
        reach the federation's Karmada API server through the hub, with your permissions."""
        federation = self.get_object()
        if request.method == "GET":
            issued = FederationKubeconfig.objects.filter(federation=federation, user=request.user)
            return Response(FederationKubeconfigSerializer(issued, many=True).data)
        wanted = IssueKubeconfigSerializer(data=request.data)
        wanted.is_valid(raise_exception=True)
        issued, config = kubeconfigs.issue(request.user, federation, wanted.valid_for())
        return Response({"id": issued.pk, "expires_at": issued.expires_at, "kubeconfig": config},
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None}, parameters=[
        OpenApiParameter("token_id", str, OpenApiParameter.PATH, description="kubeconfig id, or 'all'")])
    @action(detail=True, methods=["delete"], url_path=r"kubeconfigs/(?P<token_id>\d+|all)")
    def revoke_kubeconfig(self, request, pk=None, token_id=None):
        federation = self.get_object()
        if token_id == "all":
            kubeconfigs.revoke_all(request.user, federation)
        else:
            issued = FederationKubeconfig.objects.filter(pk=token_id, federation=federation, user=request.user).first()
            if issued is None:
                raise NotFound()
            kubeconfigs.revoke(request.user, issued)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses=FederationMemberSerializer(many=True))
    @action(detail=True, methods=["get"])
    def members(self, request, pk=None):
        """Member clusters: join status (joining, connected, failed with the reason), network type."""
        federation = self.get_object()
        return Response(FederationMemberSerializer(federation.members.select_related("cluster"), many=True).data)

    @extend_schema(request=FederationMemberNetworkSerializer, responses=FederationMemberSerializer)
    @action(detail=True, methods=["post"], url_path=r"members/(?P<member_id>\d+)/network")
    def member_network(self, request, pk=None, member_id=None):
        """Change how Karmada reaches the member (public or private); it joins again."""
        federation = self.get_object()
        member = federation.members.filter(pk=member_id).first()
        if member is None:
            raise NotFound()
        body = FederationMemberNetworkSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        members.set_network(request.user, member, body.validated_data["network"])
        member.refresh_from_db()
        return Response(FederationMemberSerializer(member).data)

    @extend_schema(responses=OperationLogSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="operation-logs")
    def operation_logs(self, request, pk=None):
        federation = self.get_object()
        logs = (OperationLog.objects.filter(target_type=services.TARGET, target_id=str(federation.pk))
                .prefetch_related("steps"))
        return Response(OperationLogSerializer(logs, many=True).data)

    @extend_schema(responses=inline_serializer("FederationUnsubscribeChecks", {
        "ready": serializers.BooleanField(), "checks": serializers.ListField(child=serializers.DictField())}))
    @action(detail=True, methods=["get"], url_path="unsubscribe-checks")
    def unsubscribe_checks(self, request, pk=None):
        """What the unsubscribe page lists: each check, passed or with what to do."""
        federation = self.get_object()
        results = services.unsubscribe_checks(federation)
        return Response({"ready": all(passed for _l, passed, _m in results),
                         "checks": [{"label": label, "passed": passed, "message": message}
                                    for label, passed, message in results]})

    @extend_schema(request=None, responses={202: FederationSerializer})
    @action(detail=True, methods=["post"])
    def unsubscribe(self, request, pk=None):
        federation = self.get_object()
        services.unsubscribe(request.user, federation)
        federation.refresh_from_db()
        return Response(FederationSerializer(federation).data, status=status.HTTP_202_ACCEPTED)

    def get_object(self):
        # 404 outside the account; then read and the action's own permission (403, audited).
        obj = get_or_deny(self.queryset.all(), self.request.user, self.kwargs["pk"], "federations:get")
        self.check_object_permissions(self.request, obj)
        return obj


def register() -> None:
    routes.register("federations", FederationViewSet, basename="federation")
