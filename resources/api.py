"""The Kubernetes API of the registered clusters, for scripts.

Scripts use the Kubernetes API itself, served for every registered cluster through the
access hub's kubeconfig proxy (docs/kubernetes-api.md); this endpoint tells a script where
that API is. The console's own actions on Kubernetes objects (with its checks, dry runs
and audit) are endpoints too: `object_api`.
"""
from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers

from cceone import api_routes as routes
from cceone.api import RestrictedViewSet
from clusters.models import RegisteredCluster

from . import object_api

DESCRIPTION = (
    "The Kubernetes API of every registered cluster is served to scripts (kubectl, Helm, client "
    "libraries) through the access hub's kubeconfig proxy, at `<hub>/k8s/clusters/<id>/…` — the `server` "
    "given here. Requests authenticate with a personal kubeconfig token (`Authorization: Bearer <token>`): "
    "get a kubeconfig in the console under Registered clusters › Access configuration › Connection "
    "information (permanent or temporary, revocable). The hub acts as you inside the cluster, so the "
    "cluster's own RBAC decides what you may do, exactly as in the console's resource pages. A frozen "
    "cluster answers 403; a disconnected one 503. See docs/kubernetes-api.md."
)


class KubernetesEndpointSerializer(serializers.ModelSerializer):
    # Plain text, not an enum: the cluster statuses' schema belongs to the clusters API.
    status = serializers.CharField(read_only=True, help_text="The cluster's status, e.g. running or disconnected.")
    server = serializers.SerializerMethodField(help_text="The cluster's Kubernetes API through the hub's "
                                                         "kubeconfig proxy (the kubeconfig's `server`).")

    class Meta:
        model = RegisteredCluster
        fields = ["id", "name", "status", "kubernetes_version", "server"]

    def get_server(self, cluster) -> str:
        return f"{settings.CCEONE_HUB_KUBECONFIG_URL.rstrip('/')}/k8s/clusters/{cluster.pk}"


@extend_schema_view(
    list=extend_schema(summary="Where to reach each registered cluster's Kubernetes API", description=DESCRIPTION),
    retrieve=extend_schema(summary="Where to reach one registered cluster's Kubernetes API", description=DESCRIPTION),
)
class KubernetesEndpointViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    queryset = RegisteredCluster.objects.exclude(status=RegisteredCluster.Status.UNSUBSCRIBED).order_by("name")
    serializer_class = KubernetesEndpointSerializer
    iam_actions = {"list": "clusters:list", "retrieve": "clusters:get"}
    read_action = "clusters:list"


def register() -> None:
    """Serve this app's viewsets under /api/v1/ (called from AppConfig.ready(), once the
    kinds are registered): where the Kubernetes API is, and the console's own actions."""
    routes.register("kubernetes/clusters", KubernetesEndpointViewSet, basename="kubernetes-endpoint")
    object_api.register(routes.register)
