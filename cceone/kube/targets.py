"""What the gateway needs to know about a target (a registered cluster, a federation)."""
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Endpoint:
    host: str  # API server root URL, e.g. the hub's http://127.0.0.1:9444/clusters/12
    cache_key: str  # names the discovery cache, e.g. "cluster-12"
    token: str | None = None  # bearer token, for direct connections
    headers: dict[str, str] = field(default_factory=dict)  # e.g. the hub's shared secret
    ca_file: str | None = None
    verify_ssl: bool = True


class KubeTarget(Protocol):
    name: str

    def kube_endpoint(self) -> Endpoint:
        """Where and how to reach the target's Kubernetes API."""

    def unreachable_message(self, *, answered: bool = True) -> str:
        """What to tell the user when the target is unreachable; `answered` is False when
        nothing took the connection (the endpoint itself is down), not merely an error status."""
