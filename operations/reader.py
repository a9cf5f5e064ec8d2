"""How operations read a cluster: through the gateway only, the object asked about as the
user who asked (they may see it), the rest with the platform's identity (cluster-wide reads:
events, nodes, endpoints, referenced objects). Every request is counted."""
from cceone.kube.gateway import DEFAULT_TIMEOUT, KubeError, system_client_for
from resources import registry
from resources.kube import Api


class SystemApi(Api):
    """resources.kube.Api with the platform's identity (the agent's service account)."""

    def __init__(self, target, timeout=None):
        super().__init__(target, None, timeout or DEFAULT_TIMEOUT)

    @property
    def client(self):
        if self._client is None:
            self._client = system_client_for(self.target, timeout=self.timeout)
        return self._client


class CountingMixin:
    """Counts requests: a benchmark and the reports say how many API calls a run made."""

    calls = 0

    def raw(self, method, path, **kwargs):
        self.calls += 1
        return super().raw(method, path, **kwargs)


class CountingUserApi(CountingMixin, Api):
    pass


class CountingSystemApi(CountingMixin, SystemApi):
    pass


# Kinds operations read that the console does not list (no page of their own).
EXTRA = {
    "endpointslices": registry.Kind("EndpointSlice", "endpointslices", "discovery.k8s.io", "v1", True, "network",
                                    "EndpointSlices", "EndpointSlice"),
    "leases": registry.Kind("Lease", "leases", "coordination.k8s.io", "v1", True, "cluster", "Leases", "Lease"),
    "ingressclasses": registry.Kind("IngressClass", "ingressclasses", "networking.k8s.io", "v1", False, "network",
                                    "IngressClasses", "IngressClass"),
    "clusterroles": registry.Kind("ClusterRole", "clusterroles", "rbac.authorization.k8s.io", "v1", False,
                                  "cluster", "ClusterRoles", "ClusterRole"),
    "roles": registry.Kind("Role", "roles", "rbac.authorization.k8s.io", "v1", True, "cluster", "Roles", "Role"),
    "endpoints": registry.Kind("Endpoints", "endpoints", "", "v1", True, "network", "Endpoints", "Endpoints"),
    "serviceaccounts": registry.Kind("ServiceAccount", "serviceaccounts", "", "v1", True, "configuration",
                                     "ServiceAccounts", "ServiceAccount"),
    "replicasets": registry.Kind("ReplicaSet", "replicasets", "apps", "v1", True, "workloads", "ReplicaSets",
                                 "ReplicaSet"),
}


def any_kind(plural: str) -> registry.Kind:
    """A registered kind, or one of those operations alone read."""
    if plural in EXTRA:
        return EXTRA[plural]
    return registry.get(plural)


def get_or_none(api, plural, name, namespace=None):
    """The object, or None when it does not exist (a 404 is an answer, not a failure)."""
    try:
        return api.get(any_kind(plural), name, namespace)
    except KubeError as error:
        if error.status == 404:
            return None
        raise
