"""Credentials the platform issues to its own services for a cluster (`PlatformToken`):
used through the hub's kubeconfig proxy, stored hashed, revoked by holder."""
import secrets

from django.db import transaction
from django.utils import timezone

from cceone.hub.directory import Identity, hash_token

from .models import PlatformToken, RegisteredCluster


@transaction.atomic
def issue(cluster: RegisteredCluster, *, holder: str, purpose: str, username: str, groups=(),
          relays_impersonation: bool = False) -> str:
    """A new token for `holder`'s `purpose` on `cluster`; the one it replaces is revoked."""
    revoke(holder, cluster=cluster, purpose=purpose)
    token = "cpt_" + secrets.token_urlsafe(32)
    PlatformToken.objects.create(cluster=cluster, holder=holder, purpose=purpose, username=username,
                                 groups=list(groups), relays_impersonation=relays_impersonation,
                                 token_hash=hash_token(token), hint=token[:8])
    return token


def revoke(holder: str, *, cluster: RegisteredCluster | None = None, purpose: str | None = None) -> int:
    """Revoke `holder`'s live tokens (on one cluster, for one purpose); how many were live."""
    live = PlatformToken.objects.filter(holder=holder, revoked_at__isnull=True)
    if cluster is not None:
        live = live.filter(cluster=cluster)
    if purpose is not None:
        live = live.filter(purpose=purpose)
    return live.update(revoked_at=timezone.now())


def identity(cluster_pk: int, token: str) -> Identity | None:
    """Whom a live platform token acts as on the cluster; None when it is not one."""
    found = PlatformToken.objects.filter(token_hash=hash_token(token), cluster_id=cluster_pk,
                                         revoked_at__isnull=True).first()
    if found is None:
        return None
    return Identity(found.username, tuple(found.groups), found.relays_impersonation)
