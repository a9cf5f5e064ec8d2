"""Federation kubeconfigs (R5.4, R5.9): the user's own credential for the federation's Karmada
API server through the hub's kubeconfig proxy (`/k8s/federations/<id>`), which impersonates the
user, so the federation's RBAC (written by `federation.rbac`) decides — stock kubectl and Helm
work with it. Issued, expiring and revoked as a cluster's (`clusters.kubeconfigs`)."""
from django.utils import timezone
from django.utils.translation import gettext as _

from cceone.hub.directory import Forbidden, Identity, NotFound, Unauthorized, Upstream, frozen_message, hash_token
from cceone.iam.access import can
from cceone.kube.gateway import identity_for
from clusters import kubeconfigs as cluster_kubeconfigs

from .models import Federation, FederationKubeconfig

Status = Federation.Status
HUB_PREFIX = "federation-"  # the hub's key for a federation: "federation-<id>"
SERVING = (Status.RUNNING, Status.CHANGING)


def _refusal(federation: Federation) -> str:
    return "" if federation.status in SERVING else _("A kubeconfig can only be issued for a running federation.")


FEDERATIONS = cluster_kubeconfigs.Issuer(FederationKubeconfig, "federation", "federations", _refusal)
issue, revoke, revoke_all = FEDERATIONS.issue, FEDERATIONS.revoke, FEDERATIONS.revoke_all


def revoke_for_user_signal(sender, user, **kwargs) -> None:
    """On `iam.signals.credentials_revoked`: a disabled user, or a changed password."""
    FEDERATIONS.revoke_for_user(user)


class HubFederations:
    """The hub's view of federations (`clusters.hub_directory.register_target`)."""

    def authenticate(self, pk: int, token: str) -> Identity:
        found = (FederationKubeconfig.objects.select_related("user", "federation")
                 .filter(token_hash=hash_token(token)).first())
        if found is None or not found.usable(timezone.now()):
            raise Unauthorized()
        federation = found.federation
        if federation.pk != pk or federation.status in (Status.UNSUBSCRIBING, Status.UNSUBSCRIBED):
            raise NotFound()
        if not can(found.user, "federations:get", federation):
            raise Forbidden(f"user {found.user.get_username()} no longer has access to federation {federation.name} "
                            "in CCE One (IAM permission federations:get)")
        if federation.status == Status.FROZEN:
            raise Forbidden(frozen_message(federation.name))
        if federation.control_plane_id is None:
            raise Forbidden(f"federation {federation.name} has no Karmada control plane")
        who = identity_for(found.user)
        return Identity(who.username, who.groups)

    def audit_target(self, pk: int) -> Federation | None:
        """Requests through the federation's kubeconfig join the audit timeline on it."""
        return Federation.objects.select_related("region").filter(pk=pk).first()

    def upstream(self, pk: int) -> Upstream | None:
        federation = Federation.objects.select_related("control_plane").filter(pk=pk).first()
        plane = federation.control_plane if federation else None
        if plane is None or not plane.api_endpoint:
            return None
        return Upstream(url=plane.api_endpoint, token=plane.token, ca_pem=plane.ca_data,
                        client_cert_pem=plane.client_cert, client_key_pem=plane.client_key)
