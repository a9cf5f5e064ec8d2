"""Kubeconfigs for the hub's kubeconfig proxy (R3.5 connection info).

A kubeconfig carries a per-user token for one cluster; the hub maps it to the user's
Kubernetes identity, so kubectl runs with exactly the user's RBAC in that cluster.
Tokens are stored hashed, may expire, and can be revoked one by one or all at once.
"""
import base64
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

import yaml
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cceone.audit.services import record
from cceone.hub.directory import hash_token
from cceone.iam.access import require

from .hub_tls import hub_ca_pem
from .models import KubeconfigToken, RegisteredCluster

Status = RegisteredCluster.Status


def render(cluster: RegisteredCluster, user, token: str) -> str:
    return render_for(cluster.name, "clusters", cluster.pk, user, token)


def render_for(name: str, kind: str, pk: int, user, token: str) -> str:
    """A kubeconfig for the hub's kubeconfig proxy at `/k8s/<kind>/<pk>` (kind: clusters,
    federations), trusting the hub's CA."""
    context = f"{name}-{user.get_username()}"
    server = f"{settings.CCEONE_HUB_KUBECONFIG_URL.rstrip('/')}/k8s/{kind}/{pk}"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {
            "server": server, "certificate-authority-data": base64.b64encode(hub_ca_pem()).decode()}}],
        "users": [{"name": user.get_username(), "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": name, "user": user.get_username()}}],
        "current-context": context,
    }
    return yaml.safe_dump(config, sort_keys=False)


def check_validity(valid_for: timedelta | None) -> None:
    """A temporary kubeconfig lasts 1 hour to CCEONE_KUBECONFIG_MAX_HOURS."""
    if valid_for is not None:
        cap = timedelta(hours=settings.CCEONE_KUBECONFIG_MAX_HOURS)
        if not timedelta(hours=1) <= valid_for <= cap:
            raise ValidationError(_("A temporary kubeconfig is valid for 1 to %(hours)d hours.")
                                  % {"hours": settings.CCEONE_KUBECONFIG_MAX_HOURS})


def new_token() -> str:
    return "ckc_" + secrets.token_urlsafe(32)


def expiry(valid_for: timedelta | None):
    return timezone.now() + (valid_for or timedelta(days=settings.CCEONE_KUBECONFIG_DEFAULT_DAYS))


@dataclass(frozen=True)
class Issuer:
    """Issue and revoke kubeconfigs of one target kind: `model` (a `HubKubeconfig`) whose
    `field` is the foreign key to the target; `kind` ("clusters", "federations") names the IAM
    actions (`<kind>:kubeconfig`, audited as `<kind>:kubeconfig-issue|-revoke`) and the proxy's
    path (`/k8s/<kind>/<pk>`); `refusal(target)` says why none may be issued now, or ""."""

    model: type
    field: str
    kind: str
    refusal: Callable

    @transaction.atomic
    def issue(self, actor, target, valid_for: timedelta | None = None):
        """The actor's kubeconfig for the target: temporary when `valid_for` is given, else valid
        for CCEONE_KUBECONFIG_DEFAULT_DAYS."""
        require(actor, f"{self.kind}:kubeconfig", target)
        refused = self.refusal(target)
        if refused:
            raise ValidationError(refused)
        check_validity(valid_for)
        token = new_token()
        issued = self.model.objects.create(**{self.field: target}, user=actor, token_hash=hash_token(token),
                                           hint=token[:8], expires_at=expiry(valid_for))
        record(actor, f"{self.kind}:kubeconfig-issue", target,
               details={"token": issued.hint, "expires_at": issued.expires_at.isoformat()})
        return issued, render_for(target.name, self.kind, target.pk, actor, token)

    @transaction.atomic
    def revoke(self, actor, issued) -> None:
        """Revoke one of the actor's own kubeconfigs."""
        target = getattr(issued, self.field)
        require(actor, f"{self.kind}:kubeconfig", target)
        if issued.user_id != actor.pk:
            raise ValidationError(_("Unknown kubeconfig."))
        if issued.revoked_at is None:
            issued.revoked_at = timezone.now()
            issued.save(update_fields=["revoked_at"])
            record(actor, f"{self.kind}:kubeconfig-revoke", target, details={"token": issued.hint})

    @transaction.atomic
    def revoke_all(self, actor, target) -> int:
        """Revoke all of the actor's kubeconfigs for the target."""
        require(actor, f"{self.kind}:kubeconfig", target)
        count = self.model.objects.filter(**{self.field: target}, user=actor, revoked_at__isnull=True).update(
            revoked_at=timezone.now())
        record(actor, f"{self.kind}:kubeconfig-revoke", target, details={"all": True, "count": count})
        return count

    def revoke_for_user(self, user) -> None:
        """A disabled or removed user, or one whose password changed, loses every kubeconfig at once."""
        self.model.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


def _cluster_refusal(cluster: RegisteredCluster) -> str:
    if cluster.status in (Status.CREATING, Status.DESTROYING, Status.UNSUBSCRIBED):
        return _("A kubeconfig can only be issued for a cluster that has been created and not unsubscribed.")
    return ""


CLUSTERS = Issuer(KubeconfigToken, "cluster", "clusters", _cluster_refusal)
issue, revoke, revoke_all, revoke_for_user = CLUSTERS.issue, CLUSTERS.revoke, CLUSTERS.revoke_all, \
    CLUSTERS.revoke_for_user


def revoke_for_user_signal(sender, user, **kwargs) -> None:
    """On `iam.signals.credentials_revoked`."""
    revoke_for_user(user)


def revoke_for_cluster(cluster: RegisteredCluster) -> None:
    KubeconfigToken.objects.filter(cluster=cluster, revoked_at__isnull=True).update(revoked_at=timezone.now())

