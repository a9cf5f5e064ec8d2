"""Federation kubeconfigs (R5.4, R5.9): the user's own credential for the federation's Karmada
API server through the hub's kubeconfig proxy (`/k8s/federations/<id>`), which impersonates the
user, so the federation's RBAC (written by `federation.rbac`) decides — stock kubectl and Helm
work with it. Issued, expiring and revoked as a cluster's (`clusters.kubeconfigs`)."""
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cceone.audit.services import record
from cceone.hub.directory import Forbidden, Identity, NotFound, Unauthorized, Upstream, frozen_message, hash_token
from cceone.iam.access import can, require
from cceone.kube.gateway import identity_for
from clusters import kubeconfigs as cluster_kubeconfigs

from .models import Federation, FederationKubeconfig

Status = Federation.Status
HUB_PREFIX = "federation-"  # the hub's key for a federation: "federation-<id>"
SERVING = (Status.RUNNING, Status.CHANGING)


@transaction.atomic
def issue(actor, federation: Federation, valid_for: timedelta | None = None) -> tuple[FederationKubeconfig, str]:
    require(actor, "federations:kubeconfig", federation)
    if federation.status not in SERVING:
        raise ValidationError(_("A kubeconfig can only be issued for a running federation."))
    cluster_kubeconfigs.check_validity(valid_for)
    token = cluster_kubeconfigs.new_token()
    issued = FederationKubeconfig.objects.create(federation=federation, user=actor, token_hash=hash_token(token),
                                                 hint=token[:8], expires_at=cluster_kubeconfigs.expiry(valid_for))
    record(actor, "federations:kubeconfig-issue", federation,
           details={"token": issued.hint, "expires_at": issued.expires_at.isoformat()})
    return issued, cluster_kubeconfigs.render_for(federation.name, "federations", federation.pk, actor, token)


@transaction.atomic
def revoke(actor, issued: FederationKubeconfig) -> None:
    require(actor, "federations:kubeconfig", issued.federation)
    if issued.user_id != actor.pk:
        raise ValidationError(_("Unknown kubeconfig."))
    if issued.revoked_at is None:
        issued.revoked_at = timezone.now()
        issued.save(update_fields=["revoked_at"])
        record(actor, "federations:kubeconfig-revoke", issued.federation, details={"token": issued.hint})


@transaction.atomic
def revoke_all(actor, federation: Federation) -> int:
    require(actor, "federations:kubeconfig", federation)
    count = FederationKubeconfig.objects.filter(federation=federation, user=actor, revoked_at__isnull=True).update(
        revoked_at=timezone.now())
    record(actor, "federations:kubeconfig-revoke", federation, details={"all": True, "count": count})
    return count


def revoke_for_user_signal(sender, user, **kwargs) -> None:
    """On `iam.signals.credentials_revoked`: a disabled user, or a changed password."""
    FederationKubeconfig.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


class HubFederations:
    """The hub's view of federations (`clusters.hub_directory.register_target`)."""

    def authenticate(self, pk: int, token: str) -> Identity:
        found = (FederationKubeconfig.objects.select_related("user", "federation")
                 .filter(token_hash=hash_token(token)).first())
        now = timezone.now()
        if (found is None or found.revoked_at is not None or (found.expires_at and found.expires_at <= now)
                or not found.user.is_active):
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
